// bench()'s work on an object with maps the size of Katran's balancer (bench/bpf/katran_shape.bpf.c:
// 589,833 ring slots, 4,096 reals, a million-entry LRU connection table, per-CPU stats): its
// set-up (load, then read the state maps once) against the load alone, and the reset after a case
// that added connections and changed ring slots, with the process's peak RSS. Run in a process of
// its own by map-state.ts, so the peak is this work's alone.
import { loadObject, type LoadedObject } from '../dist/index.js';

const OBJECT = 'bench/bpf/build/katran_shape.bpf.o';
const RING = 65537 * 9;

function provision(o: LoadedObject): void {
  // Katran's provisioning writes every ring slot (a real's index) and its reals.
  const ring = o.map('ch_rings');
  ring.setMany(Array.from({ length: RING }, (_, i): [number, number] => [i, i % 4096]));
  o.map('reals').setMany(
    Array.from({ length: 4096 }, (_, i): [number, unknown] => [i, { addr: [i, 0, 0, 0], flags: 0 }]),
  );
}

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
    o.program().testRunMany(Array.from({ length: 200 }, (_, i) => Buffer.alloc(60 + i)));
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
console.log(
  JSON.stringify({
    load: best(loads),
    setup: best(setups),
    reset: best(resets),
    peakMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
