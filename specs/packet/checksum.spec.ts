import { expect } from 'chai';
import { checkChecksums, frame, writeCapture } from '../../src/index.js';
import { checksum } from '../../src/packet/checksum.js';
import { tempDir, tsharkFields } from '../support/tools.js';

const ndOpts = [{ type: 1, lladdr: '02:00:00:00:00:01' }];
/** One frame per checksum kind, over IPv4 and IPv6, with odd lengths and extension headers. */
const valid = [
  frame
    .eth()
    .ipv4()
    .tcp({ flags: 'SA', options: [{ kind: 'mss', value: 1460 }, { kind: 'sackok' }] })
    .payload('odd'),
  frame
    .eth()
    .ipv4({ options: [0x94, 0x04, 0, 0] })
    .udp()
    .payload('router alert'),
  frame.eth().ipv4().icmp({ type: 8, id: 3, seq: 4 }).payload('ping!'),
  // an ICMP error quotes the offending datagram's header and first 8 bytes
  frame.eth().ipv4().icmp({ type: 3, code: 4, rest: 1400 }).payload(frame.eth().ipv4().udp().build().subarray(14)),
  frame.eth().ipv6().tcp({ flags: 'A', seq: 1, ack: 2 }).payload('x'),
  frame.eth().ipv6().udp().payload(Buffer.alloc(301, 7)),
  frame
    .eth()
    .ipv6()
    .hopopts({ options: [5, 2, 0, 0, 1, 0] })
    .dstopts()
    .udp()
    .payload('ext'),
  frame.eth().ipv6().fragment({ id: 99 }).tcp().payload('frag0'),
  frame.eth().ipv6().icmpv6({ type: 128, id: 1, seq: 2 }).payload('echo'),
  frame.eth().ipv6().icmpv6({ type: 135, target: 'fd00::2', options: ndOpts }),
  frame
    .eth()
    .ipv6()
    .icmpv6({ type: 136, flags: 'SO', target: 'fd00::2', options: [{ type: 2, lladdr: '02:00:00:00:00:02' }] }),
  frame.eth().vlan({ vid: 3 }).ipv4().udp({ sport: 68, dport: 67 }).payload(Buffer.alloc(7)),
];

describe('checksums', () => {
  const t = tempDir();
  after(t.cleanup);

  it('match hand-computed vectors (RFC 1071 and a textbook IPv4 header)', () => {
    // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
    expect(checksum(Buffer.from('0001f203f4f5f6f7', 'hex'), 0, 8)).to.equal(0x220d);
    // An odd number of bytes pads the last one with a zero byte.
    expect(checksum(Buffer.from([0x01]), 0, 1)).to.equal(0xfeff);
    const ip = frame
      .eth()
      .ipv4({ len: 0x73, id: 0, df: true, ttl: 64, proto: 17, src: '192.168.0.1', dst: '192.168.0.199' })
      .build();
    expect(ip.readUInt16BE(14 + 10)).to.equal(0xb861);
  });

  it('are valid in every frame the builder makes, as tshark verifies them', async () => {
    const file = t.path('valid.pcap');
    await writeCapture(
      file,
      valid.map((f) => ({ data: f.build() })),
      { format: 'pcap' },
    );
    const rows = await tsharkFields(
      file,
      [
        'ip.checksum.status',
        'tcp.checksum.status',
        'udp.checksum.status',
        'icmp.checksum.status',
        'icmpv6.checksum.status',
      ],
      ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE'],
    );
    rows.forEach((r, i) => {
      const statuses = r.flatMap((x) => x.split(',')).filter((x) => x !== '');
      expect(statuses, `frame ${i}: ${valid[i]!.specs.map((s) => s.name).join('/')}`).to.not.be.empty;
      expect(statuses, `frame ${i}`).to.satisfy((s: string[]) => s.every((x) => x === '1'));
    });
    for (const [i, f] of valid.entries()) {
      const checks = checkChecksums(f.parse());
      expect(checks.length, `frame ${i}`).to.be.greaterThan(0);
      expect(
        checks.map((c) => c.status),
        `frame ${i}`,
      ).to.satisfy((s: string[]) => s.every((x) => x === 'valid'));
    }
  });

  it('are written exactly when a spec sets them, and reported invalid with the value tshark computes', async () => {
    const bad = [
      frame.eth().ipv4({ checksum: 0x1234 }).udp({ checksum: 0xbeef }).payload('x'),
      frame.eth().ipv4().tcp({ checksum: 0 }).payload('y'),
      frame.eth().ipv6().udp({ checksum: 0x0001 }).payload('zz'),
    ];
    const file = t.path('bad.pcap');
    await writeCapture(
      file,
      bad.map((f) => ({ data: f.build() })),
      { format: 'pcap' },
    );
    const rows = await tsharkFields(
      file,
      ['ip.checksum_calculated', 'tcp.checksum_calculated', 'udp.checksum_calculated'],
      ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE'],
    );
    const parsed = bad.map((f) => f.parse());
    expect(parsed[0]!.get('ipv4.checksum')).to.equal(0x1234);
    expect(parsed[0]!.get('udp.checksum')).to.equal(0xbeef);
    expect(parsed[1]!.get('tcp.checksum')).to.equal(0);
    const ours = parsed.map((f) => checkChecksums(f));
    expect(ours.flat().map((c) => c.status)).to.deep.equal(['invalid', 'invalid', 'valid', 'invalid', 'invalid']);
    expect(`0x${ours[0]![0]!.expected!.toString(16).padStart(4, '0')}`).to.equal(rows[0]![0]);
    expect(`0x${ours[0]![1]!.expected!.toString(16).padStart(4, '0')}`).to.equal(rows[0]![2]);
    expect(`0x${ours[1]![1]!.expected!.toString(16).padStart(4, '0')}`).to.equal(rows[1]![1]);
    expect(`0x${ours[2]![0]!.expected!.toString(16).padStart(4, '0')}`).to.equal(rows[2]![2]);
  });

  it('treat a zero UDP checksum over IPv4 as absent, and say unknown when bytes are missing', () => {
    expect(checkChecksums(frame.eth().ipv4().udp({ checksum: 0 }).parse())[1]).to.include({ status: 'none' });
    const cut = frame
      .eth()
      .ipv4()
      .udp()
      .payload('0123456789')
      .build()
      .subarray(0, 14 + 20 + 8 + 2);
    expect(checkChecksums(frame.parse(cut))[1]).to.include({ path: 'udp.checksum', status: 'unknown' });
  });
});
