import { rmSync } from 'node:fs';
import { BpfError, NotFoundError, XdpspecError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import { Codec } from './codec.js';
import type { BlockCounters } from './counters.js';
import { errno, ffi, koffi, type Ptr } from './ffi.js';
import { mapShared, unmap, type Mapping } from '../sys/libc.js';
import { findGlobal, globalNames, isInternal, list, type Handles } from './handles.js';
import { DEVICE_MAPS, MAP_TYPE, MAP_TYPES, STATE_MAPS } from './kinds.js';
import { indentLog, withLibbpfLog } from './libbpf-log.js';
import { BpfMap, type MapInfo } from './map.js';
import type { ProgramInfo } from './object.js';
import { Program } from './program.js';
import { PerfBuffer } from './perf-buffer.js';
import { RingBuffer } from './ring-buffer.js';

/** A loaded object: its programs (with test run) and maps. `close()` unloads everything. */
export class LoadedObject {
  private closed = false;
  private readonly progCache = new Map<string, Program>();
  private readonly mapCache = new Map<string, BpfMap>();
  private readonly sectionMaps = new Map<string, BpfMap>();
  /** Attachments of this object's programs, detached before the programs are unloaded. */
  readonly attachments = new Set<{ detach(): void }>();
  /** Arrays mapped into memory by their maps (BpfMap.memory), by descriptor. */
  private readonly mappings = new Map<number, { mapping: Mapping; view: Buffer }>();

  constructor(
    readonly path: string,
    private readonly obj: Ptr,
    private readonly h: Handles,
    /** Block counters of the programs that have them, by program name. */
    private readonly counted: ReadonlyMap<string, BlockCounters> = new Map(),
  ) {}

  get programs(): readonly ProgramInfo[] {
    return this.h.progs.map((p) => p.info);
  }

  get maps(): readonly MapInfo[] {
    return this.h.maps.filter((m) => !isInternal(m.info.name)).map((m) => m.info);
  }

  /** The program called `name`; with no name, the only program of the object. */
  program(name?: string): Program {
    this.check();
    const names = this.h.progs.map((p) => p.info.name);
    if (name === undefined) {
      if (this.h.progs.length === 0)
        throw new XdpspecError(
          'NO_PROGRAMS',
          `${this.path} has no programs, only maps or data; a program is a function in a section such as SEC("xdp") or SEC("tc"): check the source, or name the object that has it`,
        );
      if (this.h.progs.length !== 1)
        throw new XdpspecError(
          'PROGRAM_AMBIGUOUS',
          `${this.path} has ${this.h.progs.length} programs (${names.join(', ')}); name one`,
        );
      name = names[0]!;
    }
    let p = this.progCache.get(name);
    if (!p) {
      const h = this.h.progs.find((x) => x.info.name === name);
      if (!h) throw new NotFoundError('program', name, names, this.path);
      p = new Program(h.info, h.typeId, ffi().bpf_program__fd(h.ptr), h.ptr, this, h.calls, this.counted.get(name));
      this.progCache.set(name, p);
    }
    return p;
  }

  /** libbpf's handle of the map called `name` (or of the globals section ending in it). */
  private mapHandle(name: string): Handles['maps'][number] {
    const h =
      this.h.maps.find((x) => x.info.name === name) ??
      this.h.maps.find((x) => isInternal(x.info.name) && x.info.name.endsWith(name));
    if (!h)
      throw new NotFoundError(
        'map',
        name,
        this.maps.map((x) => x.name),
        this.path,
      );
    return h;
  }

  /** The map called `name` (globals sections too, e.g. `.bss`). */
  map(name: string): BpfMap {
    this.check();
    let m = this.mapCache.get(name);
    if (!m) {
      const h = this.mapHandle(name);
      const f = ffi();
      const i = h.info;
      m = new BpfMap(
        i.name,
        h.typeId,
        f.bpf_map__fd(h.ptr),
        i.keySize,
        i.valueSize,
        i.maxEntries,
        this.h.btf,
        f.bpf_map__btf_key_type_id(h.ptr),
        f.bpf_map__btf_value_type_id(h.ptr),
        false,
        this,
      );
      this.mapCache.set(name, m);
    }
    return m;
  }

  /**
   * The ring buffer map called `name`, to read what programs write into it (see RingBuffer):
   * records as Buffers, or decoded as `type`, a C type of the object's BTF (`'struct event'`).
   * One reader per map, made at the first call and closed with the object.
   * @throws NotFoundError for no such map; XdpspecError `EVENT_BUFFER` for a map of another type,
   *   a type not in the BTF, or a second call with another type.
   */
  ringBuffer(name: string, o: { type?: string } = {}): RingBuffer {
    return this.eventReader(name, MAP_TYPE.ringbuf, o, (fd) => new RingBuffer(name, fd, this.h.btf, o.type, this.path));
  }

  /**
   * The perf event array called `name`, to read what programs write into it with
   * bpf_perf_event_output (see PerfBuffer): each record with its CPU, and decoded as `type` when
   * one is named; `pages` per CPU (a power of two, 16 by default). One reader per map.
   * @throws as ringBuffer does.
   */
  perfBuffer(name: string, o: { type?: string; pages?: number } = {}): PerfBuffer {
    return this.eventReader(
      name,
      MAP_TYPE.perf_event_array,
      o,
      (fd) => new PerfBuffer(name, fd, this.h.btf, o.type, this.path, o.pages),
    );
  }

  /** The reader of map `name` of `mapType` made by `make` at the first call (see ringBuffer). */
  private eventReader<R extends RingBuffer | PerfBuffer>(
    name: string,
    mapType: number,
    o: { type?: string },
    make: (fd: number) => R,
  ): R {
    this.check();
    const known = this.readers.get(name);
    if (known) {
      if (known.type !== o.type || known.mapType !== mapType)
        throw new XdpspecError(
          'EVENT_BUFFER',
          `${name} is already read ${known.type ? `as ${known.type}` : 'as raw bytes'}; one reader takes each record once, so ask for it the same way`,
        );
      return known.reader as R;
    }
    const h = this.mapHandle(name);
    if (h.typeId !== mapType) {
      const what = (t: number) => {
        if (t === MAP_TYPE.ringbuf) return 'a ring buffer';
        if (t === MAP_TYPE.perf_event_array) return 'a perf event array';
        const kind = MAP_TYPES[t] ?? `type ${t}`;
        return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} map`;
      };
      const use =
        h.typeId === MAP_TYPE.ringbuf
          ? `ringBuffer(${JSON.stringify(name)})`
          : h.typeId === MAP_TYPE.perf_event_array
            ? `perfBuffer(${JSON.stringify(name)})`
            : `map(${JSON.stringify(name)})`;
      throw new XdpspecError(
        'EVENT_BUFFER',
        `${name} of ${this.path} is ${what(h.typeId)}, not ${what(mapType)}; read it with ${use}`,
      );
    }
    const reader = make(ffi().bpf_map__fd(h.ptr));
    this.readers.set(name, { reader, type: o.type, mapType });
    return reader;
  }

  private readonly readers = new Map<
    string,
    { reader: RingBuffer | PerfBuffer; type: string | undefined; mapType: number }
  >();

  /** @internal The ring and perf buffers read so far, which a reset between cases drains. */
  openEventReaders(): (RingBuffer | PerfBuffer)[] {
    return [...this.readers.values()].map((r) => r.reader);
  }

  get globals(): string[] {
    return globalNames(this.h);
  }

  /** The current value of a global variable (the program's view of `.data`, `.bss` and `.rodata`). */
  global(name: string): unknown {
    return this.globalValues([name])[name];
  }

  /**
   * Several globals at once, reading each section they live in once: what a poll of a probe's
   * counters needs, where one lookup per variable would be work done again.
   */
  globalValues<N extends string>(names: readonly N[]): Record<N, unknown> {
    return this.globalsReader(names)();
  }

  /**
   * `globalValues(names)` as a function to call again and again: the variables are found and
   * their codecs made once, so each call is one read per section (of mapped memory where the
   * section is mappable) and the decoding. For probes polled on every frame.
   */
  globalsReader<N extends string>(names: readonly N[]): () => Record<N, unknown> {
    this.check();
    const vars = names.map((name) => {
      const g = findGlobal(this.h, name, this.path);
      return { name, g, codec: new Codec(this.h.btf, g.type, g.size, `global ${name}`, false, name) };
    });
    const sections = [...new Set(vars.map((v) => v.g.section))].map((section) => {
      const map = this.sectionMap(section);
      // libbpf makes .data and .bss memory-mappable where the kernel allows: a read of the live
      // memory then, not a lookup per call (.rodata is frozen and maps only read-only: looked up).
      const live = this.mapped(map.fd, map.valueSize);
      return { section, read: live ? () => live : () => map.get(0) as Buffer };
    });
    return () => {
      this.check();
      const raw = new Map(sections.map(({ section, read }) => [section, read()]));
      const out = {} as Record<N, unknown>;
      for (const { name, g, codec } of vars) {
        out[name] = codec.decode(raw.get(g.section)!.subarray(g.offset, g.offset + g.size));
      }
      return out;
    };
  }

  /**
   * The live bytes of a global of `.data` or `.bss` where libbpf made its section mappable: a
   * view of what the program writes, read without a kernel call. Undefined where it is not.
   */
  globalMemory(name: string): Buffer | undefined {
    this.check();
    const g = findGlobal(this.h, name, this.path);
    if (g.section === '.rodata') return undefined;
    const map = this.sectionMap(g.section);
    return this.mapped(map.fd, map.valueSize)?.subarray(g.offset, g.offset + g.size);
  }

  /**
   * Changes a global of `.data` or `.bss` while loaded (`.rodata` is frozen at load: set it
   * on the opened object).
   */
  setGlobal(name: string, value: unknown): void {
    this.check();
    const g = findGlobal(this.h, name, this.path);
    if (g.section === '.rodata')
      throw new XdpspecError(
        'BPF_GLOBAL',
        `global ${name} is read-only after load (const volatile, in .rodata); set it before load with OpenedObject.setGlobal or the globals option`,
      );
    const m = this.sectionMap(g.section);
    const raw = Buffer.from(m.get(0) as Buffer);
    new Codec(this.h.btf, g.type, g.size, `global ${name}`, false, name).encode(value).copy(raw, g.offset);
    m.set(0, raw);
  }

  /** A global section's array map, as raw bytes (its value type is a whole datasec); made once. */
  private sectionMap(section: string): BpfMap {
    let m = this.sectionMaps.get(section);
    if (!m) {
      m = this.rawMap(this.h.maps.find((x) => x.info.name.endsWith(section))!);
      this.sectionMaps.set(section, m);
    }
    return m;
  }

  /**
   * The maps a program run can change, as raw maps (for snapshots): state-holding types, and
   * not the read-only sections (`.rodata`, `.rodata.cst16`, `.kconfig`), which are frozen.
   */
  stateMaps(): BpfMap[] {
    return this.allMaps()
      .filter((m) => STATE_MAPS.has(m.typeId) && !/\.(rodata|kconfig)/.test(m.map.name))
      .map((m) => m.map);
  }

  /** Every map of the object, globals sections included, as raw maps (for snapshots). */
  allMaps(): { map: BpfMap; typeId: number }[] {
    this.check();
    return this.h.maps.map((h) => ({ typeId: h.typeId, map: this.rawMap(h) }));
  }

  /** A map of the object whose values are raw bytes whatever their type (no BTF codec). */
  private rawMap(h: Handles['maps'][number]): BpfMap {
    const i = h.info;
    return new BpfMap(
      i.name,
      h.typeId,
      ffi().bpf_map__fd(h.ptr),
      i.keySize,
      i.valueSize,
      i.maxEntries,
      undefined,
      0,
      0,
      true,
      this,
    );
  }

  /**
   * A second load of program `name` that shares every map of this object but its device maps,
   * which are its own and empty: the redirect probe reruns frames through it, so a rerun
   * through a devmap entry reaches a device of the rerun's private namespace instead of the
   * real one the entry holds. The caller closes it.
   * @throws what loading throws.
   */
  rerunCopy(name: string): { object: LoadedObject; deviceMaps: { original: BpfMap; copy: BpfMap }[] } {
    this.check();
    const program = this.program(name);
    const f = ffi();
    const obj = f.bpf_object__open_file(this.path, null);
    if (obj === 0n) {
      const e = errno();
      throw new BpfError(`open ${this.path} again for a redirect rerun`, e, errnoName(e));
    }
    const h = list(obj);
    try {
      for (const p of h.progs) {
        if (p.info.name !== name) f.bpf_program__set_autoload(p.ptr, false);
        else if (p.typeId !== program.typeId) {
          f.bpf_program__set_type(p.ptr, program.typeId);
          p.typeId = program.typeId;
        }
      }
      for (const m of h.maps) {
        const mine = this.h.maps.find((x) => x.info.name === m.info.name);
        // Pinning would find the original's pin (or make one): the copy shares by fd instead.
        if (f.bpf_map__pin_path(m.ptr)) f.bpf_map__set_pin_path(m.ptr, null);
        if (!mine || DEVICE_MAPS.has(m.typeId)) continue;
        // libbpf reuses a map only where the definitions agree, flags too (see mappableArrays).
        f.bpf_map__set_map_flags(m.ptr, f.bpf_map__map_flags(mine.ptr));
        if (f.bpf_map__reuse_fd(m.ptr, f.bpf_map__fd(mine.ptr)) !== 0) {
          const e = errno();
          throw new BpfError(`share map ${m.info.name} with a redirect rerun`, e, errnoName(e));
        }
      }
      const { result: rc, log } = withLibbpfLog(() => f.bpf_object__load(obj));
      if (rc !== 0)
        throw new BpfError(
          `load ${this.path} again for a redirect rerun`,
          -rc || errno(),
          `${errnoName(-rc || errno())}${log ? `\n${indentLog(log)}` : ''}`,
        );
    } catch (err) {
      f.bpf_object__close(obj);
      throw err;
    }
    const copy = new LoadedObject(this.path, obj, h);
    const deviceMaps = h.maps
      .filter((m) => DEVICE_MAPS.has(m.typeId))
      .map((m) => ({ original: this.map(m.info.name), copy: copy.map(m.info.name) }));
    return { object: copy, deviceMaps };
  }

  /**
   * A map's values mapped into this process (one mapping per map, undone at close), or
   * undefined when the kernel refuses (the array is not BPF_F_MMAPABLE).
   */
  mapped(fd: number, length: number): Buffer | undefined {
    let m = this.mappings.get(fd);
    if (!m) {
      const mapping = mapShared(fd, length);
      if (!mapping) return undefined;
      m = { mapping, view: Buffer.from(koffi.view(mapping.address, length)) };
      this.mappings.set(fd, m);
    }
    return m.view;
  }

  /** Detaches whatever its programs are attached to, then unloads programs and maps. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.companions) c.close();
    this.companions.clear();
    for (const m of this.mappings.values()) unmap(m.mapping);
    this.mappings.clear();
    for (const r of this.readers.values()) r.reader.close();
    this.readers.clear();
    for (const a of [...this.attachments]) a.detach();
    for (const p of this.progCache.values()) p.close();
    for (const c of this.counted.values()) c.close();
    ffi().bpf_object__close(this.obj);
    // The object pinned them (or found them pinned by an object of this run): its life is theirs.
    for (const pin of this.h.pins) rmSync(pin, { force: true });
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Closes `other` when this object closes: what xdpspec made from it (a redirect rerun's copy)
   * lives no longer than it does.
   */
  closeWith(other: { close(): void }): void {
    this.check();
    this.companions.add(other);
  }

  private readonly companions = new Set<{ close(): void }>();

  /** True once `close()` has run: its programs are unloaded and detached. */
  get isClosed(): boolean {
    return this.closed;
  }

  private check(): void {
    if (this.closed) throw new XdpspecError('OBJECT_CLOSED', `${this.path} is closed`);
  }
}
