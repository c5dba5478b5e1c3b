import { basename } from 'node:path';
import { XdpspecError } from '../sys/errors.js';
import { loadObject, type LoadedObject, type Program, type ProgramTypeName } from '../bpf/index.js';
import type { PortSpec } from '../net/index.js';
import type { Built } from '../packet/index.js';
import { writeArtifact } from './artifact.js';
import type { FrameSource } from './frames.js';
import { LiveBench, type LiveRun } from './live/index.js';
import { runUnit, type UnitOptions, type UnitRun } from './unit.js';
import type { FrameResult } from './verdict.js';

export interface BenchOptions {
  /** The BPF object file. */
  readonly object: string;
  /** The program (may be left out when the object has one). */
  readonly program?: string;
  /** Globals set before load. */
  readonly globals?: Record<string, unknown>;
  /** The program type, for sections whose name does not say it (`SEC("prog")`). */
  readonly programType?: ProgramTypeName;
  /** Ports of the live bench, by name or in full; none means unit cases only. */
  readonly ports?: readonly (string | PortSpec)[];
  /** The port the program is attached to (default: the first). */
  readonly attachTo?: string;
  /** Where live cases write their capture (default `artifacts`). */
  readonly artifacts?: string;
  /** Which live cases write one: those that fail (default) or all. */
  readonly writeArtifacts?: 'on-failure' | 'always';
}

export interface SpecBench {
  readonly object: LoadedObject;
  readonly program: Program;
  /** One frame through the unit engine: its result. */
  unit(frame: Uint8Array | Built, o?: UnitOptions): Promise<FrameResult>;
  /** Several frames (or a capture file): the run. */
  unit(frames: readonly (Uint8Array | Built)[] | string, o?: UnitOptions): Promise<UnitRun>;
  readonly live: {
    readonly bench: LiveBench;
    /** Replays on `on` (default: the port the program is attached to). */
    replay(frames: FrameSource, o?: { on?: string; settleMs?: number }): Promise<LiveRun>;
  };
}

interface MochaTest {
  title: string;
  state?: string;
  err?: Error;
  file?: string;
  titlePath(): string[];
}
type Hook = (fn: (this: { currentTest?: MochaTest }) => unknown) => void;

/**
 * Where bench() records, on the Mocha test, the capture it wrote for that case; reporters (the
 * JUnit file of `xdpspec run --junit`) attach it.
 */
export const ARTIFACT = Symbol.for('xdpspec.artifact');

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80) || 'case';

/**
 * Declares a bench for the cases of the enclosing `describe`: set up before them (object loaded,
 * live bench made and the program attached when ports are given), torn down after them even when
 * a case throws. Between cases the program's maps are put back as they were after load. A live
 * case that fails writes its capture to `artifacts/<spec file>/<case>.pcapng` and names it in the
 * failure message.
 * @throws XdpspecError `NOT_IN_MOCHA` outside a Mocha spec.
 */
export function bench(o: BenchOptions): SpecBench {
  const g = globalThis as unknown as { before?: Hook; after?: Hook; afterEach?: Hook };
  if (!g.before || !g.after || !g.afterEach)
    throw new XdpspecError(
      'NOT_IN_MOCHA',
      'bench() declares Mocha hooks: call it inside a describe() of a spec that Mocha runs',
    );
  let obj: LoadedObject | undefined;
  let live: LiveBench | undefined;
  let snapshot: { restore(): void }[] = [];
  let lastRun: LiveRun | undefined;
  const ports = (o.ports ?? []).map((p) => (typeof p === 'string' ? { name: p } : p));
  const attachTo = o.attachTo ?? ports[0]?.name;
  const ready = <T>(x: T | undefined, what: string): T => {
    if (x === undefined)
      throw new XdpspecError(
        'BENCH_NOT_READY',
        `the bench's ${what} exists inside cases (it(...)), after the bench's before() hook; not while describe() runs`,
      );
    return x;
  };

  g.before(async function () {
    obj = loadObject(o.object, o.globals, o.programType === undefined ? {} : { programType: o.programType });
    if (ports.length) {
      live = await LiveBench.create({ ports });
      live.attach(obj.program(o.program), attachTo!);
    }
    snapshot = obj.stateMaps().map((map) => {
      const snap = map.snapshot();
      return { restore: () => map.restore(snap) };
    });
  });

  g.afterEach(async function () {
    const t = this.currentTest;
    const failed = t?.state === 'failed' && t.err !== undefined;
    if (t && lastRun && (failed || o.writeArtifacts === 'always')) {
      const file = `${o.artifacts ?? 'artifacts'}/${slug(basename(t.file ?? 'spec'))}/${slug(t.title)}.pcapng`;
      await writeArtifact(
        lastRun,
        ports.map((p) => p.name),
        file,
      );
      (t as unknown as Record<symbol, string>)[ARTIFACT] = file;
      if (failed && t.err) {
        // Reporters print the stack, which has the message as it was when thrown: change both.
        const before = t.err.message;
        t.err.message += `\n  capture   ${file}`;
        if (t.err.stack) t.err.stack = t.err.stack.replace(before, t.err.message);
      }
    }
    lastRun = undefined;
    for (const s of snapshot) s.restore();
  });

  g.after(function () {
    live?.close();
    obj?.close();
  });

  const program = () => ready(obj, 'object').program(o.program);
  return {
    get object() {
      return ready(obj, 'object');
    },
    get program() {
      return program();
    },
    unit: (async (frames: FrameSource, uo?: UnitOptions) => {
      const run = await runUnit(program(), frames, uo);
      const single =
        frames instanceof Uint8Array ||
        (typeof frames === 'object' && !Array.isArray(frames) && typeof (frames as Built).build === 'function');
      return single ? run.frames[0]! : run;
    }) as SpecBench['unit'],
    live: {
      get bench() {
        return ready(live, 'live bench (give ports to bench())');
      },
      async replay(frames: FrameSource, ro?: { on?: string; settleMs?: number }) {
        lastRun = await ready(live, 'live bench (give ports to bench())').replay(frames, {
          on: ro?.on ?? attachTo!,
          ...(ro?.settleMs ? { settleMs: ro.settleMs } : {}),
        });
        return lastRun;
      },
    },
  };
}
