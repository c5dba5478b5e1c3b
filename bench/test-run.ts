// BPF_PROG_TEST_RUN per frame: xdpspec's test run against a C loop calling
// bpf_prog_test_run_opts with libbpf (test_run_loop.c, built here), same object, same frames.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObject, readCapture, runUnit, writeCapture } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'bpf/build/xdp_ipv6_filter.bpf.o';
const PROGRAM = 'xdp_ipv6_only';
const FIXTURE = 'fixtures/ipv4-and-ipv6.pcap';
const CALLS = 100_000;
const KATRAN = '../shared/peer-suites/katran/fixtures.json';

interface Subject {
  readonly object: string;
  readonly program: string;
  /** What the frames are, for the report. */
  readonly what: string;
  readonly pcap: string;
}

async function measure(bin: string, t: Subject): Promise<string[]> {
  const frames = (await readCapture(t.pcap)).records.map((r) => r.data);
  const obj = loadObject(t.object);
  const prog = obj.program(t.program);
  // Whole rounds of the frames, about CALLS calls each.
  const rounds = Math.max(1, Math.round(CALLS / frames.length));
  const calls = rounds * frames.length;
  const single = () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) prog.testRun(frames[i % frames.length]!);
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  const many = () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) prog.testRunMany(frames);
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  // runUnit as specs call it: every frame classified (what became of it), redirects not located.
  const unitRounds = Math.max(1, Math.round(rounds / 10));
  const unit = async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < unitRounds; i++) await runUnit(prog, frames, { locateRedirects: false });
    return Number(process.hrtime.bigint() - t0) / (unitRounds * frames.length);
  };
  const c = async (...extra: string[]) =>
    (
      JSON.parse((await execa(bin, [t.object, t.program, t.pcap, String(calls), ...extra])).stdout) as {
        ns_per_call: number;
      }
    ).ns_per_call;
  single(); // warm up the JIT and the kernel's caches
  // Interleaved, best of ten each: the machine is shared, the minimum is the least disturbed (five
  // rounds still left a fifth of the runs of a noisy hour apart by more than the goals are).
  const res = {
    c: [] as number[],
    threaded: [] as number[],
    single: [] as number[],
    many: [] as number[],
    unit: [] as number[],
  };
  for (let k = 0; k < 10; k++) {
    res.c.push(await c());
    res.threaded.push(await c('threaded'));
    res.single.push(single());
    res.many.push(many());
    res.unit.push(await unit());
  }
  obj.close();
  const best = (xs: number[]) => Math.min(...xs);
  const cb = best(res.c);
  const tb = best(res.threaded);
  return [
    `${fmt.int(calls)} calls of ${t.program} on ${t.what}, one frame per call:`,
    `  C loop with libbpf (baseline)   ${fmt.ns(cb).padStart(8)} per frame`,
    `  the same, a second thread idle  ${fmt.ns(tb).padStart(8)} per frame   ${fmt.ratio(tb / cb)} the C loop's time (the floor of any threaded process: see test_run_loop.c)`,
    `  xdpspec testRun                 ${fmt.ns(best(res.single)).padStart(8)} per frame   ${fmt.ratio(best(res.single) / cb)} the C loop's time`,
    `  xdpspec testRunMany             ${fmt.ns(best(res.many)).padStart(8)} per frame   ${fmt.ratio(best(res.many) / cb)} the C loop's time, ${fmt.ratio(best(res.many) / tb)} the threaded one's`,
    `  xdpspec runUnit                 ${fmt.ns(best(res.unit)).padStart(8)} per frame   ${fmt.ratio(best(res.unit) / cb)} the C loop's time`,
  ];
}

export const testRunBench: Bench = {
  name: 'test run',
  async run(tmp) {
    const dir = fileURLToPath(new URL('./build/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const bin = `${dir}test_run_loop`;
    await execa('gcc', ['-O2', '-o', bin, fileURLToPath(new URL('./test_run_loop.c', import.meta.url)), '-lbpf']);
    const seed = await measure(bin, {
      object: OBJECT,
      program: PROGRAM,
      what: `the 20 frames of ${FIXTURE}`,
      pcap: FIXTURE,
    });
    if (!existsSync(KATRAN)) return [...seed, `(no ${KATRAN} beside this checkout: the Katran-sized run is left out)`];
    // The load balancer (our largest program) on the inputs of Katran's 161 fixtures.
    const katran = JSON.parse(readFileSync(KATRAN, 'utf8')) as { input: string }[];
    const katranPcap = join(tmp, 'katran-inputs.pcap');
    await writeCapture(
      katranPcap,
      katran.map((f) => ({ data: Buffer.from(f.input, 'hex') })),
      { format: 'pcap' }, // the C loop reads classic pcap
    );
    return [
      ...seed,
      ...(await measure(bin, {
        object: 'bpf/build/xdp_lb.bpf.o',
        program: 'xdp_lb',
        what: `the inputs of Katran's ${katran.length} fixtures`,
        pcap: katranPcap,
      })),
    ];
  },
};
