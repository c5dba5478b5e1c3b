// BPF_PROG_TEST_RUN per frame: xdpspec's test run against a C loop calling
// bpf_prog_test_run_opts with libbpf (test_run_loop.c, built here), same object, same frames.
import { execa } from 'execa';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject, readCapture, runUnit } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'bpf/build/xdp_ipv6_filter.bpf.o';
const PROGRAM = 'xdp_ipv6_only';
const FIXTURE = 'fixtures/ipv4-and-ipv6.pcap';
const CALLS = 100_000;

export const testRunBench: Bench = {
  name: 'test run',
  async run() {
    const dir = fileURLToPath(new URL('./build/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const bin = `${dir}test_run_loop`;
    await execa('gcc', ['-O2', '-o', bin, fileURLToPath(new URL('./test_run_loop.c', import.meta.url)), '-lbpf']);
    const frames = (await readCapture(FIXTURE)).records.map((r) => r.data);
    const obj = loadObject(OBJECT);
    const prog = obj.program(PROGRAM);
    const single = () => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) prog.testRun(frames[i % frames.length]!);
      return Number(process.hrtime.bigint() - t) / CALLS;
    };
    const many = () => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < CALLS / frames.length; i++) prog.testRunMany(frames);
      return Number(process.hrtime.bigint() - t) / CALLS;
    };
    // runUnit as specs call it: every frame classified (what became of it), redirects not located.
    const unit = async () => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < CALLS / frames.length / 10; i++) await runUnit(prog, frames, { locateRedirects: false });
      return (Number(process.hrtime.bigint() - t) / CALLS) * 10;
    };
    const c = async () =>
      (JSON.parse((await execa(bin, [OBJECT, PROGRAM, FIXTURE, String(CALLS)])).stdout) as { ns_per_call: number })
        .ns_per_call;
    single(); // warm up the JIT and the kernel's caches
    // Interleaved, best of five each: the machine is shared, the minimum is the least disturbed.
    const res = { c: [] as number[], single: [] as number[], many: [] as number[], unit: [] as number[] };
    for (let k = 0; k < 5; k++) {
      res.c.push(await c());
      res.single.push(single());
      res.many.push(many());
      res.unit.push(await unit());
    }
    obj.close();
    const best = (xs: number[]) => Math.min(...xs);
    const cb = best(res.c);
    return [
      `${fmt.int(CALLS)} calls of ${PROGRAM} on the ${frames.length} frames of ${FIXTURE}, one frame per call:`,
      `  C loop with libbpf (baseline)   ${fmt.ns(cb).padStart(8)} per frame`,
      `  xdpspec testRun                 ${fmt.ns(best(res.single)).padStart(8)} per frame   ${fmt.ratio(best(res.single) / cb)} the C loop's time`,
      `  xdpspec testRunMany             ${fmt.ns(best(res.many)).padStart(8)} per frame   ${fmt.ratio(best(res.many) / cb)} the C loop's time`,
      `  xdpspec runUnit                 ${fmt.ns(best(res.unit)).padStart(8)} per frame   ${fmt.ratio(best(res.unit) / cb)} the C loop's time`,
    ];
  },
};
