// bench()'s work on an object with maps the size of Katran's balancer (bench/bpf/katran_shape.bpf.c:
// 589,833 ring slots, 4,096 reals, a million-entry LRU connection table, per-CPU stats): its
// set-up (load, then read the state maps once) against the load alone, and the reset after a case
// that added connections and changed ring slots, with the process's peak RSS.
import { execa } from 'execa';
import { fixtures } from '../dist/index.js';
import { loadObject, type LoadedObject } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'bench/bpf/build/katran_shape.bpf.o';
const RING = 65537 * 9;

void fixtures; // bench() is fixtures over capture/putBack; the same calls are timed here directly

function provision(o: LoadedObject): void {
  // Katran's provisioning writes every ring slot (a real's index) and its reals.
  const ring = o.map('ch_rings');
  ring.setMany(Array.from({ length: RING }, (_, i): [number, number] => [i, i % 4096]));
  o.map('reals').setMany(
    Array.from({ length: 4096 }, (_, i): [number, unknown] => [i, { addr: [i, 0, 0, 0], flags: 0 }]),
  );
}

export const mapStateBench: Bench = {
  name: 'map state',
  async run() {
    await execa('make', ['-s', '-C', 'bench/bpf']);
    const loads: number[] = [];
    const setups: number[] = [];
    const resets: number[] = [];
    for (let round = 0; round < 3; round++) {
      let t = performance.now();
      const o = loadObject(OBJECT);
      loads.push(performance.now() - t);
      try {
        provision(o);
        t = performance.now();
        const maps = o.stateMaps().map((m) => ({ m, state: m.capture() }));
        setups.push(performance.now() - t);
        // a case: 200 frames through the program (200 connections), ten ring slots moved
        const p = o.program();
        p.testRunMany(Array.from({ length: 200 }, (_, i) => Buffer.alloc(60 + i)));
        const ring = o.map('ch_rings');
        for (let i = 0; i < 10; i++) ring.set(i * 50_000, 7);
        t = performance.now();
        for (const { m, state } of maps) m.putBack(state);
        resets.push(performance.now() - t);
        if ([...o.map('conn_table').keys()].length !== 0) throw new Error('the connection table was not reset');
        if (ring.get(0) !== 0) throw new Error('a ring slot was not put back');
      } finally {
        o.close();
      }
    }
    const best = (xs: number[]) => Math.min(...xs);
    const load = best(loads);
    const setup = best(setups);
    const peak = process.resourceUsage().maxRSS / 1024;
    return [
      `an object with Katran-sized maps (${fmt.int(RING)} ring slots, a 1,000,000-entry LRU table), best of 3:`,
      `  loadObject (baseline)                     ${load.toFixed(1).padStart(7)} ms`,
      `  bench() set-up: load, then read the state ${(load + setup).toFixed(1).padStart(7)} ms   ${fmt.ratio((load + setup) / load)} the load's time`,
      `  reset after a case (200 connections, 10 ring slots)  ${best(resets).toFixed(1)} ms`,
      `  peak RSS of the benchmark process so far  ${peak.toFixed(0)} MiB`,
    ];
  },
};
