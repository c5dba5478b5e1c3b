// What ring buffers and perf buffers share: records decoded by a type of the object's BTF, and
// the callback's list for the one drain running (libbpf calls back inside its consume call).
import { BpfError, XdpspecError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import type { Btf } from './btf.js';
import { Codec } from './codec.js';
import { errno, type Ptr } from './ffi.js';

/**
 * The codec of records of `type`, a C type of the object's BTF, for the records of `what`.
 * @throws XdpspecError `EVENT_BUFFER` when the BTF has no such type (it says how to keep one there).
 */
export function recordCodec(btf: Btf | undefined, type: string, what: string, name: string, where: string): Codec {
  const t = btf?.findNamed(type);
  if (!t)
    throw new XdpspecError(
      'EVENT_BUFFER',
      `${type} is not in the BTF of ${where}, so records of ${what} cannot be read as it: BTF keeps the types a program's globals, maps and functions use, not those of its locals only; declare one (e.g. "${/^(struct|union)\s/.test(type) ? type : `struct ${type}`} *unused_${name}_record __attribute__((unused));" at file scope) or drain the raw bytes`,
    );
  return new Codec(btf, t.id, btf!.sizeOf(t.id), `record of ${what}`);
}

/** Record `index` of `what` decoded by `codec` from its first bytes; one shorter than the type is an error. */
export function decodeRecord(codec: Codec, data: Buffer, index: number, what: string): unknown {
  if (data.length < codec.size)
    throw new XdpspecError(
      'EVENT_BUFFER',
      `record ${index} of ${what} has ${data.length} bytes, fewer than the ${codec.size} of its type:\n${codec.layout}`,
    );
  return codec.decode(data.subarray(0, codec.size));
}

/**
 * Runs libbpf's consume call `consume` with `sink` as the callbacks' target (the one before it
 * put back after, should a drain run inside another's); a negative result is an errno.
 */
export function consumeInto<S>(holder: { sink: S | undefined }, sink: S, consume: () => number, what: string): S {
  const outer = holder.sink;
  holder.sink = sink;
  let n: number;
  try {
    n = consume();
  } finally {
    holder.sink = outer;
  }
  if (n < 0) throw new BpfError(`read ${what}`, -n, errnoName(-n));
  return sink;
}

/** A reader libbpf made (`ring_buffer__new`, `perf_buffer__new`), or the error it left in errno. */
export function opened(reader: Ptr, what: string): Ptr {
  if (reader !== 0n) return reader;
  const e = errno();
  throw new BpfError(`open ${what}`, e, errnoName(e));
}
