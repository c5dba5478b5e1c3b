// Captures of link layers other than Ethernet, read as Ethernet frames: XDP and TC programs see
// an Ethernet header, so a record of `tcpdump -i any` (Linux cooked capture, v1 and v2), of raw
// IP (what scapy writes for packets with no Ether layer) or of BSD loopback gets one in front of
// its network layer. Where the capture kept the sender's MAC (cooked captures on Ethernet) it is
// the source; the rest are the frame builder's default addresses.
const LINKTYPE_NULL = 0;
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;

/** Link types whose records are given an Ethernet header (see ethernetFrom). */
export const CONVERTED_LINK_TYPES: ReadonlySet<number> = new Set([
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
]);

/**
 * The addresses a converted frame gets where the capture has none: frame.eth()'s defaults,
 * written again here since the capture layer stands on sys/ only.
 */
const SRC_MAC = Buffer.from([2, 0, 0, 0, 0, 1]);
const DST_MAC = Buffer.from([2, 0, 0, 0, 0, 2]);

const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ARPHRD_ETHER = 1;
/** Below this an SLL protocol field is not an EtherType (802.3 lengths, LLC, CAN, ...). */
const ETH_P_802_3_MIN = 0x0600;

/** A record's network layer and what an Ethernet header for it says, or why there is none. */
interface Parts {
  readonly header: number;
  readonly etherType: number;
  readonly src?: Buffer;
}

/** Raw IP's EtherType, from the version in its first byte. */
function ipVersion(data: Buffer): number | string {
  if (data.length === 0) return 'it holds no IP header';
  const v = data[0]! >> 4;
  if (v === 4) return ETH_P_IP;
  if (v === 6) return ETH_P_IPV6;
  return `IP version ${v} is neither 4 nor 6`;
}

/** BSD loopback's address family: 2 is IPv4 everywhere, IPv6 is 10 (Linux), 24, 28 or 30 (the BSDs, macOS). */
function family(af: number): number | undefined {
  if (af === 2) return ETH_P_IP;
  if (af === 10 || af === 24 || af === 28 || af === 30) return ETH_P_IPV6;
  return undefined;
}

/** A cooked header's parts, once its length is checked: protocol, ARPHRD type, address and its length. */
function cooked(
  data: Buffer,
  header: number,
  protocol: number,
  arphrd: number,
  addrLen: number,
  addrAt: number,
): Parts | string {
  if (protocol < ETH_P_802_3_MIN)
    return `its protocol 0x${protocol.toString(16).padStart(4, '0')} is not an EtherType (an 802.2 or other non-Ethernet frame)`;
  const src = arphrd === ARPHRD_ETHER && addrLen === 6 ? data.subarray(addrAt, addrAt + 6) : undefined;
  return { header, etherType: protocol, ...(src ? { src } : {}) };
}

function parts(linkType: number, data: Buffer): Parts | string {
  switch (linkType) {
    case LINKTYPE_LINUX_SLL:
      if (data.length < 16) return 'it is shorter than the 16-byte cooked header';
      return cooked(data, 16, data.readUInt16BE(14), data.readUInt16BE(2), data.readUInt16BE(4), 6);
    case LINKTYPE_LINUX_SLL2:
      if (data.length < 20) return 'it is shorter than the 20-byte cooked header';
      return cooked(data, 20, data.readUInt16BE(0), data.readUInt16BE(8), data[11]!, 12);
    case LINKTYPE_RAW: {
      const t = ipVersion(data);
      return typeof t === 'string' ? t : { header: 0, etherType: t };
    }
    case LINKTYPE_IPV4:
      return { header: 0, etherType: ETH_P_IP };
    case LINKTYPE_IPV6:
      return { header: 0, etherType: ETH_P_IPV6 };
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (data.length < 4) return 'it is shorter than the 4-byte loopback header';
      // NULL's family is in the byte order of the machine that captured; LOOP's in network order.
      const t =
        linkType === LINKTYPE_LOOP
          ? family(data.readUInt32BE(0))
          : (family(data.readUInt32LE(0)) ?? family(data.readUInt32BE(0)));
      return t === undefined
        ? `its address family ${data.readUInt32LE(0)} is neither IPv4 nor IPv6`
        : { header: 4, etherType: t };
    }
    default:
      return `link type ${linkType} is not one xdpspec converts`;
  }
}

/**
 * Record `data` of a `linkType` capture as an Ethernet frame (a new buffer), and how many bytes
 * longer the frame is than the record (for its length on the wire); or why it cannot be one.
 */
export function ethernetFrom(linkType: number, data: Buffer): { frame: Buffer; grown: number } | string {
  const p = parts(linkType, data);
  if (typeof p === 'string') return p;
  const payload = data.subarray(p.header);
  const frame = Buffer.allocUnsafe(ETH_HLEN + payload.length);
  DST_MAC.copy(frame, 0);
  (p.src ?? SRC_MAC).copy(frame, 6);
  frame.writeUInt16BE(p.etherType, 12);
  payload.copy(frame, ETH_HLEN);
  return { frame, grown: ETH_HLEN - p.header };
}
