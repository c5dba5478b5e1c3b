import type { Program, TestRunOptions } from '../bpf/index.js';
import { diffFrames, parseFrame } from '../packet/index.js';
import { collectFrames, type FrameSource } from './frames.js';
import { countVerdicts, verdictOf, type FrameResult, type RedirectTarget, type VerdictCounts } from './verdict.js';

/** The unit engine's answer for a run of frames. */
export interface UnitRun {
  readonly program: string;
  readonly frames: readonly FrameResult[];
  readonly counts: VerdictCounts;
}

export interface UnitOptions extends TestRunOptions {
  /**
   * Learns where XDP_REDIRECT frames went (see `RedirectProbe`); without it a redirect's
   * target is reported as unknown.
   */
  redirectProbe?: { locate(program: Program, frame: Buffer, o: TestRunOptions): RedirectTarget };
}

/**
 * Runs each frame through `program` with BPF_PROG_TEST_RUN, in order (state in maps carries
 * from one frame to the next, as it would on a wire), and classifies what became of it.
 * @throws BpfError when the kernel refuses a run.
 */
export async function runUnit(program: Program, frames: FrameSource, options: UnitOptions = {}): Promise<UnitRun> {
  const inputs = await collectFrames(frames);
  const { redirectProbe, ...runOptions } = options;
  const results = inputs.map((bytes, index) => {
    const r = program.testRun(bytes, runOptions);
    const verdict = verdictOf(r.action);
    const input = parseFrame(bytes);
    const hasOutput = verdict !== 'dropped' && verdict !== 'aborted';
    const output = hasOutput ? parseFrame(r.output) : undefined;
    let redirect: RedirectTarget | undefined;
    if (verdict === 'redirected') redirect = redirectProbe ? redirectProbe.locate(program, bytes, runOptions) : { known: false, reason: 'unit runs do not perform redirects; use a redirect probe or the live engine' };
    return {
      index,
      input,
      verdict,
      action: r.action,
      output,
      changes: output ? diffFrames(input, output) : [],
      redirect,
      durationNs: r.durationNs,
    } satisfies FrameResult;
  });
  return { program: program.name, frames: results, counts: countVerdicts(results) };
}
