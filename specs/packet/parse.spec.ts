import { valueText } from '../../src/sys/text.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { frame, parseCapture, parseFrame, writeCapture, type Built } from '../../src/index.js';
import { tempDir, tsharkFields } from '../support/tools.js';

/** Frames covering every layer and option kind, for lossless and tshark-agreement checks. */
const corpus: Built[] = [
  frame.eth().ipv4().udp().payload('dns?'),
  frame
    .eth()
    .vlan({ vid: 42, pcp: 5, dei: 1 })
    .ipv4({ tos: 0xb8, df: true, id: 4242 })
    .tcp({ flags: 'PA', seq: 100, ack: 200, win: 512, urp: 3 })
    .payload('data'),
  frame.eth().vlan({ vid: 100 }).vlan({ vid: 200 }).ipv6({ tc: 0x2e, flow: 0xabcde }).udp({ sport: 1, dport: 2 }),
  frame
    .eth()
    .ipv4({ options: [0x94, 0x04, 0x00, 0x00] })
    .tcp({
      options: [
        { kind: 'mss', value: 1460 },
        { kind: 'sackok' },
        { kind: 'ts', val: 7, ecr: 9 },
        { kind: 'nop' },
        { kind: 'wscale', value: 7 },
      ],
    }),
  frame
    .eth()
    .ipv4()
    .tcp({ flags: 'A', options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[1000, 2000]] }] }),
  frame.eth().ipv4({ mf: true, id: 9 }).udp().payload(Buffer.alloc(16, 1)),
  frame.eth().ipv4({ frag: 3, id: 9 }).payload(Buffer.alloc(16, 2)),
  frame
    .eth()
    .ipv6()
    .hopopts({ options: [5, 2, 0, 0, 1, 0] })
    .routing({ type: 4, segleft: 1, data: Buffer.alloc(20) })
    .dstopts()
    .tcp(),
  frame.eth().ipv6().fragment({ id: 0x12345678, offset: 0, mf: true }).udp().payload('first'),
  frame.eth().ipv6().fragment({ id: 0x12345678, offset: 2, mf: false }).payload('rest!'),
  frame
    .eth()
    .ipv6()
    .icmpv6({ type: 135, target: 'fe80::1', options: [{ type: 1, lladdr: '02:00:00:00:00:0a' }] }),
  frame
    .eth()
    .ipv6()
    .icmpv6({ type: 136, flags: 'RSO', target: 'fe80::2', options: [{ type: 2, lladdr: '02:00:00:00:00:0b' }] }),
  frame.eth().ipv6().icmpv6({ type: 129, id: 5, seq: 6 }).payload('pong'),
  frame.eth().ipv6().icmpv6({ type: 2, rest: 1280 }).payload(Buffer.alloc(8)),
  frame.eth().ipv4().icmp({ type: 0, id: 11, seq: 12 }),
  frame.eth().ipv4().icmp({ type: 11, code: 0 }).payload(Buffer.alloc(8)),
  frame.eth({ dst: 'ff:ff:ff:ff:ff:ff' }).arp({ tpa: '10.0.0.254' }).padding(18),
  frame.eth({ type: 0x88cc }).payload(Buffer.alloc(30, 3)),
  frame.eth().ipv4({ proto: 47 }).payload(Buffer.alloc(12)),
];

describe('frame parser', () => {
  const t = tempDir();
  after(t.cleanup);

  it('decodes the same field values as tshark, layer by layer', async () => {
    const file = t.path('corpus.pcap');
    const frames = corpus.map((f) => f.build());
    await writeCapture(
      file,
      frames.map((data) => ({ data })),
      { format: 'pcap' },
    );
    const fields: [string, (f: ReturnType<typeof parseFrame>) => unknown][] = [
      ['eth.src', (f) => f.get('eth.src')],
      // tshark files tags by TPID: 0x8100 under vlan, 0x88a8 (802.1ad) under ieee8021ad
      ['vlan.id', (f) => tags(f, 0x8100, 'vid')],
      ['vlan.priority', (f) => tags(f, 0x8100, 'pcp')],
      ['ieee8021ad.id', (f) => tags(f, 0x88a8, 'vid')],
      ['ip.dsfield', (f) => hex2(f.get('ipv4.tos'))],
      ['ip.id', (f) => hex4(f.get('ipv4.id'))],
      ['ip.flags.df', (f) => bool(f.get('ipv4.df'))],
      ['ip.flags.mf', (f) => bool(f.get('ipv4.mf'))],
      ['ip.frag_offset', (f) => str(f.get('ipv4.frag'))], // 8-byte units in tshark 4.0, as on the wire
      ['ip.hdr_len', (f) => num4(f.get('ipv4.ihl'))],
      ['ipv6.tclass', (f) => hex2(f.get('ipv6.tc'))],
      ['ipv6.flow', (f) => hex5(f.get('ipv6.flow'))],
      ['ipv6.routing.type', (f) => str(f.get('routing.type'))],
      ['ipv6.routing.segleft', (f) => str(f.get('routing.segleft'))],
      ['ipv6.fraghdr.ident', (f) => hex8(f.get('fragment.id'))],
      ['ipv6.fraghdr.more', (f) => bool(f.get('fragment.mf'))],
      ['tcp.flags.str', (f) => letters(str(f.get('tcp.flags')))],
      ['tcp.options.mss_val', (f) => optVal(f, 'mss')],
      ['tcp.options.wscale.shift', (f) => optVal(f, 'wscale')],
      ['tcp.options.sack_le', (f) => sackLe(f)],
      ['tcp.urgent_pointer', (f) => str(f.get('tcp.urp'))],
      ['udp.length', (f) => str(f.get('udp.len'))],
      ['icmp.type', (f) => str(f.get('icmp.type'))],
      ['icmpv6.type', (f) => str(f.get('icmpv6.type'))],
      ['icmpv6.nd.ns.target_address', (f) => (f.get('icmpv6.type') === 135 ? str(f.get('icmpv6.target')) : '')],
      ['icmpv6.nd.na.target_address', (f) => (f.get('icmpv6.type') === 136 ? str(f.get('icmpv6.target')) : '')],
      ['icmpv6.opt.linkaddr', (f) => str((f.get('icmpv6.options') as { lladdr?: string }[] | undefined)?.[0]?.lladdr)],
      ['arp.dst.proto_ipv4', (f) => str(f.get('arp.tpa'))],
    ];
    // Relative sequence numbers and reassembly would make tshark show other values than the wire's.
    const rows = await tsharkFields(
      file,
      fields.map(([n]) => n),
      [
        'tcp.relative_sequence_numbers:FALSE',
        'tcp.analyze_sequence_numbers:FALSE',
        'ip.defragment:FALSE',
        'ipv6.defragment:FALSE',
      ],
    );
    expect(rows.length).to.equal(corpus.length);
    rows.forEach((row, i) => {
      const f = parseFrame(frames[i]!);
      fields.forEach(([name, ours], j) => {
        let theirs = (row[j] ?? '').toLowerCase();
        if (name === 'tcp.flags.str') theirs = letters(theirs); // tshark writes e.g. '·······AP···'
        theirs = norm(theirs);
        expect(norm(String(ours(f))), `frame ${i} (${corpus[i]!.specs.map((s) => s.name).join('/')}) ${name}`).to.equal(
          theirs,
        );
      });
    });
  });

  it('re-emits every frame byte for byte from its decoded layers', () => {
    for (const [i, f] of corpus.entries()) {
      const bytes = f.build();
      const again = frame.fromLayers(parseFrame(bytes).layers);
      if (!again.equals(bytes))
        expect.fail(`frame ${i}: ${bytes.toString('hex')} re-emitted as ${again.toString('hex')}`);
    }
  });

  it('re-emits every frame of the bundled fixtures byte for byte', () => {
    const c = parseCapture(readFileSync('fixtures/ipv4-and-ipv6.pcap'));
    for (const r of c.records)
      expect(frame.fromLayers(parseFrame(r.data).layers).equals(r.data), `record ${r.index}`).to.equal(true);
  });

  it('reports truncated headers with layer, offset and byte counts, and never throws', () => {
    const full = frame.eth().vlan().ipv4().udp().payload('hello').build();
    const f = parseFrame(full.subarray(0, 14 + 4 + 20 + 1));
    expect(f.truncated).to.deep.equal({ layer: 'udp', offset: 38, need: 8, have: 1 });
    expect(f.layers.map((l) => l.name)).to.deep.equal(['eth', 'vlan', 'ipv4', 'raw']);
    expect(parseFrame(full.subarray(0, 10)).truncated).to.deep.equal({ layer: 'eth', offset: 0, need: 14, have: 10 });
    // A datagram longer than the captured bytes (a snapped capture) still decodes what is there.
    const snapped = parseFrame(full.subarray(0, full.length - 2));
    expect(snapped.layer('udp')).to.not.equal(undefined);
    expect(snapped.truncated).to.deep.equal({ layer: 'ipv4', offset: 18, need: 33, have: 31 });
    // Every prefix of every corpus frame, and random bytes, parse and re-emit without throwing.
    for (const c of corpus) {
      const b = c.build();
      for (let n = 0; n <= b.length; n++) {
        const p = parseFrame(b.subarray(0, n));
        expect(frame.fromLayers(p.layers).equals(b.subarray(0, n)), `prefix ${n} of ${b.toString('hex')}`).to.equal(
          true,
        );
      }
    }
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Array.from({ length: 14 + (i % 90) }, rand));
      b.writeUInt16BE([0x0800, 0x86dd, 0x8100, 0x0806][i % 4]!, 12);
      expect(frame.fromLayers(parseFrame(b).layers).equals(b)).to.equal(true);
    }
  });

  it('keeps unknown protocols and trailing bytes as bytes', () => {
    const lldp = parseFrame(frame.eth({ type: 0x88cc }).payload('lldp').build());
    expect(lldp.layers.map((l) => l.name)).to.deep.equal(['eth', 'payload']);
    const sctp = parseFrame(frame.eth().ipv4({ proto: 132 }).payload('sctp').build());
    expect(sctp.layers.map((l) => l.name)).to.deep.equal(['eth', 'ipv4', 'payload']);
    const padded = parseFrame(frame.eth().arp().padding(18).build());
    expect(padded.layer('padding')!.data.length).to.equal(18);
    expect(padded.has('arp')).to.equal(true);
    expect(padded.get('arp.tpa')).to.equal('10.0.0.2');
    expect(padded.get('nosuch.field')).to.equal(undefined);
  });
});

/** Numbers compare by value whatever their width or base (tshark writes 0x0000002e for a traffic class). */
const norm = (s: string) =>
  s
    .toLowerCase()
    .split(',')
    .map((x) => (/^(0x[0-9a-f]+|\d+)$/.test(x) ? String(Number(x)) : x))
    .join(',');
const letters = (s: string) => [...s.toLowerCase().replace(/[^a-z]/g, '')].sort().join('');
const str = (v: unknown) => (v === undefined ? '' : valueText(v));
const bool = (v: unknown) => (v === undefined ? '' : v ? '1' : '0');
const hexN = (n: number) => (v: unknown) => (v === undefined ? '' : `0x${(v as number).toString(16).padStart(n, '0')}`);
const hex2 = hexN(2);
const hex4 = hexN(4);
const hex5 = hexN(5);
const hex8 = hexN(8);
const num4 = (v: unknown) => (v === undefined ? '' : String((v as number) * 4));
/** Values of `field` of the VLAN tags announced by `tpid`, comma-separated as tshark aggregates them. */
function tags(f: ReturnType<typeof parseFrame>, tpid: number, field: 'vid' | 'pcp'): string {
  const out: number[] = [];
  f.layers.forEach((l, i) => {
    const prev = f.layers[i - 1];
    if (l.name === 'vlan' && prev && (prev.name === 'eth' || prev.name === 'vlan') && prev.type === tpid)
      out.push(l[field]);
  });
  return out.join(',');
}
function optVal(f: ReturnType<typeof parseFrame>, kind: string): string {
  const o = f.layer('tcp')?.options.find((x) => x.kind === kind) as { value?: number } | undefined;
  return o?.value === undefined ? '' : String(o.value);
}
function sackLe(f: ReturnType<typeof parseFrame>): string {
  const o = f.layer('tcp')?.options.find((x) => x.kind === 'sack') as { blocks: [number, number][] } | undefined;
  return o ? o.blocks.map((b) => b[0]).join(',') : '';
}
