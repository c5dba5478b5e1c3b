import { inNetns, RedirectProbe, type Program, type TestRunOptions } from '../bpf/index.js';
import { diffFrames, parseFrame, type Frame } from '../packet/index.js';
import { XdpspecError } from '../sys/errors.js';
import { collectFrames, frameBytes, type FrameSource, type Step } from './frames.js';
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
  /**
   * Test-run options for single frames, over the run's own: a list by frame index, or a function
   * of the index (`(i) => ({ mark: i })`). A mark or an ingress device per frame, say.
   */
  perFrame?: readonly (TestRunOptions | undefined)[] | ((index: number) => TestRunOptions | undefined);
}

/**
 * Runs each frame through `program` with BPF_PROG_TEST_RUN, in order (state in maps carries
 * from one frame to the next, as it would on a wire), and classifies what became of it.
 * @throws BpfError when the kernel refuses a run.
 */
export async function runUnit(program: Program, frames: FrameSource, options: UnitOptions = {}): Promise<UnitRun> {
  const inputs = await collectFrames(frames);
  const results = runAll(
    inputs.map((bytes) => ({ program, bytes })),
    options,
  );
  return { program: program.name, frames: results, counts: countVerdicts(results) };
}

/**
 * The unit engine's side of a conversation across ports: each step's frame goes through the
 * program that `programs` puts on the step's port, in order, so programs that share maps (a
 * LAN-side and a WAN-side program of one object) see each other's state as they would live.
 * Each result names its port. @throws XdpspecError `NO_PROGRAM` for a port with no program.
 */
export function runUnitSteps(
  programs: Readonly<Record<string, Program>>,
  steps: readonly Step[],
  options: UnitOptions = {},
): UnitRun {
  const items = steps.map((s, i) => {
    const program = programs[s.on];
    if (!program)
      throw new XdpspecError(
        'NO_PROGRAM',
        `step #${i} is on port ${s.on}, which has no program; programs are given for: ${Object.keys(programs).join(', ')}`,
      );
    return { program, bytes: frameBytes(s.frame), port: s.on };
  });
  const results = runAll(items, options);
  return {
    program: [...new Set(items.map((x) => x.program.name))].join(', '),
    frames: results,
    counts: countVerdicts(results),
  };
}

/** Defines `key` on `o` as an enumerable property computed once, when first read. */
function lazy(o: Record<string, unknown>, key: string, make: () => unknown): void {
  let done = false;
  let value: unknown;
  Object.defineProperty(o, key, {
    enumerable: true,
    configurable: true,
    get() {
      if (!done) {
        value = make();
        done = true;
      }
      return value;
    },
  });
}

function runAll(
  items: readonly { program: Program; bytes: Buffer; port?: string }[],
  options: UnitOptions,
): FrameResult[] {
  const { redirectProbe, locateRedirects = true, netns, perFrame, ...runOptions } = options;
  const optionsFor = (index: number): TestRunOptions => {
    const own = typeof perFrame === 'function' ? perFrame(index) : perFrame?.[index];
    return own ? { ...runOptions, ...own } : runOptions;
  };
  let probe = redirectProbe;
  const ownProbe = redirectProbe === undefined;

  const locate = (program: Program, bytes: Buffer, o: TestRunOptions): RedirectTarget => {
    if (!locateRedirects)
      return { known: false, reason: 'redirect targets were not asked for (locateRedirects: false)' };
    probe ??= RedirectProbe.open();
    return probe.locate(program, bytes, o);
  };

  const classify = (
    { program, bytes, port }: { program: Program; bytes: Buffer; port?: string },
    index: number,
  ): FrameResult => {
    const o = optionsFor(index);
    const r = program.testRun(bytes, o);
    const verdict = verdictOf(r.action);
    const result = {
      index,
      program: program.name,
      ...(port === undefined ? {} : { port }),
      verdict,
      action: r.action,
      redirect: verdict === 'redirected' ? locate(program, bytes, o) : undefined,
      durationNs: r.durationNs,
      buffer: r.output,
      ...(r.context ? { context: r.context } : {}),
    } as Record<string, unknown>;
    // Decoding, and the diff of input and output, are for assertions and messages: done when
    // first read, not for every frame of every run (they cost several times the test run).
    let input: Frame | undefined;
    let output: Frame | undefined | null = null;
    const inputOf = () => (input ??= parseFrame(bytes));
    const outputOf = () =>
      output === null
        ? (output = verdict !== 'dropped' && verdict !== 'aborted' ? parseFrame(r.output) : undefined)
        : output;
    lazy(result, 'input', inputOf);
    lazy(result, 'output', outputOf);
    lazy(result, 'changes', () => {
      const out = outputOf();
      return out ? diffFrames(inputOf(), out) : [];
    });
    return result as unknown as FrameResult;
  };

  try {
    // One switch for the whole run: classify is synchronous, and a redirect rerun's private
    // namespace returns to this one.
    return inNetns(netns, () => items.map(classify));
  } finally {
    if (ownProbe) probe?.close();
  }
}
