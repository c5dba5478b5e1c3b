import { macToString, parseMac, uint } from './bytes.js';
import { L2_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';

export const HEADER_LEN = 14;

export const ETHERTYPE = {
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  qinq: 0x88a8,
  qinq9100: 0x9100,
  ipv6: 0x86dd,
} as const;

export interface Ethernet {
  readonly name: 'eth';
  readonly dst: string;
  readonly src: string;
  /** EtherType of what follows (0x8100 / 0x88a8 when a VLAN tag follows). */
  readonly type: number;
}
export type EthernetSpec = Spec<Ethernet>;

export function parse(b: Buffer, off: number): Ethernet {
  return { name: 'eth', dst: macToString(b, off), src: macToString(b, off + 6), type: b.readUInt16BE(off + 12) };
}

/** EtherType that announces a layer, for filling `type` fields of eth and vlan. */
export function typeFor(next: string | undefined, afterNext: string | undefined, outer: boolean): number {
  switch (next) {
    case 'vlan':
      return outer && afterNext === 'vlan' ? ETHERTYPE.qinq : ETHERTYPE.vlan;
    case 'ipv4':
      return ETHERTYPE.ipv4;
    case 'ipv6':
      return ETHERTYPE.ipv6;
    case 'arp':
      return ETHERTYPE.arp;
    default:
      return 0x88b5; // IEEE local experimental EtherType: a bare payload never parses as a protocol
  }
}

export function emit(b: Buffer, off: number, s: EthernetSpec, ctx: EmitContext): void {
  parseMac(s.dst ?? '02:00:00:00:00:02', 'eth', 'dst').copy(b, off);
  parseMac(s.src ?? '02:00:00:00:00:01', 'eth', 'src').copy(b, off + 6);
  b.writeUInt16BE(
    s.type === undefined ? typeFor(ctx.next, ctx.afterNext, true) : uint(s.type, 16, 'eth', 'type'),
    off + 12,
  );
}

export const codec: ProtocolCodec<EthernetSpec> = {
  name: 'eth',
  followers: L2_NEXT,
  headerLength: () => HEADER_LEN,
  emit,
};
