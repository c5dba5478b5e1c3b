// Reading what programs write into BPF ring buffers (BPF_MAP_TYPE_RINGBUF), with libbpf's own
// consumer: ring_buffer__consume walks the records the kernel committed, skips discarded ones and
// moves the consumer position, calling back once per record. The callback is one for the
// process (koffi registers it once); it copies each record into the list of the drain that is
// running, since the record's memory is the kernel's again once the callback returns.
import { BpfError, XdpspecError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import type { Btf } from './btf.js';
import { Codec } from './codec.js';
import { errno, ffi, koffi, processWide, readNative, type Ptr } from './ffi.js';

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
    if (type !== undefined) {
      const t = btf?.findNamed(type);
      if (!t)
        throw new XdpspecError(
          'RING_BUFFER',
          `${type} is not in the BTF of ${where}, so records of ring buffer ${name} cannot be read as it: BTF keeps the types a program's globals, maps and functions use, not those of its locals only; declare one (e.g. "${/^(struct|union)\s/.test(type) ? type : `struct ${type}`} *unused_${name}_record __attribute__((unused));" at file scope) or drain the raw bytes`,
        );
      this.codec = new Codec(btf, t.id, btf!.sizeOf(t.id), `record of ring buffer ${name}`);
    }
    const cb = callback();
    const rb = ffi().ring_buffer__new(fd, cb, null, null);
    if (rb === 0n) {
      const e = errno();
      throw new BpfError(`open ring buffer ${name} of ${where}`, e, errnoName(e));
    }
    this.rb = rb;
  }

  /**
   * The records committed since the last drain, oldest first: Buffers, or values of the type
   * named at `ringBuffer(name, { type })` (a record shorter than the type is an error naming it).
   * @throws XdpspecError `OBJECT_CLOSED` once its object is closed.
   */
  drain(): unknown[] {
    if (this.rb === 0n)
      throw new XdpspecError('OBJECT_CLOSED', `ring buffer ${this.name}: its object is closed; open the object again`);
    const records: Buffer[] = [];
    const outer = state.sink;
    state.sink = records;
    let n: number;
    try {
      n = ffi().ring_buffer__consume(this.rb);
    } finally {
      state.sink = outer;
    }
    if (n < 0) throw new BpfError(`read ring buffer ${this.name}`, -n, errnoName(-n));
    const codec = this.codec;
    if (!codec) return records;
    return records.map((r, i) => {
      if (r.length < codec.size)
        throw new XdpspecError(
          'RING_BUFFER',
          `record ${i} of ring buffer ${this.name} has ${r.length} bytes, fewer than the ${codec.size} of its type:\n${codec.layout}`,
        );
      return codec.decode(r.subarray(0, codec.size));
    });
  }

  /** @internal Lets go of libbpf's consumer (its object closes it). */
  close(): void {
    if (this.rb === 0n) return;
    ffi().ring_buffer__free(this.rb);
    this.rb = 0n;
  }
}
