// Block counters: what they cost. Per program of bpf/, the same object loaded twice, with and
// without counters, side by side: the kernel's run time per frame (BPF_PROG_TEST_RUN's repeat,
// timed by the kernel), runUnit per frame as a spec calls it (a counted program runs frame by
// frame and reads its counters around each), and the verifier's work and size at load.
import { loadObject, readCapture, runUnit, type LoadedObject } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const PROGRAMS: readonly [string, string, string][] = [
  ['bpf/build/xdp_ipv6_filter.bpf.o', 'xdp_ipv6_only', 'fixtures/ipv4-and-ipv6.pcap'],
  ['bpf/build/xdp_firewall.bpf.o', 'xdp_firewall', 'fixtures/firewall-lab.pcap'],
  ['bpf/build/xdp_lb.bpf.o', 'xdp_lb', 'fixtures/mixed-traffic.pcap'],
  ['bpf/build/xdp_router.bpf.o', 'xdp_router_lan', 'fixtures/mixed-traffic.pcap'],
  ['bpf/build/xdp_router.bpf.o', 'xdp_router_wan', 'fixtures/mixed-traffic.pcap'],
  ['bpf/build/xdp_redirect.bpf.o', 'xdp_redirect', 'fixtures/mixed-traffic.pcap'],
  ['bpf/build/xdp_egress_isn.bpf.o', 'xdp_isn_out', 'fixtures/mixed-traffic.pcap'],
  ['bpf/build/xdp_egress_isn.bpf.o', 'xdp_isn_in', 'fixtures/mixed-traffic.pcap'],
  ['bpf/build/tc_redirect.bpf.o', 'tc_redirect', 'fixtures/mixed-traffic.pcap'],
];
const REPEAT = 2000;
const UNIT_ROUNDS = 20;

export const coverageBench: Bench = {
  name: 'block counters',
  async run() {
    const lines = [
      `per frame, counted / plain (the same object loaded without counters), best of 5 interleaved:`,
      `  ${'program'.padEnd(16)} ${'kernel time'.padStart(12)} ${'runUnit'.padStart(10)}   verifier insns     program slots`,
    ];
    for (const [path, name, capture] of PROGRAMS) {
      const frames = (await readCapture(capture)).records.map((r) => r.data).filter((f) => f.length >= 34);
      const plain = loadObject(path, {}, { count: false });
      const counted = loadObject(path, {}, { count: true });
      try {
        const [a, b] = [plain.program(name), counted.program(name)];
        const kernel = (o: LoadedObject) => {
          const p = o.program(name);
          return frames.reduce((s, f) => s + p.testRun(f, { repeat: REPEAT }).durationNs, 0) / frames.length;
        };
        const unit = async (o: LoadedObject) => {
          const p = o.program(name);
          const t = process.hrtime.bigint();
          for (let i = 0; i < UNIT_ROUNDS; i++) await runUnit(p, frames, { locateRedirects: false });
          return Number(process.hrtime.bigint() - t) / (UNIT_ROUNDS * frames.length);
        };
        await unit(counted); // warm up
        const r = { kp: [] as number[], kc: [] as number[], up: [] as number[], uc: [] as number[] };
        for (let k = 0; k < 5; k++) {
          r.kp.push(kernel(plain));
          r.kc.push(kernel(counted));
          r.up.push(await unit(plain));
          r.uc.push(await unit(counted));
        }
        const best = (xs: number[]) => Math.min(...xs);
        const va = a.stats().verifiedInstructions ?? 0;
        const vb = b.stats().verifiedInstructions ?? 0;
        const c = b.counters!;
        lines.push(
          `  ${name.padEnd(16)} ${fmt.ratio(best(r.kc) / best(r.kp)).padStart(12)} ${fmt.ratio(best(r.uc) / best(r.up)).padStart(10)}   ${`${va} -> ${vb}`.padStart(14)}   ${`${c.originalSlots} -> ${c.instrumentedSlots}`.padStart(14)}`,
        );
      } finally {
        plain.close();
        counted.close();
      }
    }
    return lines;
  },
};
