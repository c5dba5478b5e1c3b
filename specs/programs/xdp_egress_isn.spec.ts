// Specs of bpf/xdp_egress_isn.bpf.c on the egress article's topology (egressLab): the
// application's namespace sends through a veth pair whose outer end, a bridge port in the DUT
// namespace, carries xdp_isn_out; the uplink to the far host carries xdp_isn_in.
//
// Scripted frames use addresses no namespace owns (10.0.0.20 and 10.0.0.30), so the hosts drop
// them silently and nothing but the spec's frames enters the DUT.
import { expect } from 'chai';
import {
  PacketSocket,
  egressLab,
  frame,
  bpfObjects,
  fixtures,
  liveBench,
  parseFrame,
  runBothSteps,
  runUnit,
  until,
  type Frame,
  type LoadedObject,
  type Step,
  type TcpOption,
} from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { txChecksumOff } from '../support/netns.js';
import { tcpConnect, tcpServer } from '../support/tcp.js';

const OFFSET = 0x10000000;
const APP = '10.0.0.20';
const FAR = '10.0.0.30';
const add = (a: number, b: number) => (a + b) >>> 0;

describe('xdp_egress_isn (egress XDP through a veth pair)', () => {
  needsBpf();
  const fx = fixtures().suite('bench', liveBench(egressLab())).case('objects', bpfObjects());
  /** The object load() made last, for reading its maps (the objects fixture closes it). */
  let obj: LoadedObject | undefined;
  const app = () => fx.values.bench.topology.port('app');
  const uplink = () => fx.values.bench.topology.port('uplink');
  const load = () => {
    obj = fx.values.objects(OBJ.egressIsn, { isn_offset: OFFSET });
    return { app: obj.program('xdp_isn_out'), uplink: obj.program('xdp_isn_in') };
  };
  const out = (flags: string, seq: number, ack: number, data = '', options: readonly TcpOption[] = []): Step => ({
    on: 'app',
    frame: frame
      .eth({ src: app().testerMac, dst: uplink().testerMac })
      .ipv4({ src: APP, dst: FAR })
      .tcp({ sport: 40000, dport: 80, flags, seq, ack, options })
      .payload(data),
  });
  const back = (flags: string, seq: number, ack: number, data = ''): Step => ({
    on: 'uplink',
    frame: frame
      .eth({ src: uplink().testerMac, dst: app().testerMac })
      .ipv4({ src: FAR, dst: APP })
      .tcp({ sport: 80, dport: 40000, flags, seq, ack })
      .payload(data),
  });
  const LINUX_SYN_OPTIONS: TcpOption[] = [
    { kind: 'mss', value: 1460 },
    { kind: 'sackok' },
    { kind: 'ts', val: 1, ecr: 0 },
    { kind: 'nop' },
    { kind: 'wscale', value: 7 },
  ];

  fx.it(
    "shifts a SYN's sequence number and its flow's after it, and the answers' acknowledgements back",
    async ({ bench }) => {
      const programs = load();
      const { live } = await runBothSteps(bench, programs, [
        out('S', 1000, 0, '', LINUX_SYN_OPTIONS),
        back('SA', 9000, add(1001, OFFSET)),
        out('A', 1001, 9001),
        out('PA', 1001, 9001, 'hello'),
        back('A', 9001, add(1006, OFFSET)),
      ]);
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'passed', 'passed', 'passed', 'passed']);
      const numbers = live.frames.map((f) =>
        f.changes
          .filter((c) => c.path === 'tcp.seq' || c.path === 'tcp.ack')
          .map((c) => `${c.path}: ${c.from} -> ${c.to}`),
      );
      expect(numbers).to.deep.equal([
        [`tcp.seq: 1000 -> ${1000 + OFFSET}`],
        [`tcp.ack: ${1001 + OFFSET} -> 1001`],
        [`tcp.seq: 1001 -> ${1001 + OFFSET}`],
        [`tcp.seq: 1001 -> ${1001 + OFFSET}`],
        [`tcp.ack: ${1006 + OFFSET} -> 1006`],
      ]);
      expect(live.frames).to.all.have.validChecksums;
      const syn = live.frames[0]!.output!.layers.find((l) => l.name === 'tcp') as unknown as {
        options: { kind: string }[];
      };
      expect(syn.options.map((o) => o.kind)).to.deep.equal(['mss', 'nop', 'nop', 'ts', 'nop', 'wscale']);
      expect(
        obj!.map('isn_flows').get({ local_addr: APP, remote_addr: FAR, local_port: 40000, remote_port: 80 }),
      ).to.deep.equal({ offset: OFFSET, sack_stripped: 1, packets_out: 3, packets_in: 2 });
    },
  );

  fx.it('leaves alone flows it did not see open, and everything that is not TCP', async ({ bench }) => {
    const programs = load();
    const { live } = await runBothSteps(bench, programs, [
      out('PA', 5000, 7000, 'opened before the program'),
      back('A', 7000, 5025),
      {
        on: 'app',
        frame: frame
          .eth({ src: app().testerMac, dst: uplink().testerMac })
          .ipv4({ src: APP, dst: FAR })
          .udp({ sport: 5353, dport: 53 })
          .payload('query'),
      },
    ]);
    expect(live.frames.map((f) => [f.verdict, f.changes.length])).to.deep.equal([
      ['passed', 0],
      ['passed', 0],
      ['passed', 0],
    ]);
  });

  fx.it(
    'takes SACK-permitted out wherever it sits among the options, with the checksum right at odd and even offsets',
    async () => {
      const programs = load();
      const layouts: TcpOption[][] = [
        [{ kind: 'nop' }, { kind: 'sackok' }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'nop' }],
        [{ kind: 'sackok' }, { kind: 'nop' }, { kind: 'nop' }],
        [{ kind: 'mss', value: 1400 }],
      ];
      for (const options of layouts) {
        const run = await runUnit(programs.app, [out('S', 42, 0, '', options).frame]);
        const f = run.frames[0]!;
        const kinds = (
          f.output!.layers.find((l) => l.name === 'tcp') as unknown as { options: { kind: string }[] }
        ).options.map((o) => o.kind);
        expect(kinds, JSON.stringify(options)).to.not.include('sackok');
        const before = (
          f.input.layers.find((l) => l.name === 'tcp') as unknown as { options: { kind: string }[] }
        ).options.map((o) => o.kind);
        expect(kinds, JSON.stringify(options)).to.deep.equal(
          before.flatMap((k) => (k === 'sackok' ? ['nop', 'nop'] : [k])),
        );
        expect(f).to.have.validChecksums;
      }
    },
  );

  fx.it(
    'carries a real TCP connection from the application namespace while the far side sees the SYN shifted by the offset',
    async ({ bench }) => {
      const programs = load();
      bench.attach(programs.app, 'app');
      bench.attach(programs.uplink, 'uplink');
      await txChecksumOff(app().testerNetns, 'app');
      await txChecksumOff(uplink().testerNetns, 'uplink');
      const sent = PacketSocket.open(app().testerNetns, 'app', { ignoreOutgoing: false });
      const arrived = PacketSocket.open(uplink().testerNetns, 'uplink');
      try {
        const server = await tcpServer(uplink().testerNetns, '10.0.0.3', 8080, 1);
        const client = await tcpConnect(app().testerNetns, '10.0.0.3', 8080, 'shifted and back');
        expect(client).to.deep.include({ local: '10.0.0.2', reply: 'echo:shifted and back' });
        expect((await server.accepted)[0]).to.include({ peer: '10.0.0.2', data: 'shifted and back' });

        const tcp = (frames: Buffer[]) => frames.map((b) => parseFrame(b)).filter((f) => f.has('tcp'));
        const isSyn = (f: Frame) => f.get('tcp.flags') === 'S';
        const isSynAck = (f: Frame) => f.get('tcp.flags') === 'SA';
        const atApp: Frame[] = [];
        const atFar: Frame[] = [];
        // The sockets got every frame before the connection ended; read until both SYNs are in.
        await until(
          () => (
            atApp.push(...tcp(sent.receive())),
            atFar.push(...tcp(arrived.receive())),
            atApp.some(isSyn) && atFar.some(isSyn)
          ),
          'the SYN captured on both sides',
        );
        const isn = atApp.find(isSyn)!.get('tcp.seq') as number;
        expect(atFar.find(isSyn)!.get('tcp.seq')).to.equal(add(isn, OFFSET));
        const toServer = atFar.filter((f) => f.get('tcp.dport') === 8080);
        expect(toServer.length, 'segments to the server captured').to.be.at.least(3);
        for (const f of toServer) expect(f).to.have.validChecksums;
        // What the far side acknowledged in shifted numbers reached the application in its own.
        expect(atApp.find(isSynAck)?.get('tcp.ack')).to.equal(add(isn, 1));
      } finally {
        sent.close();
        arrived.close();
      }
    },
  );
});
