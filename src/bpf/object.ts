import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { privatePinRoot } from '../sys/bpffs.js';
import { regularFile } from '../sys/files.js';
import { constants } from 'node:os';
import { BpfError, NotFoundError, VerifierError, XdpspecError } from '../sys/errors.js';
import { Btf } from './btf.js';
import { Codec } from './codec.js';
import { errno, ffi, readNative, type Ptr } from './ffi.js';
import { DEVICE_MAPS, MAP_TYPES, PROG_TYPES, STATE_MAPS } from './kinds.js';
import { verifierLog, withLibbpfLog } from './libbpf-log.js';
import { BpfMap, type MapInfo } from './map.js';
import { errnoName } from '../sys/errno.js';
import { requirePrivileges } from '../sys/privileges.js';
import { Program } from './program.js';

/** Static facts about a program, known before load. */
export interface ProgramInfo {
  readonly name: string;
  readonly section: string;
  /** `xdp`, `sched_cls`, `raw_tracepoint`, ... */
  readonly type: string;
}

/** Program types xdpspec runs, as `setProgramType` and `loadObject`'s `programType` take them. */
export type ProgramTypeName = 'xdp' | 'tc';
const PROGRAM_TYPE_IDS: Record<string, number> = { xdp: 6, tc: 3 };

/** What loadObject can do between open and load besides globals. */
export interface LoadOptions {
  /** The type of programs whose section name does not say it (see `OpenedObject.setProgramType`). */
  readonly programType?: ProgramTypeName;
}

interface Handles {
  progs: { ptr: Ptr; info: ProgramInfo; typeId: number; usesMeta: boolean }[];
  maps: { ptr: Ptr; info: MapInfo; typeId: number }[];
  btf: Btf | undefined;
  /** Where maps pinned by name go: this run's private bpffs (see sys/bpffs.ts). */
  pins: string[];
}

/**
 * Maps declared with `pinning = LIBBPF_PIN_BY_NAME` get a pin path from libbpf at open (the
 * host's /sys/fs/bpf); they are moved into the run's private bpffs before load, so no state
 * crosses from one run (or one object's life) to the next, nor between runs side by side.
 */
function privatePins(maps: Handles['maps']): string[] {
  const f = ffi();
  const pins: string[] = [];
  for (const m of maps) {
    if (!f.bpf_map__pin_path(m.ptr)) continue;
    const path = `${privatePinRoot()}/${m.info.name}`;
    if (f.bpf_map__set_pin_path(m.ptr, path) !== 0) {
      const e = errno();
      throw new BpfError(`pin map ${m.info.name} at ${path}`, e, errnoName(e));
    }
    pins.push(path);
  }
  return pins;
}

const BPF_CALL = 0x85;
const BPF_FUNC_XDP_ADJUST_META = 54;
const BPF_PSEUDO_CALL = 1;

/**
 * Whether a program may put metadata in front of its frame: it calls bpf_xdp_adjust_meta, or a
 * subprogram (whose code is not in its own instructions before load), conservatively. Test runs
 * of such programs pass an xdp_md, whose ctx_out says where the frame starts in the output.
 */
function mayUseMetadata(prog: Ptr): boolean {
  const f = ffi();
  const n = Number(f.bpf_program__insn_cnt(prog));
  const at = f.bpf_program__insns(prog);
  if (at === 0n || n === 0) return true;
  const insns = readNative(at, n * 8);
  for (let i = 0; i < n; i++) {
    if (insns[i * 8] !== BPF_CALL) continue;
    const src = insns[i * 8 + 1]! >> 4;
    if (src === BPF_PSEUDO_CALL || (src === 0 && insns.readInt32LE(i * 8 + 4) === BPF_FUNC_XDP_ADJUST_META))
      return true;
  }
  return false;
}

function list(obj: Ptr): Handles {
  const f = ffi();
  const progs: Handles['progs'] = [];
  for (let p = f.bpf_object__next_program(obj, 0n); p !== 0n; p = f.bpf_object__next_program(obj, p)) {
    const typeId = f.bpf_program__type(p);
    progs.push({
      ptr: p,
      typeId,
      usesMeta: mayUseMetadata(p),
      info: {
        name: f.bpf_program__name(p),
        section: f.bpf_program__section_name(p),
        type: PROG_TYPES[typeId] ?? `type ${typeId}`,
      },
    });
  }
  const maps: Handles['maps'] = [];
  for (let m = f.bpf_object__next_map(obj, 0n); m !== 0n; m = f.bpf_object__next_map(obj, m)) {
    const typeId = f.bpf_map__type(m);
    maps.push({
      ptr: m,
      typeId,
      info: {
        name: f.bpf_map__name(m),
        type: MAP_TYPES[typeId] ?? `type ${typeId}`,
        keySize: f.bpf_map__key_size(m),
        valueSize: f.bpf_map__value_size(m),
        maxEntries: f.bpf_map__max_entries(m),
      },
    });
  }
  let btf: Btf | undefined;
  const b = f.bpf_object__btf(obj);
  if (b !== 0n) {
    const size = [0];
    const raw = f.btf__raw_data(b, size);
    if (raw !== 0n) btf = new Btf(readNative(raw, size[0]!));
  }
  return { progs, maps, btf, pins: [] };
}

const GLOBAL_SECTIONS = ['.rodata', '.data', '.bss'];

interface GlobalVar {
  map: Ptr;
  section: string;
  type: number;
  offset: number;
  size: number;
}

function globalNames(h: Handles): string[] {
  const btf = h.btf;
  if (!btf) return [];
  return GLOBAL_SECTIONS.flatMap((s) => {
    const sec = btf.findDatasec(s);
    return sec ? btf.varNames(sec.id) : [];
  });
}

function findGlobal(h: Handles, name: string, where: string): GlobalVar {
  const btf = h.btf;
  for (const section of GLOBAL_SECTIONS) {
    const sec = btf?.findDatasec(section);
    const v = sec ? btf!.findVar(sec.id, name) : undefined;
    const map = h.maps.find((m) => m.info.name.endsWith(section));
    if (v && map) return { map: map.ptr, section, ...v };
  }
  throw new NotFoundError('global', name, globalNames(h), where);
}

/**
 * A BPF object file opened but not loaded: programs and maps can be listed, globals set.
 * `load()` turns it into a `LoadedObject`; the two steps mirror libbpf's.
 */
export class OpenedObject {
  private closed = false;
  private constructor(
    readonly path: string,
    private readonly obj: Ptr,
    private readonly h: Handles,
  ) {}

  /**
   * Opens an object file (`clang -target bpf` output).
   * @throws XdpspecError `OBJECT_MISSING`, `FILE_NOT_REGULAR`, `OBJECT_NOT_ELF`, `OBJECT_NOT_BPF`;
   *   BpfError when libbpf cannot parse it.
   */
  static open(path: string): OpenedObject {
    checkElf(path);
    const { result: obj, log } = withLibbpfLog(() => ffi().bpf_object__open_file(path, null));
    if (obj === 0n) {
      const e = errno();
      throw new BpfError(`open BPF object ${path}`, e, `${errnoName(e)}${log ? `\n${indent(log)}` : ''}`);
    }
    const h = list(obj);
    try {
      h.pins = privatePins(h.maps);
    } catch (err) {
      ffi().bpf_object__close(obj);
      throw err;
    }
    return new OpenedObject(path, obj, h);
  }

  get programs(): readonly ProgramInfo[] {
    return this.h.progs.map((p) => p.info);
  }

  get maps(): readonly MapInfo[] {
    return this.h.maps.filter((m) => !isInternal(m.info.name)).map((m) => m.info);
  }

  /** Names of the global variables that `setGlobal` accepts. */
  get globals(): string[] {
    return globalNames(this.h);
  }

  /**
   * Sets a global variable (`const volatile` in `.rodata`, or in `.data`/`.bss`) before load,
   * from a plain value shaped like its type (`'10.0.0.1'` for a `__be32` address, a number,
   * an object for a struct).
   * @throws NotFoundError listing the globals; ValueShapeError when the value does not fit.
   */
  setGlobal(name: string, value: unknown): this {
    this.check();
    const g = findGlobal(this.h, name, this.path);
    const f = ffi();
    const size = [0];
    const ptr = f.bpf_map__initial_value(g.map, size);
    if (ptr === 0n) throw new XdpspecError('BPF_GLOBAL', `global ${name}: libbpf has no initial value for its section`);
    const data = readNative(ptr, size[0]!);
    new Codec(this.h.btf, g.type, g.size, `global ${name}`, false, name).encode(value).copy(data, g.offset);
    if (f.bpf_map__set_initial_value(g.map, data, data.length) !== 0) {
      const e = errno();
      throw new BpfError(`set global ${name}`, e, errnoName(e));
    }
    return this;
  }

  /**
   * Gives the program type to programs whose section name does not say it (legacy names such
   * as `SEC("prog")` or `SEC("xdp_icmp_echo")`, which libbpf 1.x no longer reads as a type), or
   * to the program `name` whatever its section says.
   * @throws NotFoundError for a program that does not exist; XdpspecError `PROGRAM_TYPE` for a
   *   type that is not `xdp` or `tc`.
   */
  setProgramType(type: ProgramTypeName, name?: string): this {
    this.check();
    const id = PROGRAM_TYPE_IDS[type];
    if (id === undefined)
      throw new XdpspecError(
        'PROGRAM_TYPE',
        `program type ${JSON.stringify(type)} is not one of ${Object.keys(PROGRAM_TYPE_IDS).join(', ')}`,
      );
    const targets =
      name === undefined
        ? this.h.progs.filter((p) => p.typeId === 0)
        : this.h.progs.filter((p) => p.info.name === name);
    if (name !== undefined && targets.length === 0)
      throw new NotFoundError(
        'program',
        name,
        this.h.progs.map((p) => p.info.name),
        this.path,
      );
    for (const p of targets) {
      if (ffi().bpf_program__set_type(p.ptr, id) !== 0) {
        const e = errno();
        throw new BpfError(`set the type of program ${p.info.name}`, e, errnoName(e));
      }
      p.typeId = id;
      p.info = { ...p.info, type: PROG_TYPES[id] ?? type };
    }
    return this;
  }

  /**
   * Loads every program and map into the kernel.
   * @throws PrivilegeError without root; VerifierError with the verifier's log when a program
   * is rejected; BpfError for other refusals.
   */
  load(): LoadedObject {
    this.check();
    requirePrivileges(`loading ${this.path}`);
    const { result: rc, log } = withLibbpfLog(() => ffi().bpf_object__load(this.obj));
    if (rc !== 0) {
      const e = -rc || errno();
      const failed = /prog '([^']+)': (BPF program load failed|failed to load)/.exec(log)?.[1];
      const op = `load ${this.path}`;
      if (failed && log.includes('BEGIN PROG LOAD LOG')) throw new VerifierError(op, failed, e, verifierLog(log));
      const untyped = /prog '([^']+)': missing BPF prog type, check ELF section name '([^']*)'/.exec(log);
      if (untyped) {
        throw new XdpspecError(
          'PROGRAM_TYPE_UNKNOWN',
          `load ${this.path}: libbpf cannot tell the type of program ${untyped[1]} from its section name "${untyped[2]}" (a legacy name); give the type: loadObject(path, globals, { programType: 'xdp' }) or 'tc', --type xdp on the command line, or rename the section SEC("xdp") / SEC("tc")`,
        );
      }
      throw new BpfError(
        op,
        e,
        `${errnoName(e)}${e === constants.errno.EPERM ? ' (run as root)' : ''}${log ? `\n${indent(log)}` : ''}`,
      );
    }
    this.closed = true; // ownership moves to the loaded object
    return new LoadedObject(this.path, this.obj, this.h);
  }

  /** Releases the object without loading it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    ffi().bpf_object__close(this.obj);
  }

  private check(): void {
    if (this.closed) throw new XdpspecError('OBJECT_CLOSED', `${this.path} is already loaded or closed`);
  }
}

/** A loaded object: its programs (with test run) and maps. `close()` unloads everything. */
export class LoadedObject {
  private closed = false;
  private readonly progCache = new Map<string, Program>();
  private readonly mapCache = new Map<string, BpfMap>();
  private readonly sectionMaps = new Map<string, BpfMap>();
  /** Attachments of this object's programs, detached before the programs are unloaded. */
  readonly attachments = new Set<{ detach(): void }>();

  constructor(
    readonly path: string,
    private readonly obj: Ptr,
    private readonly h: Handles,
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
      p = new Program(h.info, h.typeId, ffi().bpf_program__fd(h.ptr), h.ptr, this, h.usesMeta);
      this.progCache.set(name, p);
    }
    return p;
  }

  /** The map called `name` (globals sections too, e.g. `.bss`). */
  map(name: string): BpfMap {
    this.check();
    let m = this.mapCache.get(name);
    if (!m) {
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
    this.check();
    const vars = names.map((name) => ({ name, g: findGlobal(this.h, name, this.path) }));
    const sections = new Map<string, Buffer>();
    const out = {} as Record<N, unknown>;
    for (const { name, g } of vars) {
      let raw = sections.get(g.section);
      if (!raw) sections.set(g.section, (raw = this.sectionMap(g.section).get(0) as Buffer));
      out[name] = new Codec(this.h.btf, g.type, g.size, `global ${name}`, false, name).decode(
        raw.subarray(g.offset, g.offset + g.size),
      );
    }
    return out;
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
      const h = this.h.maps.find((x) => x.info.name.endsWith(section))!;
      const i = h.info;
      m = new BpfMap(
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
    const f = ffi();
    return this.h.maps.map((h) => {
      const i = h.info;
      return {
        typeId: h.typeId,
        map: new BpfMap(
          i.name,
          h.typeId,
          f.bpf_map__fd(h.ptr),
          i.keySize,
          i.valueSize,
          i.maxEntries,
          undefined,
          0,
          0,
          true,
          this,
        ),
      };
    });
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
          `${errnoName(-rc || errno())}${log ? `\n${indent(log)}` : ''}`,
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

  /** Detaches whatever its programs are attached to, then unloads programs and maps. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const a of [...this.attachments]) a.detach();
    for (const p of this.progCache.values()) p.close();
    ffi().bpf_object__close(this.obj);
    // The object pinned them (or found them pinned by an object of this run): its life is theirs.
    for (const pin of this.h.pins) rmSync(pin, { force: true });
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** True once `close()` has run: its programs are unloaded and detached. */
  get isClosed(): boolean {
    return this.closed;
  }

  private check(): void {
    if (this.closed) throw new XdpspecError('OBJECT_CLOSED', `${this.path} is closed`);
  }
}

/** Opens and loads in one step, setting globals in between. */
export function loadObject(
  path: string,
  globals: Record<string, unknown> = {},
  options: LoadOptions = {},
): LoadedObject {
  const o = OpenedObject.open(path);
  try {
    if (options.programType !== undefined) o.setProgramType(options.programType);
    for (const [k, v] of Object.entries(globals)) o.setGlobal(k, v);
    return o.load();
  } catch (err) {
    o.close();
    throw err;
  }
}

function isInternal(name: string): boolean {
  return /\.(rodata|data|bss|kconfig)(\..*)?$/.test(name);
}

// ELF e_machine values worth naming when a file is an object, but not a BPF one.
const MACHINES: Record<number, string> = {
  3: 'x86 (32-bit)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC 64',
  22: 'S/390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};
const EM_BPF = 247;
const COMPILE = 'compile the program with clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o';

/**
 * Says what is wrong with a file that is not a BPF object, before libbpf does (it answers with
 * errno 4001 and no reason): not there, not a file, not ELF, ELF for a CPU, or cut short.
 */
function checkElf(path: string): void {
  const size = regularFile(path, 'BPF object', (err) => {
    throw new XdpspecError('OBJECT_MISSING', `BPF object ${path} does not exist; build it first (make -C bpf)`, {
      cause: err,
    });
  });
  const head = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 64, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 4 || !head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    throw new XdpspecError(
      'OBJECT_NOT_ELF',
      `${path} is not an ELF object file${size === 0 ? ' (it is empty)' : ''}; ${COMPILE}`,
    );
  }
  // A BPF object is 64-bit ELF (class 2), little- or big-endian as the machine it is for.
  if (n < 64 || head[4] !== 2) {
    throw new XdpspecError(
      'OBJECT_NOT_BPF',
      `${path} is ${n < 64 ? `cut short: ${size} bytes, less than an ELF header` : '32-bit ELF, not a BPF object'}; ${COMPILE}`,
    );
  }
  const le = head[5] !== 2;
  const u16 = (o: number) => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const machine = u16(18);
  const type = u16(16);
  if (machine !== EM_BPF) {
    const kind =
      type === 2
        ? 'an executable'
        : type === 3
          ? 'a shared library or executable'
          : type === 1
            ? 'an object file'
            : 'an ELF file';
    throw new XdpspecError(
      'OBJECT_NOT_BPF',
      `${path} is ${kind} for ${MACHINES[machine] ?? `machine ${machine}`} (ELF e_machine ${machine}), not a BPF object (e_machine ${EM_BPF}); ${COMPILE}`,
    );
  }
  const shoff = Number(le ? head.readBigUInt64LE(40) : head.readBigUInt64BE(40));
  const shentsize = u16(58);
  const shnum = u16(60);
  const end = shoff + shentsize * shnum;
  if (end > size) {
    throw new XdpspecError(
      'OBJECT_NOT_BPF',
      `${path} is cut short at byte ${size}: its section headers end at byte ${end}; rebuild it (an interrupted copy or build leaves such a file)`,
    );
  }
}

function indent(s: string): string {
  return s
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
