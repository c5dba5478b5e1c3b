// The frame builder: one chain of steps from Ethernet to payload. The step interfaces are the
// builder's typed API (which layer may follow which), and they are kept
// beside the one class that implements them; each protocol's fields, emit and codec live in its
// own module, registered once in protocols.ts.
import { PROTOCOLS } from './protocols.js';
import { FrameBuildError } from '../sys/errors.js';
import type * as arp from './arp.js';
import type { EmitContext } from './codec.js';
import type * as eth from './ethernet.js';
import type { Frame } from './frame.js';
import type * as icmp from './icmp.js';
import type * as icmpv6 from './icmpv6.js';
import type * as ipv4 from './ipv4.js';
import type * as ipv6 from './ipv6.js';
import type * as ext from './ipv6ext.js';
import type * as geneve from './geneve.js';
import type * as gre from './gre.js';
import type * as vxlan from './vxlan.js';
import type { Layer } from './layers.js';
import { parseFrame } from './parse.js';
import type * as tcp from './tcp.js';
import type * as udp from './udp.js';
import type * as vlan from './vlan.js';

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

/** A layer's codec (protocols.ts); every name a LayerSpec carries has one. */
const codecOf = (s: LayerSpec) => PROTOCOLS.get(s.name)!;
const followers = (name: string): readonly string[] => PROTOCOLS.get(name)?.followers ?? [];

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
    total += codecOf(s).headerLength(s);
  }
  const padAt = specs.findIndex((s) => s.name === 'padding');
  const contentEnd = padAt < 0 ? total : offs[padAt]!;
  const b = Buffer.alloc(total);
  const ctxs: EmitContext[] = [];
  let ip: EmitContext['ip'];
  specs.forEach((s, i) => {
    const ctx: EmitContext = { next: specs[i + 1]?.name, afterNext: specs[i + 2]?.name, contentEnd, ip };
    ctxs.push(ctx);
    codecOf(s).emit(b, offs[i]!, s, ctx);
    if (s.name === 'ipv4') ip = { off: offs[i]!, version: 4 };
    else if (s.name === 'ipv6') ip = { off: offs[i]!, version: 6 };
  });
  for (let i = specs.length - 1; i >= 0; i--) codecOf(specs[i]!).finish?.(b, offs[i]!, specs[i]!, ctxs[i]!);
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
    const allowed = followers(prev);
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
    if (!followers(prev).includes(s.name)) checkOrder([...this.specs, s]);
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
