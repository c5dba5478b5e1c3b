// bench()'s work on an object with maps the size of Katran's balancer (see map-state-child.ts,
// run in a process of its own so its peak RSS is its alone).
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { fmt, type Bench } from './report.js';

export const mapStateBench: Bench = {
  name: 'map state',
  async run() {
    await execa('make', ['-s', '-C', 'bench/bpf']);
    const child = fileURLToPath(new URL('./map-state-child.ts', import.meta.url));
    const r = JSON.parse((await execa('node', ['--import', 'tsx', child])).stdout) as {
      load: number;
      setup: number;
      reset: number;
      peakMiB: number;
    };
    return [
      `an object with Katran-sized maps (589,833 ring slots, a 1,000,000-entry LRU table), best of 3, a process of its own:`,
      `  loadObject (baseline)                     ${r.load.toFixed(1).padStart(7)} ms`,
      `  bench() set-up: load, then read the state ${(r.load + r.setup).toFixed(1).padStart(7)} ms   ${fmt.ratio((r.load + r.setup) / r.load)} the load's time`,
      `  reset after a case (200 connections, 10 ring slots)  ${r.reset.toFixed(1)} ms`,
      `  peak RSS of that process                  ${r.peakMiB.toFixed(0)} MiB`,
    ];
  },
};
