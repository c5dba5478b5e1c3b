import { XdpspecError } from '../sys/errors.js';
import { loadObject, type LoadedObject, type ProgramStats, type ProgramTypes } from '../bpf/index.js';
import { diffFrames, formatChanges, summarize, type FieldChange, type Frame } from '../packet/index.js';
import { collectFrames, type FrameSource } from './frames.js';
import type { LiveBench, LiveRun } from './live/index.js';
import { runUnit, type InstructionStats, type UnitOptions, type UnitRun } from './unit.js';
import { describeRedirect, type RedirectTarget, type Verdict } from './verdict.js';

/** One side of a comparison: an object file, and what to give it before and after load. */
export interface CompareSide {
  /** Path of the BPF object. */
  readonly object: string;
  /** Globals for this side only (on top of the comparison's `globals`). */
  readonly globals?: Readonly<Record<string, unknown>>;
  /** Fills this side's maps after load (on top of the comparison's `setup`): a rule set, backends. */
  readonly setup?: (obj: LoadedObject) => void | Promise<void>;
}

export interface CompareOptions {
  /** The program to run in both objects (may be left out when each has one). */
  readonly program?: string;
  readonly frames: FrameSource;
  /** Globals set in both objects before load. */
  readonly globals?: Readonly<Record<string, unknown>>;
  /** The program type, for sections whose name does not say it (`SEC("prog")`). */
  readonly programType?: ProgramTypes;
  /** Fills the maps of both objects after load, before the first frame. */
  readonly setup?: (obj: LoadedObject) => void | Promise<void>;
  /**
   * Replay live on this bench's `port` instead of BPF_PROG_TEST_RUN. Each side's program is
   * attached there for its run and detached after it (whatever was on the port is replaced).
   */
  readonly live?: { readonly bench: LiveBench; readonly port: string };
  /** Options of the unit runs. */
  readonly unit?: UnitOptions;
  /**
   * Load both with block counters and report the instructions each frame executed, old -> new
   * (`Comparison.instructions`): the work gate without timing noise. Unit engine only.
   */
  readonly instructions?: boolean;
}

/** Instructions executed per frame in both runs (`CompareOptions.instructions`). */
export interface InstructionsChange {
  readonly old: InstructionStats;
  readonly new: InstructionStats;
  /** Frames that executed more instructions in the new run than in the old. */
  readonly grew: number;
  /** Frames that executed fewer. */
  readonly shrank: number;
  /** Each frame's count, old and new, by frame index. */
  readonly perFrame: readonly { readonly old: number; readonly new: number }[];
}

/** What became of one frame in one run, as far as a comparison looks. */
export interface Fate {
  readonly verdict: Verdict;
  /** The return code by name (unit runs). */
  readonly action?: string;
  /** Where the output went: `up the stack`, `back out`, the redirect target, or `nowhere`. */
  readonly to: string;
  readonly output: Frame | undefined;
}

/** `passed->dropped`, `rewrite changed` (same verdict and target, other bytes), `target changed`. */
export type ChangeLabel = `${Verdict}->${Verdict}` | 'rewrite changed' | 'target changed';

/** A frame whose fate differs between the old and the new object. */
export interface FrameChange {
  readonly index: number;
  readonly input: Frame;
  readonly old: Fate;
  readonly new: Fate;
  readonly label: ChangeLabel;
  /** Field by field, old output -> new output (empty unless both have an output). */
  readonly outputDiff: readonly FieldChange[];
}

export interface StatsChange {
  readonly old: ProgramStats;
  readonly new: ProgramStats;
}

/** The result of running the same frames through two objects. */
export interface Comparison {
  readonly program: string;
  readonly engine: 'unit' | 'live';
  readonly frames: number;
  readonly changed: readonly FrameChange[];
  /** Count of changed frames per label, in order of first appearance. */
  readonly summary: Readonly<Record<string, number>>;
  readonly stats: StatsChange;
  readonly runs: { readonly old: UnitRun | LiveRun; readonly new: UnitRun | LiveRun };
  /** With `instructions: true`: instructions executed per frame, old -> new. */
  readonly instructions?: InstructionsChange;
}

interface Result {
  readonly index: number;
  readonly input: Frame;
  readonly verdict: Verdict;
  readonly action?: string;
  readonly output: Frame | undefined;
  readonly redirect: RedirectTarget | undefined;
}

function fate(r: Result): Fate {
  const to =
    r.verdict === 'passed'
      ? 'up the stack'
      : r.verdict === 'tx'
        ? 'back out'
        : r.verdict === 'redirected'
          ? r.redirect
            ? describeRedirect(r.redirect)
            : 'to an unknown target'
          : 'nowhere';
  return { verdict: r.verdict, ...(r.action ? { action: r.action } : {}), to, output: r.output };
}

function change(o: Result, n: Result): FrameChange | undefined {
  const a = fate(o);
  const b = fate(n);
  let label: ChangeLabel;
  if (a.verdict !== b.verdict) label = `${a.verdict}->${b.verdict}`;
  else if (a.to !== b.to) label = 'target changed';
  else if (a.output && b.output && !a.output.bytes.equals(b.output.bytes)) label = 'rewrite changed';
  else return undefined;
  return {
    index: o.index,
    input: o.input,
    old: a,
    new: b,
    label,
    outputDiff: a.output && b.output ? diffFrames(a.output, b.output) : [],
  };
}

async function load(side: CompareSide, options: CompareOptions): Promise<LoadedObject> {
  const obj = loadObject(
    side.object,
    { ...options.globals, ...side.globals },
    {
      ...(options.programType === undefined ? {} : { programType: options.programType }),
      ...(options.instructions ? { count: true } : {}),
    },
  );
  try {
    await options.setup?.(obj);
    await side.setup?.(obj);
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

function plainStats(side: CompareSide, options: CompareOptions, name: string): ProgramStats {
  const obj = loadObject(
    side.object,
    { ...options.globals, ...side.globals },
    { ...(options.programType === undefined ? {} : { programType: options.programType }), count: false },
  );
  try {
    return obj.program(name).stats();
  } finally {
    obj.close();
  }
}

async function runSide(
  side: CompareSide,
  inputs: Buffer[],
  options: CompareOptions,
  sameTypeAs?: { program: string; type: string },
): Promise<{ run: UnitRun | LiveRun; stats: ProgramStats; program: string; type: string }> {
  // Each side gets its own fresh object, so state one leaves in maps cannot leak into the other.
  const obj = await load(side, options);
  try {
    const program = obj.program(options.program);
    // Verdicts of different program types mean different things (XDP_PASS is no TC_ACT_OK).
    if (sameTypeAs && program.type !== sameTypeAs.type) {
      throw new XdpspecError(
        'COMPARE_TYPES',
        `the old program ${sameTypeAs.program} is ${sameTypeAs.type} and the new one ${program.name} (${side.object}) is ${program.type}; compare programs of one type`,
      );
    }
    // The verifier's work and the sizes are the program's own, not those of its counted copy.
    const stats = options.instructions ? plainStats(side, options, program.name) : program.stats();
    if (options.live) {
      const { bench, port } = options.live;
      bench.attach(program, port);
      try {
        return { run: await bench.replay(inputs, { on: port }), stats, program: program.name, type: program.type };
      } finally {
        // The object is closed next: nothing of it may stay on the bench.
        bench.detach(port);
      }
    }
    return { run: await runUnit(program, inputs, options.unit), stats, program: program.name, type: program.type };
  } finally {
    obj.close();
  }
}

const asSide = (s: string | CompareSide): CompareSide => (typeof s === 'string' ? { object: s } : s);

/**
 * Runs the same frames, in order, through a program of an old and of a new object (each
 * loaded fresh, with the same globals and map set-up unless a side adds its own) and reports
 * every frame whose verdict, output target or output bytes differ, with the verifier's work
 * and the program sizes of both. Unit engine by default; `live` replays on a bench.
 * @throws NotFoundError when the program is missing from an object; XdpspecError
 * `COMPARE_TYPES` when the two are of different types (XDP and TC).
 */
export async function compareObjects(
  oldSide: string | CompareSide,
  newSide: string | CompareSide,
  options: CompareOptions,
): Promise<Comparison> {
  if (options.instructions && options.live)
    throw new XdpspecError(
      'COMPARE_INSTRUCTIONS',
      'instructions per frame are counted in unit runs only; compare them without live (drop --live), or compare verdicts live without instructions',
    );
  const inputs = await collectFrames(options.frames);
  const o = await runSide(asSide(oldSide), inputs, options);
  const n = await runSide(asSide(newSide), inputs, options, o);
  const changed: FrameChange[] = [];
  const summary: Record<string, number> = {};
  o.run.frames.forEach((of, i) => {
    const c = change(of, n.run.frames[i]!);
    if (!c) return;
    changed.push(c);
    summary[c.label] = (summary[c.label] ?? 0) + 1;
  });
  return {
    program: o.program === n.program ? o.program : `${o.program} / ${n.program}`,
    engine: options.live ? 'live' : 'unit',
    frames: inputs.length,
    changed,
    summary,
    stats: { old: o.stats, new: n.stats },
    runs: { old: o.run, new: n.run },
    ...(options.instructions ? { instructions: instructionsChange(o.run as UnitRun, n.run as UnitRun) } : {}),
  };
}

function instructionsChange(o: UnitRun, n: UnitRun): InstructionsChange {
  if (!o.instructions || !n.instructions)
    throw new XdpspecError(
      'COMPARE_INSTRUCTIONS',
      `the ${o.instructions ? 'new' : 'old'} program loaded without block counters (the warning above says why), so its instructions per frame are not known; compare without instructions, or fix what the warning names`,
    );
  const perFrame = o.frames.map((f, i) => ({ old: f.instructions!, new: n.frames[i]!.instructions! }));
  return {
    old: o.instructions,
    new: n.instructions,
    grew: perFrame.filter((x) => x.new > x.old).length,
    shrank: perFrame.filter((x) => x.new < x.old).length,
    perFrame,
  };
}

/** `executed: median 34 -> 30 instructions per frame (min 16 -> 16, max 103 -> 99, ...)`. */
export function formatInstructions(c: InstructionsChange): string {
  const { old: a, new: b } = c;
  return `executed: median ${a.median} -> ${b.median} instructions per frame (min ${a.min} -> ${b.min}, max ${a.max} -> ${b.max}, all frames ${a.total} -> ${b.total}${delta(a.total, b.total)}); ${c.grew} frame${c.grew === 1 ? '' : 's'} executed more, ${c.shrank} fewer`;
}

/** `4 frames, 2 changed: 1 passed->dropped, 1 rewrite changed`. */
export function formatSummary(c: Comparison): string {
  const parts = Object.entries(c.summary).map(([k, v]) => `${v} ${k}`);
  return `${c.frames} frame${c.frames === 1 ? '' : 's'}, ${c.changed.length} changed${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

const describeFate = (f: Fate) =>
  `${f.action ? `${f.action} ` : ''}${f.verdict}${f.verdict === 'redirected' ? ` ${f.to}` : ''}`;

/** One changed frame: its input, both fates, and the old -> new output fields. */
export function formatChange(c: FrameChange): string {
  let s = `#${c.index}  ${summarize(c.input)}\n    old: ${describeFate(c.old)}\n    new: ${describeFate(c.new)}`;
  if (c.outputDiff.length) s += `\n    output, old -> new:\n${formatChanges(c.outputDiff).replace(/^/gm, '      ')}`;
  return s;
}

const delta = (a: number, b: number) => (a === 0 ? '' : ` (${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%)`);

/** Verifier work and sizes, old -> new, one line each. */
export function formatStats(s: StatsChange): string {
  const line = (what: string, a: number | undefined, b: number | undefined, unit: string) =>
    a === undefined || b === undefined
      ? `${what}: not reported by this kernel`
      : `${what}: ${a} -> ${b} ${unit}${delta(a, b)}`;
  return [
    line('verifier', s.old.verifiedInstructions, s.new.verifiedInstructions, 'instructions processed'),
    line('xlated', s.old.xlatedBytes, s.new.xlatedBytes, 'bytes'),
    line('jited', s.old.jitedBytes, s.new.jitedBytes, 'bytes'),
  ].join('\n');
}

/** The whole report as `xdpspec diff` prints it. */
export function formatComparison(c: Comparison): string {
  const body = c.changed.map(formatChange).join('\n');
  const executed = c.instructions ? `${formatInstructions(c.instructions)}\n` : '';
  return `${body}${body ? '\n\n' : ''}${formatSummary(c)}\n${formatStats(c.stats)}\n${executed}`;
}
