import { XdpspecError } from '../errors.js';
import type { Program } from '../bpf/index.js';
import { summarize } from '../packet/index.js';
import { collectFrames, type FrameSource } from './frames.js';
import type { LiveBench, LiveRun } from './live.js';
import { runUnit, type UnitOptions, type UnitRun } from './unit.js';

/** The unit and the live engine disagreed about some frames. */
export class EngineDisagreement extends XdpspecError {
  constructor(
    readonly unit: UnitRun,
    readonly live: LiveRun,
    readonly frames: readonly number[],
  ) {
    const lines = frames.slice(0, 10).map((i) => {
      const u = unit.frames[i]!;
      const l = live.frames[i]!;
      const out = u.output && l.output && !u.output.bytes.equals(l.output.bytes) ? ', outputs differ' : '';
      return `  #${i}  ${summarize(u.input)}\n       unit: ${u.verdict} (${u.action})   live: ${l.verdict}${out}`;
    });
    super('ENGINES_DISAGREE', `the unit and live engines disagree on ${frames.length} of ${unit.frames.length} frames\n\n${lines.join('\n')}${frames.length > 10 ? `\n  ... and ${frames.length - 10} more` : ''}`);
  }
}

/**
 * Runs the same frames through the unit engine and, with `program` attached to `port` of
 * `bench`, through the live engine; returns both runs, or throws `EngineDisagreement` naming
 * every frame whose verdict (or output) differs. An XDP_REDIRECT in the unit run agrees with
 * any live redirect: where it went is the live run's to say. `options.unit` goes to the unit
 * run, e.g. `{ netns: bench.topology.dut, ingressIfindex }` for programs that look up routes.
 */
export async function runBoth(program: Program, bench: LiveBench, port: string, frames: FrameSource, options: { unit?: UnitOptions } = {}): Promise<{ unit: UnitRun; live: LiveRun }> {
  const inputs = await collectFrames(frames);
  // Both engines must start from the same map state: snapshot it, run live, put it back, run unit.
  const maps = program.object.stateMaps().map((m) => ({ m, snap: m.snapshot() }));
  bench.attach(program, port);
  const live = await bench.replay(inputs, { on: port });
  for (const { m, snap } of maps) m.restore(snap);
  const unit = await runUnit(program, inputs, { locateRedirects: false, ...options.unit });
  const differ = unit.frames
    .map((u, i) => {
      const l = live.frames[i]!;
      if (u.verdict !== l.verdict) return i;
      const sameOut = !u.output || !l.output || u.output.bytes.equals(l.output.bytes);
      return sameOut ? -1 : i;
    })
    .filter((i) => i >= 0);
  if (differ.length) throw new EngineDisagreement(unit, live, differ);
  return { unit, live };
}
