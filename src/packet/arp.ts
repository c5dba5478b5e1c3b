import { ipv4ToString, macToString, parseIpv4, parseMac, uint } from './bytes.js';
import { END_NEXT, type ProtocolCodec, type Spec } from './codec.js';

/** ARP for IPv4 over Ethernet (hardware type 1, protocol 0x0800, lengths 6 and 4). */
export const HEADER_LEN = 28;
export const FIXED_LEN = 8;

export interface Arp {
  readonly name: 'arp';
  readonly htype: number;
  readonly ptype: number;
  readonly hlen: number;
  readonly plen: number;
  /** 1 request, 2 reply. */
  readonly op: number;
  readonly sha: string;
  readonly spa: string;
  readonly tha: string;
  readonly tpa: string;
}
export type ArpSpec = Spec<Arp>;

/** True when the fixed part at `off` describes Ethernet/IPv4 addresses, the only kind decoded. */
export function isEthernetIpv4(b: Buffer, off: number): boolean {
  return b.readUInt16BE(off) === 1 && b.readUInt16BE(off + 2) === 0x0800 && b[off + 4] === 6 && b[off + 5] === 4;
}

export function parse(b: Buffer, off: number): Arp {
  return {
    name: 'arp',
    htype: b.readUInt16BE(off),
    ptype: b.readUInt16BE(off + 2),
    hlen: b[off + 4]!,
    plen: b[off + 5]!,
    op: b.readUInt16BE(off + 6),
    sha: macToString(b, off + 8),
    spa: ipv4ToString(b, off + 14),
    tha: macToString(b, off + 18),
    tpa: ipv4ToString(b, off + 24),
  };
}

export function emit(b: Buffer, off: number, s: ArpSpec): void {
  b.writeUInt16BE(uint(s.htype ?? 1, 16, 'arp', 'htype'), off);
  b.writeUInt16BE(uint(s.ptype ?? 0x0800, 16, 'arp', 'ptype'), off + 2);
  b[off + 4] = uint(s.hlen ?? 6, 8, 'arp', 'hlen');
  b[off + 5] = uint(s.plen ?? 4, 8, 'arp', 'plen');
  b.writeUInt16BE(uint(s.op ?? 1, 16, 'arp', 'op'), off + 6);
  parseMac(s.sha ?? '02:00:00:00:00:01', 'arp', 'sha').copy(b, off + 8);
  parseIpv4(s.spa ?? '10.0.0.1', 'arp', 'spa').copy(b, off + 14);
  parseMac(s.tha ?? '00:00:00:00:00:00', 'arp', 'tha').copy(b, off + 18);
  parseIpv4(s.tpa ?? '10.0.0.2', 'arp', 'tpa').copy(b, off + 24);
}

export const codec: ProtocolCodec<ArpSpec> = {
  name: 'arp',
  followers: END_NEXT,
  headerLength: () => HEADER_LEN,
  emit: (b, off, s) => emit(b, off, s),
};
