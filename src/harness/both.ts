import { basename } from 'node:path';
import { XdpspecError } from '../sys/errors.js';
import type { BpfMap, LoadedObject, MapState, Program, TcDirection } from '../bpf/index.js';
import { PROG_TYPE } from '../bpf/kinds.js';
import { diffFrames, summarize, type Frame } from '../packet/index.js';
import { collectFrames, type FrameSource, type Step } from './frames.js';
import type { LiveBench, LiveRun, StreamVia } from './live/index.js';
import { runUnitSteps, type UnitOptions, type UnitRun } from './unit.js';

/** The unit and the live engine disagreed about some frames, or left the maps in different states. */
export class EngineDisagreement extends XdpspecError {
  constructor(
    readonly unit: UnitRun,
    readonly live: LiveRun,
    readonly frames: readonly number[],
    /** One line per map whose entries differ after the two runs. */
    readonly maps: readonly string[] = [],
  ) {
    const lines = frames.slice(0, 10).map((i) => {
      const u = unit.frames[i]!;
      const l = live.frames[i]!;
      const out = u.output && l.output ? outputDifference(u.output, l.output) : '';
      return `  #${i}  ${summarize(u.input)}\n       unit: ${u.verdict} (${u.action})   live: ${l.verdict}${out}`;
    });
    const more = frames.length > 10 ? `\n  ... and ${frames.length - 10} more` : '';
    const head = frames.length
      ? `the unit and live engines disagree on ${frames.length} of ${unit.frames.length} frames\n\n${lines.join('\n')}${more}`
      : `the unit and live engines agree on ${unit.frames.length === 1 ? 'the one frame' : `all ${unit.frames.length} frames`}`;
    const tail = maps.length
      ? `\n\n${frames.length ? 'and they' : 'but they'} left maps in different states:\n${maps.map((m) => `  ${m}`).join('\n')}`
      : '';
    super('ENGINES_DISAGREE', head + tail);
  }
}

/**
 * How two outputs of one frame differ, for the disagreement's line: their lengths when those
 * differ, and the first few fields from the unit's output to the live one.
 */
function outputDifference(unit: Frame, live: Frame): string {
  if (unit.bytes.equals(live.bytes)) return '';
  const sizes =
    unit.bytes.length === live.bytes.length ? '' : ` (unit ${unit.bytes.length} bytes, live ${live.bytes.length})`;
  const changes = diffFrames(unit, live);
  const shown = changes
    .slice(0, 3)
    .map((c) => `${c.path} ${c.from ?? '(absent)'} -> ${c.to ?? '(absent)'}`)
    .join(', ');
  const more = changes.length > 3 ? `, and ${changes.length - 3} more` : '';
  return `, outputs differ${sizes}${shown ? `, unit -> live: ${shown}${more}` : ''}`;
}

/** Entries of the maps the engines compare: per-CPU maps are left out (the engines run on different CPUs). */
function state(objects: readonly LoadedObject[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const o of objects) {
    for (const m of o.stateMaps())
      if (!m.perCpu)
        out.set(
          `${basename(o.path)}/${m.name}`,
          new Map(m.snapshot().map(([k, v]) => [k.toString('hex'), v.toString('hex')])),
        );
  }
  return out;
}

function stateDiff(live: Map<string, Map<string, string>>, unit: Map<string, Map<string, string>>): string[] {
  const out: string[] = [];
  for (const [name, l] of live) {
    const u = unit.get(name)!;
    const keys = new Set([...l.keys(), ...u.keys()]);
    const differ = [...keys].filter((k) => l.get(k) !== u.get(k));
    if (differ.length === 0) continue;
    const k = differ[0]!;
    out.push(
      `${name}: ${differ.length} entr${differ.length === 1 ? 'y differs' : 'ies differ'}, first key ${k}: live ${l.get(k) ?? '(none)'}, unit ${u.get(k) ?? '(none)'}`,
    );
  }
  return out;
}

/** How `runBoth` runs the two engines. */
export interface BothOptions {
  /** Options of the unit run, e.g. `{ netns: bench.topology.dut, ingressIfindex }` for programs that look up routes. */
  readonly unit?: UnitOptions;
  /**
   * Where TC programs attach for the live run: `ingress` (default; frames come in from the
   * tester end) or `egress` (the DUT sends them out of the port).
   */
  readonly tc?: TcDirection;
  /** How the live run sends its frames (see StreamVia): `auto` by default. */
  readonly via?: StreamVia;
}

/**
 * Runs the same frames through the unit engine and, with `program` attached to `port` of
 * `bench`, through the live engine; returns both runs, or throws `EngineDisagreement` naming
 * every frame whose verdict (or output) differs. An XDP_REDIRECT in the unit run agrees with
 * any live redirect: where it went is the live run's to say. `options.unit` goes to the unit
 * run, e.g. `{ netns: bench.topology.dut, ingressIfindex }` for programs that look up routes.
 *
 * Both runs start from the same map state, and must end in the same state too: the maps the
 * program keeps (all but per-CPU ones) are compared entry by entry. They end as the unit run
 * left them.
 */
export async function runBoth(
  program: Program,
  bench: LiveBench,
  port: string,
  frames: FrameSource,
  options: BothOptions = {},
): Promise<{ unit: UnitRun; live: LiveRun }> {
  const inputs = await collectFrames(frames);
  return runBothSteps(
    bench,
    { [port]: program },
    inputs.map((frame) => ({ on: port, frame })),
    options,
  );
}

/**
 * `runBoth` for a conversation across ports: `programs` says which program runs on which port
 * (each is attached there for the live run), and each step's frame is sent in on its port,
 * in order, through both engines.
 */
export async function runBothSteps(
  bench: LiveBench,
  programs: Readonly<Record<string, Program>>,
  steps: readonly Step[],
  options: BothOptions = {},
): Promise<{ unit: UnitRun; live: LiveRun }> {
  const objects = [...new Set(Object.values(programs).map((p) => p.object))];
  const maps: { m: BpfMap; snap: MapState }[] = objects.flatMap((o) =>
    o.stateMaps().map((m) => ({ m, snap: m.capture() })),
  );
  for (const [port, program] of Object.entries(programs)) {
    if (program.typeId === PROG_TYPE.sched_cls) bench.attachTc(program, port, options.tc ?? 'ingress');
    else bench.attach(program, port);
  }
  const live = await bench.replaySteps(steps, options.via ? { via: options.via } : {});
  const liveState = state(objects);
  for (const { m, snap } of maps) m.putBack(snap);
  const unit = runUnitSteps(programs, steps, { locateRedirects: false, ...options.unit });
  const differ = unit.frames
    .map((u, i) => {
      const l = live.frames[i]!;
      if (u.verdict !== l.verdict) return i;
      const sameOut = !u.output || !l.output || u.output.bytes.equals(l.output.bytes);
      return sameOut ? -1 : i;
    })
    .filter((i) => i >= 0);
  const mapDiffs = stateDiff(liveState, state(objects));
  if (differ.length || mapDiffs.length) throw new EngineDisagreement(unit, live, differ, mapDiffs);
  return { unit, live };
}
