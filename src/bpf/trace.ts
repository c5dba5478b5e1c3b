import { BpfError } from '../sys/errors.js';
import { errno, ffi, type Ptr } from './ffi.js';
import { errnoName } from '../sys/errno.js';
import type { Program } from './program.js';

/**
 * A program of xdpspec's probes attached to one of the kernel's raw tracepoints. A BPF link, so it goes with this
 * process's file descriptors whatever happens; `close()` takes it off at once (once).
 */
export class TraceLink {
  private link: Ptr | undefined;

  private constructor(
    link: Ptr,
    readonly description: string,
  ) {
    this.link = link;
  }

  /** Attaches `program` (SEC("raw_tp/...")) to the kernel's raw tracepoint `tracepoint`. */
  static rawTracepoint(program: Program, tracepoint: string): TraceLink {
    const link = ffi().bpf_program__attach_raw_tracepoint(program.handle, tracepoint);
    if (link === 0n)
      throw new BpfError(`attach ${program.name} to raw tracepoint ${tracepoint}`, errno(), errnoName(errno()));
    return new TraceLink(link, `${program.name} on raw tracepoint ${tracepoint}`);
  }

  get isClosed(): boolean {
    return this.link === undefined;
  }

  close(): void {
    if (this.link === undefined) return;
    ffi().bpf_link__destroy(this.link);
    this.link = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Closes every link given, even when one of them throws; rethrows the first error. */
export function closeAll(links: Iterable<{ close(): void }>): void {
  let first: Error | undefined;
  for (const l of links) {
    try {
      l.close();
    } catch (err) {
      first ??= err instanceof Error ? err : new Error(String(err));
    }
  }
  if (first !== undefined) throw first;
}
