// Specs of bpf/xdp_firewall.bpf.c, the map-driven firewall of the Aya/XDP article. Each case
// runs in both engines (runBoth: the live bench and BPF_PROG_TEST_RUN must agree frame by
// frame), then reads the firewall's own counters the way `xdp-filter status` shows them.
import { expect } from 'chai';
import { LAB } from '../../fixtures/generate.js';
import {
  bpfObjects,
  fixtures,
  liveBench,
  frame,
  readCapture,
  runBoth,
  runUnit,
  type Built,
  type FrameSource,
  type LoadedObject,
} from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';

const XDP_DROP = 1;
const XDP_PASS = 2;
const ALLOW = 0;
const DENY = 1;

describe('xdp_firewall', () => {
  needsBpf();
  // veth0 is the host's end of the link to lb (the article's first attachment); veth1 is
  // lb's own end, "the twin interface", which receives what the host sends to lb.
  const fx = fixtures()
    .suite(
      'bench',
      liveBench({
        ports: [
          { name: 'veth0', dutMac: LAB.host.mac },
          { name: 'veth1', dutMac: LAB.lb.mac },
        ],
      }),
    )
    .case('objects', bpfObjects())
    .case('firewall', async ({ objects }, use: (o: LoadedObject) => Promise<void>) => {
      fw = objects(OBJ.firewall);
      await use(fw);
    });
  /** The firewall a case runs: the default one, or one it loaded in another mode (the objects fixture closes each). */
  let fw: LoadedObject;

  /** Both engines on `frames` at `port`; returns the indexes of the dropped frames (both agree). */
  const dropped = async (frames: FrameSource, port = 'veth0') => {
    const { live } = await runBoth(fw.program(), fx.values.bench, port, frames);
    return live.frames.filter((f) => f.verdict === 'dropped').map((f) => f.index);
  };
  const stats = (action: number) => fw.map('stats').sum(action) as { packets: number; bytes: number };

  fx.it("the article's experiment: a source rule on 10.0.0.10 drops lb's pings and nothing else", async () => {
    fw.map('ipv4_src').set('10.0.0.10/32', 0);
    // lb's IPv4 echo requests (#0, #2, #4, and through one and two VLAN tags #12, #13) are
    // dropped; h2's pings, lb's ARP request and lb's IPv6 ping pass.
    expect(await dropped('fixtures/firewall-lab.pcap')).to.deep.equal([0, 2, 4, 12, 13]);
    // xdp-filter status: "10.0.0.10 src 5", XDP_DROP 5 pkts, XDP_PASS 11 pkts (runBoth leaves
    // the maps as the unit run left them; the live run's effect was rolled back before it)
    expect(fw.map('ipv4_src').get('10.0.0.10/32')).to.equal(5);
    const lab = (await readCapture('fixtures/firewall-lab.pcap')).records.map((r) => r.data.length);
    expect(stats(XDP_DROP)).to.deep.equal({ packets: 5, bytes: [0, 2, 4, 12, 13].reduce((s, i) => s + lab[i]!, 0) });
    expect(stats(XDP_PASS)).to.deep.equal({
      packets: 11,
      bytes: lab.reduce((s, n) => s + n, 0) - stats(XDP_DROP).bytes,
    });
  });

  fx.it('the same block as a destination rule on the twin interface drops the echo replies to lb', async () => {
    fw.map('ipv4_dst').set('10.0.0.10/32', 0);
    const reply = (dst: string, seq: number) =>
      frame
        .eth({ src: LAB.host.mac, dst: LAB.lb.mac })
        .ipv4({ src: LAB.host.ip, dst })
        .icmp({ type: 0, id: 42, seq })
        .payload('xdpspec ping');
    const frames = [
      reply('10.0.0.10', 1),
      reply('10.0.0.10', 2),
      reply('10.0.0.11', 1),
      frame
        .eth({ src: LAB.host.mac, dst: LAB.lb.mac })
        .arp({ op: 2, sha: LAB.host.mac, spa: LAB.host.ip, tha: LAB.lb.mac, tpa: LAB.lb.ip }),
    ];
    expect(await dropped(frames, 'veth1')).to.deep.equal([0, 1]);
    expect(fw.map('ipv4_dst').get('10.0.0.10/32')).to.equal(2);
  });

  // Each kind of rule, a frame it matches and one it does not: matched frames are dropped in
  // allow mode and are the only ones to pass in deny mode.
  const l2 = (src: string = LAB.h2.mac, dst: string = LAB.host.mac) => frame.eth({ src, dst });
  const v4 = (src: string, dst: string = LAB.host.ip) => l2().ipv4({ src, dst });
  const v6 = (src: string, dst: string = LAB.host.ip6) => l2().ipv6({ src, dst });
  const kinds: { kind: string; map: string; key: unknown; hit: Built; miss: Built }[] = [
    {
      kind: 'source MAC',
      map: 'mac_src',
      key: { mac: LAB.h3.mac },
      hit: l2(LAB.h3.mac).ipv4().udp(),
      miss: l2(LAB.h2.mac).ipv4().udp(),
    },
    {
      kind: 'destination MAC',
      map: 'mac_dst',
      key: { mac: LAB.host.mac },
      hit: l2(LAB.h2.mac, LAB.host.mac).ipv6().udp(),
      miss: l2(LAB.h2.mac, LAB.lb.mac).ipv6().udp(),
    },
    {
      kind: 'source IPv4, exact',
      map: 'ipv4_src',
      key: '10.0.0.3/32',
      hit: v4('10.0.0.3').icmp(),
      miss: v4('10.0.0.4').icmp(),
    },
    {
      kind: 'source IPv4, prefix',
      map: 'ipv4_src',
      key: '10.0.0.0/29',
      hit: v4('10.0.0.7').icmp(),
      miss: v4('10.0.0.8').icmp(),
    },
    {
      kind: 'destination IPv4, prefix',
      map: 'ipv4_dst',
      key: '192.0.2.0/24',
      hit: v4(LAB.h2.ip, '192.0.2.99').tcp(),
      miss: v4(LAB.h2.ip, '198.51.100.1').tcp(),
    },
    {
      kind: 'source IPv6, prefix',
      map: 'ipv6_src',
      key: 'fd00::/126',
      hit: v6('fd00::3').icmpv6(),
      miss: v6('fd00::10').icmpv6(),
    },
    {
      kind: 'destination IPv6, exact',
      map: 'ipv6_dst',
      key: 'fd00::1/128',
      hit: v6('fd00::2', 'fd00::1').udp(),
      miss: v6('fd00::2', 'fd00::9').udp(),
    },
    {
      kind: 'TCP source port',
      map: 'port_src',
      key: { proto: 6, port: 443 },
      hit: v4(LAB.h2.ip).tcp({ sport: 443 }),
      miss: v4(LAB.h2.ip).udp({ sport: 443 }),
    },
    {
      kind: 'TCP destination port',
      map: 'port_dst',
      key: { proto: 6, port: 22 },
      hit: v6('fd00::2').tcp({ dport: 22 }),
      miss: v6('fd00::2').tcp({ dport: 23 }),
    },
    {
      kind: 'UDP destination port',
      map: 'port_dst',
      key: { proto: 17, port: 53 },
      hit: v4(LAB.h2.ip).udp({ dport: 53 }),
      miss: v4(LAB.h2.ip).tcp({ dport: 53 }),
    },
  ];
  for (const mode of [ALLOW, DENY]) {
    fx.it(
      `every kind of rule in ${mode === ALLOW ? 'allow' : 'deny'} mode, with its hit counter`,
      async ({ bench, objects }) => {
        for (const k of kinds) {
          fw = objects(OBJ.firewall, { mode });
          fw.map(k.map).set(k.key, 0);
          const frames = [k.hit, k.miss, k.hit];
          const { live } = await runBoth(fw.program(), bench, 'veth0', frames);
          const want = mode === ALLOW ? ['dropped', 'passed', 'dropped'] : ['passed', 'dropped', 'passed'];
          expect(
            live.frames.map((f) => f.verdict),
            k.kind,
          ).to.deep.equal(want);
          expect(fw.map(k.map).get(k.key), `${k.kind}: hits`).to.equal(2);
          expect(stats(mode === ALLOW ? XDP_DROP : XDP_PASS).packets, `${k.kind}: stats`).to.equal(2);
        }
      },
    );
  }

  fx.it('a running firewall switches mode through its global, without a reload', async () => {
    fw.map('port_dst').set({ proto: 6, port: 22 }, 0);
    const frames = [v4(LAB.h3.ip).tcp({ dport: 22 }), v4(LAB.h3.ip).tcp({ dport: 80 })];
    expect((await runUnit(fw.program(), frames)).frames.map((f) => f.verdict)).to.deep.equal(['dropped', 'passed']);
    fw.setGlobal('mode', DENY);
    expect((await runUnit(fw.program(), frames)).frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped']);
  });

  fx.it(
    'ARP always passes, even from a blocked MAC in deny mode; other non-IP traffic follows the mode',
    async ({ objects }) => {
      const arp = frame
        .eth({ src: LAB.h3.mac, dst: 'ff:ff:ff:ff:ff:ff' })
        .arp({ sha: LAB.h3.mac, spa: LAB.h3.ip, tpa: LAB.host.ip });
      const other = frame.eth({ src: LAB.h3.mac, dst: LAB.host.mac, type: 0x88b5 }).payload('local experimental');
      const tagged = frame
        .eth({ src: LAB.h3.mac, dst: 'ff:ff:ff:ff:ff:ff' })
        .vlan({ vid: 10 })
        .arp({ sha: LAB.h3.mac, spa: LAB.h3.ip, tpa: LAB.host.ip });
      fw.map('mac_src').set({ mac: LAB.h3.mac }, 0);
      expect(await dropped([arp, other, tagged])).to.deep.equal([1]); // allow mode: the MAC rule drops only the non-ARP frame
      fw = objects(OBJ.firewall, { mode: DENY });
      expect(await dropped([arp, other, tagged])).to.deep.equal([1]); // deny mode, no rules: only ARP gets through
    },
  );

  fx.it(
    'odd frames: an IPv4 header cut short, IPv4 options, IPv6 extension headers, fragments',
    async ({ bench, objects }) => {
      fw.map('port_dst').set({ proto: 6, port: 22 }, 0);
      const odd = (await readCapture('fixtures/firewall-odd.pcap')).records.map((r) => r.data);
      const { unit, live } = await runBoth(fw.program(), bench, 'veth0', odd);
      // port 22 is found past IPv4 options (#1), IPv6 hop-by-hop and destination options (#2) and a
      // first fragment header (#3); a non-first fragment has no ports, whatever its bytes look like
      // (#4); a cut-short IPv4 header (#0) gets allow mode's default
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped', 'dropped', 'dropped', 'passed']);
      expect(unit.counts).to.deep.equal(live.counts);
      fw = objects(OBJ.firewall, { mode: DENY });
      fw.map('port_dst').set({ proto: 6, port: 22 }, 0);
      expect(await dropped(odd)).to.deep.equal([0, 4]);
      expect(fw.map('port_dst').get({ proto: 6, port: 22 })).to.equal(3);
    },
  );
});
