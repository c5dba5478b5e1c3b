import type { LoadedObject, ProgramInfo } from './object.js';
import { PROG_TYPE, returnCodeName } from './kinds.js';
import { pushesVlanTag, type CallTraits } from './handles.js';
import { allocNative, errno, ffi, type Ptr } from './ffi.js';
import { BpfError, XdpspecError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import type { BlockCounters } from './counters.js';
import { keepInDispatcher, type Residence } from './dispatcher.js';
import { TestRunner, type LaidFrames, type MakeRun, type RawRun, type TestRunOptions } from './testrun.js';

/** One run of a program on one frame: the return code by name, and the output bytes. */
export interface ProgramRun extends RawRun {
  /** `XDP_PASS`, `XDP_DROP`, ... or `TC_ACT_OK`, `TC_ACT_SHOT`, ... */
  readonly action: string;
}

/** What the kernel says of a loaded program's size and of the verifier's work on it. */
export interface ProgramStats {
  /** Instructions the verifier processed to accept it (kernel 5.16+; undefined before). */
  readonly verifiedInstructions: number | undefined;
  /** Size after the verifier's rewrites, bytes. */
  readonly xlatedBytes: number;
  /** Size of the JIT's machine code, bytes (0 without a JIT). */
  readonly jitedBytes: number;
}

// struct bpf_prog_info offsets (linux/bpf.h); the kernel fills as much as it knows of it.
const INFO_SIZE = 232;
const JITED_LEN = 16;
const XLATED_LEN = 20;
const VERIFIED_INSNS = 216;
const NR_MAP_IDS = 52;
const MAP_IDS = 56;

/** A loaded program. */
export class Program implements ProgramInfo {
  private runner: TestRunner | undefined;

  constructor(
    readonly info: ProgramInfo,
    readonly typeId: number,
    private readonly progFd: number,
    /** libbpf's `struct bpf_program *`, for attach calls inside xdpspec. */
    readonly handle: Ptr,
    /** The object it was loaded with (its maps are the program's state). */
    readonly object: LoadedObject,
    /** What its calls say it may do to frames (see handles.ts). */
    private readonly calls: CallTraits = { usesMeta: true, growsTail: true },
    /**
     * Its block counters, when it was loaded counted (`count: true`, or coverage asked for):
     * what each frame executed, and source-line coverage.
     */
    readonly counters?: BlockCounters,
  ) {}

  /**
   * The program's file descriptor.
   * @throws XdpspecError `OBJECT_CLOSED` once its object is closed: the number may already
   *   belong to another program or map, which a stale handle would then run or change.
   */
  get fd(): number {
    if (this.object.isClosed)
      throw new XdpspecError(
        'OBJECT_CLOSED',
        `program ${this.info.name} of ${this.object.path} is closed with its object; load the object again`,
      );
    return this.progFd;
  }

  get name(): string {
    return this.info.name;
  }

  /** The kernel's id of the loaded program (what `bpftool prog` and link listings name). */
  get id(): number {
    const info = Buffer.alloc(INFO_SIZE);
    if (ffi().bpf_obj_get_info_by_fd(this.fd, info, [INFO_SIZE]) !== 0) {
      const e = errno();
      throw new BpfError(`get info of program ${this.name}`, e, errnoName(e));
    }
    return info.readUInt32LE(4); // struct bpf_prog_info: type, id, ...
  }
  /**
   * The kernel ids of the maps the program uses (its own references, not those of programs it
   * tail-calls), from the kernel's program info: fixed for the program's life, so read once.
   */
  mapIds(): readonly number[] {
    if (this.usedMaps) return this.usedMaps;
    const info = Buffer.alloc(INFO_SIZE);
    const query = () => {
      if (ffi().bpf_obj_get_info_by_fd(this.fd, info, [INFO_SIZE]) !== 0) {
        const e = errno();
        throw new BpfError(`get the maps of program ${this.name}`, e, errnoName(e));
      }
    };
    query();
    const n = info.readUInt32LE(NR_MAP_IDS);
    if (n === 0) return (this.usedMaps = []);
    const ids = allocNative(n * 4);
    try {
      info.fill(0);
      info.writeUInt32LE(n, NR_MAP_IDS);
      info.writeBigUInt64LE(BigInt(ids.address), MAP_IDS);
      query();
      const got = Math.min(n, info.readUInt32LE(NR_MAP_IDS));
      this.usedMaps = Array.from({ length: got }, (_, i) => ids.view.readUInt32LE(i * 4));
    } finally {
      ids.free();
    }
    return this.usedMaps;
  }

  private usedMaps: readonly number[] | undefined;

  /**
   * The program's test runner, made at its first run (`fd` checks the object is open, every
   * run); a run of more repeats than one first settles the program in the dispatcher.
   */
  private runnerFor(options: TestRunOptions | undefined): TestRunner {
    const fd = this.fd;
    this.runner ??= new TestRunner(fd, this.typeId, this.name, this.calls.usesMeta);
    if ((options?.repeat ?? 1) > 1) this.stayInDispatcher();
    return this.runner;
  }

  /**
   * Before the first run of more repeats than one: keeps an XDP program in the kernel's XDP
   * dispatcher for as long as its object is open (see dispatcher.ts), or each such run would
   * wait twice for an RCU grace period (15 ms a timing run here, for 0.7 ms of runs).
   */
  private stayInDispatcher(): void {
    if (this.residence !== undefined) return;
    const r = keepInDispatcher(this);
    this.residence = r ?? null;
    if (r) this.object.closeWith(r);
  }

  private residence: Residence | null | undefined;

  /**
   * A TC program that calls bpf_skb_vlan_push: the kernel keeps the tag it pushes in the
   * socket buffer's metadata (as a NIC's VLAN offload would), and a test run returns only the
   * frame's bytes, so the unit engine cannot see it (the live engine's captures do).
   */
  get pushesVlanTag(): boolean {
    return (this.vlanPush ??= this.typeId === PROG_TYPE.sched_cls && pushesVlanTag(this.handle));
  }

  private vlanPush: boolean | undefined;

  /**
   * An XDP program that may grow frames at the tail: it calls bpf_xdp_adjust_tail, or a
   * subprogram (which may). Live replays hand such programs XDP frames, which have the room to
   * grow that a frame sent by socket lacks on veth (see StreamVia).
   */
  get growsTail(): boolean {
    return this.typeId === PROG_TYPE.xdp && this.calls.growsTail;
  }

  get section(): string {
    return this.info.section;
  }
  get type(): string {
    return this.info.type;
  }

  /**
   * Runs the program once on `frame` through BPF_PROG_TEST_RUN.
   * @throws BpfError when the kernel refuses the run; XdpspecError for frames it cannot take.
   */
  testRun(frame: Uint8Array, options?: TestRunOptions): ProgramRun {
    const r = this.runnerFor(options).run(frame, options);
    const run: ProgramRun = {
      retval: r.retval,
      output: r.output,
      durationNs: r.durationNs,
      action: returnCodeName(this.typeId, r.retval),
    };
    if (r.context) (run as { context?: typeof r.context }).context = r.context;
    if (r.meta) (run as { meta?: Buffer }).meta = r.meta;
    return run;
  }

  /**
   * Runs the program on each frame in turn (one kernel call per frame, state carried over). For
   * an array run before, an output the same as its frame is a view of a copy of the frames kept
   * with the array, shared by the results of every such run: read outputs, copy one to change it.
   */
  testRunMany(frames: readonly Uint8Array[], options?: TestRunOptions): ProgramRun[] {
    const runs = this.runnerFor(options).runMany(frames, options);
    // The batch path's results name their return code (BatchRun's action); the loop path's do not.
    if (runs.length === 0 || 'action' in runs[0]!) return runs as ProgramRun[];
    return runs.map((r) => ({
      retval: r.retval,
      output: r.output,
      durationNs: r.durationNs,
      action: returnCodeName(this.typeId, r.retval),
    }));
  }

  /**
   * @internal The unit engine's batches: frames laid end to end in one buffer, each result made
   * by `make` (see TestRunner.runManyLaid).
   */
  testRunLaid<T>(frames: LaidFrames, options: TestRunOptions | undefined, make: MakeRun<T>): T[] {
    return this.runnerFor(options).runManyLaid(frames, options ?? {}, make);
  }

  /**
   * The verifier's work on the program and its sizes, from the kernel's program info: a change
   * that makes the verifier work much harder is worth knowing before deploy, since older kernels
   * with lower limits refuse it first.
   * @throws BpfError when the kernel refuses the query.
   */
  stats(): ProgramStats {
    const info = Buffer.alloc(INFO_SIZE);
    const len = [INFO_SIZE];
    if (ffi().bpf_obj_get_info_by_fd(this.fd, info, len) !== 0) {
      const e = errno();
      throw new BpfError(`get info of program ${this.name}`, e, errnoName(e));
    }
    return {
      verifiedInstructions: len[0]! >= VERIFIED_INSNS + 4 ? info.readUInt32LE(VERIFIED_INSNS) : undefined,
      xlatedBytes: info.readUInt32LE(XLATED_LEN),
      jitedBytes: info.readUInt32LE(JITED_LEN),
    };
  }

  /** Frees the test-run buffers (the program itself is unloaded with its object). */
  close(): void {
    this.runner?.close();
    this.runner = undefined;
  }
}
