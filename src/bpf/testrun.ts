import { constants } from 'node:os';
import { inspect, type InspectOptionsStylized } from 'node:util';
import { BpfError, NotSupportedError, XdpspecError } from '../sys/errors.js';
import { allocNative, errno, ffi, koffi, TestRunOpts, type NativeBlock } from './ffi.js';
import type { CPointer } from '../sys/native.js';
import { inspectAs, showGetters } from '../sys/shown-getters.js';
import { PROG_TYPE, PROG_TYPES, returnCodeName } from './kinds.js';
import { ENOTSUPP, errnoName } from '../sys/errno.js';
import { addressOfNative, runManyNative, SAME_COPY, type RunMany } from './run-many.js';
import { keptAddresses, keptBytes, placesOf } from './frame-places.js';
import {
  checkOptions,
  sameOptions,
  SKB,
  type RawRun,
  type SkbContextOut,
  type TestRunOptions,
} from './testrun-options.js';

export type { RawRun, SkbContext, SkbContextOut, TestRunOptions } from './testrun-options.js';

/**
 * Frames laid in one buffer: of `length` frames, frame i is `places[length + i]` bytes at
 * `places[i]` of `bytes`.
 */
export interface LaidFrames {
  readonly bytes: Uint8Array;
  readonly places: Uint32Array;
  readonly length: number;
  /**
   * `bytes` are xdpspec's own, which nothing changes while results live: an output the same as
   * its frame is then a view of its frame there (see run_many.c), not memory of its own.
   */
  readonly ownBytes?: boolean;
}

/**
 * Makes frame `index`'s result of a batch: its return code, the kernel's run time, and where its
 * output lies in `outputs` (memory the result may keep viewing).
 */
export type MakeRun<T> = (
  index: number,
  retval: number,
  durationNs: number,
  outputs: Buffer,
  start: number,
  length: number,
) => T;

/** Frame i of frames laid in one buffer, as a view. */
function laidFrame(laid: LaidFrames, i: number): Uint8Array {
  const at = laid.places[i]!;
  return laid.bytes.subarray(at, at + laid.places[laid.length + i]!);
}

const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
/** Timing runs (repeat > 1) a signal interrupted are run again this often, then reported. */
const EINTR_RETRIES = 3;
const NO_OPTIONS: TestRunOptions = Object.freeze({});
/** Input up to 64 KiB (XDP frags allow larger than a page), output with room to grow. */
const MAX_IN = 64 * 1024;
const MAX_OUT = 64 * 1024 + 4096;
/** Where runMany collects outputs before copying them out in one go, where it loops in TypeScript. */
const OUT_AREA = 1 << 20;
/** The smallest block batches' outputs go to, and what an XDP output may grow by (see runBatch). */
const OUT_BLOCK = 1 << 16;
const XDP_GROWTH = 256 + 2 * 4096;
const OFF = {
  sz: koffi.offsetof(TestRunOpts, 'sz'),
  dataIn: koffi.offsetof(TestRunOpts, 'data_in'),
  dataOut: koffi.offsetof(TestRunOpts, 'data_out'),
  sizeIn: koffi.offsetof(TestRunOpts, 'data_size_in'),
  sizeOut: koffi.offsetof(TestRunOpts, 'data_size_out'),
  ctxIn: koffi.offsetof(TestRunOpts, 'ctx_in'),
  ctxOut: koffi.offsetof(TestRunOpts, 'ctx_out'),
  ctxSizeIn: koffi.offsetof(TestRunOpts, 'ctx_size_in'),
  ctxSizeOut: koffi.offsetof(TestRunOpts, 'ctx_size_out'),
  retval: koffi.offsetof(TestRunOpts, 'retval'),
  repeat: koffi.offsetof(TestRunOpts, 'repeat'),
  duration: koffi.offsetof(TestRunOpts, 'duration'),
  flags: koffi.offsetof(TestRunOpts, 'flags'),
};
const OPTS_SIZE = koffi.sizeof(TestRunOpts);
const CTX_SIZE = 256; // struct xdp_md is 24 bytes, struct __sk_buff 192
const XDP_MD_SIZE = 24;
const SKB_SIZE = 192;

/** A copy of `o` deep enough that changing the caller's object (its skb.cb too) shows as a change. */
function copyOptions(o: TestRunOptions): TestRunOptions {
  return { ...o, ...(o.skb ? { skb: { ...o.skb, ...(o.skb.cb ? { cb: [...o.skb.cb] } : {}) } } : {}) };
}

/** A 64-bit field from a number (addresses, sizes): two 32-bit halves, no BigInt on the way. */
function writeU64(v: Buffer, at: number, value: number): void {
  v.writeUInt32LE(value % 0x1_0000_0000, at);
  v.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4);
}

/**
 * One frame's result of a batch: its output is a view of the memory the kernel wrote the
 * batch's outputs into (or of the frame's kept copy, see run_many.c), made when read, and its
 * action's name is looked up when read. Making a Buffer view per frame, and each field more of
 * an object per frame, was most of what a batch cost beyond the kernel's own work, and a run
 * whose return code is all anyone asks for never needs them. `action` and `output` are
 * enumerable getters, so deep equality, `for...in`, JSON and inspection see them.
 */
class BatchRun implements RawRun {
  #progType: number;
  #outputs: Buffer;
  #start: number;
  #length: number;

  // One class for every program type, its type a field: a subclass per type made each result
  // cost twice as much to make.
  constructor(
    progType: number,
    readonly retval: number,
    readonly durationNs: number,
    outputs: Buffer,
    start: number,
    length: number,
  ) {
    this.#progType = progType;
    this.#outputs = outputs;
    this.#start = start;
    this.#length = length;
  }

  get action(): string {
    return returnCodeName(this.#progType, this.retval);
  }

  get output(): Buffer {
    return this.#outputs.subarray(this.#start, this.#start + this.#length);
  }

  toJSON(): Record<string, unknown> {
    return { retval: this.retval, output: this.output, durationNs: this.durationNs, action: this.action };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return inspectAs('ProgramRun', this.toJSON(), options);
  }
}
showGetters(BatchRun, ['action', 'output']);

/**
 * Runs one program through BPF_PROG_TEST_RUN. The options struct, the context and the data
 * buffers live in one native block allocated once, so a run costs one foreign call and two
 * copies (frame in, output out), with no marshalling.
 */
export class TestRunner {
  private block: NativeBlock | undefined;
  private readonly ctxIn: number;
  private readonly ctxOut: number;
  private readonly dataIn: number;
  private readonly dataOut: number;
  private lastOptions: TestRunOptions | undefined;
  private readonly call = ffi().bpf_prog_test_run_opts;
  private area: NativeBlock | undefined;
  /** XDP: where xdp_md.data_end goes in the context, or -1 when no context is passed. */
  private contextLength = -1;
  /** TC: a __sk_buff context is passed, and the kernel writes it back. */
  private tcContext = false;

  constructor(
    private readonly progFd: number,
    private readonly progType: number,
    private readonly progName: string,
    /** XDP programs that may make metadata: always pass xdp_md, to learn where the frame starts. */
    private readonly alwaysContext = true,
  ) {
    this.ctxIn = OPTS_SIZE;
    this.ctxOut = this.ctxIn + CTX_SIZE;
    this.dataIn = this.ctxOut + CTX_SIZE;
    this.dataOut = this.dataIn + MAX_IN;
  }

  private native(): NativeBlock {
    if (this.block) return this.block;
    const b = allocNative(this.dataOut + MAX_OUT);
    this.address = Number(b.address);
    writeU64(b.view, OFF.sz, OPTS_SIZE);
    this.block = b;
    this.pointersMoved = true;
    return b;
  }

  /** The native block's address as a number (user-space addresses are well under 2^53). */
  private address = 0;
  /**
   * A batch pointed data_in and data_out at its own frames and outputs: run() points them back
   * at the block's buffers before its next run.
   */
  private pointersMoved = true;

  /** @throws BpfError when the kernel refuses the run (the message says why and what to change). */
  run(frame: Uint8Array, o: TestRunOptions = NO_OPTIONS, retries = EINTR_RETRIES): RawRun {
    const b = this.native();
    const v = b.view;
    const len = frame.length;
    if (len + (o.meta?.length ?? 0) > MAX_IN)
      throw new XdpspecError(
        'FRAME_TOO_LARGE',
        `test run ${this.progName}: frame of ${len} bytes is larger than ${MAX_IN}, the most a test run takes`,
      );
    if (len < 14)
      throw new XdpspecError(
        'FRAME_TOO_SHORT',
        `test run ${this.progName}: frame of ${len} bytes is shorter than an Ethernet header (14); the kernel refuses such frames`,
      );
    const meta = o.meta;
    const metaLen = meta?.length ?? 0;
    if (meta) v.set(meta, this.dataIn);
    v.set(frame, this.dataIn + metaLen);
    v.writeUInt32LE(len + metaLen, OFF.sizeIn);
    const live = o.liveFrames === true;
    v.writeUInt32LE(live ? 0 : MAX_OUT, OFF.sizeOut);
    // Fields that only change with the options are rewritten only when the options change.
    const changed = !sameOptions(o, this.lastOptions);
    if (changed) {
      checkOptions(o, this.progName);
      this.writeOptions(o);
      this.lastOptions = copyOptions(o);
    }
    if (changed || this.pointersMoved) {
      writeU64(v, OFF.dataIn, this.address + this.dataIn);
      writeU64(v, OFF.dataOut, live ? 0 : this.address + this.dataOut);
      this.pointersMoved = false;
    }
    if (this.contextLength >= 0) {
      // xdp_md: data (where the frame starts, after the metadata) and data_end (the whole input).
      v.writeUInt32LE(metaLen, this.ctxIn);
      v.writeUInt32LE(len + metaLen, this.ctxIn + this.contextLength);
    }
    if (this.call(this.progFd, b.pointer) !== 0) {
      const e = errno();
      if (e === constants.errno.EINTR) return this.interrupted(frame, o, retries);
      this.fail(e, len, o);
    }
    const outLen = live ? 0 : v.readUInt32LE(OFF.sizeOut);
    // The kernel's output starts with the metadata; ctx_out's `data` says how long it is now.
    const metaOut = this.contextLength >= 0 && !live ? Math.min(v.readUInt32LE(this.ctxOut), outLen) : 0;
    // A copy, since the block is reused by the next run.
    const output = Buffer.allocUnsafe(outLen - metaOut);
    v.copy(output, 0, this.dataOut + metaOut, this.dataOut + outLen);
    const run = { retval: v.readUInt32LE(OFF.retval), output, durationNs: v.readUInt32LE(OFF.duration) };
    if ((meta || metaOut) && !live)
      return { ...run, meta: Buffer.from(v.subarray(this.dataOut, this.dataOut + metaOut)) };
    if (!this.tcContext) return run;
    const c = this.ctxOut;
    const context: SkbContextOut = {
      mark: v.readUInt32LE(c + SKB.mark),
      priority: v.readUInt32LE(c + SKB.priority),
      cb: Array.from({ length: 5 }, (_, i) => v.readUInt32LE(c + SKB.cb + 4 * i)),
      tstamp: v.readBigUInt64LE(c + SKB.tstamp),
      wireLen: v.readUInt32LE(c + SKB.wireLen),
      gsoSegs: v.readUInt32LE(c + SKB.gsoSegs),
      gsoSize: v.readUInt32LE(c + SKB.gsoSize),
      hwtstamp: v.readBigUInt64LE(c + SKB.hwtstamp),
    };
    return { ...run, context };
  }

  /**
   * Runs each frame in turn (one kernel call each, state carried over). The kernel writes the
   * outputs one after another into a native area, which is copied out once per area-full
   * rather than once per frame; each output is a view of that JS-owned copy.
   */
  runMany(frames: readonly Uint8Array[], o: TestRunOptions = NO_OPTIONS): RawRun[] {
    checkOptions(o, this.progName);
    if (o.liveFrames || o.meta) return frames.map((f) => this.run(f, o));
    const batch = runManyNative();
    if (batch) return this.runBatch(batch, frames, o);
    const b = this.native();
    const v = b.view;
    const out = this.outArea();
    const areaAddr = Number(out.address);
    const results: RawRun[] = [];
    const pending: { retval: number; durationNs: number; start: number; len: number }[] = [];
    let off = 0;
    const flush = () => {
      const copy = Buffer.from(out.view.subarray(0, off));
      for (const p of pending)
        results.push({ retval: p.retval, durationNs: p.durationNs, output: copy.subarray(p.start, p.start + p.len) });
      pending.length = 0;
      off = 0;
    };
    this.prepareBatch(o);
    writeU64(v, OFF.dataIn, this.address + this.dataIn);
    this.pointersMoved = true; // data_out goes to the area
    for (const frame of frames) {
      const len = frame.length;
      if (len > MAX_IN || len < 14) {
        this.run(frame, o); // throws the error that says what is wrong with it
      }
      if (OUT_AREA - off < MAX_OUT) flush();
      writeU64(v, OFF.dataOut, areaAddr + off);
      v.writeUInt32LE(OUT_AREA - off, OFF.sizeOut);
      v.set(frame, this.dataIn);
      v.writeUInt32LE(len, OFF.sizeIn);
      if (this.contextLength >= 0) v.writeUInt32LE(len, this.ctxIn + this.contextLength);
      if (this.call(this.progFd, b.pointer) !== 0) {
        const e = errno();
        if (e === constants.errno.EINTR) {
          flush();
          results.push(this.interrupted(frame, o, EINTR_RETRIES));
          this.pointersMoved = true; // run() pointed data_out at its own buffer again
          continue;
        }
        this.fail(e, len, o);
      }
      const outLen = v.readUInt32LE(OFF.sizeOut);
      // Metadata a program made room for comes first in the output (see run()).
      const metaOut = this.contextLength >= 0 ? Math.min(v.readUInt32LE(this.ctxOut), outLen) : 0;
      pending.push({
        retval: v.readUInt32LE(OFF.retval),
        durationNs: v.readUInt32LE(OFF.duration),
        start: off + metaOut,
        len: outLen - metaOut,
      });
      off += (outLen + 7) & ~7;
    }
    flush();
    return results;
  }

  /** runMany through the native helper: one foreign call for the whole batch (see run-many.ts). */
  private runBatch(batch: RunMany, frames: readonly Uint8Array[], o: TestRunOptions): RawRun[] {
    const n = frames.length;
    if (n === 0) return [];
    const p = placesOf(frames);
    if (p.longest > MAX_IN || p.shortest < 14)
      for (const f of frames) if (f.length > MAX_IN || f.length < 14) this.run(f, o); // throws the error that says what is wrong with it
    // Frames of one buffer (a capture file's, decoded) run from where they are, and so do the
    // frames of an array run before (from where each lies); others are copied end to end into
    // the scratch input first.
    let input: CPointer | null | undefined = p.input;
    const addressOf = input ? undefined : addressOfNative();
    const at = addressOf && keptAddresses(p, addressOf);
    if (at) input = null;
    else if (!input) {
      const sc = this.inputScratch(p.total);
      for (let i = 0; i < n; i++) sc.view.set(frames[i]!, p.places[i]);
      input = sc.pointer;
    }
    return this.runLaid(batch, input, p.places, n, p.longest, o, this.makeBatchRun, frames, keptBytes(p), at);
  }

  private readonly makeBatchRun: MakeRun<RawRun> = (_i, retval, durationNs, outputs, start, length) =>
    new BatchRun(this.progType, retval, durationNs, outputs, start, length);

  /**
   * Runs frames laid end to end in one buffer, each result made by `make` from what the kernel
   * returned: the unit engine's batches, which make their own results and so need neither a
   * view per frame going in nor a run object per frame coming out.
   */
  runManyLaid<T>(laid: LaidFrames, o: TestRunOptions, make: MakeRun<T>): T[] {
    checkOptions(o, this.progName);
    const { bytes, places, length: n } = laid;
    let longest = 0;
    for (let i = 0; i < n; i++) {
      const len = places[n + i]!;
      if (len > MAX_IN || len < 14) this.run(laidFrame(laid, i), o); // throws the error that says what is wrong with it
      if (len > longest) longest = len;
    }
    const batch = o.liveFrames || o.meta ? undefined : runManyNative();
    const same = laid.ownBytes && Buffer.isBuffer(bytes) ? bytes : undefined;
    if (batch) return this.runLaid(batch, bytes, places, n, longest, o, make, laid, same);
    const frames = Array.from({ length: n }, (_, i) => laidFrame(laid, i));
    return this.runMany(frames, o).map((r, i) => make(i, r.retval, r.durationNs, r.output, 0, r.output.length));
  }

  /** The batch loop over frames placed in `input` (see run_many.c): the helper, then a result per frame. */
  private runLaid<T>(
    batch: RunMany,
    input: CPointer,
    places: Uint32Array,
    n: number,
    longest: number,
    o: TestRunOptions,
    make: MakeRun<T>,
    /** The frames themselves, for the rerun of one a signal interrupted. */
    source: readonly Uint8Array[] | LaidFrames,
    /** Copies of the frames laid as `input` holds them, for outputs the same as their frame (see run_many.c). */
    same?: Buffer,
    /** Where each frame lies, where `input` is null (see run_many.c's `at`). */
    lying?: BigUint64Array,
  ): T[] {
    const res = this.resultsScratch(n);
    // Room each output may need: an XDP run grows a frame by at most its headroom in front and a
    // page behind (the last fragment's tailroom); a TC run's socket buffer may grow to 64 KiB.
    const room = this.progType === PROG_TYPE.xdp ? longest + XDP_GROWTH : MAX_OUT;
    // Blocks small enough for the heap to hand back warm (a fresh megabyte is fresh pages, each
    // a fault when the kernel first writes it), large enough for many outputs each.
    const block = Math.max(OUT_BLOCK, 4 * room);
    const b = this.native();
    this.prepareBatch(o);
    const ctxLenOff = this.contextLength;
    // Filled in place: a push per frame grows the array several times a batch.
    const results = new Array<T>(n);
    let i = 0;
    while (i < n) {
      // The kernel writes outputs straight into memory the results then view: no copy out.
      let arena = this.outputs;
      if (!arena || arena.bytes.length - arena.used < room)
        arena = this.outputs = { bytes: Buffer.allocUnsafe(block), used: 0 };
      const at = arena.used;
      const outputs = arena.bytes;
      this.pointersMoved = true;
      const done = batch(
        this.progFd,
        b.pointer,
        ctxLenOff,
        input,
        places,
        n,
        i,
        outputs,
        at,
        outputs.length,
        room,
        res,
        same ?? null,
        lying ?? null,
      );
      arena.used = res[1]!;
      for (let k = 0, r = 2; k < done; k++, r += 4) {
        const len = res[r + 3]!;
        results[i + k] =
          len & SAME_COPY
            ? make(i + k, res[r]!, res[r + 1]!, same!, res[r + 2]!, len ^ SAME_COPY)
            : make(i + k, res[r]!, res[r + 1]!, outputs, res[r + 2]!, len);
      }
      i += done;
      const e = res[0]!;
      if (e === constants.errno.EINTR) {
        const frame = 'bytes' in source ? laidFrame(source, i) : source[i]!;
        const r = this.interrupted(frame, o, EINTR_RETRIES);
        results[i] = make(i, r.retval, r.durationNs, r.output, 0, r.output.length);
        i++;
      } else if (e !== 0) this.fail(e, places[n + i]!, o);
    }
    return results;
  }

  /**
   * Where batches' outputs go, the results viewing them: a fresh block once the last one has
   * less room left than an output may need (a spent one lives as long as results view it).
   */
  private outputs: { bytes: Buffer; used: number } | undefined;

  private res: Uint32Array | undefined;
  private input: NativeBlock | undefined;

  /** Room for a batch's results (see run_many.c), grown when too small. */
  private resultsScratch(n: number): Uint32Array {
    if (!this.res || this.res.length < 2 + 4 * n) this.res = new Uint32Array(2 + 4 * Math.max(n, 64));
    return this.res;
  }

  /** Native memory for a batch's frames laid end to end, grown when too small. */
  private inputScratch(bytes: number): NativeBlock {
    if (!this.input || this.input.view.length < bytes) {
      const size = Math.max(bytes, 2 * (this.input?.view.length ?? 1 << 15));
      this.input?.free();
      this.input = allocNative(size);
    }
    return this.input;
  }

  /**
   * Sets the options block's fields a batch shares with run() for `o` (repeat, flags, context):
   * they are the same for both, and only rewritten when the options changed.
   */
  private prepareBatch(o: TestRunOptions): void {
    this.native();
    if (sameOptions(o, this.lastOptions)) return;
    this.writeOptions(o);
    this.lastOptions = copyOptions(o);
  }

  /** The options block's fields that only change with the options: repeat, flags, context. */
  private writeOptions(o: TestRunOptions): void {
    const v = this.block!.view;
    v.writeInt32LE(o.repeat ?? 1, OFF.repeat);
    v.writeUInt32LE(o.liveFrames === true ? BPF_F_TEST_XDP_LIVE_FRAMES : 0, OFF.flags);
    this.contextLength = this.writeContext(v, this.address, o);
  }

  private outArea(): NativeBlock {
    this.area ??= allocNative(OUT_AREA);
    return this.area;
  }

  /**
   * Writes the context for `o` (block at address `base`); returns -1 when none is passed, or
   * (XDP) where data_end goes in it.
   */
  private writeContext(v: Buffer, base: number, o: TestRunOptions): number {
    const xdp = this.progType === PROG_TYPE.xdp;
    // The kernel's output starts at data_meta, and only ctx_out says how much of it is metadata
    // a program made room for (bpf_xdp_adjust_meta): programs that may do so always pass xdp_md.
    const wantCtx = xdp
      ? this.alwaysContext ||
        o.ingressIfindex !== undefined ||
        o.rxQueue !== undefined ||
        o.liveFrames === true ||
        o.meta !== undefined
      : o.ifindex !== undefined ||
        o.ingressIfindex !== undefined ||
        o.mark !== undefined ||
        o.priority !== undefined ||
        o.skb !== undefined;
    this.tcContext = !xdp && wantCtx && o.liveFrames !== true;
    if (!wantCtx) {
      writeU64(v, OFF.ctxIn, 0);
      writeU64(v, OFF.ctxOut, 0);
      v.writeUInt32LE(0, OFF.ctxSizeIn);
      v.writeUInt32LE(0, OFF.ctxSizeOut);
      return -1;
    }
    const c = this.ctxIn;
    v.fill(0, c, c + CTX_SIZE);
    if (xdp) {
      // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
      // The kernel wants data_end to equal the frame length (EINVAL otherwise); run() writes it.
      v.writeUInt32LE(o.ingressIfindex ?? 0, c + 12);
      v.writeUInt32LE(o.rxQueue ?? 0, c + 16);
    } else {
      v.writeUInt32LE(o.mark ?? 0, c + SKB.mark);
      v.writeUInt32LE(o.priority ?? 0, c + SKB.priority);
      v.writeUInt32LE(o.ingressIfindex ?? 0, c + SKB.ingressIfindex);
      v.writeUInt32LE(o.ifindex ?? 0, c + SKB.ifindex);
      const k = o.skb ?? {};
      (k.cb ?? []).forEach((x, i) => v.writeUInt32LE(x, c + SKB.cb + 4 * i));
      v.writeBigUInt64LE(BigInt(k.tstamp ?? 0), c + SKB.tstamp);
      v.writeUInt32LE(k.wireLen ?? 0, c + SKB.wireLen);
      v.writeUInt32LE(k.gsoSegs ?? 0, c + SKB.gsoSegs);
      v.writeUInt32LE(k.gsoSize ?? 0, c + SKB.gsoSize);
      v.writeBigUInt64LE(BigInt(k.hwtstamp ?? 0), c + SKB.hwtstamp);
    }
    const size = xdp ? XDP_MD_SIZE : SKB_SIZE;
    writeU64(v, OFF.ctxIn, base + this.ctxIn);
    v.writeUInt32LE(size, OFF.ctxSizeIn);
    const live = o.liveFrames === true;
    writeU64(v, OFF.ctxOut, live ? 0 : base + this.ctxOut);
    v.writeUInt32LE(live ? 0 : size, OFF.ctxSizeOut);
    return xdp ? 4 : -1;
  }

  /**
   * A signal arrived during the kernel call (EINTR). A single run is not repeated: a kernel
   * that checks for signals after running (older ones) ran the program once already, and a
   * second run would change a stateful program's maps twice. A timing run (repeat > 1) is run
   * again a few times; past that, the error lets the process act on its signal (Ctrl-C).
   */
  private interrupted(frame: Uint8Array, o: TestRunOptions, retries: number): RawRun {
    if ((o.repeat ?? 1) > 1 && retries > 0) return this.run(frame, o, retries - 1);
    throw new XdpspecError(
      'TEST_RUN_INTERRUPTED',
      (o.repeat ?? 1) > 1
        ? `test run ${this.progName}: signals interrupted a timing run of ${o.repeat} repeats ${EINTR_RETRIES + 1} times; run it again, with fewer repeats if it is long`
        : `test run ${this.progName}: a signal interrupted the run after the program ran, before the kernel returned its result; its map changes stand, so run the case again from a fresh state`,
    );
  }

  private fail(e: number, len: number, o: TestRunOptions): never {
    const op = `test run ${this.progName}`;
    let hint = '';
    if (e === constants.errno.ENOSPC)
      hint = `: the output did not fit in ${MAX_OUT} bytes (the program grew the frame too much)`;
    else if (e === constants.errno.EINVAL && o.liveFrames)
      hint =
        ': live-frames mode takes XDP programs only, frames of at most about 3.4 KB, and no repeat beyond 1 per frame here';
    else if ((e === constants.errno.EINVAL || e === constants.errno.ENODEV) && o.ingressIfindex)
      hint = `: is ifindex ${o.ingressIfindex} a device in this network namespace, and rx queue ${o.rxQueue ?? 0} one of its queues?`;
    else if (e === constants.errno.EINVAL && o.skb)
      hint = `: the kernel refused the __sk_buff context (wire_len must be at least the frame's ${len} bytes, gso_segs at most 65535) or the frame`;
    else if (e === constants.errno.EINVAL) hint = `: the kernel refused a frame of ${len} bytes for this program type`;
    else if (e === constants.errno.ENOTSUP || e === ENOTSUPP)
      throw new NotSupportedError(
        `test runs of ${PROG_TYPES[this.progType] ?? `type ${this.progType}`} programs`,
        `${op}: ${errnoName(e)}: this kernel has no test run for ${PROG_TYPES[this.progType] ?? `type ${this.progType}`} programs`,
      );
    else if (e === constants.errno.EPERM) hint = ': run as root';
    throw new BpfError(op, e, `${errnoName(e)}${hint}`);
  }

  close(): void {
    this.block?.free();
    this.block = undefined;
    this.area?.free();
    this.area = undefined;
    this.input?.free();
    this.input = undefined;
  }
}
