import { inspect, type InspectOptionsStylized } from 'node:util';
import {
  inNetns,
  RedirectProbe,
  type Program,
  type ProgramRun,
  type SkbContextOut,
  type TestRunOptions,
} from '../bpf/index.js';
import { PROG_TYPE } from '../bpf/kinds.js';
import { diffFrames, parseFrame, type FieldChange, type Frame } from '../packet/index.js';
import { XdpspecError } from '../sys/errors.js';
import { collectFrames, frameBytes, type FrameSource, type Step } from './frames.js';
import {
  countVerdicts,
  noteFrameRun,
  verdictOf,
  type FrameResult,
  type RedirectTarget,
  type Verdict,
  type VerdictCounts,
} from './verdict.js';

/** The unit engine's answer for a run of frames. */
export interface UnitRun {
  readonly program: string;
  readonly frames: readonly FrameResult[];
  readonly counts: VerdictCounts;
  /** Instructions executed per frame, when its programs have block counters (see FrameResult). */
  readonly instructions?: InstructionStats;
}

/** Instructions executed per frame over a run: least, median, most, and all together. */
export interface InstructionStats {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly total: number;
}

export function instructionStats(results: readonly { readonly instructions?: number }[]): InstructionStats | undefined {
  const xs = results.map((r) => r.instructions);
  if (xs.length === 0 || xs.some((x) => x === undefined)) return undefined;
  const sorted = (xs as number[]).slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    min: sorted[0]!,
    median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    max: sorted[sorted.length - 1]!,
    total: sorted.reduce((a, b) => a + b, 0),
  };
}

function withStats(run: { program: string; frames: FrameResult[]; counts: VerdictCounts }): UnitRun {
  const instructions = instructionStats(run.frames);
  return instructions ? { ...run, instructions } : run;
}

export interface UnitOptions extends TestRunOptions {
  /**
   * Learn where XDP_REDIRECT frames went, by rerunning each in live-frames mode under the
   * kernel's redirect tracepoints (see `RedirectProbe`). Default true; false reports redirect
   * targets as unknown and runs each frame exactly once.
   */
  locateRedirects?: boolean;
  /** A probe to use instead of the process's shared one (`RedirectProbe.shared()`, opened when first needed and kept). */
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
  noteFrameRun('unit', results);
  return withStats({ program: program.name, frames: results, counts: countVerdicts(results) });
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
  noteFrameRun('unit', results);
  return withStats({
    program: [...new Set(items.map((x) => x.program.name))].join(', '),
    frames: results,
    counts: countVerdicts(results),
  });
}

/**
 * A unit run's frame result. Decoding, and the diff of input and output, are for assertions and
 * messages: done when first read, not for every frame of every run (they cost several times the
 * test run). One object per frame, its lazy parts getters of the class: a literal with getters
 * of its own cost five closures per frame, and their collection a fifth of runUnit's time. The
 * getters are enumerable, so that deep equality and `for...in` see them as they see the rest;
 * `toJSON` and `util.inspect` show them too. A spread (`{ ...r }`) copies own properties only,
 * and so not these: the README says so.
 */
class UnitFrameResult {
  readonly action: string;
  readonly durationNs: number;
  declare port?: string;
  declare context?: SkbContextOut;
  declare instructions?: number;
  #bytes: Buffer;
  #run: ProgramRun;
  #input: Frame | undefined;
  #output: Frame | undefined | null = null;
  #changes: FieldChange[] | undefined;

  constructor(
    readonly index: number,
    readonly program: string,
    readonly verdict: Verdict,
    r: ProgramRun,
    bytes: Buffer,
    readonly redirect: RedirectTarget | undefined,
  ) {
    this.action = r.action;
    this.durationNs = r.durationNs;
    this.#run = r;
    this.#bytes = bytes;
  }

  /** The output bytes as the kernel returned them (a batch's are cut out when first read). */
  get buffer(): Buffer {
    return this.#run.output;
  }

  get input(): Frame {
    return (this.#input ??= parseFrame(this.#bytes));
  }

  get output(): Frame | undefined {
    if (this.#output === null)
      this.#output = this.verdict !== 'dropped' && this.verdict !== 'aborted' ? parseFrame(this.buffer) : undefined;
    return this.#output;
  }

  get changes(): readonly FieldChange[] {
    if (this.#changes) return this.#changes;
    const out = this.output;
    return (this.#changes = out ? diffFrames(this.input, out) : []);
  }

  toJSON(): Record<string, unknown> {
    return {
      ...(this as object),
      buffer: this.buffer,
      input: this.input,
      output: this.output,
      changes: this.changes,
    };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return `FrameResult ${inspect(this.toJSON(), { ...options, depth: options.depth ?? 2 })}`;
  }
}
for (const name of ['buffer', 'input', 'output', 'changes'])
  Object.defineProperty(UnitFrameResult.prototype, name, {
    ...Object.getOwnPropertyDescriptor(UnitFrameResult.prototype, name),
    enumerable: true,
  });

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

  const locate = (program: Program, bytes: Buffer, o: TestRunOptions): RedirectTarget => {
    if (!locateRedirects)
      return { known: false, reason: 'redirect targets were not asked for (locateRedirects: false)' };
    probe ??= RedirectProbe.shared();
    return probe.locate(program, bytes, o);
  };

  const classify = (item: { program: Program; bytes: Buffer; port?: string }, index: number): FrameResult => {
    const o = optionsFor(index);
    const c = item.program.counters;
    if (!c) return resultOf(item, index, item.program.testRun(item.bytes, o), o);
    const before = c.instructions();
    const r = item.program.testRun(item.bytes, o);
    return resultOf(item, index, r, o, (c.instructions() - before) / (o.repeat ?? 1));
  };

  const resultOf = (
    { program, bytes, port }: { program: Program; bytes: Buffer; port?: string },
    index: number,
    r: ProgramRun,
    o: TestRunOptions,
    instructions?: number,
  ): FrameResult => {
    const verdict = verdictOf(r.action);
    const result = new UnitFrameResult(
      index,
      program.name,
      verdict,
      r,
      bytes,
      verdict === 'redirected' ? locate(program, bytes, o) : undefined,
    );
    if (port !== undefined) result.port = port;
    if (r.context) result.context = r.context;
    if (instructions !== undefined) result.instructions = instructions;
    return result;
  };

  // Frames go to the kernel in batches (one foreign call each, see TestRunner.runMany) where
  // nothing needs a frame's own run: no options per frame, no context to read back, and no
  // redirect to locate whose rerun needs the maps as that frame left them (a program with no
  // state maps has none to need).
  const keepsNoState = new Map<Program, boolean>();
  const stateless = (program: Program) => {
    let v = keepsNoState.get(program);
    if (v === undefined) keepsNoState.set(program, (v = program.object.stateMaps().length === 0));
    return v;
  };
  // A counted program runs frame by frame, so that each frame's instructions are its own.
  const batchable = (program: Program) =>
    program.counters === undefined &&
    perFrame === undefined &&
    runOptions.liveFrames !== true &&
    runOptions.meta === undefined &&
    (program.typeId === PROG_TYPE.xdp
      ? // A program that keeps no state reruns the same way after the batch as right after its frame.
        !locateRedirects || stateless(program)
      : runOptions.skb === undefined &&
        runOptions.mark === undefined &&
        runOptions.priority === undefined &&
        runOptions.ifindex === undefined &&
        runOptions.ingressIfindex === undefined);
  const runBatches = (): FrameResult[] => {
    const out: FrameResult[] = [];
    for (let i = 0; i < items.length;) {
      const program = items[i]!.program;
      let j = i;
      while (j < items.length && items[j]!.program === program) j++;
      if (batchable(program)) {
        const runs = program.testRunMany(
          items.slice(i, j).map((x) => x.bytes),
          runOptions,
        );
        for (let k = i; k < j; k++) out.push(resultOf(items[k]!, k, runs[k - i]!, runOptions));
      } else for (let k = i; k < j; k++) out.push(classify(items[k]!, k));
      i = j;
    }
    return out;
  };

  // One switch for the whole run: classify is synchronous, and a redirect rerun's private
  // namespace returns to this one.
  return inNetns(netns, runBatches);
}
