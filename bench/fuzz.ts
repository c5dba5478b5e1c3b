// Property runs: generated frames per second through forAllFrames (generation, test run,
// classification, the property) against raw testRun calls on frames of the same generator, same
// program, side by side.
import fc from 'fast-check';
import { forAllFrames, frames, loadObject, neverAborts } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'bpf/build/xdp_firewall.bpf.o';
const RUNS = 20_000;

export const fuzzBench: Bench = {
  name: 'property runs',
  async run() {
    const obj = loadObject(OBJECT, {}, { count: false });
    try {
      const program = obj.program();
      const sample = fc.sample(frames(), { numRuns: RUNS, seed: 1 }).map((f) => f.bytes);
      const raw = () => {
        const t = process.hrtime.bigint();
        for (const f of sample) program.testRun(f);
        return RUNS / (Number(process.hrtime.bigint() - t) / 1e9);
      };
      const property = async (reset: 'all' | 'none') => {
        const t = process.hrtime.bigint();
        await forAllFrames(program, neverAborts(), { runs: RUNS, seed: 1, reset });
        return RUNS / (Number(process.hrtime.bigint() - t) / 1e9);
      };
      raw();
      const r = { raw: [] as number[], prop: [] as number[], none: [] as number[] };
      for (let k = 0; k < 3; k++) {
        r.raw.push(raw());
        r.prop.push(await property('all'));
        r.none.push(await property('none'));
      }
      const best = (xs: number[]) => Math.max(...xs);
      return [
        `${fmt.int(RUNS)} generated frames (30% malformed) through xdp_firewall, best of 3:`,
        `  raw testRun on the same generator's frames (baseline)   ${fmt.rate(best(r.raw))} frames/s`,
        `  forAllFrames(never-aborts), its 10 maps reset per run ${fmt.rate(best(r.prop))} frames/s   ${fmt.ratio(best(r.prop) / best(r.raw))} the raw rate`,
        `  forAllFrames(never-aborts), reset: 'none'            ${fmt.rate(best(r.none))} frames/s   ${fmt.ratio(best(r.none) / best(r.raw))} the raw rate`,
      ];
    } finally {
      obj.close();
    }
  },
};
