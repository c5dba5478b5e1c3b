// The egress article's measure: the round trip a ping takes through the indirection (out of the
// application's namespace over a veth pair whose outer end runs XDP, across a bridge, out of an
// uplink whose end runs XDP too) against the same ping over one plain veth pair between two
// namespaces. The article reports about 0.015 ms added per ping (100,000 pings, its NAT included).
import { execa } from 'execa';
import { Topology, attachXdp, egressLab, loadObject } from '../dist/index.js';
import type { Bench } from './report.js';

const PINGS = 2000;
const ROUNDS = 5;

/** Average round trip in ms of PINGS pings sent back to back from `netns`. */
async function ping(netns: string, to: string): Promise<number> {
  const r = await execa('nsenter', [
    `--net=/run/netns/${netns}`,
    'ping',
    '-q',
    '-n',
    '-i',
    '0',
    '-c',
    String(PINGS),
    to,
  ]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  if (!m) throw new Error(`cannot read ping's summary: ${r.stdout}`);
  return Number(m[1]);
}

export const egressBench: Bench = {
  name: 'egress XDP round trip',
  async run() {
    const egress = await Topology.create(egressLab());
    const direct = await Topology.create({
      ports: [{ name: 'direct', dutAddresses: ['10.0.9.1/24'], testerAddresses: ['10.0.9.2/24'] }],
    });
    const obj = loadObject('bpf/build/xdp_egress_isn.bpf.o');
    try {
      attachXdp(obj.program('xdp_isn_out'), { interface: 'app', netns: egress.dut }, 'native');
      attachXdp(obj.program('xdp_isn_in'), { interface: 'uplink', netns: egress.dut }, 'native');
      const app = egress.port('app').testerNetns;
      await ping(app, '10.0.0.3'); // warm both paths: neighbour entries, bridge learning, caches
      await ping(direct.dut, '10.0.9.2');
      let viaEgress = 0;
      let viaDirect = 0;
      for (let i = 0; i < ROUNDS; i++) {
        viaEgress += await ping(app, '10.0.0.3');
        viaDirect += await ping(direct.dut, '10.0.9.2');
      }
      viaEgress /= ROUNDS;
      viaDirect /= ROUNDS;
      return [
        `${ROUNDS} x ${PINGS} pings each, alternating; average round trip:`,
        `  through egress XDP (veth + XDP, bridge, uplink + XDP): ${viaEgress.toFixed(4)} ms`,
        `  direct veth pair:                                     ${viaDirect.toFixed(4)} ms`,
        `  added by the indirection: ${(viaEgress - viaDirect).toFixed(4)} ms per ping (${(viaEgress / viaDirect).toFixed(2)}x; the article: about 0.015 ms)`,
      ];
    } finally {
      egress.close();
      direct.close();
      obj.close();
    }
  },
};
