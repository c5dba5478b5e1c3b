// Streaming replay of 200,000 frames: xdpspec's LiveBench.stream (every frame accounted for by
// counters, outputs captured and matched) against tcpreplay --topspeed into a veth with the same
// XDP program and tcpdump -Q in capturing what passed, timed until tcpdump has all 100,000. The
// stream runs both ways it can send: as XDP frames from the tester end (its default for native
// XDP) and from the tester end's packet socket, as tcpreplay does.
import { execa } from 'execa';
import { CaptureWriter, LiveBench, loadObject, readCapture } from '../dist/index.js';
import { articleTopology, startTcpdump } from './article.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'bpf/build/xdp_ipv6_filter.bpf.o';
const N = 200_000;

export const streamingBench: Bench = {
  name: 'streaming',
  async run(tmp: string) {
    const fixture = (await readCapture('fixtures/ipv4-and-ipv6.pcap')).records.map((r) => r.data);
    const frames = Array.from({ length: N }, (_, i) => fixture[i % fixture.length]!);
    const file = `${tmp}/stream-${N}.pcap`;
    const w = await CaptureWriter.create(file, { format: 'pcap' });
    for (const [i, data] of frames.entries()) await w.write({ data, timestamp: BigInt(i) * 1000n });
    await w.close();

    const ns = `xdpspec-bench-${process.pid}-stream`;
    const article = await articleTopology(ns, OBJECT);
    const bench = await LiveBench.create({ ports: [{ name: 'wan' }] });
    const obj = loadObject(OBJECT);
    try {
      bench.attach(obj.program(), 'wan');
      const theirs: number[] = [];
      const ours: number[] = [];
      const bySocket: number[] = [];
      let lost = 0;
      for (let k = 0; k < 3; k++) {
        const dump = await startTcpdump(ns, ['-Q', 'in', '-B', '65536', '-c', String(N / 2), '-w', '/dev/null']);
        let t = performance.now();
        await execa('ip', ['netns', 'exec', ns, 'tcpreplay', '-q', '--topspeed', '-i', 'veth0', file]);
        // At top speed the veth's backlog can drop frames, and then tcpdump never counts to
        // N/2: a frame not there 2 s after tcpreplay ended is taken as lost (the one fixed
        // wait, a bound on what should not come), and the round is run again.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
        const r = await Promise.race([dump.done, late.then(() => (dump.kill('SIGINT'), dump.done))]);
        clearTimeout(timer);
        theirs.push(performance.now() - t);
        if (!new RegExp(`${N / 2} packets captured`).test(r.stderr ?? '')) {
          theirs.pop();
          if (++lost > 6) throw new Error(`tcpdump did not capture all passed frames, 7 times: ${r.stderr}`);
          k--;
          continue;
        }
        for (const [via, times] of [
          ['xdp', ours],
          ['socket', bySocket],
        ] as const) {
          t = performance.now();
          const run = await bench.stream(frames, { on: 'wan', via });
          times.push(performance.now() - t);
          if (run.counts.passed !== N / 2 || run.counts.dropped !== N / 2)
            throw new Error(`stream gave ${JSON.stringify(run.counts)}`);
        }
      }
      const best = (xs: number[]) => Math.min(...xs);
      const rate = (ms: number) => N / (ms / 1000);
      return [
        `${fmt.int(N)} frames of ${OBJECT} (half pass), best of 3:`,
        `  tcpreplay --topspeed + tcpdump -Q in (baseline, no accounting)   ${fmt.rate(rate(best(theirs)))} frames/s${lost ? `   (${lost} rounds lost frames and were run again)` : ''}`,
        `  xdpspec LiveBench.stream (every frame counted, outputs matched)  ${fmt.rate(rate(best(ours)))} frames/s   ${fmt.ratio(rate(best(ours)) / rate(best(theirs)))} the baseline's rate`,
        `    the same, sent by packet socket (via: 'socket')                ${fmt.rate(rate(best(bySocket)))} frames/s   ${fmt.ratio(rate(best(bySocket)) / rate(best(theirs)))} the baseline's rate`,
      ];
    } finally {
      bench.close();
      obj.close();
      await article.remove();
    }
  },
};
