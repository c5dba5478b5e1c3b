import { constants } from 'node:os';
import { BpfError, NotSupportedError, XdpspecError } from '../sys/errors.js';
import { allocNative, errno, ffi, koffi, TestRunOpts, type NativeBlock } from './ffi.js';
import type { CPointer } from '../sys/native.js';
import { PROG_TYPE, PROG_TYPES, returnCodeName } from './kinds.js';
import { ENOTSUPP, errnoName } from '../sys/errno.js';
import { runManyNative, type RunMany } from './run-many.js';
import {
  checkOptions,
  sameOptions,
  SKB,
  type RawRun,
  type SkbContextOut,
  type TestRunOptions,
} from './testrun-options.js';

export type { RawRun, SkbContext, SkbContextOut, TestRunOptions } from './testrun-options.js';

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

/**
 * One frame's result of a batch: its output is a view of the block the kernel wrote the batch's
 * outputs into, made when first read. Making a Buffer view per frame, and collecting it, was
 * most of what a batch cost beyond the kernel's own work, and a run whose return code is all
 * anyone asks for never needs it. `output` is an enumerable getter, so deep equality and
 * `for...in` see it.
 */
class BatchRun implements RawRun {
  #outputs: Buffer;
  #start: number;
  #length: number;
  #output: Buffer | undefined;

  constructor(
    readonly retval: number,
    readonly durationNs: number,
    readonly action: string,
    outputs: Buffer,
    start: number,
    length: number,
  ) {
    this.#outputs = outputs;
    this.#start = start;
    this.#length = length;
  }

  get output(): Buffer {
    return (this.#output ??= this.#outputs.subarray(this.#start, this.#start + this.#length));
  }

  toJSON(): Record<string, unknown> {
    return { ...(this as object), output: this.output };
  }
}
Object.defineProperty(BatchRun.prototype, 'output', {
  ...Object.getOwnPropertyDescriptor(BatchRun.prototype, 'output'),
  enumerable: true,
});

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
  private manyOptions: TestRunOptions | undefined;
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
    const v = b.view;
    v.writeBigUInt64LE(BigInt(OPTS_SIZE), OFF.sz);
    v.writeBigUInt64LE(b.address + BigInt(this.dataIn), OFF.dataIn);
    v.writeBigUInt64LE(b.address + BigInt(this.dataOut), OFF.dataOut);
    this.block = b;
    return b;
  }

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
    // Fields that only change with the options are rewritten only when the options change:
    // this is the per-frame path, and BigInt writes are its most expensive part.
    if (!sameOptions(o, this.lastOptions)) {
      checkOptions(o, this.progName);
      v.writeBigUInt64LE(live ? 0n : b.address + BigInt(this.dataOut), OFF.dataOut);
      v.writeInt32LE(o.repeat ?? 1, OFF.repeat);
      v.writeUInt32LE(live ? BPF_F_TEST_XDP_LIVE_FRAMES : 0, OFF.flags);
      this.contextLength = this.writeContext(v, b.address, o);
      this.lastOptions = { ...o, ...(o.skb ? { skb: { ...o.skb, ...(o.skb.cb ? { cb: [...o.skb.cb] } : {}) } } : {}) };
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

  /** Writes the context for `o`; returns -1 when none is passed, or (XDP) where data_end goes. */
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
    // Addresses as two 32-bit halves from plain numbers: no BigInt work per frame.
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
    this.lastOptions = undefined; // run() must rewrite data_out after this
    if (!sameOptions(o, this.manyOptions)) {
      this.writeManyOptions(o);
      this.manyOptions = { ...o };
    }
    for (const frame of frames) {
      const len = frame.length;
      if (len > MAX_IN || len < 14) {
        this.run(frame, o); // throws the error that says what is wrong with it
      }
      if (OUT_AREA - off < MAX_OUT) flush();
      const addr = areaAddr + off;
      v.writeUInt32LE(addr % 0x1_0000_0000, OFF.dataOut);
      v.writeUInt32LE(Math.floor(addr / 0x1_0000_0000), OFF.dataOut + 4);
      v.writeUInt32LE(OUT_AREA - off, OFF.sizeOut);
      v.set(frame, this.dataIn);
      v.writeUInt32LE(len, OFF.sizeIn);
      if (this.contextLength >= 0) v.writeUInt32LE(len, this.ctxIn + this.contextLength);
      if (this.call(this.progFd, b.pointer) !== 0) {
        const e = errno();
        if (e === constants.errno.EINTR) {
          flush();
          this.manyOptions = undefined;
          results.push(this.interrupted(frame, o, EINTR_RETRIES));
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
    this.manyOptions = undefined; // run() and runMany() share the options struct
    return results;
  }

  /** runMany through the native helper: one foreign call for the whole batch (see run-many.ts). */
  private runBatch(batch: RunMany, frames: readonly Uint8Array[], o: TestRunOptions): RawRun[] {
    const n = frames.length;
    const sc = this.batchScratch(n);
    const { lens, starts, res, err } = sc;
    // Frames of one buffer (a capture file's, decoded) run from where they are; others are
    // copied end to end into the scratch input first.
    const buffer = frames[0]?.buffer;
    let shared = buffer instanceof ArrayBuffer;
    let total = 0;
    let longest = 0;
    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      const len = f.length;
      if (len > MAX_IN || len < 14) this.run(f, o); // throws the error that says what is wrong with it
      lens[i] = len;
      starts[i] = f.byteOffset;
      if (f.buffer !== buffer) shared = false;
      if (len > longest) longest = len;
      total += len;
    }
    // Room each output may need: an XDP run grows a frame by at most its headroom in front and a
    // page behind (the last fragment's tailroom); a TC run's socket buffer may grow to 64 KiB.
    const room = this.progType === PROG_TYPE.xdp ? longest + XDP_GROWTH : MAX_OUT;
    // Blocks small enough for the heap to hand back warm (a fresh megabyte is fresh pages, each
    // a fault when the kernel first writes it), large enough for many outputs each.
    const block = Math.max(OUT_BLOCK, 4 * room);
    let input: CPointer;
    if (shared) input = new Uint8Array(buffer!);
    else {
      const view = this.inputScratch(total).view;
      for (let i = 0, p = 0; i < n; i++) {
        view.set(frames[i]!, p);
        starts[i] = p;
        p += lens[i]!;
      }
      input = sc.input!.pointer;
    }
    const b = this.native();
    this.lastOptions = undefined; // run() must rewrite the options block after this
    this.writeManyOptions(o);
    const ctxLenOff = this.contextLength >= 0 ? this.contextLength : -1;
    const results: RawRun[] = [];
    let i = 0;
    while (i < n) {
      // The kernel writes outputs straight into memory the results then view: no copy out.
      let arena = this.outputs;
      if (!arena || arena.bytes.length - arena.used < room)
        arena = this.outputs = { bytes: Buffer.allocUnsafe(block), used: 0 };
      const at = arena.used;
      const done = batch(
        this.progFd,
        b.pointer,
        ctxLenOff,
        input,
        i === 0 ? starts : starts.subarray(i),
        i === 0 ? lens : lens.subarray(i),
        n - i,
        at === 0 ? arena.bytes : arena.bytes.subarray(at),
        arena.bytes.length - at,
        room,
        i === 0 ? res : res.subarray(4 * i),
        err,
      );
      arena.used = at + err[1]!;
      // Each result is made once, with its return code's name (Program.testRunMany passes it on).
      for (let k = i; k < i + done; k++) {
        const retval = res[4 * k]!;
        results.push(
          new BatchRun(
            retval,
            res[4 * k + 1]!,
            returnCodeName(this.progType, retval),
            arena.bytes,
            at + res[4 * k + 2]!,
            res[4 * k + 3]!,
          ),
        );
      }
      i += done;
      const e = err[0]!;
      if (e === constants.errno.EINTR) {
        this.restoreInput();
        results.push(this.interrupted(frames[i]!, o, EINTR_RETRIES));
        i++;
        // run() rewrote the options block for itself: put the batch's back.
        this.lastOptions = undefined;
        this.writeManyOptions(o);
      } else if (e !== 0) {
        this.restoreInput();
        this.fail(e, lens[i]!, o);
      }
    }
    this.restoreInput();
    return results;
  }

  /**
   * Where batches' outputs go, the results viewing them: a fresh block once the last one has
   * less room left than an output may need (a spent one lives as long as results view it).
   */
  private outputs: { bytes: Buffer; used: number } | undefined;

  private scratch:
    { lens: Uint32Array; starts: Uint32Array; res: Uint32Array; err: Int32Array; input?: NativeBlock } | undefined;

  /** Scratch arrays for a batch of `n` frames, grown when too small. */
  private batchScratch(n: number) {
    let sc = this.scratch;
    if (!sc || sc.lens.length < n) {
      const cap = Math.max(n, 64);
      sc = {
        lens: new Uint32Array(cap),
        starts: new Uint32Array(cap),
        res: new Uint32Array(4 * cap),
        err: new Int32Array(2),
        input: sc?.input,
      };
      this.scratch = sc;
    }
    return sc;
  }

  /** Native memory for a batch's frames laid end to end, grown when too small. */
  private inputScratch(bytes: number): NativeBlock {
    const sc = this.scratch!;
    if (!sc.input || sc.input.view.length < bytes) {
      const size = Math.max(bytes, 2 * (sc.input?.view.length ?? 1 << 15));
      sc.input?.free();
      sc.input = allocNative(size);
    }
    return sc.input;
  }

  /** The options block's fields that stay the same over a run of many frames: repeat, flags, context. */
  private writeManyOptions(o: TestRunOptions): void {
    const b = this.native();
    b.view.writeInt32LE(o.repeat ?? 1, OFF.repeat);
    b.view.writeUInt32LE(0, OFF.flags);
    this.contextLength = this.writeContext(b.view, b.address, o);
  }

  /** The batch pointed the options block's input at its own frames: run() reads its own buffer. */
  private restoreInput(): void {
    const b = this.native();
    b.view.writeBigUInt64LE(b.address + BigInt(this.dataIn), OFF.dataIn);
  }

  private outArea(): NativeBlock {
    this.area ??= allocNative(OUT_AREA);
    return this.area;
  }

  private writeContext(v: Buffer, base: bigint, o: TestRunOptions): number {
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
      v.writeBigUInt64LE(0n, OFF.ctxIn);
      v.writeBigUInt64LE(0n, OFF.ctxOut);
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
    v.writeBigUInt64LE(base + BigInt(this.ctxIn), OFF.ctxIn);
    v.writeUInt32LE(size, OFF.ctxSizeIn);
    const live = o.liveFrames === true;
    v.writeBigUInt64LE(live ? 0n : base + BigInt(this.ctxOut), OFF.ctxOut);
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
    this.scratch?.input?.free();
    this.scratch = undefined;
  }
}
