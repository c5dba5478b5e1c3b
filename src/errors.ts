/**
 * Every failure a user can cause is one of these. Catch `XdpspecError` for all of them;
 * `code` is stable across releases, the message is for people.
 */
export class XdpspecError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Where in a capture file a problem was found. */
export interface CaptureLocation {
  /** The file's path, or a name given for an in-memory capture. */
  readonly file: string;
  /** Byte offset in the file of the header or block that is wrong. */
  readonly offset: number;
  /** Index of the record (packet) being read, when the problem is in or before a record. */
  readonly record?: number | undefined;
}

/** A pcap or pcapng file that cannot be read as one: truncated, malformed or of an unknown kind. */
export class PcapFormatError extends XdpspecError implements CaptureLocation {
  readonly file: string;
  readonly offset: number;
  readonly record: number | undefined;
  /** What is wrong, without the location (the message has both). */
  readonly reason: string;
  constructor(where: CaptureLocation, reason: string, code = 'PCAP_FORMAT') {
    const rec = where.record === undefined ? '' : `record ${where.record} `;
    super(code, `${where.file}: ${rec}at byte ${where.offset}: ${reason}`);
    this.file = where.file;
    this.offset = where.offset;
    this.record = where.record;
    this.reason = reason;
  }
}

/** A capture whose link type is not Ethernet: xdpspec only feeds Ethernet frames to programs. */
export class PcapLinkTypeError extends PcapFormatError {
  readonly linkType: number;
  constructor(where: CaptureLocation, linkType: number, linkTypeName: string) {
    super(
      where,
      `link type ${linkType} (${linkTypeName}) is not supported: xdpspec reads Ethernet captures ` +
        `(link type 1); convert or recapture on an Ethernet interface (e.g. tcpdump -i veth0)`,
      'PCAP_LINK_TYPE',
    );
    this.linkType = linkType;
  }
}

/** A frame that cannot be built as specified (a bad address, a value out of its field's range). */
export class FrameBuildError extends XdpspecError {
  readonly layer: string;
  readonly field: string | undefined;
  constructor(layer: string, field: string | undefined, message: string) {
    super('FRAME_BUILD', `${layer}${field ? '.' + field : ''}: ${message}`);
    this.layer = layer;
    this.field = field;
  }
}

/** A command-line usage mistake; the CLI prints it with a hint and exits 2. */
export class UsageError extends XdpspecError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
