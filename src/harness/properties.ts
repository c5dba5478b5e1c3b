// Property-based specs of XDP/TC programs on fast-check: generated frames (packet/arbitrary.ts)
// go through a program, a property judges each result, and a failure shrinks to a minimal frame
// (or sequence, for programs that keep state) that is printed as a dissection and a spec, and
// written as a pcapng fixture. Each run starts from the program's state as it was at the start,
// so a run, and every shrinking step, is reproducible from the seed alone.
import fc from 'fast-check';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BpfMap, LoadedObject, MapState, Program } from '../bpf/index.js';
import {
  checkChecksums,
  dissect,
  flawText,
  frames as frameArbitrary,
  generatedCode,
  parseFrame,
  type FrameShape,
  type GeneratedFrame,
} from '../packet/index.js';
import { writeCapture } from '../pcap/index.js';
import { XdpspecError } from '../sys/errors.js';
import { EngineDisagreement, runBoth } from './both.js';
import type { LiveBench } from './live/index.js';
import { runUnitSteps, type UnitOptions } from './unit.js';
import type { FrameResult } from './verdict.js';

/** What a property sees of one run: the frames in order and what the program made of each. */
export interface PropertyRun {
  readonly program: Program;
  readonly frames: readonly GeneratedFrame[];
  readonly results: readonly FrameResult[];
}

/**
 * A property of every run. `check` returns why it does not hold (or throws), undefined when
 * it does. `live` properties need a bench and make the whole check asynchronous.
 */
export interface FrameProperty {
  readonly name: string;
  check(run: PropertyRun): string | undefined | Promise<string | undefined>;
  /** Objects besides the program's whose state is reset before each run (an A/B's other side). */
  readonly objects?: readonly LoadedObject[];
  readonly async?: boolean;
  /** The assertion a pasted spec makes of `run` (a runUnit result of the counterexample). */
  readonly expectation?: string;
}

/** No frame is aborted (XDP_ABORTED, or a return code the hook does not know). */
export function neverAborts(): FrameProperty {
  return {
    name: 'never-aborts',
    expectation: 'for (const f of run.frames) expect(f).not.to.be.aborted;',
    check: ({ results }) => {
      const r = results.find((x) => x.verdict === 'aborted');
      return r && `frame #${r.index} was aborted (${r.action})`;
    },
  };
}

/** Every output has checksums right for its bytes, wherever the input's were right. */
export function validChecksums(): FrameProperty {
  return {
    name: 'valid-checksums',
    expectation: 'for (const f of run.frames) if (f.output) expect(f).to.have.validChecksums;',
    check: ({ results }) => {
      for (const r of results) {
        if (!r.output || checkChecksums(r.input).some((c) => c.status !== 'valid' && c.status !== 'none')) continue;
        const bad = checkChecksums(r.output).find((c) => c.status === 'invalid');
        if (bad)
          return `frame #${r.index}'s output has ${bad.path} 0x${bad.value.toString(16)}, which should be 0x${(bad.expected ?? 0).toString(16)} for its bytes (the input's were right)`;
      }
      return undefined;
    },
  };
}

/**
 * The program treats every frame as `other` does (verdict and output bytes), except frames
 * `allow` lets change: the A/B gate before deploy. `other` is a program the caller loaded and set
 * up; its maps are reset with the program's before each run.
 */
export function sameAs(
  other: Program,
  options: {
    allow?: (frame: GeneratedFrame, mine: FrameResult, theirs: FrameResult) => boolean;
    unit?: UnitOptions;
  } = {},
): FrameProperty {
  return {
    name: `same-as ${other.object.path}`,
    objects: [other.object],
    expectation: `expect(await compareObjects('${other.object.path}', NEW_OBJECT, { frames })).to.have.onlyChanges({});`,
    check: ({ program, frames, results }) => {
      const theirs = runUnitSteps(
        { p: other },
        frames.map((f) => ({ on: 'p', frame: f.bytes })),
        { locateRedirects: false, ...options.unit },
      ).frames;
      for (const [i, mine] of results.entries()) {
        const t = theirs[i]!;
        const same = mine.verdict === t.verdict && (mine.buffer ?? Buffer.alloc(0)).equals(t.buffer ?? Buffer.alloc(0));
        if (same || options.allow?.(frames[i]!, mine, t)) continue;
        const theirText = `${other.object.path} (${other.name}) says ${t.verdict} (${t.action})`;
        return mine.verdict === t.verdict
          ? `frame #${i}: ${theirText} as ${program.object.path} (${program.name}) does, but their output bytes differ`
          : `frame #${i}: ${theirText}, ${program.object.path} (${program.name}) says ${mine.verdict} (${mine.action})`;
      }
      return undefined;
    },
  };
}

/** Unit and live engines agree on every frame (verdict, output, map state): see runBoth. */
export function enginesAgree(bench: LiveBench, port: string, options: { unit?: UnitOptions } = {}): FrameProperty {
  return {
    name: 'engines-agree',
    async: true,
    expectation: `await runBoth(obj.program(), bench, PORT, frames); // throws EngineDisagreement`,
    check: async ({ program, frames }) => {
      try {
        await runBoth(
          program,
          bench,
          port,
          frames.map((f) => f.bytes),
          options.unit ? { unit: options.unit } : {},
        );
        return undefined;
      } catch (err) {
        if (err instanceof EngineDisagreement) return err.message;
        throw err;
      }
    },
  };
}

/**
 * A property of your own over each frame's result: return false (or a reason) where it fails.
 * `holds('TTL 1 is never forwarded', (r) => !(r.input.get('ipv4')?.ttl <= 1 && r.verdict === 'redirected'))`
 */
export function holds(
  name: string,
  predicate: (result: FrameResult, frame: GeneratedFrame) => boolean | string | undefined | void,
): FrameProperty {
  return {
    name,
    check: ({ frames, results }) => {
      for (const [i, r] of results.entries()) {
        const v = predicate(r, frames[i]!);
        if (v === false) return `frame #${i} (${r.verdict}, ${r.action}) breaks it`;
        if (typeof v === 'string') return `frame #${i}: ${v}`;
      }
      return undefined;
    },
  };
}

/** An invariant of the program's maps, checked after each run. */
export function mapInvariant(
  name: string,
  invariant: (object: LoadedObject) => boolean | string | undefined | void,
): FrameProperty {
  return {
    name,
    check: ({ program }) => {
      const v = invariant(program.object);
      return v === false ? 'the invariant does not hold after the run' : typeof v === 'string' ? v : undefined;
    },
  };
}

export interface ForAllOptions {
  /** Runs (generated frames, or sequences). Default 200. */
  readonly runs?: number;
  /** The seed: the same seed, program and options give the same frames. Default XDPSPEC_SEED or random. */
  readonly seed?: number;
  /** The frames to generate. */
  readonly frames?: FrameShape;
  /**
   * Sequences of up to this many frames per run instead of one frame, for programs whose
   * decisions depend on what came before (state in maps); a failure shrinks to the shortest.
   */
  readonly sequence?: number;
  /** Options of the unit runs (netns and ingress device for programs that ask the kernel). */
  readonly unit?: UnitOptions;
  /** Writes the counterexample here as a pcapng fixture. */
  readonly out?: string;
  /**
   * Which maps are put back as they were at the start before each run: all the state maps of
   * the objects (default; every run then depends on the seed alone), only the maps named (the
   * ones the program writes and decides by, when the rest is rules it only reads), or none
   * (faster; a program whose decisions depend on state it wrote may then fail a run that its
   * shrunk counterexample does not reproduce alone).
   */
  readonly reset?: 'all' | 'none' | readonly string[];
}

/** What a run of forAllFrames did. */
export interface PropertyReport {
  readonly property: string;
  readonly program: string;
  readonly runs: number;
  readonly frames: number;
  readonly seed: number;
  /** Blocks of the program reached over the runs, when it was loaded with counters. */
  readonly blocks?: { readonly reached: number; readonly total: number };
}

/** A property that does not hold: the minimal counterexample and how to reproduce it. */
export class PropertyFailure extends XdpspecError {
  constructor(
    readonly property: string,
    readonly seed: number,
    readonly runs: number,
    readonly shrinks: number,
    readonly reason: string,
    readonly frames: readonly GeneratedFrame[],
    readonly spec: string,
    readonly fixture: string | undefined,
  ) {
    const shown = frames
      .map((f, i) => `  #${i} (${f.bytes.length} bytes, ${flawText(f)})\n${indent(dissect(parseFrame(f.bytes)), 4)}`)
      .join('\n');
    super(
      'PROPERTY_FAILED',
      `${property} does not hold (run ${runs}, seed ${seed}, shrunk ${shrinks} times): ${reason}\n\n${shown}\n\n  as a spec:\n${indent(spec, 4)}${fixture ? `\n\n  written: ${fixture}` : ''}\n  reproduce: seed ${seed} (forAllFrames(..., { seed: ${seed} }), xdpspec fuzz --seed ${seed})`,
    );
  }
}

const indent = (s: string, n: number) => s.replace(/^/gm, ' '.repeat(n));

function specText(program: Program, property: FrameProperty, frames: readonly GeneratedFrame[], seed: number): string {
  const lines = frames.map((f) => `  ${generatedCode(f)},`);
  return [
    `it('${property.name}: the frame${frames.length > 1 ? 's' : ''} xdpspec fuzz found (seed ${seed})', async () => {`,
    `  const frames = [`,
    ...lines.map((l) => `  ${l}`),
    `  ];`,
    `  const run = await runUnit(obj.program('${program.name}'), frames);`,
    `  ${property.expectation ?? `// assert what "${property.name}" asks of run.frames`}`,
    `});`,
  ].join('\n');
}

/**
 * Generates frames (or sequences) shaped by `options.frames`, runs each through `program` with
 * BPF_PROG_TEST_RUN from the same starting state, and checks `property` on every result.
 * @returns what was run. @throws PropertyFailure with the shrunk counterexample.
 */
export async function forAllFrames(
  program: Program,
  property: FrameProperty,
  options: ForAllOptions = {},
): Promise<PropertyReport> {
  const seed = options.seed ?? seedFromEnvironment();
  const runs = options.runs ?? 200;
  const one = frameArbitrary(options.frames);
  const arb = options.sequence
    ? fc.array(one, { minLength: 1, maxLength: options.sequence })
    : one.map((f) => [f] as GeneratedFrame[]);
  const objects = [...new Set([program.object, ...(property.objects ?? [])])];
  const wanted = (m: BpfMap) =>
    options.reset === undefined || options.reset === 'all'
      ? true
      : options.reset === 'none'
        ? false
        : options.reset.some((n) => m.name === n || m.name.endsWith(n));
  const start: { m: BpfMap; snap: MapState }[] = objects.flatMap((o) =>
    o
      .stateMaps()
      .filter(wanted)
      .map((m) => ({ m, snap: m.capture() })),
  );
  const reset = () => {
    for (const s of start) s.m.putBack(s.snap);
  };
  const counters = program.counters;
  // Blocks reached over the runs: the counters only grow, so one reading before and one after.
  const startCounts = counters?.read();
  let generated = 0;
  const runOnce = (frames: GeneratedFrame[]): PropertyRun => {
    reset();
    generated += frames.length;
    const results = runUnitSteps(
      { p: program },
      frames.map((f) => ({ on: 'p', frame: f.bytes })),
      { locateRedirects: false, ...options.unit },
    ).frames;
    return { program, frames, results };
  };
  const fail = (reason: string | undefined) => {
    if (reason !== undefined) throw new Error(reason);
  };
  const prop = property.async
    ? fc.asyncProperty(arb, async (frames) => fail(await property.check(runOnce(frames))))
    : fc.property(arb, (frames) => fail(property.check(runOnce(frames)) as string | undefined));
  try {
    const details = await fc.check(prop as fc.IAsyncProperty<[GeneratedFrame[]]>, { numRuns: runs, seed });
    if (details.failed) {
      const frames = details.counterexample![0];
      const reason =
        details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      let fixture: string | undefined;
      if (options.out !== undefined) {
        mkdirSync(options.out, { recursive: true });
        fixture = join(options.out, `${property.name.replace(/[^\w.-]+/g, '-')}-seed-${seed}.pcapng`);
        await writeCapture(
          fixture,
          frames.map((f, i) => ({ data: f.bytes, comment: `${property.name} #${i}: ${reason}` })),
          { format: 'pcapng' },
        );
      }
      throw new PropertyFailure(
        property.name,
        seed,
        details.numRuns,
        details.numShrinks,
        reason,
        frames,
        specText(program, property, frames, seed),
        fixture,
      );
    }
    return {
      property: property.name,
      program: program.name,
      runs: details.numRuns,
      frames: generated,
      seed,
      ...(counters && startCounts ? { blocks: blocksReached(counters, startCounts) } : {}),
    };
  } finally {
    reset();
  }
}

function blocksReached(c: NonNullable<Program['counters']>, start: Float64Array): { reached: number; total: number } {
  const now = c.read();
  return { reached: c.blocks.filter((b) => now[b.counter]! > start[b.counter]!).length, total: c.blocks.length };
}

function seedFromEnvironment(): number {
  const s = process.env.XDPSPEC_SEED;
  if (s !== undefined && s !== '') {
    const n = Number(s);
    if (!Number.isInteger(n))
      throw new XdpspecError('PROPERTY_SEED', `XDPSPEC_SEED must be a whole number, got ${JSON.stringify(s)}`);
    return n;
  }
  return (Math.random() * 0x7fffffff) | 0;
}
