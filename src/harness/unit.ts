import { inNetns, RedirectProbe, type Program, type TestRunOptions } from '../bpf/index.js';
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
   * kernel's redirect tracepoints (see `RedirectProbe`). Default true; false reports redirect
   * targets as unknown and runs each frame exactly once.
   */
  locateRedirects?: boolean;
  /** A probe to reuse across runs (otherwise one is opened when first needed and closed after). */
  redirectProbe?: RedirectProbe;
  /**
   * Run each frame inside this network namespace (a bench's `topology.dut`), so that helpers
   * that ask the kernel about the network (bpf_fib_lookup, an `ingressIfindex`) see its
   * devices, routes and neighbours rather than the caller's.
   */
  netns?: string;
}

/**
 * Runs each frame through `program` with BPF_PROG_TEST_RUN, in order (state in maps carries
 * from one frame to the next, as it would on a wire), and classifies what became of it.
 * @throws BpfError when the kernel refuses a run.
 */
export async function runUnit(program: Program, frames: FrameSource, options: UnitOptions = {}): Promise<UnitRun> {
  const inputs = await collectFrames(frames);
  const { redirectProbe, locateRedirects = true, netns, ...runOptions } = options;
  let probe = redirectProbe;
  const ownProbe = redirectProbe === undefined;

  const locate = (bytes: Buffer): RedirectTarget => {
    if (!locateRedirects) return { known: false, reason: 'redirect targets were not asked for (locateRedirects: false)' };
    probe ??= RedirectProbe.open();
    return probe.locate(program, bytes, runOptions);
  };

  const classify = (bytes: Buffer, index: number): FrameResult => {
    const r = program.testRun(bytes, runOptions);
    const verdict = verdictOf(r.action);
    const input = parseFrame(bytes);
    const output = verdict !== 'dropped' && verdict !== 'aborted' ? parseFrame(r.output) : undefined;
    return {
      index,
      program: program.name,
      input,
      verdict,
      action: r.action,
      output,
      changes: output ? diffFrames(input, output) : [],
      redirect: verdict === 'redirected' ? locate(bytes) : undefined,
      durationNs: r.durationNs,
    };
  };

  try {
    // One switch for the whole run: classify is synchronous, and a redirect rerun's private
    // namespace returns to this one.
    const results = inNetns(netns, () => inputs.map(classify));
    return { program: program.name, frames: results, counts: countVerdicts(results) };
  } finally {
    if (ownProbe) probe?.close();
  }
}
