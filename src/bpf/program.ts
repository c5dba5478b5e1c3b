import type { LoadedObject, ProgramInfo } from './object.js';
import { returnCodeName } from './kinds.js';
import type { Ptr } from './ffi.js';
import { TestRunner, type RawRun, type TestRunOptions } from './testrun.js';

/** One run of a program on one frame: the return code by name, and the output bytes. */
export interface ProgramRun extends RawRun {
  /** `XDP_PASS`, `XDP_DROP`, ... or `TC_ACT_OK`, `TC_ACT_SHOT`, ... */
  readonly action: string;
}

/** A loaded program. */
export class Program implements ProgramInfo {
  private runner: TestRunner | undefined;

  constructor(
    readonly info: ProgramInfo,
    readonly typeId: number,
    readonly fd: number,
    /** libbpf's `struct bpf_program *`, for attach calls inside xdpspec. */
    readonly handle: Ptr,
    /** The object it was loaded with (its maps are the program's state). */
    readonly object: LoadedObject,
  ) {}

  get name(): string {
    return this.info.name;
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
    this.runner ??= new TestRunner(this.fd, this.typeId, this.name);
    const r = this.runner.run(frame, options);
    return { retval: r.retval, output: r.output, durationNs: r.durationNs, action: returnCodeName(this.typeId, r.retval) };
  }

  /** Runs the program on each frame in turn (one kernel call per frame, state carried over). */
  testRunMany(frames: readonly Uint8Array[], options?: TestRunOptions): ProgramRun[] {
    this.runner ??= new TestRunner(this.fd, this.typeId, this.name);
    return this.runner.runMany(frames, options).map((r) => ({ retval: r.retval, output: r.output, durationNs: r.durationNs, action: returnCodeName(this.typeId, r.retval) }));
  }

  /** Frees the test-run buffers (the program itself is unloaded with its object). */
  close(): void {
    this.runner?.close();
    this.runner = undefined;
  }
}
