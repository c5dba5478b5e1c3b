import { RedirectProbe, type Program, type TestRunOptions } from '../bpf/index.js';
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
   * Learn where XDP_REDIRECT frames went, by rerunning each in live-frames mode under the
   * kernel's redirect tracepoints (see `RedirectProbe`). Default true for XDP programs;
   * false reports redirect targets as unknown and runs each frame exactly once.
   */
  locateRedirects?: boolean;
  /** A probe to reuse across runs (otherwise one is opened for the run and closed after). */
  redirectProbe?: RedirectProbe;
}

/**
 * Runs each frame through `program` with BPF_PROG_TEST_RUN, in order (state in maps carries
 * from one frame to the next, as it would on a wire), and classifies what became of it.
 * @throws BpfError when the kernel refuses a run.
 */
export async function runUnit(program: Program, frames: FrameSource, options: UnitOptions = {}): Promise<UnitRun> {
  const inputs = await collectFrames(frames);
  const { redirectProbe, locateRedirects = true, ...runOptions } = options;
  let probe = redirectProbe;
  let ownProbe = false;
  const locate = (bytes: Buffer): RedirectTarget => {
    if (!locateRedirects) return { known: false, reason: 'redirect targets were not asked for (locateRedirects: false)' };
    if (!probe) {
      probe = RedirectProbe.open();
      ownProbe = true;
    }
    return probe.locate(program, bytes, runOptions);
  };
  try {
    return run(inputs, locate);
  } finally {
    if (ownProbe) probe?.close();
  }

  function run(inputs: Buffer[], locate: (b: Buffer) => RedirectTarget): UnitRun {
  const results = inputs.map((bytes, index) => {
    const r = program.testRun(bytes, runOptions);
    const verdict = verdictOf(r.action);
    const input = parseFrame(bytes);
    const hasOutput = verdict !== 'dropped' && verdict !== 'aborted';
    const output = hasOutput ? parseFrame(r.output) : undefined;
    let redirect: RedirectTarget | undefined;
    if (verdict === 'redirected') redirect = locate(bytes);
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
}
