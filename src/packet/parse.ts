import * as arp from './arp.js';
import * as eth from './ethernet.js';
import { Frame, type Truncation } from './frame.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import { IPPROTO } from './ipproto.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import * as ext from './ipv6ext.js';
import type { Layer } from './layers.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import * as vlan from './vlan.js';

/** Accumulates layers while walking a frame; one per parse call. */
class Walk {
  readonly layers: Layer[] = [];
  readonly offsets: number[] = [];
  truncated: Truncation | undefined;
  constructor(readonly b: Buffer) {}

  push(l: Layer, off: number): void {
    this.layers.push(l);
    this.offsets.push(off);
  }

  /** Records that `of` needed `need` bytes at `off` but only `end - off` are there; keeps them raw. */
  short(of: string, off: number, end: number, need: number): void {
    const have = end - off;
    this.truncated = { layer: of, offset: off, need, have };
    this.push({ name: 'raw', of, need, have, data: this.b.subarray(off, end) }, off);
  }

  payload(off: number, end: number): void {
    if (off < end) this.push({ name: 'payload', data: this.b.subarray(off, end) }, off);
  }
}

/**
 * Decodes an Ethernet frame into layers. Never throws on data from the wire: unknown
 * protocols stay payload bytes, short headers become a `raw` layer with `frame.truncated`
 * set, bytes beyond an IP datagram's length become a `padding` layer.
 */
export function parseFrame(data: Uint8Array): Frame {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const w = new Walk(b);
  const end = b.length;
  if (end < eth.HEADER_LEN) {
    w.short('eth', 0, end, eth.HEADER_LEN);
    return new Frame(b, w.layers, w.offsets, w.truncated);
  }
  const e = eth.parse(b, 0);
  w.push(e, 0);
  let off = eth.HEADER_LEN;
  let type = e.type;
  while (vlan.isVlanTpid(type)) {
    if (end - off < vlan.HEADER_LEN) {
      w.short('vlan', off, end, vlan.HEADER_LEN);
      return new Frame(b, w.layers, w.offsets, w.truncated);
    }
    const v = vlan.parse(b, off);
    w.push(v, off);
    type = v.type;
    off += vlan.HEADER_LEN;
  }
  let contentEnd = end;
  if (type === eth.ETHERTYPE.ipv4) contentEnd = parseIpv4(w, off, end);
  else if (type === eth.ETHERTYPE.ipv6) contentEnd = parseIpv6(w, off, end);
  else if (type === eth.ETHERTYPE.arp) contentEnd = parseArp(w, off, end);
  else w.payload(off, end);
  if (contentEnd < end) w.push({ name: 'padding', data: b.subarray(contentEnd, end) }, contentEnd);
  return new Frame(b, w.layers, w.offsets, w.truncated);
}

/** Returns where the ARP message ends (the rest of the frame is padding). */
function parseArp(w: Walk, off: number, end: number): number {
  if (end - off < arp.FIXED_LEN || !arp.isEthernetIpv4(w.b, off)) {
    if (end - off < arp.FIXED_LEN) w.short('arp', off, end, arp.FIXED_LEN);
    else w.payload(off, end); // ARP for other hardware or protocols: kept as bytes
    return end;
  }
  if (end - off < arp.HEADER_LEN) {
    w.short('arp', off, end, arp.HEADER_LEN);
    return end;
  }
  w.push(arp.parse(w.b, off), off);
  return off + arp.HEADER_LEN;
}

/** Returns where the datagram ends by its total length (bytes after it are padding). */
function parseIpv4(w: Walk, off: number, end: number): number {
  const b = w.b;
  if (end - off < ipv4.MIN_HEADER_LEN) {
    w.short('ipv4', off, end, ipv4.MIN_HEADER_LEN);
    return end;
  }
  const hl = Math.max(ipv4.headerLengthAt(b, off), ipv4.MIN_HEADER_LEN);
  if (end - off < hl) {
    w.short('ipv4', off, end, hl);
    return end;
  }
  const ip = ipv4.parse(b, off, hl);
  w.push(ip, off);
  let dEnd = off + ip.len;
  if (ip.len < hl) dEnd = end; // a nonsensical length: treat everything as the datagram
  else if (dEnd > end) {
    w.truncated = { layer: 'ipv4', offset: off, need: ip.len, have: end - off };
    dEnd = end;
  }
  const p = off + hl;
  if (ip.frag !== 0) w.payload(p, dEnd); // a later fragment carries no transport header
  else parseTransport(w, ip.proto, p, dEnd, 4);
  return dEnd;
}

function parseIpv6(w: Walk, off: number, end: number): number {
  const b = w.b;
  if (end - off < ipv6.HEADER_LEN) {
    w.short('ipv6', off, end, ipv6.HEADER_LEN);
    return end;
  }
  const ip = ipv6.parse(b, off);
  w.push(ip, off);
  let dEnd = off + ipv6.HEADER_LEN + ip.plen;
  if (ip.plen === 0) dEnd = end; // jumbogram or unset length
  else if (dEnd > end) {
    w.truncated = { layer: 'ipv6', offset: off, need: ipv6.HEADER_LEN + ip.plen, have: end - off };
    dEnd = end;
  }
  let nh = ip.nh;
  let p = off + ipv6.HEADER_LEN;
  for (;;) {
    if (nh === IPPROTO.hopopts || nh === IPPROTO.dstopts || nh === IPPROTO.routing) {
      const name = nh === IPPROTO.hopopts ? 'hopopts' : nh === IPPROTO.dstopts ? 'dstopts' : 'routing';
      if (dEnd - p < 2) return w.short(name, p, dEnd, 8), dEnd;
      const len = ext.lengthAt(b, p);
      if (dEnd - p < len) return w.short(name, p, dEnd, len), dEnd;
      const h = name === 'routing' ? ext.parseRouting(b, p) : ext.parseOptions(b, p, name);
      w.push(h, p);
      nh = h.nh;
      p += len;
    } else if (nh === IPPROTO.fragment) {
      if (dEnd - p < ext.FRAGMENT_LEN) return w.short('fragment', p, dEnd, ext.FRAGMENT_LEN), dEnd;
      const f = ext.parseFragment(b, p);
      w.push(f, p);
      p += ext.FRAGMENT_LEN;
      if (f.offset !== 0) return w.payload(p, dEnd), dEnd;
      nh = f.nh;
    } else break;
  }
  parseTransport(w, nh, p, dEnd, 6);
  return dEnd;
}

function parseTransport(w: Walk, proto: number, off: number, end: number, ipVersion: 4 | 6): void {
  const b = w.b;
  const have = end - off;
  if (proto === IPPROTO.tcp) {
    if (have < tcp.MIN_HEADER_LEN) return w.short('tcp', off, end, tcp.MIN_HEADER_LEN);
    const hl = Math.max(tcp.headerLengthAt(b, off), tcp.MIN_HEADER_LEN);
    if (have < hl) return w.short('tcp', off, end, hl);
    w.push(tcp.parse(b, off, hl), off);
    return w.payload(off + hl, end);
  }
  if (proto === IPPROTO.udp) {
    if (have < udp.HEADER_LEN) return w.short('udp', off, end, udp.HEADER_LEN);
    w.push(udp.parse(b, off), off);
    return w.payload(off + udp.HEADER_LEN, end);
  }
  if (proto === IPPROTO.icmp && ipVersion === 4) {
    if (have < icmp.HEADER_LEN) return w.short('icmp', off, end, icmp.HEADER_LEN);
    w.push(icmp.parse(b, off), off);
    return w.payload(off + icmp.HEADER_LEN, end);
  }
  if (proto === IPPROTO.icmpv6 && ipVersion === 6) {
    if (have < icmpv6.MIN_HEADER_LEN) return w.short('icmpv6', off, end, 8);
    const fixed = icmpv6.fixedLength(b[off]!);
    if (have < fixed) return w.short('icmpv6', off, end, fixed);
    const { layer, used } = icmpv6.parse(b, off, end);
    w.push(layer, off);
    return w.payload(off + used, end);
  }
  w.payload(off, end);
}
