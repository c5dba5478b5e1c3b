// The frame builder: one chain of steps from Ethernet to payload. Over 350 lines because the
// step interfaces are the builder's typed API (which layer may follow which), and they are kept
// beside the one class that implements them; each protocol's fields live in its own module.
import { FrameBuildError } from '../sys/errors.js';
import * as arp from './arp.js';
import { toBytes } from './bytes.js';
import type { EmitContext } from './codec.js';
import * as eth from './ethernet.js';
import type { Frame } from './frame.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import * as ext from './ipv6ext.js';
import * as geneve from './geneve.js';
import * as gre from './gre.js';
import * as vxlan from './vxlan.js';
import type { Layer } from './layers.js';
import { parseFrame } from './parse.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import * as vlan from './vlan.js';

/** Bytes as a spec may give them: a Buffer or Uint8Array, a UTF-8 string, or byte values. */
export type Bytes = Uint8Array | string | readonly number[];

type WithBytes<S, K extends keyof S> = Omit<S, K> & { [P in K]?: Bytes | undefined };

export type EthernetSpec = eth.EthernetSpec;
export type VlanSpec = vlan.VlanSpec;
export type ArpSpec = arp.ArpSpec;
export type Ipv4Spec = WithBytes<ipv4.Ipv4Spec, 'options'>;
export type Ipv6Spec = ipv6.Ipv6Spec;
export type Ipv6OptionsSpec = WithBytes<ext.Ipv6OptionsSpec, 'options'>;
export type RoutingSpec = WithBytes<ext.RoutingSpec, 'data'>;
export type FragmentSpec = ext.FragmentSpec;
export type TcpSpec = tcp.TcpSpec;
export type UdpSpec = udp.UdpSpec;
export type IcmpSpec = icmp.IcmpSpec;
export type Icmpv6Spec = icmpv6.Icmpv6Spec;
export type GreSpec = gre.GreSpec;
export type VxlanSpec = vxlan.VxlanSpec;
export type GeneveSpec = geneve.GeneveSpec;

/** One layer of a frame to build: its name and any of its fields. */
export type LayerSpec =
  | ({ name: 'eth' } & EthernetSpec)
  | ({ name: 'vlan' } & VlanSpec)
  | ({ name: 'arp' } & ArpSpec)
  | ({ name: 'ipv4' } & Ipv4Spec)
  | ({ name: 'ipv6' } & Ipv6Spec)
  | ({ name: 'hopopts' | 'dstopts' } & Ipv6OptionsSpec)
  | ({ name: 'routing' } & RoutingSpec)
  | ({ name: 'fragment' } & FragmentSpec)
  | ({ name: 'tcp' } & TcpSpec)
  | ({ name: 'udp' } & UdpSpec)
  | ({ name: 'icmp' } & IcmpSpec)
  | ({ name: 'icmpv6' } & Icmpv6Spec)
  | ({ name: 'gre' } & GreSpec)
  | ({ name: 'vxlan' } & VxlanSpec)
  | ({ name: 'geneve' } & GeneveSpec)
  | { name: 'payload' | 'padding' | 'raw'; data: Bytes };

// What each layer may be followed by; the typed steps below say the same to the compiler.
const L2_NEXT = ['vlan', 'ipv4', 'ipv6', 'arp', 'payload', 'padding'];
// Tunnels: IP in IP (IPIP, 4in6, 6in4, 6in6) and GRE after either IP version.
const IP_TUNNELS = ['ipv4', 'ipv6', 'gre'];
const IP6_NEXT = [
  'hopopts',
  'routing',
  'fragment',
  'dstopts',
  'tcp',
  'udp',
  'icmpv6',
  ...IP_TUNNELS,
  'payload',
  'padding',
];
const END_NEXT = ['payload', 'padding'];
const FOLLOWERS: Readonly<Record<string, readonly string[]>> = {
  eth: L2_NEXT,
  vlan: L2_NEXT,
  ipv4: ['tcp', 'udp', 'icmp', ...IP_TUNNELS, 'payload', 'padding'],
  ipv6: IP6_NEXT,
  hopopts: IP6_NEXT,
  routing: IP6_NEXT,
  fragment: IP6_NEXT,
  dstopts: IP6_NEXT,
  tcp: END_NEXT,
  // IP straight after UDP is GUE variant 1 (RFC 8086 section 4), as Katran encapsulates.
  udp: ['vxlan', 'geneve', 'ipv4', 'ipv6', ...END_NEXT],
  gre: ['ipv4', 'ipv6', 'eth', 'payload'],
  vxlan: ['eth'],
  geneve: ['eth', 'ipv4', 'ipv6', 'payload'],
  icmp: END_NEXT,
  icmpv6: END_NEXT,
  arp: END_NEXT,
  payload: ['padding'],
  padding: [],
};

function headerLength(s: LayerSpec): number {
  switch (s.name) {
    case 'eth':
      return eth.HEADER_LEN;
    case 'vlan':
      return vlan.HEADER_LEN;
    case 'arp':
      return arp.HEADER_LEN;
    case 'ipv4':
      return ipv4.headerLength(s as ipv4.Ipv4Spec);
    case 'ipv6':
      return ipv6.HEADER_LEN;
    case 'hopopts':
    case 'dstopts':
      return ext.optionsHeaderLength(s as ext.Ipv6OptionsSpec, s.name);
    case 'routing':
      return ext.routingHeaderLength(s as ext.RoutingSpec);
    case 'fragment':
      return ext.FRAGMENT_LEN;
    case 'tcp':
      return tcp.headerLength(s);
    case 'udp':
      return udp.HEADER_LEN;
    case 'icmp':
      return icmp.HEADER_LEN;
    case 'icmpv6':
      return icmpv6.headerLength(s);
    case 'gre':
      return gre.headerLength(s);
    case 'vxlan':
      return vxlan.HEADER_LEN;
    case 'geneve':
      return geneve.headerLength(s);
    default:
      return toBytes(s.data, s.name, 'data').length;
  }
}

function emit(b: Buffer, off: number, s: LayerSpec, ctx: EmitContext): void {
  switch (s.name) {
    case 'eth':
      return eth.emit(b, off, s, ctx);
    case 'vlan':
      return vlan.emit(b, off, s, ctx);
    case 'arp':
      return arp.emit(b, off, s);
    case 'ipv4':
      return ipv4.emit(b, off, s as ipv4.Ipv4Spec, ctx);
    case 'ipv6':
      return ipv6.emit(b, off, s, ctx);
    case 'hopopts':
    case 'dstopts':
      return ext.emitOptions(b, off, s as ext.Ipv6OptionsSpec, ctx, s.name);
    case 'routing':
      return ext.emitRouting(b, off, s as ext.RoutingSpec, ctx);
    case 'fragment':
      return ext.emitFragment(b, off, s, ctx);
    case 'tcp':
      return tcp.emit(b, off, s);
    case 'udp':
      return udp.emit(b, off, s, ctx);
    case 'icmp':
      return icmp.emit(b, off, s);
    case 'icmpv6':
      return icmpv6.emit(b, off, s);
    case 'gre':
      return gre.emit(b, off, s, ctx);
    case 'vxlan':
      return vxlan.emit(b, off, s);
    case 'geneve':
      return geneve.emit(b, off, s, ctx);
    default:
      toBytes(s.data, s.name, 'data').copy(b, off);
  }
}

/** Checksums that cover what follows a header, computed once the inner layers are written. */
function finish(b: Buffer, off: number, s: LayerSpec, ctx: EmitContext): void {
  if (s.name === 'tcp') tcp.finish(b, off, s, ctx);
  else if (s.name === 'udp') udp.finish(b, off, s, ctx);
  else if (s.name === 'icmp') icmp.finish(b, off, s, ctx);
  else if (s.name === 'icmpv6') icmpv6.finish(b, off, s, ctx);
  else if (s.name === 'gre') gre.finish(b, off, s, ctx);
}

/**
 * Emits layers into one frame. Fields left undefined are computed (lengths, checksums,
 * type and protocol fields) or defaulted; fields given are written exactly as given, so a
 * wrong checksum or length can be built on purpose.
 * @throws FrameBuildError naming the layer and field when a value does not fit.
 */
export function buildLayers(specs: readonly LayerSpec[]): Buffer {
  checkOrder(specs);
  const offs: number[] = [];
  let total = 0;
  for (const s of specs) {
    offs.push(total);
    total += headerLength(s);
  }
  const padAt = specs.findIndex((s) => s.name === 'padding');
  const contentEnd = padAt < 0 ? total : offs[padAt]!;
  const b = Buffer.alloc(total);
  const ctxs: EmitContext[] = [];
  let ip: EmitContext['ip'];
  specs.forEach((s, i) => {
    const ctx: EmitContext = { next: specs[i + 1]?.name, afterNext: specs[i + 2]?.name, contentEnd, ip };
    ctxs.push(ctx);
    emit(b, offs[i]!, s, ctx);
    if (s.name === 'ipv4') ip = { off: offs[i]!, version: 4 };
    else if (s.name === 'ipv6') ip = { off: offs[i]!, version: 6 };
  });
  for (let i = specs.length - 1; i >= 0; i--) finish(b, offs[i]!, specs[i]!, ctxs[i]!);
  return b;
}

function checkOrder(specs: readonly LayerSpec[]): void {
  // A `raw` layer (bytes cut short, from a parsed frame) may end a frame anywhere.
  if (specs.length === 1 && specs[0]!.name === 'raw') return;
  if (specs.length === 0 || specs[0]!.name !== 'eth') {
    throw new FrameBuildError(
      specs[0]?.name ?? 'frame',
      undefined,
      'a frame starts with an Ethernet header: frame.eth()',
    );
  }
  for (let i = 1; i < specs.length; i++) {
    const prev = specs[i - 1]!.name;
    const allowed = FOLLOWERS[prev] ?? [];
    if (specs[i]!.name === 'raw' && i === specs.length - 1) continue;
    if (!allowed.includes(specs[i]!.name)) {
      const what = allowed.length ? `after ${prev} come ${allowed.join(', ')}` : `nothing comes after ${prev}`;
      throw new FrameBuildError(specs[i]!.name, undefined, `cannot follow ${prev}: ${what}`);
    }
  }
}

/** A frame ready to build; every step of the builder is one. */
export interface Built {
  /** The layer specs so far, outermost first. */
  readonly specs: readonly LayerSpec[];
  /** The frame's bytes. @throws FrameBuildError */
  build(): Buffer;
  /** Builds and decodes the frame. */
  parse(): Frame;
}
export interface PaddableStep extends Built {
  /** Trailing bytes after the datagram: `n` zero bytes, or the bytes given. */
  padding(p: number | Bytes): Built;
}
export interface PayloadStep extends PaddableStep {
  payload(data: Bytes): PaddableStep;
}
/** An IP header next: after Ethernet, inside a tunnel, or directly in UDP (GUE variant 1, port 6080 by default; Katran uses 9886). */
export interface IpStep {
  ipv4(s?: Ipv4Spec): Ipv4Step;
  ipv6(s?: Ipv6Spec): Ipv6Step;
}
/** Where a frame can go inside another: IP in IP, GRE. */
export interface TunnelStep extends IpStep {
  gre(s?: GreSpec): GreStep;
}
export interface UdpStep extends PayloadStep, IpStep {
  /** VXLAN: the UDP destination port defaults to 4789. */
  vxlan(s?: VxlanSpec): InnerL2Step;
  /** GENEVE: the UDP destination port defaults to 6081. */
  geneve(s?: GeneveSpec): GeneveStep;
}
export interface InnerL2Step {
  /** The inner Ethernet frame. */
  eth(s?: EthernetSpec): L2Step;
}
export interface GreStep extends InnerL2Step, IpStep, Built {
  payload(data: Bytes): Built;
}
export type GeneveStep = GreStep;
export interface Ipv4Step extends PayloadStep, TunnelStep {
  tcp(s?: TcpSpec): PayloadStep;
  udp(s?: UdpSpec): UdpStep;
  icmp(s?: IcmpSpec): PayloadStep;
}
export interface Ipv6Step extends PayloadStep, TunnelStep {
  hopopts(s?: Ipv6OptionsSpec): Ipv6Step;
  routing(s?: RoutingSpec): Ipv6Step;
  fragment(s?: FragmentSpec): Ipv6Step;
  dstopts(s?: Ipv6OptionsSpec): Ipv6Step;
  tcp(s?: TcpSpec): PayloadStep;
  udp(s?: UdpSpec): UdpStep;
  icmpv6(s?: Icmpv6Spec): PayloadStep;
}
export interface L2Step extends PayloadStep, IpStep {
  vlan(s?: VlanSpec): L2Step;
  arp(s?: ArpSpec): PaddableStep;
}

/** Immutable: each step returns a new builder, so a common prefix can be shared between cases. */
class Builder implements L2Step, Ipv4Step, Ipv6Step, UdpStep, GreStep {
  constructor(readonly specs: readonly LayerSpec[]) {}
  private add(s: LayerSpec): Builder {
    const prev = this.specs[this.specs.length - 1]!.name;
    if (!(FOLLOWERS[prev] ?? []).includes(s.name)) checkOrder([...this.specs, s]);
    return new Builder([...this.specs, s]);
  }
  vlan(s: VlanSpec = {}) {
    return this.add({ ...s, name: 'vlan' });
  }
  ipv4(s: Ipv4Spec = {}) {
    return this.add({ ...s, name: 'ipv4' });
  }
  ipv6(s: Ipv6Spec = {}) {
    return this.add({ ...s, name: 'ipv6' });
  }
  arp(s: ArpSpec = {}) {
    return this.add({ ...s, name: 'arp' });
  }
  hopopts(s: Ipv6OptionsSpec = {}) {
    return this.add({ ...s, name: 'hopopts' });
  }
  routing(s: RoutingSpec = {}) {
    return this.add({ ...s, name: 'routing' });
  }
  fragment(s: FragmentSpec = {}) {
    return this.add({ ...s, name: 'fragment' });
  }
  dstopts(s: Ipv6OptionsSpec = {}) {
    return this.add({ ...s, name: 'dstopts' });
  }
  tcp(s: TcpSpec = {}) {
    return this.add({ ...s, name: 'tcp' });
  }
  udp(s: UdpSpec = {}) {
    return this.add({ ...s, name: 'udp' });
  }
  icmp(s: IcmpSpec = {}) {
    return this.add({ ...s, name: 'icmp' });
  }
  icmpv6(s: Icmpv6Spec = {}) {
    return this.add({ ...s, name: 'icmpv6' });
  }
  gre(s: GreSpec = {}) {
    return this.add({ ...s, name: 'gre' });
  }
  vxlan(s: VxlanSpec = {}) {
    return this.add({ ...s, name: 'vxlan' });
  }
  geneve(s: GeneveSpec = {}) {
    return this.add({ ...s, name: 'geneve' });
  }
  eth(s: EthernetSpec = {}) {
    return this.add({ ...s, name: 'eth' });
  }
  payload(data: Bytes) {
    return this.add({ name: 'payload', data });
  }
  padding(p: number | Bytes) {
    if (typeof p === 'number' && (!Number.isInteger(p) || p < 0 || p > 65535)) {
      throw new FrameBuildError(
        'padding',
        undefined,
        `${String(p)} is not a number of bytes; give a whole number from 0 to 65535, or the bytes themselves`,
      );
    }
    return this.add({ name: 'padding', data: typeof p === 'number' ? Buffer.alloc(p) : p });
  }
  build(): Buffer {
    return buildLayers(this.specs);
  }
  parse(): Frame {
    return parseFrame(this.build());
  }
}

/**
 * Frames for specs, chainable: `frame.eth().ipv4({ dst: '10.0.0.2' }).udp({ dport: 53 }).payload('hi')`.
 * Every field has a default (see the README), lengths and checksums are computed unless given.
 */
export const frame = {
  eth(s: EthernetSpec = {}): L2Step {
    return new Builder([{ ...s, name: 'eth' }]);
  },
  /** Decodes bytes into a `Frame` (never throws; see `parseFrame`). */
  parse(bytes: Uint8Array): Frame {
    return parseFrame(bytes);
  },
  /** Re-emits decoded layers with every field as decoded: gives back the original bytes. */
  fromLayers(layers: readonly Layer[]): Buffer {
    return buildLayers(layers);
  },
};
