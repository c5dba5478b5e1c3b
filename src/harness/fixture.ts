import { XdpspecError } from '../sys/errors.js';
import type { LoadedObject, Program, ProgramTypes } from '../bpf/index.js';
import type { PortSpec } from '../net/index.js';
import type { Built } from '../packet/index.js';
import { bpfObject, liveArtifacts, mapsRestored } from './bench-fixtures.js';
import { fixtures } from './fixtures.js';
import type { FrameSource } from './frames.js';
import { LiveBench, type LiveRun, type StreamVia } from './live/index.js';
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
  readonly programType?: ProgramTypes;
  /** Ports of the live bench, by name or in full; none means unit cases only. */
  readonly ports?: readonly (string | PortSpec)[];
  /**
   * Makes the DUT a router (IPv4 and IPv6 forwarding on in its namespace): programs that call
   * bpf_fib_lookup need it, the kernel answering "forwarding disabled" otherwise.
   */
  readonly forwarding?: boolean;
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
    replay(frames: FrameSource, o?: { on?: string; settleMs?: number; via?: StreamVia }): Promise<LiveRun>;
  };
}

/**
 * Declares a bench for the cases of the enclosing `describe`, from the fixtures of
 * bench-fixtures.ts: the object loaded (and a live bench made, the program attached, when ports
 * are given) before the cases, torn down after them even when a case throws; between cases the
 * program's maps are put back as they were after load; a live case that fails gets its capture
 * (`artifacts/<spec file>/<case>.pcapng`) attached. For other shapes (several objects, programs
 * per port, map set-up), compose `fixtures()` directly.
 * @throws XdpspecError `NOT_IN_MOCHA` outside a Mocha spec.
 */
export function bench(o: BenchOptions): SpecBench {
  const ports = (o.ports ?? []).map((p) => (typeof p === 'string' ? { name: p } : p));
  const attachTo = o.attachTo ?? ports[0]?.name;
  const artifacts = {
    ...(o.artifacts === undefined ? {} : { dir: o.artifacts }),
    when: o.writeArtifacts ?? 'on-failure',
  } as const;
  const f = fixtures()
    .suite('object', bpfObject(o.object, o.globals, o.programType === undefined ? {} : { programType: o.programType }))
    // No ports: unit cases only, and no live bench to make.
    .suite('live', async ({ object }, use: (b: LiveBench | undefined) => Promise<void>) => {
      if (!ports.length) return use(undefined);
      const b = await LiveBench.create({ ports, ...(o.forwarding ? { forwarding: true } : {}) });
      try {
        b.attach(object.program(o.program), attachTo!);
        await use(b);
      } finally {
        b.close();
      }
    })
    .case(
      'maps',
      mapsRestored(({ object }) => object),
    )
    .case('runs', (deps, use: (r: readonly LiveRun[]) => Promise<void>, info) =>
      deps.live ? liveArtifacts(() => deps.live!, artifacts)(deps, use, info) : use([]),
    ).values;
  const live = () => {
    const b = f.live;
    if (!b) throw new XdpspecError('BENCH_NOT_READY', 'this bench has no live bench: give ports to bench()');
    return b;
  };
  const program = () => f.object.program(o.program);
  return {
    get object() {
      return f.object;
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
        return live();
      },
      replay(frames: FrameSource, ro?: { on?: string; settleMs?: number; via?: StreamVia }) {
        return live().replay(frames, {
          on: ro?.on ?? attachTo!,
          ...(ro?.settleMs ? { settleMs: ro.settleMs } : {}),
          ...(ro?.via ? { via: ro.via } : {}),
        });
      },
    },
  };
}
