import { expect } from 'chai';
import { execa } from 'execa';
import {
  PacketSocket,
  Topology,
  XdpspecError,
  attachXdp,
  frame,
  loadObject,
  until,
  type LoadedObject,
} from '../../src/index.js';
import { DriverStats } from '../../src/net/index.js';
import { SPEC_OBJ, needsBpf } from '../support/kernel.js';

describe('driver statistics', () => {
  needsBpf();
  let t: Topology;
  let obj: LoadedObject;
  let pass: LoadedObject;
  before(async () => {
    t = await Topology.create({ ports: [{ name: 'wan' }] });
    obj = loadObject(SPEC_OBJ.verdicts);
    pass = loadObject('src/bpf/probes/build/pass.bpf.o');
  });
  after(() => {
    t?.close();
    obj?.close();
    pass?.close();
  });

  it('agree with ethtool -S', async () => {
    const s = DriverStats.open(t.dut, 'wan');
    const ours = s.read();
    s.close();
    const theirs: Record<string, number> = Object.fromEntries(
      String((await execa('ip', ['netns', 'exec', t.dut, 'ethtool', '-S', 'wan'])).stdout)
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/:\s+/))
        .map(([k, v]): [string, number] => [k!, Number(v)]),
    );
    expect(Object.keys(ours)).to.deep.equal(Object.keys(theirs));
    expect(ours['peer_ifindex']).to.equal(theirs['peer_ifindex']);
  });

  it("count a native XDP program's verdicts on veth, frame by frame", async () => {
    const a = attachXdp(obj.program(), { interface: 'wan', netns: t.dut }, 'native');
    // Without an XDP program on the receiving veth, XDP_TX fails (xdp_tx_errors), see DESIGN.md.
    const p = attachXdp(pass.program(), { interface: 'wan', netns: t.tester }, 'native');
    const s = DriverStats.open(t.dut, 'wan');
    const inj = PacketSocket.open(t.tester, 'wan');
    try {
      const k = (x: Record<string, number>, n: string) => x[`rx_queue_0_${n}`]!;
      for (const [dport, counter] of [
        [2, 'xdp_drops'],
        [1, 'xdp_drops'],
        [4, 'xdp_tx'],
        [3, undefined],
      ] as const) {
        const before = s.read();
        inj.send(
          frame
            .eth({ dst: t.port('wan').dutMac })
            .ipv4()
            .udp({ dport })
            .build(),
        );
        let after = before;
        await until(
          () => k((after = s.read()), 'xdp_packets') === k(before, 'xdp_packets') + 1,
          `XDP running on the frame to port ${dport}`,
        );
        for (const c of ['xdp_drops', 'xdp_tx', 'xdp_redirect', 'xdp_tx_errors']) {
          expect(k(after, c) - k(before, c), `${c} after a frame to port ${dport}`).to.equal(c === counter ? 1 : 0);
        }
      }
      // and the TX'd frame came back to the tester end, MACs swapped
      let back: Buffer[] = [];
      await until(() => (back = back.concat(inj.receive())).length > 0, 'the XDP_TX frame reaching the tester end');
      expect(frame.parse(back[0]!).get('eth.src')).to.equal(t.port('wan').dutMac);
    } finally {
      inj.close();
      s.close();
      a.detach();
      p.detach();
    }
  });

  it('name the interface that does not exist', () => {
    expect(() => DriverStats.open(t.dut, 'nope0')).to.throw(
      XdpspecError,
      `read driver info of nope0 in ${t.dut}: ENODEV`,
    );
  });
});
