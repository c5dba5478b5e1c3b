// The parts of a streaming replay every mode shares: sending in batches while capturing, and
// attributing each captured frame to the input it is a byte-for-byte copy of.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { XdpspecError } from '../../sys/errors.js';
import { until, type PacketSocket, type RingVisit } from '../../net/index.js';
import type { VerdictCounts } from '../verdict.js';
import type { StreamRun } from './results.js';
import { CaptureReader } from '../../pcap/index.js';

/** Which of a stream's `port/side` taps a count is of. */
type Match = (where: string) => boolean;

/** How many of the frames sent last a streamed output is matched against. */
export const STREAM_WINDOW = 8192;
/** Frames per sendmmsg batch of a stream. */
const CHUNK = 512;

/** A capture socket of a stream, and the `port/side` its frames are filed under. */
export interface Tap {
  readonly socket: PacketSocket;
  readonly where: string;
  /** Read and discarded: frames there are inputs, not outputs (a tap before TC ingress). */
  readonly ignore?: boolean;
  /**
   * Captured by the socket's queue, not a ring: a protocol handler's socket is where the stack
   * lets go of a frame TC passed, which the watch probe tells from its other fates by that.
   */
  readonly queued?: boolean;
}

/** Frames of `source` in batches: read from a capture file batch by batch, or sliced from an array. */
export async function* chunksOf(source: readonly Uint8Array[] | string): AsyncIterable<readonly Uint8Array[]> {
  if (typeof source !== 'string') {
    for (let i = 0; i < source.length; i += CHUNK) yield source.slice(i, i + CHUNK);
    return;
  }
  const reader = await CaptureReader.open(source);
  let chunk: Uint8Array[] = [];
  for await (const batch of reader.batches()) {
    for (const r of batch) {
      chunk.push(r.data);
      if (chunk.length === CHUNK) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (chunk.length) yield chunk;
}

/** Slots of the sent frames kept for matching: the window, and room for a chunk sent beyond it. */
const RING = 16384;
/** Bytes of a frame its matching key is made of (with its length): headers, where frames differ. */
const KEY_BYTES = 64;

/**
 * A frame's matching key: FNV-1a over its length and first bytes. A number, not the bytes as a
 * string: a string per frame sent and per frame captured, and hashing it in the map, was most of
 * what matching cost. Frames whose keys agree are told apart by their bytes.
 */
function keyOf(f: Uint8Array, start: number, end: number): number {
  const len = end - start;
  let h = 0x811c9dc5 ^ len;
  const stop = start + (len < KEY_BYTES ? len : KEY_BYTES);
  for (let i = start; i < stop; i++) h = Math.imul(h ^ f[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * What a stream's taps captured. An output byte-identical to a recently sent input is that
 * input's (the earliest such not yet taken); inputs older than `STREAM_WINDOW` frames are
 * forgotten, so memory does not grow with the stream (only `seen`, one entry per frame, does).
 */
export class StreamCapture {
  /** Inputs not yet matched, by key: their indices, earliest first. */
  private readonly pending = new Map<number, number[]>();
  /** The last RING inputs sent, and their keys, by index modulo RING. */
  private readonly sentFrames: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(RING);
  private readonly sentKeys = new Uint32Array(RING);
  /** The first input not yet forgotten. */
  private forgotten = 0;
  readonly seen: (string | undefined)[] = [];
  unmatched = 0;
  private readonly totals = new Map<string, number>();
  private lost = 0;
  /** Each tap's visitor of what it captured (made once: take() runs many times a stream). */
  private readonly visitors = new Map<Tap, RingVisit>();

  constructor(private readonly taps: Tap[]) {
    try {
      for (const t of taps) this.start(t);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Adds a tap while streaming (a TC protocol handler for a new EtherType). */
  add(tap: Tap): void {
    this.taps.push(tap);
    this.start(tap);
  }

  private start(t: Tap): void {
    // Capturing into a ring costs a fraction of a queue's per frame (see capture-ring.ts).
    if (!t.queued) t.socket.captureByRing();
    t.socket.drain();
    t.socket.statistics();
    if (!t.ignore && !this.totals.has(t.where)) this.totals.set(t.where, 0);
    this.visitors.set(t, t.ignore ? () => {} : (bytes, start, end) => this.attribute(t.where, bytes, start, end));
  }

  register(f: Uint8Array): void {
    const index = this.seen.length;
    this.seen.push(undefined);
    const key = keyOf(f, 0, f.length);
    this.sentFrames[index % RING] = f;
    this.sentKeys[index % RING] = key;
    const list = this.pending.get(key);
    if (list) list.push(index);
    else this.pending.set(key, [index]);
  }

  /**
   * Puts the taps back to queueing, as replays read them (and the watch probe tells a captured
   * frame by the clone a queue makes): at the end of every stream, one that failed too.
   */
  close(): void {
    for (const t of this.taps) t.socket.captureByQueue();
  }

  /** Reads every tap. */
  take(): void {
    for (const t of this.taps) {
      const got = t.socket.receiveEach(this.visitors.get(t)!);
      if (got > 0 && !t.ignore) this.totals.set(t.where, this.totals.get(t.where)! + got);
    }
  }

  /** Files a frame captured at `where` (`bytes` from `start` to `end`) under the input it is a copy of. */
  private attribute(where: string, bytes: Buffer, start: number, end: number): void {
    const key = keyOf(bytes, start, end);
    const list = this.pending.get(key);
    let index = -1;
    if (list) {
      for (let k = 0; k < list.length; k++) {
        const sent = this.sentFrames[list[k]! % RING]!;
        if (bytes.compare(sent, 0, sent.length, start, end) === 0) {
          index = list[k]!;
          if (k === 0) list.shift();
          else list.splice(k, 1);
          break;
        }
      }
      if (list.length === 0) this.pending.delete(key);
    }
    if (index < 0) this.unmatched++;
    else this.seen[index] = where;
  }

  forget(): void {
    // Forgotten in order, so one still pending is the earliest of its key's list.
    for (const limit = this.seen.length - STREAM_WINDOW; this.forgotten < limit; this.forgotten++) {
      const slot = this.forgotten % RING;
      const key = this.sentKeys[slot]!;
      const list = this.pending.get(key);
      if (list?.[0] === this.forgotten) {
        list.shift();
        if (list.length === 0) this.pending.delete(key);
      }
      this.sentFrames[slot] = undefined;
    }
  }

  /**
   * Waits until the taps hold every output the counts promise (`passed` where `here` says, `out`
   * where `there` says), the capture having lost nothing, and gives the stream's run: what is
   * captured beyond that is the DUT's own traffic (`others`).
   * @throws XdpspecError `CAPTURE_LOSS` as soon as a tap lost a frame, `TIMEOUT` after 10 s.
   */
  async settle(
    port: string,
    counts: VerdictCounts,
    promised: {
      readonly here: Match;
      readonly there: Match;
      readonly passed: number;
      readonly out: number;
      readonly what: string;
    },
    sent: StreamRun['sent'],
  ): Promise<StreamRun> {
    const { here, there, passed, out } = promised;
    await until(
      () => (this.take(), this.checkLoss(), this.total(here) >= passed && this.total(there) >= out),
      `the outputs the counts promise (${promised.what}) being captured`,
      10_000,
    );
    this.checkLoss();
    const others = this.total(here) - passed + this.total(there) - out;
    return { port, frames: this.seen.length, counts, seen: this.seen, unmatched: this.unmatched, others, sent };
  }

  /** Frames captured where `match` says, over all taps. */
  total(match: Match): number {
    let n = 0;
    for (const [k, v] of this.totals) if (match(k)) n += v;
    return n;
  }

  /**
   * Throws CAPTURE_LOSS once a tap's queue overflowed: a frame the capture lost never arrives,
   * so this ends a wait at once as what it is, rather than as a time-out.
   */
  checkLoss(): void {
    for (const t of this.taps) this.lost += t.socket.statistics().dropped;
    if (this.lost)
      throw new XdpspecError(
        'CAPTURE_LOSS',
        `the capture lost ${this.lost} frame(s) (the kernel dropped them from a full socket queue or capture ring); nothing was counted as a drop. Give the capture deeper queues (LiveBench.create(spec, { captureBuffer })) or stream fewer frames at a time`,
      );
  }

  /** Sends every chunk with `send`, capturing as it goes; returns how many frames went. */
  async pump(
    chunks: AsyncIterable<readonly Uint8Array[]>,
    send: (chunk: readonly Uint8Array[]) => void | Promise<void>,
    before?: (f: Uint8Array) => void,
  ): Promise<number> {
    let n = 0;
    for await (const chunk of chunks) {
      for (const f of chunk) {
        before?.(f);
        this.register(f);
      }
      await send(chunk);
      this.take();
      this.forget();
      // Sends do not wait on the event loop: let signals, timers and others' I/O run now and then.
      if (++n % 16 === 0) await yieldToLoop();
    }
    return this.seen.length;
  }
}
