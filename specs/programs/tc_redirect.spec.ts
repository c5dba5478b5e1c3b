// Specs of bpf/tc_redirect.bpf.c on the packet-redirection article's topology: host_ns
// (10.0.1.10) -- [veth1 10.0.1.11 | netns_1, the DUT | veth2 10.0.2.10] -- netns_2 (10.0.2.11).
// The two outer namespaces are separate hosts, so a socket in the first can only reach the
// last through the DUT.
import { expect } from 'chai';
import { PacketSocket, bpfObjects, fixtures, frame, parseFrame, runBoth, until } from '../../src/index.js';
import { routedPorts } from '../support/benches.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { txChecksumOff } from '../support/netns.js';
import { udpListener, udpSend } from '../support/udp.js';

describe('tc_redirect', () => {
  needsBpf();
  const fx = fixtures().suite('bench', routedPorts()).case('objects', bpfObjects());

  const load = (toIngress = 0) => {
    const { bench, objects } = fx.values;
    const port = bench.topology.port('veth2');
    return objects(OBJ.tcRedirect, {
      target_ifindex: port.dutIfindex,
      match_daddr: '10.0.2.11',
      next_hop_mac: port.testerMac,
      to_ingress: toIngress,
    }).program();
  };
  const l2 = () => {
    const port = fx.values.bench.topology.port('veth1');
    return frame.eth({ src: port.testerMac, dst: port.dutMac });
  };

  fx.it(
    'redirects IPv4 frames for 10.0.2.11 out of veth2, rewriting only the destination MAC; the rest goes on',
    async ({ bench }) => {
      const frames = [
        l2().ipv4({ src: '10.0.1.10', dst: '10.0.2.11' }).udp({ sport: 40000, dport: 7777 }).payload('hello'),
        l2().ipv4({ src: '10.0.1.10', dst: '10.0.1.11' }).udp({ dport: 7777 }).payload('for the DUT itself'),
        l2().ipv6({ src: 'fd00::10', dst: 'fd00::11' }).udp({ dport: 7777 }),
        l2().ipv4({ src: '10.0.1.10', dst: '10.0.2.12' }).tcp({ dport: 80 }),
      ];
      const { live } = await runBoth(load(), bench, 'veth1', frames);
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['redirected', 'passed', 'passed', 'passed']);
      const [hello] = live.frames;
      expect(hello!.redirect).to.deep.equal({
        known: true,
        port: 'veth2',
        ifindex: bench.topology.port('veth2').dutIfindex,
        direction: 'egress',
      });
      expect(hello!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['veth2/tester']);
      expect(hello!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).to.deep.equal([
        `eth.dst: ${bench.topology.port('veth1').dutMac} -> ${bench.topology.port('veth2').testerMac}`,
      ]);
      for (const f of live.frames.slice(1)) expect(f.changes, `frame #${f.index}`).to.deep.equal([]);
    },
  );

  fx.it('with to_ingress set, into the receive path of veth2 instead (BPF_F_INGRESS)', async ({ bench }) => {
    const { live } = await runBoth(load(1), bench, 'veth1', [
      l2().ipv4({ src: '10.0.1.10', dst: '10.0.2.11' }).udp({ dport: 7777 }).payload('hello'),
    ]);
    expect(live.frames[0]!.verdict).to.equal('redirected');
    expect(live.frames[0]!.redirect).to.include({ port: 'veth2', direction: 'ingress' });
    expect(live.frames[0]!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['veth2/dut']);
  });

  fx.it(
    "the article's nc -u check: a datagram from a socket in host_ns reaches a socket in netns_2, payload intact",
    async ({ bench }) => {
      bench.attach(load(), 'veth1');
      const first = bench.topology.port('veth1').testerNetns;
      const last = bench.topology.port('veth2').testerNetns;
      // What the sender's kernel puts on the wire, to replay through the program for its verdict;
      // with checksum offload on, the capture would hold a UDP checksum left for the NIC to fill.
      await txChecksumOff(first, 'veth1');
      const sent = PacketSocket.open(first, 'veth1', { ignoreOutgoing: false });
      try {
        const listener = await udpListener(last, '10.0.2.11', 7777, 2);
        await udpSend(first, '10.0.2.11', 7777, Buffer.from('hello\n'));
        let out: Buffer[] = [];
        await until(
          () => (out = out.concat(sent.receive())).some((f) => parseFrame(f).has('udp')),
          'the datagram leaving host_ns',
        );
        const datagram = out.find((f) => parseFrame(f).has('udp'))!;
        // The same bytes once more, through the live engine: redirected out of veth2, and the
        // listener gets this copy too.
        const run = await bench.replay([datagram], { on: 'veth1' });
        expect(run.frames[0]!.verdict).to.equal('redirected');
        expect(run.frames[0]!.redirect).to.include({ port: 'veth2', direction: 'egress' });
        expect(run.frames[0]!.changes.map((c) => c.path)).to.deep.equal(['eth.dst']);
        const got = await listener.received;
        expect(got.map((g) => g.payload.toString())).to.deep.equal(['hello\n', 'hello\n']);
        expect(got.map((g) => g.from)).to.deep.equal(['10.0.1.10', '10.0.1.10']);
      } finally {
        sent.close();
      }
    },
  );

  describe("attached at egress (the article's other hook: frames the DUT sends)", () => {
    // What netns_1 sends towards host_ns out of veth1, as its stack would address it.
    const out1 = () => {
      const port = fx.values.bench.topology.port('veth1');
      return frame.eth({ src: port.dutMac, dst: port.testerMac });
    };

    fx.it(
      'redirects what the DUT sends for 10.0.2.11 out of veth2 instead, and lets the rest leave through veth1: both engines agree',
      async ({ bench }) => {
        const frames = [
          out1().ipv4({ src: '10.0.1.11', dst: '10.0.2.11' }).udp({ sport: 40000, dport: 7777 }).payload('hello'),
          out1().ipv4({ src: '10.0.1.11', dst: '10.0.1.10' }).udp({ dport: 7777 }).payload('for host_ns'),
          out1().ipv6({ src: 'fd00::11', dst: 'fd00::10' }).udp({ dport: 7777 }),
        ];
        const { live, unit } = await runBoth(load(), bench, 'veth1', frames, { tc: 'egress' });
        expect(live.attachments.veth1).to.match(/tc tc_redirect on veth1 .* egress/);
        expect(live.frames.map((f) => f.verdict)).to.deep.equal(['redirected', 'passed', 'passed']);
        expect(unit.frames.map((f) => f.action)).to.deep.equal(['TC_ACT_REDIRECT', 'TC_ACT_OK', 'TC_ACT_OK']);
        const [hello, host] = live.frames;
        expect(hello!.redirect).to.deep.equal({
          known: true,
          port: 'veth2',
          ifindex: bench.topology.port('veth2').dutIfindex,
          direction: 'egress',
        });
        expect(hello!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).to.deep.equal([
          `eth.dst: ${bench.topology.port('veth1').testerMac} -> ${bench.topology.port('veth2').testerMac}`,
        ]);
        expect(host!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['veth1/tester']);
        expect(host!.changes).to.deep.equal([]);
      },
    );

    fx.it('with to_ingress set, into the receive path of veth2 (BPF_F_INGRESS), in both engines', async ({ bench }) => {
      const { live } = await runBoth(
        load(1),
        bench,
        'veth1',
        [out1().ipv4({ src: '10.0.1.11', dst: '10.0.2.11' }).udp({ dport: 7777 })],
        { tc: 'egress' },
      );
      expect(live.frames[0]!.redirect).to.include({ port: 'veth2', direction: 'ingress' });
      expect(live.frames[0]!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['veth2/dut']);
    });

    fx.it(
      "catches a datagram the DUT's own socket sends: out of veth2 instead of veth1, the destination MAC rewritten",
      async ({ bench, objects }) => {
        // match host_ns's address: what the DUT sends there is diverted to netns_2's side
        const obj = objects(OBJ.tcRedirect, {
          target_ifindex: bench.topology.port('veth2').dutIfindex,
          match_daddr: '10.0.1.10',
          next_hop_mac: bench.topology.port('veth2').testerMac,
        });
        bench.attachTc(obj.program(), 'veth1', 'egress');
        const first = bench.topology.port('veth1').testerNetns;
        const last = bench.topology.port('veth2').testerNetns;
        const at1 = PacketSocket.open(first, 'veth1');
        const at2 = PacketSocket.open(last, 'veth2');
        try {
          await udpSend(bench.topology.dut, '10.0.1.10', 7777, Buffer.from('diverted'));
          let got: Buffer[] = [];
          const udp = (f: Buffer) => parseFrame(f).has('udp');
          await until(() => (got = got.concat(at2.receive())).some(udp), 'the datagram leaving through veth2');
          const f = parseFrame(got.find(udp)!);
          expect(f.get('eth.dst')).to.equal(bench.topology.port('veth2').testerMac);
          expect(f.get('ipv4.dst')).to.equal('10.0.1.10');
          expect(f.bytes.subarray(-8).toString()).to.equal('diverted');
          expect(at1.receive().filter(udp)).to.deep.equal([]);
        } finally {
          at1.close();
          at2.close();
        }
      },
    );
  });
});
