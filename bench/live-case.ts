// One live case: the IPv6 filter on the article's 20-frame capture, on a reused bench.
// xdpspec's LiveBench (inject, account, classify every frame) against the article's method:
// tcpdump started in the namespace on the XDP interface, tcpreplay of the file into the peer,
// done when tcpdump has its 10 frames.
import { execa } from 'execa';
import { LiveBench, loadObject } from '../dist/index.js';
import { articleTopology, startTcpdump } from './article.js';
import { fmt, type Bench } from './report.js';

const FIXTURE = 'fixtures/ipv4-and-ipv6.pcap';
const OBJECT = 'bpf/build/xdp_ipv6_filter.bpf.o';
const ROUNDS = 5;
const BACK_TO_BACK = 50;

async function articleMethod(ns: string, out: string): Promise<void> {
  const dump = await startTcpdump(ns, ['-c', '10', '-w', out, 'ip6']);
  await execa('ip', ['netns', 'exec', ns, 'tcpreplay', '-q', '-i', 'veth0', FIXTURE]);
  const r = await dump.done;
  if (!/10 packets captured/.test(r.stderr ?? ''))
    throw new Error(`tcpdump did not capture the 10 IPv6 frames: ${r.stderr}`);
}

export const liveCaseBench: Bench = {
  name: 'live case',
  async run(tmp: string) {
    const ns = `xdpspec-bench-${process.pid}-live`;
    const article = await articleTopology(ns, OBJECT);
    const bench = await LiveBench.create({ ports: [{ name: 'wan' }] });
    const obj = loadObject(OBJECT);
    try {
      bench.attach(obj.program(), 'wan');
      // One round of each first, as the test-run bench warms up: the JIT and the kernel's caches.
      await articleMethod(ns, `${tmp}/captured-warm.pcap`);
      await bench.replay(FIXTURE, { on: 'wan' });
      const theirs: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        let t = performance.now();
        await articleMethod(ns, `${tmp}/captured-${i}.pcap`);
        theirs.push(performance.now() - t);
        t = performance.now();
        const run = await bench.replay(FIXTURE, { on: 'wan' });
        ours.push(performance.now() - t);
        if (run.counts.passed !== 10 || run.counts.dropped !== 10)
          throw new Error(`live run gave ${JSON.stringify(run.counts)}`);
      }
      // A suite's cases come one after another on the reused bench, with no other tool's run
      // between them to cool the caches: that is the cost of a case in a spec file.
      const backToBack: number[] = [];
      for (let i = 0; i < BACK_TO_BACK; i++) {
        const t = performance.now();
        const run = await bench.replay(FIXTURE, { on: 'wan' });
        backToBack.push(performance.now() - t);
        if (run.counts.passed !== 10 || run.counts.dropped !== 10)
          throw new Error(`live run gave ${JSON.stringify(run.counts)}`);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const a = median(theirs);
      const b = median(ours);
      return [
        `the IPv6 filter on ${FIXTURE} (20 frames), reused topology, after a round to warm up, median of ${ROUNDS}:`,
        `  tcpdump + tcpreplay (baseline)   ${a.toFixed(1).padStart(7)} ms per case (10 frames captured)`,
        `  xdpspec LiveBench.replay         ${b.toFixed(1).padStart(7)} ms per case (20 frames classified)   ${fmt.ratio(a / b)} faster`,
        `  the same, ${BACK_TO_BACK} cases back to back  ${median(backToBack).toFixed(1).padStart(7)} ms per case (median), as a spec file's cases run`,
      ];
    } finally {
      bench.close();
      obj.close();
      await article.remove();
    }
  },
};
