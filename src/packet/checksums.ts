import { checksum, ipv4PseudoSum, ipv6PseudoSum, sum16, finish } from './checksum.js';
import { layerPrefixes } from './fields.js';
import type { Frame } from './frame.js';
import { IPPROTO } from './ipproto.js';

/** The state of one checksum field of a decoded frame. */
export interface ChecksumCheck {
  /** Field path, e.g. `tcp.checksum`. */
  readonly path: string;
  readonly value: number;
  /**
   * `valid`/`invalid`; `none` for a UDP-over-IPv4 checksum of 0 (not used); `unknown` when
   * the bytes it covers were not all captured.
   */
  readonly status: 'valid' | 'invalid' | 'none' | 'unknown';
  /** What the field should hold for the frame's bytes (absent when status is unknown). */
  readonly expected?: number;
}

/** Checks every checksum of the frame against its bytes (IPv4 header, TCP, UDP, ICMP, ICMPv6). */
export function checkChecksums(f: Frame): ChecksumCheck[] {
  const out: ChecksumCheck[] = [];
  const prefixes = layerPrefixes(f.layers);
  const b = f.bytes;
  let ip: { off: number; version: 4 | 6; end: number } | undefined;
  f.layers.forEach((l, i) => {
    const off = f.offsets[i]!;
    const path = `${prefixes[i]}.checksum`;
    if (l.name === 'ipv4') {
      const hl = Math.max(l.ihl * 4, 20);
      ip = { off, version: 4, end: off + l.len };
      const expected = finish(sum16(b, off, off + hl) + 0xffff - l.checksum);
      out.push({
        path,
        value: l.checksum,
        status: checksum(b, off, off + hl) === 0 ? 'valid' : 'invalid',
        expected: fold(expected),
      });
      return;
    }
    if (l.name === 'ipv6') {
      ip = { off, version: 6, end: off + 40 + l.plen };
      return;
    }
    if (l.name === 'gre' && l.checksum !== undefined && ip) {
      // GRE's covers its own header and everything it carries, with no pseudo-header.
      if (ip.end > b.length || ip.end < off) return void out.push({ path, value: l.checksum, status: 'unknown' });
      const total = sum16(b, off, ip.end);
      out.push({
        path,
        value: l.checksum,
        status: finish(total) === 0 ? 'valid' : 'invalid',
        expected: fold(finish(total + 0xffff - l.checksum)),
      });
      return;
    }
    if (l.name !== 'tcp' && l.name !== 'udp' && l.name !== 'icmp' && l.name !== 'icmpv6') return;
    if (!ip) return;
    if (l.name === 'udp' && ip.version === 4 && l.checksum === 0) {
      out.push({ path, value: 0, status: 'none' });
      return;
    }
    const end = ip.end;
    if (end > b.length || end < off) {
      out.push({ path, value: l.checksum, status: 'unknown' });
      return;
    }
    const proto =
      l.name === 'tcp'
        ? IPPROTO.tcp
        : l.name === 'udp'
          ? IPPROTO.udp
          : l.name === 'icmp'
            ? IPPROTO.icmp
            : IPPROTO.icmpv6;
    let init = 0;
    if (l.name !== 'icmp')
      init = ip.version === 4 ? ipv4PseudoSum(b, ip.off, proto, end - off) : ipv6PseudoSum(b, ip.off, proto, end - off);
    const total = sum16(b, off, end, init);
    // Subtracting the field (adding its one's complement) gives the sum the sender computed over.
    let expected = fold(finish(total + 0xffff - l.checksum));
    if (l.name === 'udp' && expected === 0) expected = 0xffff;
    const valid = finish(total) === 0 || (l.name === 'udp' && l.checksum === 0xffff && expected === 0xffff);
    out.push({ path, value: l.checksum, status: valid ? 'valid' : 'invalid', expected });
  });
  return out;
}

// 0x0000 and 0xffff are the same number in one's complement; the wire form is 0 unless it must not be.
function fold(v: number): number {
  return v === 0xffff ? 0 : v;
}
