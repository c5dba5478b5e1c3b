// Specs of bpf/xdp_router.bpf.c, the connection-tracking article's home router: a LAN port
// and a WAN port, one program on each, sharing the conntrack and NAT tables.
//
//   LAN host 192.168.1.10 -- [lan 192.168.1.1 | DUT | wan 203.0.113.1] -- 203.0.113.2 WAN host
//
// Scripted conversations go through both engines step by step, and both must leave the tables
// in the same state. Their hosts (192.168.1.20 behind the LAN, 198.51.100.7 out on the
// internet) are addresses no namespace owns: the hosts' kernels drop what reaches them without
// answering, so the only frames entering the DUT are the ones the spec sends. The real
// connection at the end uses the hosts' own addresses and sockets.
import { expect } from 'chai';
import { frame, bpfObjects, fixtures, liveBench, runBothSteps, type LoadedObject, type Step } from '../../src/index.js';
import { DriverStats } from '../../src/net/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { txChecksumOff } from '../support/netns.js';
import { tcpConnect, tcpServer } from '../support/tcp.js';

const LAN_HOST = '192.168.1.20';
const REMOTE = '198.51.100.7';
const WAN_ADDR = '203.0.113.1';

describe('xdp_router (conntrack and NAT across a LAN and a WAN port)', () => {
  needsBpf();
  const fx = fixtures()
    .suite(
      'bench',
      liveBench({
        forwarding: true,
        ports: [
          {
            name: 'lan',
            dutAddresses: ['192.168.1.1/24'],
            testerAddresses: ['192.168.1.10/24'],
            testerRoutes: ['default via 192.168.1.1'],
            separateHost: true,
          },
          {
            name: 'wan',
            dutAddresses: [`${WAN_ADDR}/24`],
            testerAddresses: ['203.0.113.2/24'],
            dutRoutes: ['default via 203.0.113.2'],
            testerRoutes: ['192.168.1.0/24 via 203.0.113.1'],
            separateHost: true,
          },
        ],
      }),
    )
    .case('objects', bpfObjects());
  /** The object load() made last, for reading its maps (the objects fixture closes it). */
  let obj: LoadedObject | undefined;

  const lan = () => fx.values.bench.topology.port('lan');
  const wan = () => fx.values.bench.topology.port('wan');
  const load = (config: Record<string, unknown> = {}) => {
    obj = fx.values.objects(OBJ.router, {
      wan_addr: WAN_ADDR,
      lan_prefix_addr: '192.168.1.0',
      lan_prefix_len: 24,
      lan_ifindex: lan().dutIfindex,
      wan_ifindex: wan().dutIfindex,
      wan_mac: wan().dutMac,
      wan_gw_mac: wan().testerMac,
      nat_port_min: 20000,
      nat_port_max: 20009,
      ...config,
    });
    return { lan: obj.program('xdp_router_lan'), wan: obj.program('xdp_router_wan') };
  };
  const fromLan = (flags: string, seq: number, ack: number, data = '', sport = 40000): Step => ({
    on: 'lan',
    frame: frame
      .eth({ src: lan().testerMac, dst: lan().dutMac })
      .ipv4({ src: LAN_HOST, dst: REMOTE })
      .tcp({ sport, dport: 80, flags, seq, ack })
      .payload(data),
  });
  const fromWan = (flags: string, seq: number, ack: number, data = '', natPort = 20000): Step => ({
    on: 'wan',
    frame: frame
      .eth({ src: wan().testerMac, dst: wan().dutMac })
      .ipv4({ src: REMOTE, dst: WAN_ADDR })
      .tcp({ sport: 80, dport: natPort, flags, seq, ack })
      .payload(data),
  });
  const flow = (lanPort = 40000) => ({ lan_addr: LAN_HOST, remote_addr: REMOTE, lan_port: lanPort, remote_port: 80 });
  const conntrack = () => obj!.map('conntrack');

  fx.it(
    'follows a connection through handshake, data and both FINs, translating both ways, with the tables checked after every step',
    async ({ bench }) => {
      const programs = load();
      const script: [Step, Record<string, unknown>][] = [
        [fromLan('S', 1000, 0), { state: 'CT_SYN_SENT', packets_out: 1, packets_in: 0 }],
        [fromWan('SA', 5000, 1001), { state: 'CT_SYN_RECV', packets_in: 1 }],
        [fromLan('A', 1001, 5001), { state: 'CT_ESTABLISHED', packets_out: 2 }],
        [fromLan('PA', 1001, 5001, 'GET / HTTP/1.0\r\n\r\n'), { state: 'CT_ESTABLISHED', packets_out: 3 }],
        [fromWan('PA', 5001, 1019, 'HTTP/1.0 200 OK\r\n\r\n'), { state: 'CT_ESTABLISHED', packets_in: 2 }],
        [fromLan('FA', 1019, 5020), { state: 'CT_FIN_WAIT', fin_out: 1, fin_in: 0 }],
        [fromWan('FA', 5020, 1020), { state: 'CT_TIME_WAIT', fin_in: 1 }],
        [fromLan('A', 1020, 5021), { state: 'CT_TIME_WAIT', packets_out: 5, packets_in: 3 }],
      ];
      for (const [i, [step, expected]] of script.entries()) {
        const { live } = await runBothSteps(bench, programs, [step]);
        const f = live.frames[0]!;
        expect(f.verdict, `step #${i}`).to.equal('redirected');
        expect(f.redirect, `step #${i}`).to.include({ port: step.on === 'lan' ? 'wan' : 'lan' });
        expect(f).to.have.validChecksums;
        expect(conntrack().get(flow()), `conntrack after step #${i}`).to.include(expected);
      }
      expect(conntrack().get(flow())).to.include({
        nat_port: 20000,
        host_mac: lan().testerMac,
        router_mac: lan().dutMac,
      });
      expect(obj!.map('nat').get({ remote_addr: REMOTE, remote_port: 80, nat_port: 20000 })).to.deep.equal(flow());
    },
  );

  fx.it(
    'masquerades outbound segments as the WAN address and a NAT port, and maps replies back to the host',
    async ({ bench }) => {
      const programs = load();
      const { live } = await runBothSteps(bench, programs, [fromLan('S', 1000, 0), fromWan('SA', 5000, 1001)]);
      const change = (i: number) =>
        live.frames[i]!.changes.filter((c) => !c.path.endsWith('checksum')).map(
          (c) => `${c.path}: ${c.from} -> ${c.to}`,
        );
      expect(change(0)).to.deep.equal([
        `eth.dst: ${lan().dutMac} -> ${wan().testerMac}`,
        `eth.src: ${lan().testerMac} -> ${wan().dutMac}`,
        `ipv4.src: ${LAN_HOST} -> ${WAN_ADDR}`,
        'tcp.sport: 40000 -> 20000',
      ]);
      expect(change(1)).to.deep.equal([
        `eth.dst: ${wan().dutMac} -> ${lan().testerMac}`,
        `eth.src: ${wan().testerMac} -> ${lan().dutMac}`,
        `ipv4.dst: ${WAN_ADDR} -> ${LAN_HOST}`,
        'tcp.dport: 20000 -> 40000',
      ]);
      expect(live.frames.map((f) => f.outputs.map((o) => `${o.port}/${o.side}`))).to.deep.equal([
        ['wan/tester'],
        ['lan/tester'],
      ]);
    },
  );

  fx.it(
    'drops inbound TCP of no flow, or that does not fit its flow; other protocols and the LAN itself go to the kernel',
    async ({ bench }) => {
      const programs = load();
      const wanL2 = () => frame.eth({ src: wan().testerMac, dst: wan().dutMac });
      const lanL2 = () => frame.eth({ src: lan().testerMac, dst: lan().dutMac });
      const steps: [Step, string][] = [
        [fromWan('S', 7000, 0), 'unsolicited SYN to the WAN address'],
        [fromWan('A', 1, 1, '', 20001), 'ACK scan: a bare ACK to a flow that never saw a SYN'],
        [
          {
            on: 'wan',
            frame: wanL2().ipv4({ src: REMOTE, dst: LAN_HOST }).tcp({ sport: 5555, dport: 22, flags: 'S' }),
          },
          'SYN straight to a LAN host',
        ],
        [fromLan('A', 1, 1, '', 40001), 'LAN segment of no flow: nothing to translate it with'],
        [fromLan('S', 1000, 0), 'the LAN host opens a flow'],
        [fromWan('A', 5001, 1001), 'a bare ACK before the SYN-ACK'],
        [fromWan('PA', 5001, 1001, 'early'), 'data before the SYN-ACK'],
        [fromWan('SA', 5000, 1001), 'the SYN-ACK'],
        [fromLan('A', 1001, 5001), 'the handshake ends'],
        [fromWan('S', 9000, 0), 'a SYN into the open flow'],
        [
          {
            on: 'wan',
            frame: wanL2().ipv4({ src: REMOTE, dst: WAN_ADDR }).udp({ sport: 53, dport: 5353 }).payload('dns'),
          },
          'UDP',
        ],
        [{ on: 'wan', frame: wanL2().ipv4({ src: REMOTE, dst: WAN_ADDR }).icmp({ type: 8 }) }, 'ICMP echo'],
        [
          {
            on: 'wan',
            frame: frame
              .eth({ src: wan().testerMac, dst: 'ff:ff:ff:ff:ff:ff' })
              .arp({ op: 1, sha: wan().testerMac, spa: '203.0.113.2', tpa: WAN_ADDR }),
          },
          'ARP',
        ],
        [
          {
            on: 'lan',
            frame: lanL2().ipv4({ src: LAN_HOST, dst: '192.168.1.1' }).tcp({ sport: 40002, dport: 22, flags: 'S' }),
          },
          'LAN TCP to the router itself',
        ],
      ];
      const { live } = await runBothSteps(
        bench,
        programs,
        steps.map(([s]) => s),
      );
      const got = live.frames.map((f, i) => `${steps[i]![1]}: ${f.verdict}`);
      const want = [
        'dropped',
        'dropped',
        'dropped',
        'dropped',
        'redirected',
        'dropped',
        'dropped',
        'redirected',
        'redirected',
        'dropped',
        'passed',
        'passed',
        'passed',
        'passed',
      ];
      expect(got).to.deep.equal(steps.map(([, what], i) => `${what}: ${want[i]}`));
      expect([...conntrack().entries()].map(([k, v]) => [k, (v as { state: string }).state])).to.deep.equal([
        [flow(), 'CT_ESTABLISHED'],
      ]);
    },
  );

  fx.it(
    'closes a flow on RST, drops what follows, and lets a new flow reuse the tuple with its NAT port',
    async ({ bench }) => {
      const programs = load();
      const { live } = await runBothSteps(bench, programs, [
        fromLan('S', 1000, 0),
        fromWan('SA', 5000, 1001),
        fromLan('A', 1001, 5001),
        fromWan('RA', 5001, 1001),
        fromWan('PA', 5001, 1001, 'after the reset'),
        fromLan('A', 1001, 5001),
      ]);
      expect(live.frames.map((f) => f.verdict)).to.deep.equal([
        'redirected',
        'redirected',
        'redirected',
        'redirected',
        'dropped',
        'dropped',
      ]);
      expect(conntrack().get(flow())).to.include({ state: 'CT_CLOSED', packets_in: 2 });

      const again = await runBothSteps(bench, programs, [fromLan('S', 77000, 0), fromLan('S', 3000, 0, '', 40001)]);
      expect(again.live.frames.map((f) => f.verdict)).to.deep.equal(['redirected', 'redirected']);
      expect(conntrack().get(flow())).to.include({
        state: 'CT_SYN_SENT',
        nat_port: 20000,
        packets_out: 1,
        packets_in: 0,
      });
      expect(conntrack().get(flow(40001))).to.include({ state: 'CT_SYN_SENT', nat_port: 20001 });
    },
  );

  fx.it(
    'shares a NAT port between remotes but not within one, and drops a SYN when the range is used up',
    async ({ bench }) => {
      const programs = load({ nat_port_max: 20000 });
      const toOther = {
        on: 'lan',
        frame: frame
          .eth({ src: lan().testerMac, dst: lan().dutMac })
          .ipv4({ src: LAN_HOST, dst: '198.51.100.8' })
          .tcp({ sport: 40000, dport: 80, flags: 'S' }),
      };
      const { live } = await runBothSteps(bench, programs, [
        fromLan('S', 1000, 0),
        fromLan('S', 1000, 0, '', 40001),
        toOther,
      ]);
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['redirected', 'dropped', 'redirected']);
      expect(live.frames[2]!.output!.get('tcp.sport')).to.equal(20000);
    },
  );

  fx.it(
    'carries a real TCP connection from the LAN host to a server behind the WAN port, masqueraded, and keeps the other way shut',
    async ({ bench }) => {
      const programs = load();
      bench.attach(programs.lan, 'lan');
      bench.attach(programs.wan, 'wan');
      await txChecksumOff(lan().testerNetns, 'lan');
      await txChecksumOff(wan().testerNetns, 'wan');

      const server = await tcpServer(wan().testerNetns, '203.0.113.2', 8080, 1);
      const client = await tcpConnect(lan().testerNetns, '203.0.113.2', 8080, 'hello through XDP');
      const [seen] = await server.accepted;
      expect(client).to.deep.include({ local: '192.168.1.10', reply: 'echo:hello through XDP' });
      expect(seen).to.include({ peer: WAN_ADDR, data: 'hello through XDP' });
      expect(seen!.port).to.be.within(20000, 20009);
      const entry = conntrack().get({
        lan_addr: '192.168.1.10',
        remote_addr: '203.0.113.2',
        lan_port: (client as { port: number }).port,
        remote_port: 8080,
      });
      expect(entry).to.include({ state: 'CT_TIME_WAIT', nat_port: seen!.port, fin_out: 1, fin_in: 1 });

      // The way in: the WAN host has a route to the LAN, and the DUT forwards, so only the WAN
      // program stands in the way. Its drop counter moving is the sign the SYN met it.
      const stats = DriverStats.open(bench.topology.dut, 'wan');
      const drops = () => stats.read()['rx_queue_0_xdp_drops'] ?? 0;
      try {
        const before = drops();
        const inside = await tcpServer(lan().testerNetns, '192.168.1.10', 2222, 1);
        const attempt = await tcpConnect(wan().testerNetns, '192.168.1.10', 2222, 'let me in', 1);
        inside.stop();
        expect(attempt).to.deep.equal({ error: 'timeout' });
        expect(await inside.accepted).to.deep.equal([]);
        expect(drops() - before).to.be.at.least(1);
      } finally {
        stats.close();
      }
    },
  );
});
