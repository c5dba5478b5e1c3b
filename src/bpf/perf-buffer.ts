// Reading what programs write into perf event arrays (bpf_perf_event_output), with libbpf's
// perf buffer: perf_buffer__new opens a perf event and its mapped buffer on every CPU and puts
// each in the array, and perf_buffer__consume reads every CPU's buffer, calling back once per
// record (and once per count of records the kernel had no room for). As for ring buffers, the
// callbacks are registered once for the process and copy into the drain that is running.
import { XdpspecError } from '../sys/errors.js';
import { PAGE } from '../sys/libc.js';
import type { Btf } from './btf.js';
import type { Codec } from './codec.js';
import { ffi, koffi, processWide, readNative, type Ptr } from './ffi.js';
import { consumeInto, decodeRecord, opened, recordCodec } from './event-records.js';

/** One record of a perf event array: the CPU whose buffer held it, and its bytes. */
export interface PerfRecord {
  readonly cpu: number;
  /**
   * The record as the program wrote it: for `bpf_perf_event_output` from XDP or TC with a
   * sample size in the flags' upper half, its data then that many bytes of the frame; the
   * kernel pads it to a multiple of 8 bytes (less 4).
   */
  readonly data: Buffer;
  /** Its first bytes decoded as the type named at `perfBuffer(name, { type })`. */
  readonly value?: unknown;
}

interface Sink {
  records: { cpu: number; data: Buffer }[];
  lost: number;
  /** Bytes each CPU's records took in its buffer. */
  used: Map<number, number>;
  /** The most bytes one record took. */
  largest: number;
}

/** What the kernel puts before a sample's data: perf_event_header, then the size word. */
const SAMPLE_OVERHEAD = 8 + 4;

const state = processWide<{ sample: unknown; lost: unknown; sink: Sink | undefined }>('perf-buffers', () => ({
  sample: undefined,
  lost: undefined,
  sink: undefined,
}));

function callbacks(): { sample: unknown; lost: unknown } {
  if (state.sample === undefined) {
    const f = ffi();
    state.sample = koffi.register((_ctx: unknown, cpu: number, data: bigint | number, size: number) => {
      const sink = state.sink;
      if (!sink) return;
      sink.records.push({ cpu, data: readNative(BigInt(data), size) });
      const took = (SAMPLE_OVERHEAD + size + 7) & ~7; // 8-aligned in the buffer
      sink.used.set(cpu, (sink.used.get(cpu) ?? 0) + took);
      sink.largest = Math.max(sink.largest, took);
    }, koffi.pointer(f.PerfSampleFn));
    state.lost = koffi.register((_ctx: unknown, _cpu: number, count: bigint | number) => {
      if (state.sink) state.sink.lost += Number(count);
    }, koffi.pointer(f.PerfLostFn));
  }
  return { sample: state.sample, lost: state.lost };
}

/** Pages of each CPU's buffer by default (a power of two, as the kernel wants). */
const PAGES = 16;

/**
 * A perf event array of a loaded object, read from the process: `drain()` gives the records
 * the programs wrote since the last drain, CPU by CPU (each CPU's oldest first; the kernel
 * keeps no order across CPUs). Opened once per map by `LoadedObject.perfBuffer`, closed with
 * its object.
 */
export class PerfBuffer {
  private pb: Ptr;
  private readonly codec: Codec | undefined;

  /** @internal */
  constructor(
    readonly name: string,
    fd: number,
    btf: Btf | undefined,
    type: string | undefined,
    where: string,
    private readonly pages = PAGES,
  ) {
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0)
      throw new XdpspecError(
        'EVENT_BUFFER',
        `perf buffer ${name}: pages must be a power of two (the kernel maps each CPU's buffer so), got ${String(pages)}`,
      );
    this.codec = type === undefined ? undefined : recordCodec(btf, type, `perf event array ${name}`, name, where);
    const { sample, lost } = callbacks();
    this.pb = opened(ffi().perf_buffer__new(fd, pages, sample, lost, null, null), `perf buffer ${name} of ${where}`);
  }

  /**
   * The records written since the last drain.
   * @throws XdpspecError `EVENT_BUFFER` when the kernel lost records (a CPU's buffer was full:
   *   drain more often, or open it with more pages), or a record is shorter than its type;
   *   `OBJECT_CLOSED` once its object is closed.
   */
  drain(): PerfRecord[] {
    const sink = this.consume();
    if (sink.lost > 0)
      throw new XdpspecError(
        'EVENT_BUFFER',
        `perf buffer ${this.name}: the kernel lost ${sink.lost} record(s), its buffer on a CPU being full (${sink.records.length} read); drain more often, or open it with more pages (perfBuffer(name, { pages }))`,
      );
    // The kernel counts what it drops from a full buffer, but writes the count only with a
    // record it has room for after a reader made some: a buffer that filled up may have lost
    // records it cannot say yet. Full means less room left than the largest record read needs.
    const capacity = this.pages * PAGE;
    for (const [cpu, used] of sink.used)
      if (capacity - used < sink.largest)
        throw new XdpspecError(
          'EVENT_BUFFER',
          `perf buffer ${this.name}: its buffer on CPU ${cpu} filled up (${used} of ${capacity} bytes, ${sink.records.length} record(s) read), so the kernel may have lost records after these, which it reports only with its next one; drain more often, or open it with more pages (perfBuffer(name, { pages }))`,
        );
    const codec = this.codec;
    if (!codec) return sink.records;
    return sink.records.map((r, i) => ({ ...r, value: decodeRecord(codec, r.data, i, `perf buffer ${this.name}`) }));
  }

  /** @internal Reads every record there is and forgets them, and that any were lost (a reset between cases). */
  discard(): void {
    this.consume();
  }

  private consume(): Sink {
    if (this.pb === 0n)
      throw new XdpspecError('OBJECT_CLOSED', `perf buffer ${this.name}: its object is closed; open the object again`);
    const pb = this.pb;
    const sink: Sink = { records: [], lost: 0, used: new Map(), largest: 0 };
    return consumeInto(state, sink, () => ffi().perf_buffer__consume(pb), `perf buffer ${this.name}`);
  }

  /** @internal Closes its perf events (its object closes it). */
  close(): void {
    if (this.pb === 0n) return;
    ffi().perf_buffer__free(this.pb);
    this.pb = 0n;
  }
}
