// Block counters in the kernel: each counted program gets an array map of u64 counters of its
// own (see instrument.ts for where they are incremented), and this module is how the counters
// get into a program: a libbpf SEC() handler whose load callback sees the program's final
// instructions (relocated, subprograms appended) and its func and line info, the one point where
// all three can still be replaced. Objects stay unmodified on disk.
import { XdpspecError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import { libc, mapShared, unmap, type Mapping } from '../sys/libc.js';
import type { Btf } from './btf.js';
import { allocNative, errno, ffi, koffi, processWide, readNative, type NativeBlock, type Ptr } from './ffi.js';
import { instrument, isInstrumented, TOTAL, type Block, type Branch } from './instrument.js';
import { PROG_TYPE } from './kinds.js';

/** A place in the program's C source, from its BTF line info. */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
}

/** A C function of a counted program (subprograms are copied into each program that calls them). */
export interface CountedFunction {
  readonly name: string;
  /** Its first block's index. */
  readonly block: number;
  readonly source: SourceLine | undefined;
}

type Listener = (c: BlockCounters, counts: Float64Array) => void;

const shared = processWide('block-counters', () => ({
  live: new Set<BlockCounters>(),
  listeners: new Set<Listener>(),
}));

/**
 * The counters of one loaded, counted program and what they stand for: its basic blocks,
 * conditional jumps, functions, and the source line of each instruction.
 */
export class BlockCounters {
  private closed = false;
  /** The counter array itself: the map's memory, mapped into this process. */
  private readonly view: Buffer;

  constructor(
    readonly object: string,
    readonly program: string,
    private readonly fd: number,
    private readonly mapped: Mapping,
    readonly blocks: readonly Block[],
    readonly branches: readonly Branch[],
    readonly counters: number,
    readonly functions: readonly CountedFunction[],
    /** Source line of each original instruction slot (undefined where the line info says none). */
    readonly lines: readonly (SourceLine | undefined)[],
    /** Instructions before and after instrumentation (slots, as the verifier is given them). */
    readonly originalSlots: number,
    readonly instrumentedSlots: number,
    /** Why there are no source lines, when there are none (an object built without -g). */
    readonly noLines: string | undefined,
  ) {
    this.view = Buffer.from(koffi.view(mapped.address, counters * 8));
    shared.live.add(this);
  }

  private check(): void {
    if (this.closed)
      throw new XdpspecError(
        'OBJECT_CLOSED',
        `the block counters of ${this.program} are closed with its object; load the object again (count: true) to count`,
      );
  }

  /** Every counter as it is now: the instruction total, block entries, not-taken counts of branches. */
  read(): Float64Array {
    this.check();
    const out = new Float64Array(this.counters);
    for (let i = 0; i < this.counters; i++) out[i] = Number(this.view.readBigUInt64LE(i * 8));
    return out;
  }

  /** Instructions executed so far, all runs together (an ld_imm64 counts as one). */
  instructions(): number {
    this.check();
    return Number(this.view.readBigUInt64LE(TOTAL * 8));
  }

  /** Runs `fn` (a rerun xdpspec makes for itself) and leaves the counters as they were before it. */
  preserve<T>(fn: () => T): T {
    this.check();
    const before = Buffer.from(this.view);
    try {
      return fn();
    } finally {
      before.copy(this.view);
    }
  }

  /** Hands the final counts to the listeners (coverage collection) and gives up the map. */
  close(): void {
    if (this.closed) return;
    try {
      if (shared.listeners.size > 0) {
        const counts = this.read();
        for (const l of shared.listeners) l(this, counts);
      }
    } finally {
      this.discard();
    }
  }

  /** Gives up the map without a word to the listeners: for a program that never loaded. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    shared.live.delete(this);
    unmap(this.mapped);
    libc().close(this.fd);
  }

  /** Counted programs not yet closed (to be read at the end of a run). */
  static live(): BlockCounters[] {
    return [...shared.live];
  }

  /** Calls `listener` with each counted program's final counts as it closes. */
  static onClose(listener: Listener): () => void {
    shared.listeners.add(listener);
    return () => shared.listeners.delete(listener);
  }
}

/** What counting did to one program at load: its counters, or why it runs as it was. */
export type CountingOutcome = { counters: BlockCounters } | { uninstrumented: string };

interface Enrolled {
  readonly object: string;
  readonly name: string;
  readonly btf: Btf | undefined;
  readonly native: NativeBlock[];
  outcome?: CountingOutcome;
}

const hook = processWide('counting-hook', () => ({
  registered: false,
  enrolled: new Map<Ptr, Enrolled>(),
  // The registered callback, held for the life of the process as libbpf holds its address.
  callbacks: [] as unknown[],
}));

// struct bpf_prog_load_opts of libbpf 1.1 (x86-64 and arm64 alike).
const OPTS_SIZE = 104;
const O_PROG_FLAGS = 20;
const O_FUNC_INFO = 56;
const O_FUNC_CNT = 64;
const O_FUNC_REC = 68;
const O_LINE_INFO = 72;
const O_LINE_CNT = 80;
const O_LINE_REC = 84;
const BPF_F_XDP_HAS_FRAGS = 32;
const FRAGS = 1;
const BPF_MAP_TYPE_ARRAY = 2;

/**
 * libbpf's own SEC() names for XDP and TC programs, most specific first as libbpf orders them,
 * with their program and attach types: registered again with the counting callback, they match
 * exactly the programs libbpf's would. Legacy names are caught by the fallback handler (type
 * unspecified, as libbpf leaves them, to be given with setProgramType).
 */
const SECTIONS: readonly [string | null, number, number, number][] = [
  ['tc', PROG_TYPE.sched_cls, 0, 0],
  ['classifier', PROG_TYPE.sched_cls, 0, 0],
  ['xdp.frags/devmap', PROG_TYPE.xdp, 33, FRAGS],
  ['xdp/devmap', PROG_TYPE.xdp, 33, 0],
  ['xdp.frags/cpumap', PROG_TYPE.xdp, 35, FRAGS],
  ['xdp/cpumap', PROG_TYPE.xdp, 35, 0],
  ['xdp.frags', PROG_TYPE.xdp, 37, FRAGS],
  ['xdp', PROG_TYPE.xdp, 37, 0],
  [null, 0, 0, 0],
];

const addressOf = (p: unknown): Ptr => (typeof p === 'bigint' ? p : koffi.address(p));

/**
 * Registers the counting handlers, once per process, before the first counted object is opened
 * (a program's handler is chosen at open). They are never unregistered: libbpf keeps custom
 * handlers in one array that registering grows, and an object opened but not yet loaded holds
 * pointers into it. For programs not enrolled they do what libbpf's own handlers do for these
 * types (the XDP frags flag; nothing else applies to XDP and TC).
 */
export function registerCountingHandlers(): void {
  if (hook.registered) return;
  hook.registered = true;
  const f = ffi();
  const cb = koffi.register((progArg: unknown, optsArg: unknown, cookie: number) => {
    const prog = addressOf(progArg);
    const opts = Buffer.from(koffi.view(addressOf(optsArg), OPTS_SIZE));
    if (cookie & FRAGS && f.bpf_program__type(prog) === PROG_TYPE.xdp)
      opts.writeUInt32LE(opts.readUInt32LE(O_PROG_FLAGS) | BPF_F_XDP_HAS_FRAGS, O_PROG_FLAGS);
    const entry = hook.enrolled.get(prog);
    if (entry && !entry.outcome) {
      try {
        entry.outcome = prepare(prog, opts, entry);
      } catch (err) {
        // Nothing may be thrown through libbpf: the program loads as it was.
        entry.outcome = { uninstrumented: err instanceof Error ? err.message : String(err) };
      }
    }
    return 0;
  }, koffi.pointer(f.PrepareLoadFn));
  hook.callbacks.push(cb);
  for (const [sec, type, attach, cookie] of SECTIONS) {
    // The fallback slot is libbpf's only one; a program of the user's that took it keeps it.
    f.libbpf_register_prog_handler(sec, type, attach, {
      sz: 40,
      cookie,
      prog_setup_fn: null,
      prog_prepare_load_fn: cb,
      prog_attach_fn: null,
    });
  }
}

/** Asks for counters in these programs at the next load of their object. */
export function enroll(
  object: string,
  progs: readonly { ptr: Ptr; name: string }[],
  btf: Btf | undefined,
): { outcomes(): Map<string, CountingOutcome>; release(): void } {
  const mine = progs.map((p) => {
    const e: Enrolled = { object, name: p.name, btf, native: [] };
    hook.enrolled.set(p.ptr, e);
    return [p.ptr, e] as const;
  });
  return {
    outcomes: () =>
      new Map(
        mine.map(([, e]) => [
          e.name,
          e.outcome ?? { uninstrumented: 'libbpf loaded it without calling the counting handler' },
        ]),
      ),
    release: () => {
      for (const [ptr, e] of mine) {
        hook.enrolled.delete(ptr);
        for (const b of e.native) b.free();
      }
    },
  };
}

function records(opts: Buffer, at: number, cnt: number, rec: number): Buffer {
  const p = opts.readBigUInt64LE(at);
  const n = opts.readUInt32LE(cnt);
  const size = opts.readUInt32LE(rec);
  return p === 0n || n === 0 ? Buffer.alloc(0) : readNative(p, n * size);
}

function prepare(prog: Ptr, opts: Buffer, e: Enrolled): CountingOutcome {
  const f = ffi();
  const n = Number(f.bpf_program__insn_cnt(prog));
  const code = readNative(f.bpf_program__insns(prog), n * 8);
  const funcRec = opts.readUInt32LE(O_FUNC_REC);
  const lineRec = opts.readUInt32LE(O_LINE_REC);
  const funcs = records(opts, O_FUNC_INFO, O_FUNC_CNT, O_FUNC_REC);
  const lineInfo = records(opts, O_LINE_INFO, O_LINE_CNT, O_LINE_REC);
  const funcStarts: number[] = [];
  for (let p = 0; p < funcs.length; p += funcRec) funcStarts.push(funcs.readUInt32LE(p));

  // At most a counter per slot for blocks, one per slot for branches, and the total: the map is
  // made before the one instrumentation, which needs its descriptor.
  const counterMap = mappedArray((2 * n + 1) * 8);
  if (typeof counterMap === 'string') return { uninstrumented: counterMap };
  const { fd, mapped } = counterMap;
  const giveUp = (reason: string): CountingOutcome => {
    unmap(mapped);
    libc().close(fd);
    return { uninstrumented: reason };
  };
  const done = instrument(code, funcStarts, fd);
  if (!isInstrumented(done)) return giveUp(done.reason);
  if (f.bpf_program__set_insns(prog, done.insns, done.insns.length / 8) !== 0)
    return giveUp(`libbpf refused the new instructions: ${errnoName(errno())}`);
  // func and line info follow their instructions; libbpf hands these arrays to the kernel as
  // they are, so they live in native memory until the load is over.
  const moved = (src: Buffer, rec: number, at: number, to: Int32Array) => {
    if (src.length === 0) return;
    const b = allocNative(src.length);
    src.copy(b.view);
    for (let p = 0; p < src.length; p += rec) b.view.writeUInt32LE(to[b.view.readUInt32LE(p)]!, p);
    e.native.push(b);
    opts.writeBigUInt64LE(b.address, at);
  };
  moved(funcs, funcRec, O_FUNC_INFO, done.targetOf);
  moved(lineInfo, lineRec, O_LINE_INFO, done.firstOf);

  const lines = sourceLines(lineInfo, lineRec, n, e.btf);
  const blockAt = (slot: number) => done.blocks.findIndex((b) => b.start === slot);
  const functions = funcStarts.map((start, i) => ({
    name: e.btf?.types[funcs.readUInt32LE(i * funcRec + 4)]?.name || `function at ${start}`,
    block: blockAt(start),
    source: lines[start],
  }));
  const noLines =
    lineInfo.length === 0
      ? `${e.object} has no BTF line info (built without -g?): blocks are counted, but no source line can be named; build it with clang -g`
      : undefined;
  return {
    counters: new BlockCounters(
      e.object,
      e.name,
      fd,
      mapped,
      done.blocks,
      done.branches,
      done.counters,
      functions,
      lines,
      n,
      done.insns.length / 8,
      noLines,
    ),
  };
}

const BPF_F_MMAPABLE = 1 << 10;
const MAP_OPTS_SIZE = 48; // struct bpf_map_create_opts of libbpf 1.1
const MAP_OPT_FLAGS = 28;

/**
 * A one-entry array map of `size` bytes, mapped into this process, so that counters are read
 * (and put back around reruns) as memory, without a system call per frame. Or why not.
 */
function mappedArray(size: number): { fd: number; mapped: Mapping } | string {
  const opts = Buffer.alloc(MAP_OPTS_SIZE);
  opts.writeBigUInt64LE(BigInt(MAP_OPTS_SIZE), 0);
  opts.writeUInt32LE(BPF_F_MMAPABLE, MAP_OPT_FLAGS);
  const fd = ffi().bpf_map_create(BPF_MAP_TYPE_ARRAY, 'xdpspec_blocks', 4, size, 1, opts);
  if (fd < 0) return `the counter map could not be made: ${errnoName(-fd || errno())}`;
  const mapped = mapShared(fd, size);
  if (!mapped) {
    const e = errno();
    libc().close(fd);
    return `the counter map could not be mapped into memory: ${errnoName(e)}`;
  }
  return { fd, mapped };
}

/** The source line of every slot: the last line info record at or before it. */
function sourceLines(info: Buffer, rec: number, n: number, btf: Btf | undefined): (SourceLine | undefined)[] {
  const out = new Array<SourceLine | undefined>(n).fill(undefined);
  if (!btf || info.length === 0) return out;
  const names = new Map<number, string>();
  let current: SourceLine | undefined;
  let next = 0;
  for (let s = 0; s < n; s++) {
    while (next < info.length && info.readUInt32LE(next) <= s) {
      const fileOff = info.readUInt32LE(next + 4);
      const line = info.readUInt32LE(next + 12) >>> 10;
      let file = names.get(fileOff);
      if (file === undefined) names.set(fileOff, (file = btf.string(fileOff)));
      current = line > 0 ? { file, line } : undefined;
      next += rec;
    }
    out[s] = current;
  }
  return out;
}
