import * as arp from './arp.js';
import * as eth from './ethernet.js';
import { Frame, type Truncation } from './frame.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import { IPPROTO } from './ipproto.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import * as ext from './ipv6ext.js';
import * as geneve from './geneve.js';
import * as gre from './gre.js';
import * as vxlan from './vxlan.js';
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
  const contentEnd = parseEthernet(w, 0, end);
  if (contentEnd < end) w.push({ name: 'padding', data: b.subarray(contentEnd, end) }, contentEnd);
  return new Frame(b, w.layers, w.offsets, w.truncated);
}

/** Tunnels inside tunnels are followed this deep; what is deeper stays payload bytes. */
const MAX_DEPTH = 8;

/** An Ethernet header and what it carries; returns where that content ends. */
function parseEthernet(w: Walk, off: number, end: number, depth = 0): number {
  const b = w.b;
  if (end - off < eth.HEADER_LEN) {
    w.short('eth', off, end, eth.HEADER_LEN);
    return end;
  }
  const e = eth.parse(b, off);
  w.push(e, off);
  off += eth.HEADER_LEN;
  let type = e.type;
  while (vlan.isVlanTpid(type)) {
    if (end - off < vlan.HEADER_LEN) {
      w.short('vlan', off, end, vlan.HEADER_LEN);
      return end;
    }
    const v = vlan.parse(b, off);
    w.push(v, off);
    type = v.type;
    off += vlan.HEADER_LEN;
  }
  return parseEtherType(w, type, off, end, depth);
}

/** What an EtherType announces (after Ethernet, a VLAN tag, GRE or GENEVE). */
function parseEtherType(w: Walk, type: number, off: number, end: number, depth: number): number {
  if (type === eth.ETHERTYPE.ipv4) return parseIpv4(w, off, end, depth);
  if (type === eth.ETHERTYPE.ipv6) return parseIpv6(w, off, end, depth);
  if (type === eth.ETHERTYPE.arp) return parseArp(w, off, end);
  if (type === gre.ETH_P_TEB && depth > 0 && depth < MAX_DEPTH) return parseEthernet(w, off, end, depth + 1);
  w.payload(off, end);
  return end;
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
function parseIpv4(w: Walk, off: number, end: number, depth = 0): number {
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
  if (ip.len < hl)
    dEnd = end; // a nonsensical length: treat everything as the datagram
  else if (dEnd > end) {
    w.truncated = { layer: 'ipv4', offset: off, need: ip.len, have: end - off };
    dEnd = end;
  }
  const p = off + hl;
  if (ip.frag !== 0)
    w.payload(p, dEnd); // a later fragment carries no transport header
  else parseTransport(w, ip.proto, p, dEnd, 4, depth);
  return dEnd;
}

function parseIpv6(w: Walk, off: number, end: number, depth = 0): number {
  const b = w.b;
  if (end - off < ipv6.HEADER_LEN) {
    w.short('ipv6', off, end, ipv6.HEADER_LEN);
    return end;
  }
  const ip = ipv6.parse(b, off);
  w.push(ip, off);
  let dEnd = off + ipv6.HEADER_LEN + ip.plen;
  if (ip.plen === 0)
    dEnd = end; // jumbogram or unset length
  else if (dEnd > end) {
    w.truncated = { layer: 'ipv6', offset: off, need: ipv6.HEADER_LEN + ip.plen, have: end - off };
    dEnd = end;
  }
  let nh = ip.nh;
  let p = off + ipv6.HEADER_LEN;
  for (;;) {
    if (nh === IPPROTO.hopopts || nh === IPPROTO.dstopts || nh === IPPROTO.routing) {
      const name = nh === IPPROTO.hopopts ? 'hopopts' : nh === IPPROTO.dstopts ? 'dstopts' : 'routing';
      if (dEnd - p < 2) return (w.short(name, p, dEnd, 8), dEnd);
      const len = ext.lengthAt(b, p);
      if (dEnd - p < len) return (w.short(name, p, dEnd, len), dEnd);
      const h = name === 'routing' ? ext.parseRouting(b, p) : ext.parseOptions(b, p, name);
      w.push(h, p);
      nh = h.nh;
      p += len;
    } else if (nh === IPPROTO.fragment) {
      if (dEnd - p < ext.FRAGMENT_LEN) return (w.short('fragment', p, dEnd, ext.FRAGMENT_LEN), dEnd);
      const f = ext.parseFragment(b, p);
      w.push(f, p);
      p += ext.FRAGMENT_LEN;
      if (f.offset !== 0) return (w.payload(p, dEnd), dEnd);
      nh = f.nh;
    } else break;
  }
  parseTransport(w, nh, p, dEnd, 6, depth);
  return dEnd;
}

function parseTransport(w: Walk, proto: number, off: number, end: number, ipVersion: 4 | 6, depth: number): void {
  const b = w.b;
  const have = end - off;
  const inner = depth < MAX_DEPTH;
  if (inner && (proto === IPPROTO.ipv4 || proto === IPPROTO.ipv6)) {
    const innerEnd = proto === IPPROTO.ipv4 ? parseIpv4(w, off, end, depth + 1) : parseIpv6(w, off, end, depth + 1);
    return w.payload(innerEnd, end);
  }
  if (inner && proto === IPPROTO.gre) {
    if (have < gre.BASE_LEN) return w.short('gre', off, end, gre.BASE_LEN);
    const hl = gre.headerLengthAt(b, off);
    if (have < hl) return w.short('gre', off, end, hl);
    const g = gre.parse(b, off);
    w.push(g, off);
    return void w.payload(parseEtherType(w, g.proto, off + hl, end, depth + 1), end);
  }
  if (proto === IPPROTO.tcp) {
    if (have < tcp.MIN_HEADER_LEN) return w.short('tcp', off, end, tcp.MIN_HEADER_LEN);
    const hl = Math.max(tcp.headerLengthAt(b, off), tcp.MIN_HEADER_LEN);
    if (have < hl) return w.short('tcp', off, end, hl);
    w.push(tcp.parse(b, off, hl), off);
    return w.payload(off + hl, end);
  }
  if (proto === IPPROTO.udp) {
    if (have < udp.HEADER_LEN) return w.short('udp', off, end, udp.HEADER_LEN);
    const u = udp.parse(b, off);
    w.push(u, off);
    const p = off + udp.HEADER_LEN;
    if (inner && u.dport === vxlan.PORT) {
      if (end - p < vxlan.HEADER_LEN) return w.short('vxlan', p, end, vxlan.HEADER_LEN);
      w.push(vxlan.parse(b, p), p);
      return void w.payload(parseEthernet(w, p + vxlan.HEADER_LEN, end, depth + 1), end);
    }
    if (inner && u.dport === geneve.PORT) {
      if (end - p < geneve.BASE_LEN) return w.short('geneve', p, end, geneve.BASE_LEN);
      const hl = geneve.headerLengthAt(b, p);
      if (end - p < hl) return w.short('geneve', p, end, hl);
      const g = geneve.parse(b, p);
      w.push(g, p);
      return void w.payload(parseEtherType(w, g.proto, p + hl, end, depth + 1), end);
    }
    // GUE variant 1: IP directly in UDP, told apart by the version nibble (variant 0 has a header, kept as bytes).
    if (inner && udp.GUE_PORTS.has(u.dport) && end > p && (b[p]! >> 4 === 4 || b[p]! >> 4 === 6)) {
      const innerEnd = b[p]! >> 4 === 4 ? parseIpv4(w, p, end, depth + 1) : parseIpv6(w, p, end, depth + 1);
      return w.payload(innerEnd, end);
    }
    return w.payload(p, end);
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
