// Tunnel layers: IP in IP, GRE, VXLAN and GENEVE, built, parsed, summarised and checked against
// tshark, which decodes them independently of xdpspec.
import { expect } from 'chai';
import { checkChecksums, frame, parseFrame, summarize, writeCapture, type Built, type Layer } from '../../src/index.js';
import { tempDir, tsharkFields } from '../support/tools.js';

// tshark's name for each of our layers in frame.protocols (Ethernet adds its "ethertype").
const TSHARK: Partial<Record<Layer['name'], string>> = {
  eth: 'eth:ethertype',
  ipv4: 'ip',
  ipv6: 'ipv6',
  gre: 'gre',
  udp: 'udp',
  tcp: 'tcp',
  icmp: 'icmp',
  icmpv6: 'icmpv6',
  arp: 'arp',
  vxlan: 'vxlan',
  geneve: 'geneve',
  payload: 'data',
};

const CASES: [string, Built][] = [
  [
    'IPIP',
    frame
      .eth()
      .ipv4({ src: '192.0.2.1', dst: '192.0.2.2' })
      .ipv4({ src: '10.0.0.1', dst: '10.0.0.2' })
      .udp({ sport: 40000, dport: 40001 })
      .payload('in'),
  ],
  [
    'IPv6 in IPv6',
    frame
      .eth()
      .ipv6({ src: 'fd00::1', dst: 'fd00::2' })
      .ipv6({ src: 'fd01::1', dst: 'fd01::2' })
      .tcp({ sport: 40000, dport: 22 }),
  ],
  [
    'IPv4 in IPv6',
    frame
      .eth()
      .ipv6({ src: 'fd00::1', dst: 'fd00::2' })
      .ipv4({ src: '10.0.0.1', dst: '10.0.0.2' })
      .icmp({ id: 3, seq: 4 }),
  ],
  ['IPv6 in IPv4', frame.eth().ipv4({ dst: '192.0.2.9' }).ipv6({ dst: 'fd02::9' }).icmpv6()],
  [
    'GRE with key, sequence and checksum',
    frame
      .eth()
      .ipv4()
      .gre({ key: 42, seq: 7, checksum: true })
      .ipv4({ dst: '10.9.9.9' })
      .udp({ sport: 40000, dport: 40002 })
      .payload('x'),
  ],
  [
    'GRE over IPv6 carrying Ethernet',
    frame
      .eth()
      .ipv6()
      .gre({ key: 5 })
      .eth({ dst: '02:00:00:00:00:cc' })
      .ipv4({ dst: '10.3.3.3' })
      .tcp({ sport: 40000, dport: 80 }),
  ],
  [
    'VXLAN',
    frame
      .eth()
      .ipv4()
      .udp({ sport: 50000 })
      .vxlan({ vni: 100 })
      .eth({ dst: '02:00:00:00:00:aa' })
      .ipv4({ dst: '10.1.1.1' })
      .tcp({ sport: 40000, dport: 443 }),
  ],
  [
    'GENEVE with an option',
    frame
      .eth()
      .ipv6()
      .udp({ sport: 50000 })
      .geneve({ vni: 7, options: [0x01, 0x02, 0x80, 0x01, 0, 0, 0, 9] })
      .eth({ dst: '02:00:00:00:00:bb' })
      .arp(),
  ],
];

describe('tunnel layers', () => {
  const t = tempDir();
  after(t.cleanup);

  it('build and parse back byte for byte, with every checksum right, inner ones included', () => {
    for (const [name, b] of CASES) {
      const bytes = b.build();
      const f = parseFrame(bytes);
      expect(
        f.layers.map((l) => l.name),
        name,
      ).to.deep.equal(b.specs.map((s) => s.name));
      expect(frame.fromLayers(f.layers), name).to.deep.equal(bytes);
      const sums = checkChecksums(f);
      expect(
        sums.filter((c) => c.status !== 'valid'),
        name,
      ).to.deep.equal([]);
      expect(sums.length, name).to.be.greaterThan(0);
    }
    const gre = CASES[4]![1].parse();
    expect(checkChecksums(gre).map((c) => c.path)).to.deep.equal([
      'ipv4.checksum',
      'gre.checksum',
      'ipv4[1].checksum',
      'udp.checksum',
    ]);
  });

  it('agree with tshark on every layer and the fields that identify a tunnel', async () => {
    const file = t.path('tunnels.pcap');
    await writeCapture(
      file,
      CASES.map(([, b]) => ({ data: b.build() })),
      { format: 'pcap' },
    );
    const rows = await tsharkFields(file, [
      'frame.protocols',
      'ip.dst',
      'ipv6.dst',
      'gre.key',
      'gre.sequence_number',
      'vxlan.vni',
      'geneve.vni',
      'eth.dst',
    ]);
    expect(rows).to.have.length(CASES.length);
    CASES.forEach(([name, b], i) => {
      const f = b.parse();
      const all = (n: Layer['name'], k: string) =>
        f.layers.filter((l) => l.name === n).map((l) => String((l as unknown as Record<string, unknown>)[k]));
      const gre = f.layers.find((l) => l.name === 'gre') as { key?: number; seq?: number } | undefined;
      const ours = [
        f.layers.map((l) => TSHARK[l.name]).join(':'),
        all('ipv4', 'dst').join(','),
        all('ipv6', 'dst').join(','),
        gre?.key === undefined ? '' : `0x${gre.key.toString(16).padStart(8, '0')}`,
        gre?.seq === undefined ? '' : String(gre.seq),
        all('vxlan', 'vni').join(','),
        all('geneve', 'vni')
          .map((v) => `0x${Number(v).toString(16).padStart(6, '0')}`)
          .join(','),
        all('eth', 'dst').join(','),
      ];
      expect(ours, name).to.deep.equal(rows[i]);
    });
  });

  it('agree with tshark field by field, outer and inner layers alike', async () => {
    const file = t.path('fields.pcap');
    await writeCapture(
      file,
      CASES.map(([, b]) => ({ data: b.build() })),
      { format: 'pcap' },
    );
    // tshark field -> our layer and field; every occurrence, outermost first.
    const fields: [string, Layer['name'], string][] = [
      ['eth.dst', 'eth', 'dst'],
      ['eth.src', 'eth', 'src'],
      ['eth.type', 'eth', 'type'],
      ['ip.src', 'ipv4', 'src'],
      ['ip.dst', 'ipv4', 'dst'],
      ['ip.len', 'ipv4', 'len'],
      ['ip.id', 'ipv4', 'id'],
      ['ip.ttl', 'ipv4', 'ttl'],
      ['ip.proto', 'ipv4', 'proto'],
      ['ip.checksum', 'ipv4', 'checksum'],
      ['ipv6.src', 'ipv6', 'src'],
      ['ipv6.dst', 'ipv6', 'dst'],
      ['ipv6.plen', 'ipv6', 'plen'],
      ['ipv6.nxt', 'ipv6', 'nh'],
      ['ipv6.hlim', 'ipv6', 'hlim'],
      ['gre.proto', 'gre', 'proto'],
      ['gre.key', 'gre', 'key'],
      ['gre.sequence_number', 'gre', 'seq'],
      ['gre.checksum', 'gre', 'checksum'],
      ['udp.srcport', 'udp', 'sport'],
      ['udp.dstport', 'udp', 'dport'],
      ['udp.length', 'udp', 'len'],
      ['udp.checksum', 'udp', 'checksum'],
      ['tcp.srcport', 'tcp', 'sport'],
      ['tcp.dstport', 'tcp', 'dport'],
      ['tcp.checksum', 'tcp', 'checksum'],
      ['vxlan.vni', 'vxlan', 'vni'],
      ['geneve.vni', 'geneve', 'vni'],
      ['geneve.proto_type', 'geneve', 'proto'],
      ['icmp.checksum', 'icmp', 'checksum'],
      ['icmpv6.checksum', 'icmpv6', 'checksum'],
      ['arp.dst.proto_ipv4', 'arp', 'tpa'],
    ];
    const rows = await tsharkFields(
      file,
      fields.map(([n]) => n),
    );
    // Numbers compare by value whatever base tshark writes them in (0x0800, 2048).
    const norm = (x: string) =>
      x
        .toLowerCase()
        .split(',')
        .filter((v) => v !== '')
        .map((v) => (/^(0x[0-9a-f]+|\d+)$/.test(v) ? String(Number(v)) : v))
        .join(',');
    const wrong: string[] = [];
    CASES.forEach(([name, b], i) => {
      const f = b.parse();
      fields.forEach(([field, layer, key], j) => {
        const ours = f.layers
          .filter((l) => l.name === layer)
          .map((l) => (l as unknown as Record<string, unknown>)[key])
          .filter((v) => v !== undefined)
          .map(String)
          .join(',');
        if (norm(ours) !== norm(rows[i]![j] ?? '')) wrong.push(`${name} ${field}: ours ${ours}, tshark ${rows[i]![j]}`);
      });
    });
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });

  it('summarise the outer and the inner frame on one line', () => {
    expect(summarize(CASES[6]![1].parse())).to.equal(
      'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 udp 50000 > 4789 len 62 vxlan vni 100 eth 02:00:00:00:00:01 > 02:00:00:00:00:aa ipv4 10.0.0.1 > 10.1.1.1 tcp 40000 > 443 [S] seq 0 win 65535 len 0',
    );
    expect(summarize(CASES[4]![1].parse())).to.equal(
      'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 gre key 42 seq 7 ipv4 10.0.0.1 > 10.9.9.9 udp 40000 > 40002 len 1',
    );
  });

  it("parse GUE variant 1 (IP straight in UDP) as Katran's fixtures carry it, and build it", async () => {
    const { readFileSync } = await import('node:fs');
    const data = JSON.parse(readFileSync('specs/packet/data/katran-gue-frames.json', 'utf8')) as { frames: string[] };
    const gue = data.frames.map((expected) => ({ expected }));
    expect(gue.length).to.be.greaterThan(0);
    const f = parseFrame(Buffer.from(gue[0]!.expected, 'hex'));
    expect(f.layers.map((l) => l.name)).to.deep.equal(['eth', 'ipv4', 'udp', 'ipv4', 'udp', 'payload']);
    expect([f.get('udp.dport'), f.get('ipv4[1].dst'), f.get('udp[1].dport')]).to.deep.equal([9886, '10.200.1.1', 80]);
    // Over IPv6 too, to IPv4 and IPv6 reals alike: every one's inner packet is found.
    const overV6 = gue
      .map((x) => parseFrame(Buffer.from(x.expected, 'hex')))
      .filter((x) => x.layers[1]?.name === 'ipv6' && x.get('udp.dport') === 9886);
    expect(overV6.map((x) => x.layers[3]?.name))
      .to.include.members(['ipv4', 'ipv6'])
      .and.satisfy((names: string[]) => names.every((n) => n === 'ipv4' || n === 'ipv6'));
    const built = frame
      .eth()
      .ipv4()
      .udp({ sport: 40000 })
      .ipv6({ dst: 'fd09::1' })
      .tcp({ sport: 40000, dport: 80 })
      .parse();
    expect(built.layers.map((l) => l.name)).to.deep.equal(['eth', 'ipv4', 'udp', 'ipv6', 'tcp']);
    expect(built.get('udp.dport')).to.equal(6080);
    expect(checkChecksums(built).every((c) => c.status === 'valid')).to.equal(true);
  });

  it('refuse what cannot follow, and keep a cut-short tunnel header raw', () => {
    expect(() => frame.eth().ipv4().gre().build()).not.to.throw(); // an empty GRE packet is a packet
    expect(() => (frame.eth().ipv4().udp().vxlan() as unknown as { ipv4(): Built }).ipv4().build()).to.throw(
      /ipv4: cannot follow vxlan: after vxlan come eth/,
    );
    expect(() =>
      frame
        .eth()
        .ipv4()
        .udp()
        .geneve({ options: [1, 2, 3] })
        .build(),
    ).to.throw(/geneve\.options: 3 bytes of options: GENEVE options come in 4-byte words/);
    const cut = CASES[6]![1].build().subarray(0, 14 + 20 + 8 + 5);
    const f = parseFrame(cut);
    expect(f.layers.map((l) => l.name)).to.deep.equal(['eth', 'ipv4', 'udp', 'raw']);
    expect(f.truncated).to.include({ layer: 'vxlan', need: 8, have: 5 });
  });
});
