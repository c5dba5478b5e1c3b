/** The two capture file formats xdpspec reads and writes. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** Timestamp resolution of a capture: microseconds or nanoseconds. */
export type TimestampResolution = 'us' | 'ns';

/** One captured frame. */
export interface PcapRecord {
  /** 0-based position of the record in the file, counting packets only. */
  readonly index: number;
  /** The captured bytes (a view; copy it if you keep it past the next batch and mutate the source). */
  readonly data: Buffer;
  /** Length of the frame on the wire; larger than `data.length` when the capture was snapped. */
  readonly originalLength: number;
  /** Nanoseconds since the Unix epoch. */
  readonly timestamp: bigint;
  /** The interface it was captured on (pcapng interface id; always 0 for classic pcap). */
  readonly interfaceId: number;
  /** The pcapng `opt_comment` of the record, if any. */
  readonly comment?: string | undefined;
}

/** A capture interface: one per classic pcap file, one per Interface Description Block in pcapng. */
export interface CaptureInterface {
  readonly id: number;
  /** 1 (Ethernet): what the records are, converted where the capture was not (`capturedLinkType`). */
  readonly linkType: number;
  /**
   * The link type the capture recorded, where it was not Ethernet and its records were given an
   * Ethernet header (Linux cooked capture, raw IP, loopback: see pcap/link-layers.ts).
   */
  readonly capturedLinkType?: number;
  /** 0 means no limit was recorded. */
  readonly snapLength: number;
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  /** How timestamps of this interface were stored, e.g. `10^-6` or `2^-20`. */
  readonly timestampResolution: string;
}

export const LINKTYPE_ETHERNET = 1;

/** Names of common link types, for error messages. */
export const LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'NULL (BSD loopback)',
  1: 'ETHERNET',
  101: 'RAW (IP without link layer)',
  105: 'IEEE802_11',
  113: 'LINUX_SLL (Linux cooked capture)',
  127: 'IEEE802_11_RADIOTAP',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2 (Linux cooked capture v2, e.g. tcpdump -i any)',
};

export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES[linkType] ?? 'unknown';
}

/**
 * The largest captured length xdpspec accepts. Ethernet frames, even jumbo and GRO-merged ones,
 * are below it; anything larger in a file is corruption, and reading it would only waste memory.
 */
export const MAX_CAPTURED_LENGTH = 256 * 1024;
