// Decoding a large capture: xdpspec (stream + full decode, and + one-line summaries)
// against `tcpdump -nr FILE` printing the same file, each in its own process.
import { execa } from 'execa';
import { statSync } from 'node:fs';
import { CaptureWriter, frame } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

async function makeCapture(file: string, n: number): Promise<void> {
  // A realistic mix: TCP with options, UDP, ICMP, IPv6, VLAN-tagged, ARP, in varied sizes.
  const l2 = frame.eth({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' });
  const kinds = [
    (i: number) =>
      l2
        .ipv4({ id: i & 0xffff })
        .tcp({
          sport: 1024 + (i % 60000),
          seq: i,
          flags: 'PA',
          options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'ts', val: i, ecr: 1 }],
        })
        .payload(Buffer.alloc(i % 512)),
    (i: number) =>
      l2
        .ipv4()
        .udp({ sport: 1024 + (i % 60000), dport: 53 })
        .payload(Buffer.alloc(40)),
    (i: number) =>
      l2
        .ipv6({ src: 'fd00::10', dst: 'fd00::1' })
        .tcp({ dport: 443, seq: i, flags: 'A', ack: 1 })
        .payload(Buffer.alloc(i % 1200)),
    (i: number) =>
      l2
        .vlan({ vid: 100 })
        .ipv4()
        .icmp({ seq: i & 0xffff })
        .payload(Buffer.alloc(56)),
    (i: number) =>
      l2
        .ipv6()
        .udp({ sport: 5353, dport: 5353 })
        .payload(Buffer.alloc(i % 200)),
    () => l2.arp().padding(18),
  ];
  const distinct = Array.from({ length: 600 }, (_, i) => kinds[i % kinds.length]!(i).build());
  const w = await CaptureWriter.create(file, { format: 'pcap' });
  for (let i = 0; i < n; i++)
    await w.write({ data: distinct[i % distinct.length]!, timestamp: 1_700_000_000_000_000_000n + BigInt(i) * 1000n });
  await w.close();
}

interface Measured {
  seconds: number;
  maxrss_kib: number;
}
async function measure(cmd: string[]): Promise<Measured> {
  const { stdout } = await execa('python3', [new URL('./measure.py', import.meta.url).pathname, ...cmd]);
  return JSON.parse(stdout) as Measured;
}

export const decodeBench: Bench = {
  name: 'pcap decode',
  async run(tmp: string) {
    const child = new URL('./decode-child.mjs', import.meta.url).pathname;
    const node = (file: string, mode: string) => [process.execPath, child, file, mode];
    const sizes = [250_000, 1_000_000];
    const lines: string[] = [];
    const rss: number[] = [];
    for (const n of sizes) {
      const file = `${tmp}/decode-${n}.pcap`;
      await makeCapture(file, n);
      const mb = statSync(file).size / 1e6;
      // Best of three each: the machine is shared, and the minimum is the least disturbed run.
      const best = async (cmd: string[]) => {
        const runs = [await measure(cmd), await measure(cmd), await measure(cmd)];
        return {
          seconds: Math.min(...runs.map((r) => r.seconds)),
          maxrss_kib: Math.max(...runs.map((r) => r.maxrss_kib)),
        };
      };
      const tcpdump = await best(['tcpdump', '-nr', file]);
      const parse = await best(node(file, 'parse'));
      const summary = await best(node(file, 'summary'));
      rss.push(parse.maxrss_kib);
      const rate = (m: Measured) => n / m.seconds;
      lines.push(
        `${fmt.int(n)} frames (${mb.toFixed(0)} MB):`,
        `  tcpdump -nr (baseline)        ${fmt.rate(rate(tcpdump))} frames/s   peak RSS ${fmt.mib(tcpdump.maxrss_kib)}`,
        `  xdpspec decode                ${fmt.rate(rate(parse))} frames/s   peak RSS ${fmt.mib(parse.maxrss_kib)}   ${fmt.ratio(rate(parse) / rate(tcpdump))} tcpdump's rate`,
        `  xdpspec decode + summaries    ${fmt.rate(rate(summary))} frames/s   peak RSS ${fmt.mib(summary.maxrss_kib)}   ${fmt.ratio(rate(summary) / rate(tcpdump))} tcpdump's rate`,
      );
    }
    lines.push(
      `memory as the file grows 4x: peak RSS ${fmt.mib(rss[0]!)} -> ${fmt.mib(rss[1]!)} (${fmt.ratio(rss[1]! / rss[0]!)})`,
    );
    return lines;
  },
};
