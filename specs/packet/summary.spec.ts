import { expect } from 'chai';
import { diffFrames, dissect, frame, summarize } from '../../src/index.js';
import { formatChanges } from '../../src/packet/index.js';

describe('frame summary, dissection and diff', () => {
  it('summarises each layer in one line, tcpdump -n style', () => {
    const cases: [ReturnType<typeof frame.parse>, string][] = [
      [
        frame.eth().ipv4().udp().payload('abcd').parse(),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 udp 12345 > 53 len 4',
      ],
      [
        frame
          .eth()
          .vlan({ vid: 7 })
          .ipv6()
          .tcp({ flags: 'SA', seq: 5, ack: 9, options: [{ kind: 'mss', value: 1400 }] })
          .parse(),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 vlan 7 ipv6 fd00::1 > fd00::2 tcp 12345 > 80 [SA] seq 5 ack 9 win 65535 <mss 1400> len 0',
      ],
      [
        frame.eth().ipv4({ dst: '10.0.0.10' }).icmp().parse(),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.10 icmp echo request id 1 seq 1',
      ],
      [frame.eth().arp().parse(), 'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 arp who-has 10.0.0.2 tell 10.0.0.1'],
      [
        frame.eth().ipv6().icmpv6({ type: 135, target: 'fd00::2' }).parse(),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv6 fd00::1 > fd00::2 icmpv6 neighbor solicitation who-has fd00::2',
      ],
      [
        frame.eth().ipv4({ mf: true, id: 3 }).udp().parse(),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 frag 0+ id 3 udp 12345 > 53 len 0',
      ],
      [
        frame.eth({ type: 0x88cc }).payload('x').parse(),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 type 0x88cc payload 1 bytes',
      ],
      [
        frame.parse(frame.eth().ipv4().udp().build().subarray(0, 38)),
        'eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 [udp truncated: need 8 bytes, have 4]',
      ],
    ];
    for (const [f, line] of cases) expect(summarize(f)).to.equal(line);
  });

  it('dissects every field, with offsets, names of numbers and checksum validity', () => {
    const text = dissect(frame.eth().ipv4({ checksum: 0xbad }).udp().payload('hi').parse());
    expect(text).to.include(
      'frame: 44 bytes\neth (offset 0)\n  dst   02:00:00:00:00:02\n  src   02:00:00:00:00:01\n  type  0x0800 (ipv4)\nipv4 (offset 14)',
    );
    expect(text).to.match(/\n {2}proto {5}17 \(udp\)\n/);
    expect(text).to.match(/\n {2}checksum {2}0x0bad \(invalid, expected 0x[0-9a-f]{4}\)\n/);
    expect(text).to.match(/udp \(offset 34\)[\s\S]*checksum {2}0x[0-9a-f]{4} \(valid\)/);
    expect(text).to.include('payload (offset 42)\n  data  6869');
  });

  it('diffs two frames field by field', () => {
    const a = frame.eth().ipv4({ ttl: 64 }).udp({ dport: 53 }).payload('q');
    const b = frame.eth({ dst: '02:00:00:00:00:0b' }).ipv4({ ttl: 63 }).udp({ dport: 5353 }).payload('q');
    const changes = diffFrames(a.build(), b.build());
    expect(changes.map((c) => c.path)).to.deep.equal([
      'eth.dst',
      'ipv4.ttl',
      'ipv4.checksum',
      'udp.dport',
      'udp.checksum',
    ]);
    expect(formatChanges(changes.slice(0, 2))).to.equal(
      'eth.dst: 02:00:00:00:00:02 -> 02:00:00:00:00:0b\nipv4.ttl: 64 -> 63',
    );
    expect(diffFrames(a.build(), a.build())).to.deep.equal([]);
  });

  it('diffs layers that appear on one side only as one change, and long bytes by first difference', () => {
    const tagged = frame.eth().vlan({ vid: 5 }).ipv4().udp().build();
    const untagged = frame.eth().ipv4().udp().build();
    expect(diffFrames(tagged, untagged)).to.deep.equal([
      { path: 'eth.type', from: '0x8100', to: '0x0800' },
      { path: 'vlan', from: 'present', to: undefined },
    ]);
    const long = Buffer.alloc(100, 1);
    const changed = Buffer.from(long);
    changed[70] = 2;
    const c = diffFrames(frame.eth().payload(long).build(), frame.eth().payload(changed).build());
    expect(c).to.have.length(1);
    expect(c[0]!.to).to.match(/\(100 bytes\) \(first difference at byte 70\)$/);
  });
});
