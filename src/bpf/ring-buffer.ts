// Reading what programs write into BPF ring buffers (BPF_MAP_TYPE_RINGBUF), with libbpf's own
// consumer: ring_buffer__consume walks the records the kernel committed, skips discarded ones and
// moves the consumer position, calling back once per record. The callback is one for the
// process (koffi registers it once); it copies each record into the list of the drain that is
// running, since the record's memory is the kernel's again once the callback returns.
import { XdpspecError } from '../sys/errors.js';
import type { Btf } from './btf.js';
import type { Codec } from './codec.js';
import { consumeInto, decodeRecord, opened, recordCodec } from './event-records.js';
import { ffi, koffi, processWide, readNative, type Ptr } from './ffi.js';

const state = processWide<{ callback: unknown; sink: Buffer[] | undefined }>('ring-buffers', () => ({
  callback: undefined,
  /** The records of the drain running now. */
  sink: undefined,
}));

function callback(): unknown {
  if (state.callback === undefined)
    state.callback = koffi.register((_ctx: unknown, data: bigint | number, size: number | bigint) => {
      state.sink?.push(readNative(BigInt(data), Number(size)));
      return 0;
    }, koffi.pointer(ffi().SampleFn));
  return state.callback;
}

/**
 * A ring buffer of a loaded object, read from the process: `drain()` gives the records the
 * programs committed since the last drain (or since it was opened), oldest first, as Buffers,
 * or decoded as a C type of the object's BTF when one was named. Opened once per map by
 * `LoadedObject.ringBuffer`, closed with its object.
 */
export class RingBuffer {
  private rb: Ptr;
  private readonly codec: Codec | undefined;

  /** @internal */
  constructor(
    readonly name: string,
    fd: number,
    btf: Btf | undefined,
    type: string | undefined,
    where: string,
  ) {
    this.codec = type === undefined ? undefined : recordCodec(btf, type, `ring buffer ${name}`, name, where);
    this.rb = opened(ffi().ring_buffer__new(fd, callback(), null, null), `ring buffer ${name} of ${where}`);
  }

  /**
   * The records committed since the last drain, oldest first: Buffers, or values of the type
   * named at `ringBuffer(name, { type })` (a record shorter than the type is an error naming it).
   * @throws XdpspecError `OBJECT_CLOSED` once its object is closed.
   */
  drain(): unknown[] {
    const records = this.drainRaw();
    const codec = this.codec;
    if (!codec) return records;
    return records.map((r, i) => decodeRecord(codec, r, i, `ring buffer ${this.name}`));
  }

  private drainRaw(): Buffer[] {
    if (this.rb === 0n)
      throw new XdpspecError('OBJECT_CLOSED', `ring buffer ${this.name}: its object is closed; open the object again`);
    const rb = this.rb;
    return consumeInto(state, [], () => ffi().ring_buffer__consume(rb), `ring buffer ${this.name}`);
  }

  /** @internal Reads every record there is and forgets them (a reset between cases). */
  discard(): void {
    this.drainRaw();
  }

  /** @internal Lets go of libbpf's consumer (its object closes it). */
  close(): void {
    if (this.rb === 0n) return;
    ffi().ring_buffer__free(this.rb);
    this.rb = 0n;
  }
}
