// Bench set-up and tear-down: two namespaces, a veth pair between them and an XDP program
// attached, made by xdpspec (Topology + loadObject + attachXdp, then close) against the same
// made with one `ip` command per step, as the articles do.
import { execa } from 'execa';
import { Topology, attachXdp, loadObject } from '../dist/index.js';
import { watchBpffs } from './bpffs.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'bpf/build/xdp_ipv6_filter.bpf.o';
const ROUNDS = 15;

async function withIp(i: number): Promise<void> {
  const a = `xdpspec-bench-${process.pid}-${i}-a`;
  const b = `xdpspec-bench-${process.pid}-${i}-b`;
  try {
    await execa('ip', ['netns', 'add', a]);
    await execa('ip', ['netns', 'add', b]);
    await execa('ip', ['link', 'add', 'wan', 'netns', a, 'type', 'veth', 'peer', 'name', 'wan', 'netns', b]);
    await execa('ip', ['-n', a, 'link', 'set', 'wan', 'up']);
    await execa('ip', ['-n', b, 'link', 'set', 'wan', 'up']);
    await execa('ip', ['-n', a, 'link', 'set', 'dev', 'wan', 'xdp', 'obj', OBJECT, 'sec', 'xdp']);
  } finally {
    await execa('ip', ['netns', 'del', a], { reject: false });
    await execa('ip', ['netns', 'del', b], { reject: false });
  }
}

async function withXdpspec(): Promise<void> {
  const t = await Topology.create({ ports: [{ name: 'wan' }] });
  const obj = loadObject(OBJECT);
  try {
    attachXdp(obj.program(), { interface: 'wan', netns: t.dut }, 'native');
  } finally {
    t.close(); // deleting the namespaces detaches the program with them
    obj.close();
  }
}

export const topologyBench: Bench = {
  name: 'bench set-up',
  async run() {
    const bpffs = watchBpffs(); // the ip baseline's loader makes directories in bpffs
    try {
      return await measure();
    } finally {
      bpffs.finish();
    }
  },
};

async function measure(): Promise<string[]> {
  {
    await withXdpspec();
    await withIp(-1);
    const ip: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      await withIp(i);
      ip.push(performance.now() - t);
      t = performance.now();
      await withXdpspec();
      ours.push(performance.now() - t);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const a = median(ip);
    const b = median(ours);
    return [
      `two namespaces, a veth pair, an XDP program attached, then all removed; median of ${ROUNDS} rounds, interleaved:`,
      `  ip commands (baseline)   ${a.toFixed(1).padStart(6)} ms`,
      `  xdpspec                  ${b.toFixed(1).padStart(6)} ms   ${fmt.ratio(b / a)} the ip commands' time`,
    ];
  }
}
