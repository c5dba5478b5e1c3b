// Specs of bpf/xdp_lb.bpf.c in the XDP article's load-balancer lab (loadBalancerLab): lb is the
// DUT, its port on the bridge br0 that h2, h3 and a client hang off.
//
// Scripted frames use a client (10.0.1.99) and backends (10.0.0.42, 10.0.0.43) that no
// namespace owns, so what lb sends back out is dropped quietly by the hosts on the bridge and
// nothing but the spec's frames enters lb. The real HTTP requests use h2, h3 and the client.
import { expect } from 'chai';
import {
  frame,
  loadBalancerLab,
  bpfObjects,
  fixtures,
  liveBench,
  runBothSteps,
  runUnit,
  type Frame,
  type LoadedObject,
} from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { httpGet, httpServer } from '../support/http.js';
import { txChecksumOff } from '../support/netns.js';

const VIP = '10.10.10.10';
const CLIENT = '10.0.1.99';
const CLIENT_MAC = '02:00:00:00:01:99';
const FAKE = [
  { addr: '10.0.0.42', mac: '02:00:00:00:00:42' },
  { addr: '10.0.0.43', mac: '02:00:00:00:00:43' },
];

describe('xdp_lb (the load-balancer lab: lb, h2, h3 and a client on a bridge)', () => {
  needsBpf();
  const fx = fixtures().suite('bench', liveBench(loadBalancerLab())).case('objects', bpfObjects());
  /** The object load() made last, for reading its maps (the objects fixture closes it). */
  let obj: LoadedObject | undefined;

  const lbMac = () => fx.values.bench.topology.port('lb').dutMac;
  const load = (backends: readonly { addr: string; mac: string }[] = FAKE) => {
    obj = fx.values.objects(OBJ.lb, { vip_addr: VIP });
    backends.forEach((b, slot) => obj!.map('backends').set(slot, b));
    return obj.program();
  };
  const toVip = (sport: number, o: { flags?: string; client?: string; udp?: boolean } = {}) => {
    const ip = frame.eth({ src: CLIENT_MAC, dst: lbMac() }).ipv4({ src: o.client ?? CLIENT, dst: VIP });
    return o.udp
      ? ip.udp({ sport, dport: 53 }).payload('query')
      : ip.tcp({ sport, dport: 80, flags: o.flags ?? 'S', seq: 1 });
  };
  const backendOf = (f: Frame | undefined) => FAKE.findIndex((b) => b.addr === f?.get('ipv4.dst'));

  fx.it(
    'sends a flow for the virtual IP to a backend and straight back out (XDP_TX), and the answer back as the virtual IP',
    async ({ bench }) => {
      const program = load();
      const there = await runBothSteps(bench, { lb: program }, [
        { on: 'lb', frame: toVip(40000) },
        { on: 'lb', frame: toVip(40001, { udp: true }) },
      ]);
      expect(there.live.frames.map((f) => f.verdict)).to.deep.equal(['tx', 'tx']);
      const syn = there.live.frames[0]!;
      const b = FAKE[backendOf(syn.output)]!;
      expect(b, 'the SYN went to one of the backends').to.not.equal(undefined);
      expect(
        syn.changes.filter((c) => !c.path.endsWith('checksum')).map((c) => `${c.path}: ${c.from} -> ${c.to}`),
      ).to.deep.equal([
        `eth.dst: ${lbMac()} -> ${b.mac}`,
        `eth.src: ${CLIENT_MAC} -> ${lbMac()}`,
        `ipv4.dst: ${VIP} -> ${b.addr}`,
      ]);
      expect(there.live.frames).to.all.have.validChecksums;

      const answer = frame
        .eth({ src: b.mac, dst: lbMac() })
        .ipv4({ src: b.addr, dst: CLIENT })
        .tcp({ sport: 80, dport: 40000, flags: 'SA', seq: 7, ack: 2 });
      const back = await runBothSteps(bench, { lb: program }, [{ on: 'lb', frame: answer }]);
      const a = back.live.frames[0]!;
      expect(a.verdict).to.equal('tx');
      expect(
        a.changes.filter((c) => !c.path.endsWith('checksum')).map((c) => `${c.path}: ${c.from} -> ${c.to}`),
      ).to.deep.equal([
        `eth.dst: ${lbMac()} -> ${CLIENT_MAC}`,
        `eth.src: ${b.mac} -> ${lbMac()}`,
        `ipv4.src: ${b.addr} -> ${VIP}`,
      ]);
      expect(a).to.have.validChecksums;
      expect(obj!.map('flows').get({ client_addr: CLIENT, client_port: 40000, vip_port: 80, proto: 6 })).to.include({
        backend_addr: b.addr,
        client_mac: CLIENT_MAC,
        lb_mac: lbMac(),
        packets: 1,
        answers: 1,
      });
    },
  );

  fx.it(
    'leaves to the kernel what is not TCP or UDP for the virtual IP, and answers from hosts that are no flow’s backend',
    async ({ bench }) => {
      const program = load();
      const l2 = () => frame.eth({ src: CLIENT_MAC, dst: lbMac() });
      const { live } = await runBothSteps(
        bench,
        { lb: program },
        [
          l2().ipv4({ src: CLIENT, dst: VIP }).icmp({ type: 8 }),
          l2().ipv4({ src: CLIENT, dst: '10.0.1.10' }).tcp({ sport: 40000, dport: 22, flags: 'S' }),
          frame
            .eth({ src: FAKE[0]!.mac, dst: lbMac() })
            .ipv4({ src: FAKE[0]!.addr, dst: CLIENT })
            .tcp({ sport: 80, dport: 41000, flags: 'SA' }),
          frame
            .eth({ src: CLIENT_MAC, dst: 'ff:ff:ff:ff:ff:ff' })
            .arp({ op: 1, sha: CLIENT_MAC, spa: CLIENT, tpa: '10.0.1.10' }),
        ].map((f) => ({ on: 'lb', frame: f })),
      );
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'passed', 'passed', 'passed']);
    },
  );

  fx.it('keeps a flow on its backend, and the hash alone picks the same one when the flow table is empty', async () => {
    const program = load();
    const picks = async () =>
      (await runUnit(program, [toVip(45000), toVip(45000, { flags: 'A' }), toVip(45000, { flags: 'PA' })])).frames.map(
        (f) => backendOf(f.output),
      );
    const first = await picks();
    expect(new Set(first).size, `backends of one flow: ${first.join(', ')}`).to.equal(1);
    obj!.map('flows').clear();
    expect(await picks()).to.deep.equal(first);
  });

  fx.it('spreads 2000 flows over both backends, each getting 45-55% of them', async () => {
    const program = load();
    // Flows from 40 clients on 50 ports each; the hash's spread, not chance, decides the split.
    const frames = Array.from({ length: 2000 }, (_, i) =>
      toVip(30000 + (i % 50) * 7, { client: `10.0.1.${100 + Math.floor(i / 50)}` }),
    );
    const run = await runUnit(program, frames);
    expect(run.counts.tx).to.equal(2000);
    const share = [0, 1].map((b) => run.frames.filter((f) => backendOf(f.output) === b).length / 2000);
    for (const s of share) expect(s, `shares ${share.join(' / ')}`).to.be.within(0.45, 0.55);
  });

  fx.it('sends no new flows to a backend taken out of the table, and moves the flows it had', async () => {
    const program = load();
    const old = (
      await runUnit(
        program,
        Array.from({ length: 100 }, (_, i) => toVip(20000 + i)),
      )
    ).frames.map((f) => backendOf(f.output));
    expect(old).to.include.members([0, 1]);
    obj!.map('backends').delete(1);
    const fresh = await runUnit(
      program,
      Array.from({ length: 100 }, (_, i) => toVip(50000 + i)),
    );
    expect(new Set(fresh.frames.map((f) => backendOf(f.output)))).to.deep.equal(new Set([0]));
    const again = (
      await runUnit(
        program,
        Array.from({ length: 100 }, (_, i) => toVip(20000 + i)),
      )
    ).frames.map((f) => backendOf(f.output));
    expect(again.every((b) => b === 0)).to.equal(true);
    // Flows that were on the backend still there did not move.
    expect(again.filter((_, i) => old[i] === 0).length).to.equal(old.filter((b) => b === 0).length);

    obj!.map('backends').delete(0);
    expect((await runUnit(program, [toVip(60000)])).frames[0]!.verdict, 'with no backend at all').to.equal('dropped');
  });

  fx.it(
    're-picks for a flow whose slot now holds another backend, and its answers still find the way back',
    async () => {
      const program = load();
      let sport = 20000;
      while (backendOf((await runUnit(program, [toVip(sport)])).frames[0]!.output) !== 1) sport++;
      const other = { addr: '10.0.0.44', mac: '02:00:00:00:00:44' };
      obj!.map('backends').set(1, other);
      const moved = (await runUnit(program, [toVip(sport, { flags: 'A' })])).frames[0]!.output!;
      const to = moved.get('ipv4.dst') as string;
      expect([FAKE[0]!.addr, other.addr]).to.include(to);
      const mac = to === other.addr ? other.mac : FAKE[0]!.mac;
      const answer = frame
        .eth({ src: mac, dst: lbMac() })
        .ipv4({ src: to, dst: CLIENT })
        .tcp({ sport: 80, dport: sport, flags: 'A' });
      expect((await runUnit(program, [answer])).frames[0]!.verdict).to.equal('tx');
    },
  );

  fx.it(
    'answers a real HTTP request to the virtual IP from the client namespace by one of the backends',
    async ({ bench }) => {
      const h2 = bench.topology.host('h2');
      const h3 = bench.topology.host('h3');
      const client = bench.topology.host('client');
      bench.attach(
        load([
          { addr: '10.0.0.2', mac: h2.mac },
          { addr: '10.0.0.3', mac: h3.mac },
        ]),
        'lb',
      );
      for (const h of [h2, h3, client]) await txChecksumOff(h.netns, h.name);
      const servers = [
        await httpServer(h2.netns, '10.0.0.2', 8080, 'h2'),
        await httpServer(h3.netns, '10.0.0.3', 8080, 'h3'),
      ];
      const bodies: string[] = [];
      let served: { client: string; path: string }[][] = [];
      try {
        for (let i = 0; i < 6; i++) bodies.push(await httpGet(client.netns, `http://${VIP}:8080/request-${i}`));
      } finally {
        served = await Promise.all(servers.map((s) => s.stop()));
      }
      for (const b of bodies) expect(b).to.match(/^served by h[23]$/);
      // Each backend served what it said it did, and saw the client's own address.
      expect(bodies.filter((b) => b.includes('h2')).length).to.equal(served[0]!.length);
      expect(served.flat().map((s) => s.client)).to.deep.equal(Array(6).fill('10.0.1.1'));
      expect(
        served
          .flat()
          .map((s) => s.path)
          .sort(),
      ).to.deep.equal(Array.from({ length: 6 }, (_, i) => `/request-${i}`));
      expect([...obj!.map('flows').entries()].length).to.equal(6);
    },
  );
});
