import { inspect, type InspectOptionsStylized } from 'node:util';
import { inspectAs, showGetters } from '../sys/shown-getters.js';
import { inNetns, RedirectProbe, type Program, type SkbContextOut, type TestRunOptions } from '../bpf/index.js';
import { PROG_TYPE, returnCodeName } from '../bpf/kinds.js';
import { diffFrames, parseFrame, type FieldChange, type Frame } from '../packet/index.js';
import { XdpspecError } from '../sys/errors.js';
import { FrameBlock, frameData, layFrames, layFramesNow, type FrameSource, type Step } from './frames.js';
import {
  countVerdicts,
  noteFrameRun,
  verdictOf,
  verdictOfCode,
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
  // Only a capture file's read is waited for: a run of frames in hand stays one synchronous step.
  const block = typeof frames === 'string' ? await layFrames(frames) : layFramesNow(frames);
  const results = runAll([{ program, block, first: 0 }], options);
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
    return { program, bytes: frameData(s.frame), port: s.on };
  });
  // Steps in a row on one program run as one group (one batch, where nothing needs a frame's own run).
  const groups: Group[] = [];
  for (let i = 0; i < items.length;) {
    let j = i;
    while (j < items.length && items[j]!.program === items[i]!.program) j++;
    const run = items.slice(i, j);
    groups.push({
      program: items[i]!.program,
      block: FrameBlock.copyOf(run.map((x) => x.bytes)),
      first: i,
      ports: run.map((x) => x.port),
    });
    i = j;
  }
  const results = runAll(groups, options);
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
 * and so not these: the README says so. Its bytes in and out are places in the blocks the run
 * laid its frames in and the kernel wrote its outputs to, cut out when first read.
 */
class UnitFrameResult {
  declare port?: string;
  declare context?: SkbContextOut;
  declare instructions?: number;
  #in: FrameBlock;
  #at: number;
  #outputs: Buffer;
  #outStart: number;
  #outLength: number;
  #buffer: Buffer | undefined;
  #input: Frame | undefined;
  #output: Frame | undefined | null = null;
  #changes: FieldChange[] | undefined;

  constructor(
    readonly index: number,
    readonly program: string,
    readonly verdict: Verdict,
    readonly action: string,
    readonly durationNs: number,
    public redirect: RedirectTarget | undefined,
    /** Where the frame went in: its group's block, and its place there. */
    input: FrameBlock,
    at: number,
    outputs: Buffer,
    outStart: number,
    outLength: number,
  ) {
    this.#in = input;
    this.#at = at;
    this.#outputs = outputs;
    this.#outStart = outStart;
    this.#outLength = outLength;
  }

  /** The output bytes as the kernel returned them. */
  get buffer(): Buffer {
    return (this.#buffer ??= this.#outputs.subarray(this.#outStart, this.#outStart + this.#outLength));
  }

  get input(): Frame {
    return (this.#input ??= parseFrame(this.#in.frame(this.#at)));
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
    return inspectAs('FrameResult', this.toJSON(), options);
  }
}
showGetters(UnitFrameResult, ['buffer', 'input', 'output', 'changes']);

/** Frames in a row that go through one program: `first` is the first one's index in the run. */
interface Group {
  readonly program: Program;
  readonly block: FrameBlock;
  readonly first: number;
  /** The port of each frame, in a run of steps. */
  readonly ports?: readonly string[];
}

/** Programs warned of already (see warnVlanPush). */
const warnedVlan = new WeakSet<Program>();

/**
 * Says once per program that its unit results lack the VLAN tags it pushes: the kernel keeps a
 * pushed tag in the socket buffer's metadata, which a test run does not return, so outputs would
 * read as unchanged where the live engine sees the tag.
 */
function warnVlanPush(program: Program): void {
  if (warnedVlan.has(program) || !program.pushesVlanTag) return;
  warnedVlan.add(program);
  process.emitWarning(
    `program ${program.name} calls bpf_skb_vlan_push: the kernel keeps the tag it pushes in the socket buffer's metadata, which BPF_PROG_TEST_RUN does not return, so the unit engine's outputs show no pushed tag; replay those frames live (the live engine's captures have it), or compare with runBoth only frames it does not tag`,
    { code: 'XDPSPEC_VLAN_PUSH' },
  );
}

function runAll(groups: readonly Group[], options: UnitOptions): FrameResult[] {
  const { redirectProbe, locateRedirects = true, netns, perFrame, ...runOptions } = options;
  for (const g of groups) warnVlanPush(g.program);
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

  /** One frame's own run: options of its own, its instructions counted, its context read back. */
  const runOne = (g: Group, k: number): FrameResult => {
    const index = g.first + k;
    const o = optionsFor(index);
    const bytes = g.block.frame(k);
    const c = g.program.counters;
    const before = c?.instructions() ?? 0;
    const r = g.program.testRun(bytes, o);
    const verdict = verdictOf(r.action);
    const result = new UnitFrameResult(
      index,
      g.program.name,
      verdict,
      r.action,
      r.durationNs,
      verdict === 'redirected' ? locate(g.program, bytes, o) : undefined,
      g.block,
      k,
      r.output,
      0,
      r.output.length,
    );
    const port = g.ports?.[k];
    if (port !== undefined) result.port = port;
    if (r.context) result.context = r.context;
    if (c) result.instructions = (c.instructions() - before) / (o.repeat ?? 1);
    return result;
  };

  /** A group's frames in one batch, each result made from what the kernel returned. */
  const runGroup = (g: Group, out: FrameResult[]): void => {
    const { program, block, first, ports } = g;
    const type = program.typeId;
    const name = program.name;
    const redirected: UnitFrameResult[] = [];
    program.testRunLaid(block, runOptions, (k, retval, durationNs, outputs, start, length) => {
      const verdict = verdictOfCode(type, retval);
      const result = new UnitFrameResult(
        first + k,
        name,
        verdict,
        returnCodeName(type, retval),
        durationNs,
        undefined,
        block,
        k,
        outputs,
        start,
        length,
      );
      const port = ports?.[k];
      if (port !== undefined) result.port = port;
      if (verdict === 'redirected') redirected.push(result);
      out.push(result);
    });
    // Located once the batch is done: a rerun uses the program's test runner, which the batch holds.
    for (const r of redirected) r.redirect = locate(program, block.frame(r.index - first), runOptions);
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
  const runGroups = (): FrameResult[] => {
    const out: FrameResult[] = [];
    for (const g of groups) {
      if (batchable(g.program)) runGroup(g, out);
      else for (let k = 0; k < g.block.length; k++) out.push(runOne(g, k));
    }
    return out;
  };

  // One switch for the whole run: the runs are synchronous, and a redirect rerun's private
  // namespace returns to this one.
  return inNetns(netns, runGroups);
}
