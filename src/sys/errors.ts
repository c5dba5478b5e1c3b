import type { ErrorCode } from './error-codes.js';

export { ERROR_CODES, type ErrorCode, type ErrorCodeInfo } from './error-codes.js';

/**
 * Every failure a user can cause is one of these. Catch `XdpspecError` for all of them;
 * `code` is stable across releases (ERROR_CODES lists them, with what to do), the message is
 * for people.
 */
export class XdpspecError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
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
  constructor(where: CaptureLocation, reason: string, code: ErrorCode = 'PCAP_FORMAT') {
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
        `(link type 1), and gives an Ethernet header to Linux cooked captures (tcpdump -i any), raw IP and loopback ones; ` +
        `convert it, or recapture on an Ethernet interface (e.g. tcpdump -i veth0)`,
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

/** A BPF operation the kernel or libbpf refused, with the operation named and errno kept. */
export class BpfError extends XdpspecError {
  readonly op: string;
  readonly errno: number;
  constructor(op: string, errno: number, detail: string, code: ErrorCode = 'BPF') {
    super(code, `${op}: ${detail}`);
    this.op = op;
    this.errno = errno;
  }
}

/**
 * The verifier rejected a program. `log` is the whole verifier log; the message shows its
 * last lines (where the failing instruction and the reason are) and how many were left out.
 */
export class VerifierError extends BpfError {
  readonly program: string;
  readonly log: string;
  constructor(op: string, program: string, errno: number, log: string) {
    const lines = log.trimEnd().split('\n');
    const TAIL = 12;
    const shown = lines
      .slice(-TAIL)
      .map((l) => `  ${l}`)
      .join('\n');
    const omitted =
      lines.length > TAIL ? `\n  (${lines.length - TAIL} earlier lines omitted; the whole log is in error.log)` : '';
    const reason =
      lines.filter((l) => l.trim() && !/^(processed|verification time|stack depth|-- )/.test(l)).pop() ?? 'no log';
    super(op, errno, `the verifier rejected program ${program}: ${reason}\n${shown}${omitted}`, 'BPF_VERIFIER');
    this.program = program;
    this.log = log;
  }
}

/** A program, map, global or port name that does not exist; lists the ones that do. */
export class NotFoundError extends XdpspecError {
  readonly kind: string;
  readonly wanted: string;
  readonly available: readonly string[];
  constructor(kind: string, wanted: string, available: readonly string[], where: string) {
    const list = available.length ? available.join(', ') : 'none';
    super('NOT_FOUND', `${kind} ${JSON.stringify(wanted)} does not exist in ${where}; ${kind}s there: ${list}`);
    this.kind = kind;
    this.wanted = wanted;
    this.available = available;
  }
}

/** xdpspec needs privileges this process lacks; names the capabilities. */
export class PrivilegeError extends XdpspecError {
  readonly missing: readonly string[];
  constructor(what: string, missing: readonly string[]) {
    super(
      'PRIVILEGES',
      `${what} needs ${missing.join(', ')}, which this process lacks: run xdpspec as root (or with CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)`,
    );
    this.missing = missing;
  }
}

/**
 * The running kernel lacks what a call needs (a kind of link, a test-run flag, a program type's
 * test run). Not a failure of the program under test: specs turn it into a visible skip with
 * `skipIfNotSupported`, as cilium/ebpf's tests do with ErrNotSupported.
 */
export class NotSupportedError extends XdpspecError {
  /** What is missing, e.g. "tcx links". */
  readonly feature: string;
  constructor(feature: string, message: string, options?: { cause?: unknown }) {
    super('NOT_SUPPORTED', message, options);
    this.feature = feature;
  }
}
