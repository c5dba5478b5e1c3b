// Specs of bpf/xdp_redirect.bpf.c, the FIB-lookup forwarder, on the redirect article's
// three-namespace topology with the DUT as a router (forwarding on, so bpf_fib_lookup answers).
// The unit engine runs inside the DUT namespace with the port as ingress device, so its route
// lookups see the same table the live run does.
import { expect } from 'chai';
import { fixtures, frame, liveBench, loadObject, runBoth, type LoadedObject } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { txChecksumOff } from '../support/netns.js';
import { udpListener, udpSend } from '../support/udp.js';

describe('xdp_redirect', () => {
  needsBpf();
  // The forwarder's device map points at both ports, written in the DUT's namespace.
  const fx = fixtures()
    .suite(
      'bench',
      liveBench({
        forwarding: true,
        ports: [
          {
            name: 'veth1',
            dutAddresses: ['10.0.1.11/24', 'fd01::11/64'],
            testerAddresses: ['10.0.1.10/24', 'fd01::10/64'],
            testerRoutes: ['10.0.2.0/24 via 10.0.1.11'],
            ipv6: true,
            separateHost: true,
          },
          {
            name: 'veth2',
            dutAddresses: ['10.0.2.10/24', 'fd02::10/64'],
            testerAddresses: ['10.0.2.11/24', 'fd02::11/64'],
            testerRoutes: ['10.0.1.0/24 via 10.0.2.10'],
            ipv6: true,
            separateHost: true,
          },
        ],
      }),
    )
    .suite('obj', async ({ bench }, use: (o: LoadedObject) => Promise<void>) => {
      const obj = loadObject(OBJ.xdpRedirect);
      try {
        for (const port of ['veth1', 'veth2'])
          bench.setDeviceMap(obj.map('tx_ports'), bench.topology.port(port).dutIfindex, port);
        await use(obj);
      } finally {
        obj.close();
      }
    });

  const p1 = () => fx.values.bench.topology.port('veth1');
  const p2 = () => fx.values.bench.topology.port('veth2');
  const l2 = () => frame.eth({ src: p1().testerMac, dst: p1().dutMac });
  const both = (frames: Parameters<typeof runBoth>[3]) =>
    runBoth(fx.values.obj.program(), fx.values.bench, 'veth1', frames, {
      unit: { netns: fx.values.bench.topology.dut, ingressIfindex: p1().dutIfindex },
    });

  fx.it(
    'forwards by route and neighbour out of veth2: next-hop MACs, TTL and hop limit one lower, checksum updated',
    async () => {
      const { live } = await both([
        l2().ipv4({ src: '10.0.1.10', dst: '10.0.2.11', ttl: 64 }).udp({ sport: 40000, dport: 7777 }).payload('hello'),
        l2().ipv6({ src: 'fd01::10', dst: 'fd02::11', hlim: 64 }).udp({ sport: 40000, dport: 7777 }).payload('hello'),
      ]);
      for (const f of live.frames) {
        expect(f.verdict, `frame #${f.index}`).to.equal('redirected');
        expect(f.redirect).to.deep.equal({ known: true, port: 'veth2', ifindex: p2().dutIfindex });
      }
      const [v4, v6] = live.frames;
      const macs = [`eth.dst: ${p1().dutMac} -> ${p2().testerMac}`, `eth.src: ${p1().testerMac} -> ${p2().dutMac}`];
      expect(v4!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`).slice(0, 3)).to.deep.equal([
        ...macs,
        'ipv4.ttl: 64 -> 63',
      ]);
      expect(v4!.changes.map((c) => c.path)[3]).to.equal('ipv4.checksum');
      expect(live.frames).to.all.have.validChecksums;
      expect(v6!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).to.deep.equal([...macs, 'ipv6.hlim: 64 -> 63']);
    },
  );

  fx.it('leaves to the kernel what it cannot forward itself: TTL expiring, no route, the router itself', async () => {
    const { live } = await both([
      l2().ipv4({ src: '10.0.1.10', dst: '10.0.2.11', ttl: 1 }).udp({ dport: 7777 }),
      l2().ipv6({ src: 'fd01::10', dst: 'fd02::11', hlim: 1 }).udp({ dport: 7777 }),
      l2().ipv4({ src: '10.0.1.10', dst: '192.0.2.1' }).udp({ dport: 7777 }),
      l2().ipv4({ src: '10.0.1.10', dst: '10.0.1.11' }).icmp({ type: 8 }),
    ]);
    expect(live.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'passed', 'passed', 'passed']);
    for (const f of live.frames) expect(f.changes, `frame #${f.index}`).to.deep.equal([]);
    // the kernel then did its part: time exceeded for the TTL of 1, an echo reply from the router
    const icmp = live.others
      .filter((o) => o.port === 'veth1' && o.side === 'tester')
      .map((o) => o.frame.get('icmp.type') ?? o.frame.get('icmpv6.type'));
    expect(icmp).to.include.members([11, 0]);
  });

  fx.it('carries a real datagram from a socket on one host to a socket on the other', async ({ bench, obj }) => {
    bench.attach(obj.program(), 'veth1');
    await txChecksumOff(p1().testerNetns, 'veth1');
    const listener = await udpListener(p2().testerNetns, '10.0.2.11', 7777, 1);
    await udpSend(p1().testerNetns, '10.0.2.11', 7777, Buffer.from('through XDP'));
    const got = await listener.received;
    expect(got).to.deep.equal([{ payload: Buffer.from('through XDP'), from: '10.0.1.10' }]);
  });
});
