// What a test run takes and gives back, and the checks on options the kernel would misread.
import { XdpspecError } from '../sys/errors.js';
import { valueText } from '../sys/text.js';

/**
 * What the kernel gives back for one run. `output` is memory of xdpspec's, which no later run
 * overwrites; testRunMany's outputs may share it (see Program.testRunMany), so copy one to change it.
 */
export interface RawRun {
  readonly retval: number;
  readonly output: Buffer;
  /** The kernel's average run time in ns (over `repeat` runs). */
  readonly durationNs: number;
  /** TC runs given a context (`mark`, `skb`, ...): the `__sk_buff` fields as the program left them. */
  readonly context?: SkbContextOut;
  /** XDP runs given `meta`: the metadata area in front of the frame as the program left it. */
  readonly meta?: Buffer;
}

/** The `__sk_buff` fields a TC test run takes besides mark, priority and the ifindexes. */
export interface SkbContext {
  /** `cb[0..4]`, the control block programs pass state in. */
  readonly cb?: readonly number[];
  readonly tstamp?: number | bigint;
  /** At least the frame's length. */
  readonly wireLen?: number;
  readonly gsoSegs?: number;
  readonly gsoSize?: number;
  readonly hwtstamp?: number | bigint;
}

/** What the kernel writes back of `__sk_buff` after a TC run. */
export interface SkbContextOut {
  readonly mark: number;
  readonly priority: number;
  readonly cb: readonly number[];
  readonly tstamp: bigint;
  readonly wireLen: number;
  readonly gsoSegs: number;
  readonly gsoSize: number;
  readonly hwtstamp: bigint;
}

// struct __sk_buff offsets (include/uapi/linux/bpf.h).
export const SKB = {
  mark: 8,
  priority: 32,
  ingressIfindex: 36,
  ifindex: 40,
  cb: 48,
  tstamp: 152,
  wireLen: 160,
  gsoSegs: 164,
  gsoSize: 176,
  hwtstamp: 184,
} as const;

export interface TestRunOptions {
  /** XDP: `xdp_md.ingress_ifindex` (the device must exist in this namespace). TC: `__sk_buff.ingress_ifindex`. */
  ingressIfindex?: number;
  /** XDP: `xdp_md.rx_queue_index`. */
  rxQueue?: number;
  /** TC: `__sk_buff.ifindex`, `mark` and `priority`. */
  ifindex?: number;
  mark?: number;
  priority?: number;
  /** TC: more of `__sk_buff` (cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp); the run's result has the context back. */
  skb?: SkbContext;
  /**
   * Runs of the same frame in the kernel, for timing only: the kernel reruns on the same
   * buffer, so a program that rewrites the frame sees its own output. Default 1.
   */
  repeat?: number;
  /** XDP only: BPF_F_TEST_XDP_LIVE_FRAMES, so TX and REDIRECT really happen. No output data. */
  liveFrames?: boolean;
  /**
   * XDP only: metadata in front of the frame (`xdp_md.data_meta` to `data`), as a driver or an
   * earlier program leaves it: a multiple of 4 bytes, at most 32. The result's `meta` is it after the run.
   */
  meta?: Uint8Array;
}

/** The most repeats a timing run takes: bounds how long one uninterruptible kernel call lasts. */
export const MAX_REPEAT = 10_000_000;
/** Field by field, so an options object changed between runs is noticed. */
export function sameOptions(a: TestRunOptions, b: TestRunOptions | undefined): boolean {
  return (
    b !== undefined &&
    a.ingressIfindex === b.ingressIfindex &&
    a.rxQueue === b.rxQueue &&
    a.ifindex === b.ifindex &&
    a.mark === b.mark &&
    a.priority === b.priority &&
    a.repeat === b.repeat &&
    a.liveFrames === b.liveFrames &&
    a.meta === b.meta &&
    sameSkb(a.skb, b.skb)
  );
}

export function sameSkb(a: SkbContext | undefined, b: SkbContext | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const cb = (x: SkbContext) => (x.cb ?? []).join(',');
  return (
    cb(a) === cb(b) &&
    a.tstamp === b.tstamp &&
    a.wireLen === b.wireLen &&
    a.gsoSegs === b.gsoSegs &&
    a.gsoSize === b.gsoSize &&
    a.hwtstamp === b.hwtstamp
  );
}

function checkU32(prog: string, k: string, v: unknown): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
    throw new XdpspecError(
      'TEST_RUN_OPTIONS',
      `test run ${prog}: ${k} must be a whole number from 0 to 4294967295, got ${valueText(v)}`,
    );
  }
}

/** @throws XdpspecError `TEST_RUN_OPTIONS` for options the kernel would misread. */
export function checkOptions(o: TestRunOptions, prog: string): void {
  if (o.repeat !== undefined && (!Number.isInteger(o.repeat) || o.repeat < 1 || o.repeat > MAX_REPEAT)) {
    throw new XdpspecError(
      'TEST_RUN_OPTIONS',
      `test run ${prog}: repeat must be a whole number from 1 to ${MAX_REPEAT}, got ${String(o.repeat)}`,
    );
  }
  // Field by field by name: this runs for every batch, and a loop over the names cost more than the batch's JS.
  checkU32(prog, 'ingressIfindex', o.ingressIfindex);
  checkU32(prog, 'rxQueue', o.rxQueue);
  checkU32(prog, 'ifindex', o.ifindex);
  checkU32(prog, 'mark', o.mark);
  checkU32(prog, 'priority', o.priority);
  if (o.meta !== undefined && (!(o.meta instanceof Uint8Array) || o.meta.length % 4 !== 0 || o.meta.length > 32)) {
    throw new XdpspecError(
      'TEST_RUN_OPTIONS',
      `test run ${prog}: meta must be bytes, a multiple of 4 and at most 32 (the kernel's limits), got ${o.meta instanceof Uint8Array ? `${o.meta.length} bytes` : typeof o.meta}`,
    );
  }
  const skb = o.skb;
  if (skb !== undefined) {
    if (skb.cb !== undefined && (!Array.isArray(skb.cb) || skb.cb.length > 5))
      throw new XdpspecError(
        'TEST_RUN_OPTIONS',
        `test run ${prog}: skb.cb takes at most 5 numbers (cb[0..4]), got ${Array.isArray(skb.cb) ? skb.cb.length : typeof skb.cb}`,
      );
    (skb.cb ?? []).forEach((x, i) => checkU32(prog, `skb.cb[${i}]`, x));
    for (const k of ['wireLen', 'gsoSegs', 'gsoSize'] as const) checkU32(prog, `skb.${k}`, skb[k]);
    for (const k of ['tstamp', 'hwtstamp'] as const) {
      const v = skb[k];
      if (
        v !== undefined &&
        ((typeof v === 'number' && !Number.isSafeInteger(v)) || BigInt(v) < 0n || BigInt(v) >= 1n << 64n)
      )
        throw new XdpspecError(
          'TEST_RUN_OPTIONS',
          `test run ${prog}: skb.${k} must be a whole number of ns from 0 to 2^64-1, got ${valueText(v)}`,
        );
    }
  }
}
