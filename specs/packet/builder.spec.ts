import { expect } from 'chai';
import { FrameBuildError, frame, type Tcp } from '../../src/index.js';

describe('frame builder', () => {
  it('makes a valid frame from a one-liner, with documented defaults', () => {
    const f = frame.eth().ipv4().udp().parse();
    expect(f.layers.map((l) => l.name)).to.deep.equal(['eth', 'ipv4', 'udp']);
    expect(f.layer('eth')).to.include({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', type: 0x0800 });
    expect(f.layer('ipv4')).to.include({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      ttl: 64,
      proto: 17,
      len: 28,
      ihl: 5,
      id: 1,
    });
    expect(f.layer('udp')).to.include({ sport: 12345, dport: 53, len: 8 });
    const t = frame.eth().ipv6().tcp().parse();
    expect(t.layer('ipv6')).to.include({ src: 'fd00::1', dst: 'fd00::2', hlim: 64, nh: 6, plen: 20 });
    expect(t.layer('tcp')).to.include({ sport: 12345, dport: 80, flags: 'S', win: 65535, off: 5 });
  });

  it('fills type, protocol and length fields from what follows', () => {
    const q = frame
      .eth()
      .vlan({ vid: 10 })
      .vlan({ vid: 20 })
      .ipv6()
      .hopopts()
      .routing()
      .fragment()
      .dstopts()
      .icmpv6()
      .payload('abc')
      .parse();
    expect(q.layer('eth')!.type).to.equal(0x88a8); // QinQ: the outer tag is a service tag
    expect(q.layer('vlan')!.type).to.equal(0x8100);
    expect(q.layer('vlan', 1)).to.include({ vid: 20, type: 0x86dd });
    expect(q.layer('ipv6')!.nh).to.equal(0);
    expect(q.layer('hopopts')!.nh).to.equal(43);
    expect(q.layer('routing')!.nh).to.equal(44);
    expect(q.layer('fragment')!.nh).to.equal(60);
    expect(q.layer('dstopts')!.nh).to.equal(58);
    expect(q.layer('ipv6')!.plen).to.equal(8 + 8 + 8 + 8 + 8 + 3);
    const a = frame.eth().arp({ op: 2, spa: '10.0.0.2', sha: '02:00:00:00:00:02' }).parse();
    expect(a.layer('eth')!.type).to.equal(0x0806);
    expect(a.layer('arp')).to.include({ op: 2, spa: '10.0.0.2', sha: '02:00:00:00:00:02', htype: 1, ptype: 0x0800 });
  });

  it('writes given fields exactly, even inconsistent ones', () => {
    const b = frame
      .eth({ type: 0x1234 })
      .ipv4({ len: 9999, ihl: 7, proto: 99, ttl: 0 })
      .udp({ len: 3 })
      .payload('hi')
      .build();
    expect(b.readUInt16BE(12)).to.equal(0x1234);
    expect(b[14]).to.equal(0x47);
    expect(b.readUInt16BE(16)).to.equal(9999);
    expect(b[14 + 9]).to.equal(99);
    expect(b[14 + 8]).to.equal(0);
    expect(b.readUInt16BE(14 + 20 + 4)).to.equal(3);
  });

  it('encodes IPv4 flags and fragment offsets, TCP flags and options', () => {
    const f = frame.eth().ipv4({ df: true, mf: true, frag: 185, rf: true }).payload('frag').parse();
    expect(f.layer('ipv4')).to.include({ df: true, mf: true, rf: true, frag: 185 });
    expect(f.bytes.readUInt16BE(14 + 6)).to.equal(0xe000 | 185);
    const opts: Tcp['options'] = [
      { kind: 'mss', value: 1460 },
      { kind: 'sackok' },
      { kind: 'ts', val: 0xdeadbeef, ecr: 1 },
      { kind: 'nop' },
      { kind: 'wscale', value: 7 },
      { kind: 'sack', blocks: [[1, 2]] },
      { kind: 30, data: Buffer.from([1, 2]) },
    ];
    const t = frame.eth().ipv4().tcp({ flags: 'sa', options: opts }).parse().layer('tcp')!;
    expect(t.flags).to.equal('SA');
    // 4 + 2 + 10 + 1 + 3 + 10 + 4 = 34 option bytes, padded to 36 with end-of-list
    expect(t.off).to.equal((20 + 36) / 4);
    expect(t.options.slice(0, opts.length)).to.deep.equal(opts);
    expect(t.options.slice(opts.length)).to.deep.equal([{ kind: 'eol' }, { kind: 'eol' }]);
    expect(frame.eth().ipv4().tcp({ flags: 0x1ff }).parse().layer('tcp')!.flags).to.equal('FSRPAUECN');
  });

  it('pads after the datagram without counting the padding in IP lengths', () => {
    const f = frame.eth().ipv4().udp().padding(18).parse();
    expect(f.length).to.equal(60);
    expect(f.layer('ipv4')!.len).to.equal(28);
    expect(f.layer('padding')!.data).to.deep.equal(Buffer.alloc(18));
  });

  it('shares prefixes: steps never change the builder they came from', () => {
    const base = frame.eth().ipv4({ dst: '10.9.9.9' });
    const a = base.tcp({ dport: 22 }).build();
    const b = base.udp({ dport: 53 }).build();
    expect(a[14 + 9]).to.equal(6);
    expect(b[14 + 9]).to.equal(17);
    expect(base.specs.length).to.equal(2);
  });

  it('refuses layers in an order that cannot be, saying what can follow', () => {
    const eth = frame.eth() as unknown as Record<string, (s?: object) => unknown>;
    expect(() => eth['tcp']!()).to.throw(
      FrameBuildError,
      'tcp: cannot follow eth: after eth come vlan, ipv4, ipv6, arp, payload, padding',
    );
    const v4 = frame.eth().ipv4() as unknown as Record<string, (s?: object) => unknown>;
    expect(() => v4['icmpv6']!()).to.throw(
      FrameBuildError,
      'icmpv6: cannot follow ipv4: after ipv4 come tcp, udp, icmp, ipv4, ipv6, gre, payload, padding',
    );
  });

  it('refuses values that do not fit, naming layer and field', () => {
    const cases: [() => unknown, string][] = [
      [() => frame.eth({ src: 'zz:00:00:00:00:01' }).build(), 'eth.src: "zz:00:00:00:00:01" is not a MAC address'],
      [() => frame.eth().ipv4({ dst: '10.0.0' }).build(), 'ipv4.dst: "10.0.0" is not an IPv4 address'],
      [() => frame.eth().ipv6({ src: 'fd00:::1' }).build(), 'ipv6.src: "fd00:::1" is not an IPv6 address'],
      [() => frame.eth().ipv4({ ttl: 256 }).build(), 'ipv4.ttl: 256 does not fit in 8 bits (0 to 255)'],
      [() => frame.eth().vlan({ vid: 4096 }).build(), 'vlan.vid: 4096 does not fit in 12 bits (0 to 4095)'],
      [() => frame.eth().ipv4().tcp({ dport: -1 }).build(), 'tcp.dport: -1 does not fit in 16 bits'],
      [() => frame.eth().ipv4().tcp({ flags: 'SX' }).build(), 'tcp.flags: "SX" has "X", which is not a flag'],
      [() => frame.eth().ipv4().tcp({ seq: 1.5 }).build(), 'tcp.seq: 1.5 does not fit in 32 bits'],
      [
        () =>
          frame
            .eth()
            .payload({} as unknown as string)
            .build(),
        'payload.data: expected bytes',
      ],
      [
        () =>
          frame
            .eth()
            .ipv4()
            .tcp({ options: Array(41).fill({ kind: 'nop' }) })
            .build(),
        'tcp.options: 41 option bytes do not fit: a TCP header holds at most 40',
      ],
      [
        () =>
          frame
            .eth()
            .ipv4({ options: Buffer.alloc(44) })
            .build(),
        'ipv4.options: 44 option bytes do not fit: an IPv4 header holds at most 40',
      ],
    ];
    for (const [fn, msg] of cases) expect(fn).to.throw(FrameBuildError, msg);
  });
});
