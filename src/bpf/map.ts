// A loaded map: lookups, updates, batches, dumps, snapshots. Over 350 lines because BpfMap is one
// class over the kernel's map API, and the batch paths sit beside the single-entry ones they
// fall back to.
import { libc } from '../sys/libc.js';
import { constants } from 'node:os';
import { BpfError, XdpspecError } from '../sys/errors.js';
import type { Btf } from './btf.js';
import { Codec, ValueShapeError } from './codec.js';
import { errno, ffi } from './ffi.js';
import { DEVICE_MAPS, FIXED_MAPS, MAP_TYPE, MAP_TYPES, OUTER_MAPS, PERCPU_MAPS, QUEUE_MAPS } from './kinds.js';
import { deviceMapChanged, recordDeviceWrite } from './device-writes.js';
import { currentNetns } from '../sys/netns.js';
import { ENOTSUPP, errnoName } from '../sys/errno.js';

/** A map's entries captured by `BpfMap.capture()`: `count` keys and values, end to end. */
export interface MapState {
  readonly count: number;
  readonly keys: Buffer;
  readonly values: Buffer;
}

/** Map types with the kernel's batch lookup, update and delete: hash, array, their per-CPU and LRU kinds. */
const BATCH_MAPS = new Set([1, 2, 5, 6, 9, 10]);
/** Entries per batch call. */
const BATCH_CHUNK = 65536;
const BPF_MAP_TYPE_ARRAY = 2;
const BPF_F_MMAPABLE = 1 << 10;

/** What capture() read of a mapped array, in the array's own layout, for putBack to compare with. */
const rawStates = new WeakMap<MapState, Buffer>();

/** An array's keys, 0 to n-1 as u32s end to end, made once per size (what capture() keys are). */
const indexKeyCache = new Map<number, Buffer>();
function indexKeys(n: number): Buffer {
  let k = indexKeyCache.get(n);
  if (!k) {
    k = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) k.writeUInt32LE(i, i * 4);
    indexKeyCache.set(n, k);
  }
  return k;
}

function batchOpts(): Buffer {
  const opts = Buffer.alloc(24); // struct bpf_map_batch_opts: sz, elem_flags (0), flags (0)
  opts.writeBigUInt64LE(24n, 0);
  return opts;
}

function packed(pairs: readonly [Buffer, Buffer][], keySize: number, valueSize: number): MapState {
  const keys = Buffer.alloc(pairs.length * keySize);
  const values = Buffer.alloc(pairs.length * valueSize);
  pairs.forEach(([k, v], i) => {
    k.copy(keys, i * keySize);
    v.copy(values, i * valueSize);
  });
  return { count: pairs.length, keys, values };
}

/**
 * The ranges [from, to) of entries whose values differ between two packed value buffers of equal
 * length, found by halving with memcmp (Buffer.equals): a few changes among many entries cost a
 * few dozen comparisons, not one per entry. Runs shorter than 64 entries are taken whole.
 */
function differingRanges(a: Buffer, b: Buffer, size: number): [number, number][] {
  const out: [number, number][] = [];
  const walk = (from: number, to: number) => {
    if (a.subarray(from * size, to * size).equals(b.subarray(from * size, to * size))) return;
    if (to - from <= 64) {
      const last = out[out.length - 1];
      if (last && last[1] === from) last[1] = to;
      else out.push([from, to]);
      return;
    }
    const mid = (from + to) >> 1;
    walk(from, mid);
    walk(mid, to);
  };
  if (a.length === b.length && size > 0) walk(0, a.length / size);
  return out;
}

function unpacked(s: MapState, keySize: number, valueSize: number): [Buffer, Buffer][] {
  return Array.from({ length: s.count }, (_, i): [Buffer, Buffer] => [
    s.keys.subarray(i * keySize, (i + 1) * keySize),
    s.values.subarray(i * valueSize, (i + 1) * valueSize),
  ]);
}

/** How `set` treats an existing key: `any` (default), only `new` keys, or only `existing` ones. */
export type UpdateMode = 'any' | 'new' | 'existing';
const UPDATE_FLAGS: Record<UpdateMode, bigint> = { any: 0n, new: 1n, existing: 2n };

/** Static facts about a map, known before load. */
export interface MapInfo {
  readonly name: string;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

/**
 * A loaded map. Keys and values are encoded from their BTF types (see `Codec`), or given as
 * Buffers. Per-CPU maps take and return one value per possible CPU; `sum` adds them up.
 */
export class BpfMap implements MapInfo {
  readonly keyCodec: Codec;
  readonly valueCodec: Codec;
  private readonly cpus: number;
  /** Bytes of one CPU's value in a per-CPU map (rounded up to 8, as the kernel lays them out). */
  private readonly stride: number;
  /** Whether the kernel made it with BPF_F_MMAPABLE (asked once). */
  private mappable: boolean | undefined;

  constructor(
    readonly name: string,
    readonly typeId: number,
    private readonly mapFd: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly maxEntries: number,
    btf: Btf | undefined,
    keyType: number,
    valueType: number,
    /** Values as raw bytes whatever their size (the maps behind global sections). */
    rawValues = false,
    /**
     * The object the map belongs to: once it is closed, the map is too. It also maps arrays
     * into memory (once per map, undone when it closes).
     */
    private readonly owner?: {
      readonly isClosed: boolean;
      readonly path: string;
      mapped?(fd: number, length: number): Buffer | undefined;
    },
  ) {
    this.keyCodec = new Codec(btf, keyType, keySize, `key of map ${name}`);
    this.valueCodec = new Codec(btf, valueType, valueSize, `value of map ${name}`, rawValues);
    this.cpus = this.perCpu ? ffi().libbpf_num_possible_cpus() : 1;
    this.stride = this.perCpu ? (valueSize + 7) & ~7 : valueSize;
  }

  /**
   * The map's file descriptor.
   * @throws XdpspecError `OBJECT_CLOSED` once its object is closed: the number may already
   *   belong to another map, which a stale handle would then read or change.
   */
  get fd(): number {
    if (this.owner?.isClosed)
      throw new XdpspecError(
        'OBJECT_CLOSED',
        `map ${this.name} of ${this.owner.path} is closed with its object; load the object again`,
      );
    return this.mapFd;
  }

  /** Before a key or value is encoded, so a closed map says so rather than what is wrong with the key. */
  private checkOpen(): void {
    void this.fd;
  }

  get type(): string {
    return MAP_TYPES[this.typeId] ?? `map type ${this.typeId}`;
  }

  get perCpu(): boolean {
    return PERCPU_MAPS.has(this.typeId);
  }

  /** Maps of maps (array_of_maps, hash_of_maps): their values are maps. */
  get holdsMaps(): boolean {
    return OUTER_MAPS.has(this.typeId);
  }

  /**
   * The value at `key`, or undefined when there is none (per-CPU maps: an array per CPU; maps of
   * maps: `{ id, name }` of the inner map held there, as the kernel reports it).
   */
  get(key: unknown): unknown {
    this.checkOpen();
    this.keyed('get by');
    const k = this.keyCodec.encode(key);
    if (this.holdsMaps) {
      const id = Buffer.alloc(4);
      if (ffi().bpf_map_lookup_elem(this.fd, k, id) !== 0) {
        const e = errno();
        if (e === constants.errno.ENOENT) return undefined;
        this.fail('look up', e);
      }
      return { id: id.readUInt32LE(0), name: mapNameById(id.readUInt32LE(0)) };
    }
    const v = Buffer.alloc(this.stride * this.cpus);
    if (ffi().bpf_map_lookup_elem(this.fd, k, v) !== 0) {
      const e = errno();
      if (e === constants.errno.ENOENT) return undefined;
      this.fail('look up', e);
    }
    if (!this.perCpu) return this.valueCodec.decode(v);
    return Array.from({ length: this.cpus }, (_, i) =>
      this.valueCodec.decode(v.subarray(i * this.stride, i * this.stride + this.valueSize)),
    );
  }

  /** Per-CPU maps: the values of all CPUs added up, field by field (numbers only). */
  sum(key: unknown): unknown {
    this.checkOpen();
    const per = this.get(key);
    if (per === undefined || !this.perCpu) return per;
    return (per as unknown[]).reduce((a, b) => addValues(a, b));
  }

  has(key: unknown): boolean {
    this.checkOpen();
    return this.get(key) !== undefined;
  }

  /** Sets `key` to `value` (per-CPU maps: one value for every CPU, or an array per CPU). */
  set(key: unknown, value: unknown, mode: UpdateMode = 'any'): void {
    this.checkOpen();
    this.keyed('set by');
    this.checkMode(mode);
    const k = this.keyCodec.encode(key);
    let v: Buffer;
    if (this.holdsMaps) {
      if (!(value instanceof BpfMap))
        throw new ValueShapeError(
          `value of map ${this.name}`,
          `got ${value === null ? 'null' : typeof value}; a map of maps holds maps: give one (object.map(name) or createMap(...))`,
          `an inner map${this.innerSpec ? ` of ${this.innerSpec}` : ''}`,
        );
      v = Buffer.alloc(4);
      v.writeUInt32LE(value.fd);
      if (ffi().bpf_map_update_elem(this.fd, k, v, UPDATE_FLAGS[mode]) !== 0) {
        const e = errno();
        if (e === constants.errno.EINVAL || e === constants.errno.EBADF) {
          throw new BpfError(
            `update map ${this.name}`,
            e,
            `${errnoName(e)}: map ${value.name} (${value.describe()}) is not like the inner map ${this.name} was made for${this.innerSpec ? `, ${this.innerSpec}` : ''}: type, key and value sizes and flags must match`,
          );
        }
        this.fail('update', e, key);
      }
      return;
    }
    v = Buffer.alloc(this.stride * this.cpus);
    this.encodeValueInto(value, v, 0);
    if (ffi().bpf_map_update_elem(this.fd, k, v, UPDATE_FLAGS[mode]) !== 0) this.fail('update', errno(), key);
    if (DEVICE_MAPS.has(this.typeId)) recordDeviceWrite(this.id, k, { netns: currentNetns() });
  }

  /**
   * Sets many entries in as few kernel calls as the kernel allows (BPF_MAP_UPDATE_BATCH, falling
   * back to one update per entry for map types without it). Returns how many were written.
   * @throws as `set` does, naming the entry that failed.
   */
  setMany(entries: Iterable<readonly [unknown, unknown]>, mode: UpdateMode = 'any'): number {
    this.checkOpen();
    this.checkMode(mode);
    const list = [...entries];
    if (list.length === 0) return 0;
    // The kernel's batch update takes no BPF_NOEXIST/BPF_EXIST per element: those go one by one.
    if (this.holdsMaps || mode !== 'any') {
      for (const [k, v] of list) this.set(k, v, mode);
      return list.length;
    }
    const vsize = this.stride * this.cpus;
    const keys = Buffer.alloc(list.length * this.keySize);
    const values = Buffer.alloc(list.length * vsize);
    list.forEach(([k, v], i) => {
      this.keyCodec.encodeInto(k, keys, i * this.keySize);
      this.encodeValueInto(v, values, i * vsize);
    });
    const opts = batchOpts();
    const count = [list.length];
    if (ffi().bpf_map_update_batch(this.fd, keys, values, count, opts) === 0) {
      if (DEVICE_MAPS.has(this.typeId)) {
        const id = this.id;
        for (let i = 0; i < list.length; i++)
          recordDeviceWrite(id, keys.subarray(i * this.keySize, (i + 1) * this.keySize), { netns: currentNetns() });
      }
      return list.length;
    }
    const e = errno();
    const done = count[0] ?? 0;
    if (e === constants.errno.EINVAL || e === constants.errno.ENOTSUP || e === ENOTSUPP) {
      // No batch for this map type here, or an entry it refused: one by one from the start
      // (rewriting the ones already in is harmless in 'any' mode) names the culprit.
      for (const [k, v] of list) this.set(k, v, mode);
      return list.length;
    }
    this.fail('update', e, list[done]?.[0]);
  }

  /** Deletes `key`; returns false when it was not there. Array maps cannot delete. */
  delete(key: unknown): boolean {
    this.checkOpen();
    this.keyed('delete by');
    if (FIXED_MAPS.has(this.typeId)) {
      throw new XdpspecError(
        'BPF_MAP_OP',
        `map ${this.name}: an ${this.type} map cannot delete entries (they always exist); set the value to zero instead`,
      );
    }
    if (ffi().bpf_map_delete_elem(this.fd, this.keyCodec.encode(key)) !== 0) {
      const e = errno();
      if (e === constants.errno.ENOENT) return false;
      this.fail('delete from', e);
    }
    this.changedDevices();
    return true;
  }

  /** Every key, in the kernel's iteration order. */
  *keys(): Generator<unknown> {
    this.checkOpen();
    for (const k of this.rawKeys()) yield this.keyCodec.decode(k);
  }

  *entries(): Generator<[unknown, unknown]> {
    this.checkOpen();
    for (const k of this.rawKeys()) {
      const v = this.get(k);
      if (v !== undefined) yield [this.keyCodec.decode(k), v];
    }
  }

  /** Empties the map: deletes every key, zeroes every element of an array map, or pops every value of a queue or stack. */
  clear(): void {
    this.checkOpen();
    this.changedDevices();
    if (QUEUE_MAPS.has(this.typeId)) {
      this.drain();
      return;
    }
    if (FIXED_MAPS.has(this.typeId)) {
      const zero = Buffer.alloc(this.stride * this.cpus);
      for (const k of this.rawKeys()) {
        if (ffi().bpf_map_update_elem(this.fd, k, zero, 0n) !== 0) this.fail('clear', errno());
      }
      return;
    }
    for (const k of [...this.rawKeys()]) ffi().bpf_map_delete_elem(this.fd, k);
  }

  /**
   * Declares fields of the key or value (by member name) that the program keeps in network byte
   * order while typing them `__u16`/`__u32` (`__u16 port` holding `tcp->dest` as is): they read
   * and write as numbers in host order, as `__be16` fields do. Returns the map.
   */
  networkOrder(...fields: string[]): this {
    for (const f of fields) {
      this.keyCodec.network.add(f);
      this.valueCodec.network.add(f);
    }
    return this;
  }

  /** What the map is, for messages: `hash(4, 8) of 1024`. */
  describe(): string {
    return `${this.type}(${this.keySize}, ${this.valueSize}) of ${this.maxEntries}`;
  }

  /** For maps of maps: what their inner maps must be like, when known (createMap). */
  innerSpec: string | undefined;

  /** The kernel's id of this map (tracepoints name maps by id). */
  get id(): number {
    this.checkOpen();
    if (this.kernelId !== undefined) return this.kernelId;
    const info = Buffer.alloc(80);
    const len = [info.length];
    if (ffi().bpf_obj_get_info_by_fd(this.fd, info, len) !== 0) this.fail('get info of', errno());
    this.kernelId = info.readUInt32LE(4); // struct bpf_map_info: type, id, ...; fixed for the map's life
    return this.kernelId;
  }

  private kernelId: number | undefined;

  /** Every entry as raw bytes (all CPUs of per-CPU values), to put back with `restore`. */
  snapshot(): [Buffer, Buffer][] {
    this.checkOpen();
    if (QUEUE_MAPS.has(this.typeId)) return this.queueSnapshot();
    const out: [Buffer, Buffer][] = [];
    const f = ffi();
    for (const k of this.rawKeys()) {
      const v = Buffer.alloc(this.stride * this.cpus);
      if (f.bpf_map_lookup_elem(this.fd, k, v) !== 0) continue;
      // A map of maps reads back inner map ids but is written with fds: the snapshot holds an fd
      // of each inner map (open for as long as the process runs), which restore writes back.
      if (this.holdsMaps) {
        const fd = f.bpf_map_get_fd_by_id(v.readUInt32LE(0));
        if (fd < 0) continue; // the inner map is gone already
        v.writeUInt32LE(fd, 0);
      }
      out.push([k, v]);
    }
    return out;
  }

  /** Makes the map hold exactly what `snapshot` returned. */
  /**
   * The map's entries as they are now, to put back with `putBack`: keys and values end to end in
   * two buffers, read with the kernel's batch lookup (one call per 64k entries) where the map
   * type has it, so a map of half a million entries costs two buffers, not a million objects.
   */
  capture(): MapState {
    this.checkOpen();
    const vsize = this.stride * this.cpus;
    const mem = this.memory();
    if (mem) {
      // The memory as it is, in the array's own layout, is what putBack compares with; the
      // packed values are made only if someone reads them.
      const raw = mem.raw();
      let values: Buffer | undefined;
      const state: MapState = {
        count: this.maxEntries,
        keys: indexKeys(this.maxEntries),
        get values() {
          return (values ??= mem.pack(raw));
        },
      };
      rawStates.set(state, raw);
      return state;
    }
    if (this.holdsMaps || !BATCH_MAPS.has(this.typeId)) return packed(this.snapshot(), this.keySize, vsize);
    const f = ffi();
    const chunk = Math.max(1, Math.min(BATCH_CHUNK, this.maxEntries));
    const keyParts: Buffer[] = [];
    const valueParts: Buffer[] = [];
    let count = 0;
    const tokenSize = Math.max(this.keySize, 8);
    let inBatch: Buffer | null = null;
    const opts = batchOpts();
    for (;;) {
      const outBatch = Buffer.alloc(tokenSize);
      const keys = Buffer.alloc(chunk * this.keySize);
      const values = Buffer.alloc(chunk * vsize);
      const n = [chunk];
      const rc = f.bpf_map_lookup_batch(this.fd, inBatch, outBatch, keys, values, n, opts);
      const e = rc === 0 ? 0 : errno();
      if (rc !== 0 && e !== constants.errno.ENOENT) {
        if (count === 0 && (e === constants.errno.EINVAL || e === constants.errno.ENOTSUP || e === ENOTSUPP))
          return packed(this.snapshot(), this.keySize, vsize); // no batch for it here
        this.fail('read', e);
      }
      const got = n[0] ?? 0;
      keyParts.push(keys.subarray(0, got * this.keySize));
      valueParts.push(values.subarray(0, got * vsize));
      count += got;
      if (e === constants.errno.ENOENT || got === 0) break;
      inBatch = outBatch;
    }
    return { count, keys: Buffer.concat(keyParts), values: Buffer.concat(valueParts) };
  }

  /**
   * Puts the map back as `capture()` found it. The map is read first (batch lookups); where it
   * holds the same keys in the same order (an array always does, a hash map whose keys did not
   * change too), only the entries whose values differ are written, found by halving the values
   * with memcmp, so a case that changed a few entries of a large map costs the read and those
   * few writes. Otherwise every key now there is deleted and the captured entries are written
   * with one batch update. Cost follows the entries present and what changed, never max_entries.
   */
  putBack(state: MapState): void {
    this.checkOpen();
    this.changedDevices();
    const vsize = this.stride * this.cpus;
    if (this.holdsMaps || !BATCH_MAPS.has(this.typeId)) return this.restore(unpacked(state, this.keySize, vsize));
    const mem = this.memory();
    const raw = rawStates.get(state);
    if (mem && raw) return mem.writeRaw(raw);
    if (mem && state.count === this.maxEntries && state.values.length === this.maxEntries * vsize)
      return mem.writeRaw(mem.unpack(state.values));
    const f = ffi();
    const opts = batchOpts();
    const now = this.capture();
    if (now.count === state.count && now.keys.equals(state.keys)) {
      for (const [from, to] of differingRanges(now.values, state.values, vsize)) {
        const n = [to - from];
        const keys = state.keys.subarray(from * this.keySize, to * this.keySize);
        const values = state.values.subarray(from * vsize, to * vsize);
        if (f.bpf_map_update_batch(this.fd, keys, values, n, opts) !== 0) this.fail('restore', errno());
      }
      return;
    }
    if (!FIXED_MAPS.has(this.typeId) && now.count > 0) {
      const n = [now.count];
      if (f.bpf_map_delete_batch(this.fd, now.keys, n, opts) !== 0 && errno() !== constants.errno.ENOENT)
        this.fail('reset', errno());
    }
    if (state.count === 0) return;
    const n = [state.count];
    if (f.bpf_map_update_batch(this.fd, state.keys, state.values, n, opts) !== 0) this.fail('restore', errno());
  }

  restore(snap: readonly [Buffer, Buffer][]): void {
    this.checkOpen();
    this.changedDevices();
    const f = ffi();
    if (QUEUE_MAPS.has(this.typeId)) {
      this.drain();
      for (const [, v] of snap) this.pushRaw(v, 'restore');
      return;
    }
    if (!FIXED_MAPS.has(this.typeId)) {
      const keep = new Set(snap.map(([k]) => k.toString('hex')));
      for (const k of [...this.rawKeys()]) if (!keep.has(k.toString('hex'))) f.bpf_map_delete_elem(this.fd, k);
    }
    for (const [k, v] of snap) if (f.bpf_map_update_elem(this.fd, k, v, 0n) !== 0) this.fail('restore', errno());
  }

  /**
   * A queue's or stack's values, which have no keys to look them up by: each is popped (the
   * kernel's only way to read past the head) and all are pushed back in the order that rebuilds
   * the map as it was, which is also the order the snapshot holds them in, for restore.
   */
  private queueSnapshot(): [Buffer, Buffer][] {
    const popped = this.drain();
    // A queue pops its oldest first, which is the order to push them again; a stack its newest.
    const order = this.typeId === MAP_TYPE.stack ? popped.reverse() : popped;
    for (const v of order) this.pushRaw(v, 'restore');
    return order.map((v) => [Buffer.alloc(0), v]);
  }

  /**
   * Queue and stack maps: pushes `value` (a queue's newest, a stack's top).
   * @throws BpfError E2BIG when the map holds max_entries values already.
   */
  push(value: unknown): void {
    this.checkOpen();
    this.unkeyed('push');
    const v = Buffer.alloc(this.valueSize);
    this.valueCodec.encodeInto(value, v, 0);
    this.pushRaw(v, 'push to');
  }

  /** Queue and stack maps: takes the value a program's bpf_map_pop_elem would (a queue's oldest, a stack's top); undefined when empty. */
  pop(): unknown {
    this.checkOpen();
    this.unkeyed('pop');
    const v = this.popRaw();
    return v && this.valueCodec.decode(v);
  }

  /** Queue and stack maps: the value pop() would take, left in place; undefined when empty. */
  peek(): unknown {
    this.checkOpen();
    this.unkeyed('peek');
    const v = Buffer.alloc(this.valueSize);
    if (ffi().bpf_map_lookup_elem(this.fd, null, v) !== 0) {
      const e = errno();
      if (e === constants.errno.ENOENT) return undefined;
      this.fail('peek at', e);
    }
    return this.valueCodec.decode(v);
  }

  /** A queue's or stack's head, popped as bytes; undefined when it is empty. */
  private popRaw(): Buffer | undefined {
    const v = Buffer.alloc(this.valueSize);
    if (ffi().bpf_map_lookup_and_delete_elem(this.fd, null, v) !== 0) {
      const e = errno();
      if (e === constants.errno.ENOENT) return undefined;
      this.fail('pop from', e);
    }
    return v;
  }

  private pushRaw(v: Buffer, op: string): void {
    if (ffi().bpf_map_update_elem(this.fd, null, v, 0n) !== 0) this.fail(op, errno());
  }

  /** Keys: not for queues and stacks, whose values have none (`op`: what wanted one). */
  private keyed(op: string): void {
    if (QUEUE_MAPS.has(this.typeId))
      throw new XdpspecError(
        'MAP_NO_KEYS',
        `map ${this.name} is a ${this.type}: its values have no keys to ${op}; use push(value), pop() and peek(), or capture() to read them all in order (which leaves them in place)`,
      );
  }

  private unkeyed(op: string): void {
    if (!QUEUE_MAPS.has(this.typeId))
      throw new XdpspecError(
        'BPF_MAP_OP',
        `map ${this.name} is a ${this.type} map: ${op}() is for queue and stack maps; use get, set and delete by key`,
      );
  }

  /** Pops every value of a queue or stack, in the order the kernel gives them. */
  private drain(): Buffer[] {
    const out: Buffer[] = [];
    for (let v = this.popRaw(); v; v = this.popRaw()) out.push(v);
    return out;
  }

  /** Device maps: tells copies of their entries (the redirect probe's) to be made again. */
  private changedDevices(): void {
    if (DEVICE_MAPS.has(this.typeId)) deviceMapChanged(this.id);
  }

  private *rawKeys(): Generator<Buffer> {
    this.keyed('list');
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      if (ffi().bpf_map_get_next_key(this.fd, prev, next) !== 0) {
        const e = errno();
        if (e === constants.errno.ENOENT) return;
        this.fail('iterate', e);
      }
      yield next;
      prev = next;
    }
  }

  /**
   * A memory-mapped array's values (BPF_F_MMAPABLE: each value at a multiple of 8 bytes), read
   * and written as memory; undefined for every other map.
   */
  private memory():
    | {
        /** The values in the array's layout (each at a multiple of 8 bytes), copied. */
        raw(): Buffer;
        pack(raw: Buffer): Buffer;
        unpack(values: Buffer): Buffer;
        /** Makes the memory hold `raw`, writing only the ranges that differ. */
        writeRaw(raw: Buffer): void;
      }
    | undefined {
    if (this.typeId !== BPF_MAP_TYPE_ARRAY || !this.owner?.mapped || this.maxEntries === 0) return undefined;
    if (this.mappable === undefined) {
      const info = Buffer.alloc(80);
      this.mappable =
        ffi().bpf_obj_get_info_by_fd(this.fd, info, [info.length]) === 0 &&
        (info.readUInt32LE(20) & BPF_F_MMAPABLE) !== 0; // struct bpf_map_info: ..., map_flags at 20
    }
    if (!this.mappable) return undefined;
    const elem = (this.valueSize + 7) & ~7;
    const view = this.owner.mapped(this.fd, this.maxEntries * elem);
    if (!view) return undefined;
    const n = this.maxEntries;
    const size = this.valueSize;
    return {
      raw: () => Buffer.from(view.subarray(0, n * elem)),
      pack: (raw) => {
        if (elem === size) return raw;
        const out = Buffer.alloc(n * size);
        for (let i = 0; i < n; i++) raw.copy(out, i * size, i * elem, i * elem + size);
        return out;
      },
      unpack: (values) => {
        if (elem === size) return values;
        const raw = Buffer.from(view.subarray(0, n * elem)); // the padding as it is
        for (let i = 0; i < n; i++) values.copy(raw, i * elem, i * size, (i + 1) * size);
        return raw;
      },
      writeRaw: (raw) => {
        for (const [from, to] of differingRanges(view.subarray(0, n * elem), raw, elem))
          raw.copy(view, from * elem, from * elem, to * elem);
      },
    };
  }

  /** undefined would reach the kernel as flags 0 (or a BigInt of nothing): a typo must not pass. */
  private checkMode(mode: UpdateMode): void {
    if (!Object.hasOwn(UPDATE_FLAGS, mode))
      throw new XdpspecError(
        'MAP_UPDATE_MODE',
        `map ${this.name}: update mode ${JSON.stringify(mode)} is not one of ${Object.keys(UPDATE_FLAGS)
          .map((m) => `'${m}'`)
          .join(', ')}`,
      );
  }

  /**
   * A value as the kernel takes it, at `at` in `into`: per-CPU maps one slot per CPU (of an
   * array given per CPU, or the one value in every slot), each `stride` bytes apart.
   */
  private encodeValueInto(value: unknown, into: Buffer, at: number): void {
    if (!this.perCpu) return void this.valueCodec.encodeInto(value, into, at);
    const per: unknown[] =
      Array.isArray(value) && value.length === this.cpus && !this.isArrayValue() ? value : Array(this.cpus).fill(value);
    per.forEach((x, c) => this.valueCodec.encodeInto(x, into, at + c * this.stride));
  }

  private isArrayValue(): boolean {
    return this.valueCodec.layout.includes('[');
  }

  private fail(op: string, e: number, key?: unknown): never {
    // Arrays (and the device and CPU maps built on them) are indexed: E2BIG there is an index past the end.
    const indexed = /(^|_)array$|^devmap$|^cpumap$|^xskmap$/.test(this.type);
    const hint =
      e === constants.errno.E2BIG
        ? indexed
          ? ` (key ${String(key)} is past the last index: ${this.type} keys run from 0 to ${this.maxEntries - 1}, max_entries ${this.maxEntries})`
          : ` (the map is full: max_entries ${this.maxEntries})`
        : e === constants.errno.EEXIST
          ? ' (the key exists)'
          : '';
    throw new BpfError(`${op} map ${this.name}`, e, `${errnoName(e)}${hint}`);
  }
}

function addValues(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'bigint' || typeof b === 'bigint') return BigInt(a as number) + BigInt(b as number);
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => addValues(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(a))
      o[k] = addValues((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
    return o;
  }
  return a;
}

/** The kernel's name of the map with this id, or undefined when it is gone or unreadable. */
function mapNameById(id: number): string | undefined {
  const f = ffi();
  const fd = f.bpf_map_get_fd_by_id(id);
  if (fd < 0) return undefined;
  try {
    const info = Buffer.alloc(80);
    if (f.bpf_obj_get_info_by_fd(fd, info, [info.length]) !== 0) return undefined;
    const name = info.subarray(24, 40); // struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags, name[16]
    return name.toString('utf8', 0, name.indexOf(0) < 0 ? 16 : name.indexOf(0));
  } finally {
    libc().close(fd);
  }
}
