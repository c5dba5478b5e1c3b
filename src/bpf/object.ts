import { constants } from 'node:os';
import { BpfError, NotFoundError, VerifierError, XdpspecError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import { requirePrivileges } from '../sys/privileges.js';
import { checkElf } from './elf.js';
import { errno, ffi, readNative, type Ptr } from './ffi.js';
import { findGlobal, globalNames, isInternal, list, privatePins, type Handles } from './handles.js';
import { PROG_TYPE, PROG_TYPES } from './kinds.js';
import { isProbeObject } from './probe-objects.js';
import { indentLog, verifierLog, withLibbpfLog } from './libbpf-log.js';
import { LoadedObject } from './loaded.js';
import { Codec } from './codec.js';
import { enroll, registerCountingHandlers, type BlockCounters, type CountingOutcome } from './counters.js';
import type { MapInfo } from './map.js';

export { LoadedObject } from './loaded.js';

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

/**
 * Types for programs whose section name does not say theirs: one type for all of them, or one per
 * program by name (an object with XDP and TC programs in legacy sections), where `'*'` names the
 * rest.
 */
export type ProgramTypes = ProgramTypeName | { readonly [program: string]: ProgramTypeName };

/** What loadObject can do between open and load besides globals. */
export interface LoadOptions extends OpenOptions {
  /** The type of programs whose section name does not say it (see `OpenedObject.setProgramType`). */
  readonly programType?: ProgramTypes;
}

/** Gives an opened object's programs the types `types` names (see ProgramTypes). */
function applyProgramTypes(o: OpenedObject, types: ProgramTypes): void {
  if (typeof types === 'string') {
    o.setProgramType(types);
    return;
  }
  for (const [name, type] of Object.entries(types)) if (name !== '*') o.setProgramType(type, name);
  if (types['*'] !== undefined) o.setProgramType(types['*']);
}

/** How an object is opened. */
export interface OpenOptions {
  /**
   * Put block counters into its programs as they load (in memory; the file stays as it is):
   * source-line coverage and the instructions each frame executes (`Program.counters`). Default:
   * on when the environment has `XDPSPEC_COVERAGE` (what `xdpspec run --coverage` sets). A
   * program the counters cannot go into loads as it is, with a warning.
   */
  readonly count?: boolean;
  /**
   * Create the object's plain arrays memory-mappable (BPF_F_MMAPABLE, in memory; the file stays
   * as it is), so that their state is read and put back between cases as memory rather than
   * through system calls (a ring of half a million slots in milliseconds). Default true; arrays
   * whose values hold a spin lock, timer or kernel pointer, and pinned ones, are left as they are.
   */
  readonly mappedArrays?: boolean;
}

/** Whether objects are counted unless told otherwise: coverage asked for through the environment. */
export function countingByDefault(path: string): boolean {
  return (process.env.XDPSPEC_COVERAGE ?? '') !== '' && !isProbeObject(path);
}

const BPF_MAP_TYPE_ARRAY = 2;
const BPF_F_MMAPABLE = 1 << 10;

/** The type old libbpf (before 1.0) took a section name's prefix for, the usual origin of such names. */
function typeOfPrefix(section: string): ProgramTypeName | undefined {
  return /^xdp/.test(section) ? 'xdp' : /^(tc|classifier|action)/.test(section) ? 'tc' : undefined;
}

/**
 * How to give legacy-named programs their types. The hint names the type each name's prefix
 * suggests (xdp-tutorial's SEC("xdp_redirect") was XDP to libbpf before 1.0), one per program
 * when they differ (the kernel's selftests mix SEC("xdp_vlan_change") and SEC("tc_vlan_push"));
 * xdpspec does not guess silently, since a prefix is only a habit.
 */
function typeHint(untyped: readonly { readonly name: string; readonly section: string }[]): string {
  const guesses = untyped.map((p) => typeOfPrefix(p.section));
  const known = new Set(guesses.filter((g) => g !== undefined));
  if (untyped.length > 1 && known.size > 1) {
    const each = untyped.map((p, i) => `${p.name}: '${guesses[i] ?? 'xdp'}'`).join(', ');
    const flags = untyped.map((p, i) => `--type ${p.name}=${guesses[i] ?? 'xdp'}`).join(' ');
    return (
      `one per program, programType: { ${each} } in bench({ ... }) or loadObject(path, globals, { programType: { ... } }), ` +
      `${flags} on the command line, or rename the sections SEC("xdp") / SEC("tc")`
    );
  }
  const t = guesses.every((g) => g !== undefined && g === guesses[0]) ? guesses[0] : undefined;
  const ty = t ?? 'xdp';
  return (
    `programType: '${ty}'${t ? '' : ` (or 'tc')`} in bench({ ... }) or loadObject(path, globals, { programType: '${ty}' }), ` +
    `--type ${ty} on the command line, or rename the section SEC("${ty}")${t ? '' : ' / SEC("tc")'}`
  );
}

/** Plain arrays of the object's own (not globals' sections, not pinned) made memory-mappable. */
function mappableArrays(h: Handles): void {
  const f = ffi();
  for (const m of h.maps) {
    if (m.typeId !== BPF_MAP_TYPE_ARRAY || isInternal(m.info.name) || f.bpf_map__pin_path(m.ptr)) continue;
    const value = f.bpf_map__btf_value_type_id(m.ptr);
    if (!h.btf || value === 0 || h.btf.hasSpecialFields(value)) continue;
    const flags = f.bpf_map__map_flags(m.ptr);
    if (f.bpf_map__set_map_flags(m.ptr, flags | BPF_F_MMAPABLE) !== 0) {
      const e = errno();
      throw new BpfError(`make map ${m.info.name} memory-mappable`, e, errnoName(e));
    }
  }
}

function warnUncounted(path: string, program: string, reason: string): void {
  process.emitWarning(`${path}: program ${program} runs without block counters: ${reason}`, {
    code: 'XDPSPEC_UNCOUNTED',
  });
}

/**
 * A BPF object file opened but not loaded: programs and maps can be listed, globals set.
 * `load()` turns it into a `LoadedObject`; the two steps mirror libbpf's.
 */
export class OpenedObject {
  private closed = false;
  /** What was done to it since open, to do again if it has to be opened again without counters. */
  private readonly changes: ((o: OpenedObject) => void)[] = [];
  private constructor(
    readonly path: string,
    private readonly obj: Ptr,
    private readonly h: Handles,
    private readonly count: boolean,
    /** How it was opened, to open it the same way again (without counters) if it must. */
    private readonly options: OpenOptions,
  ) {}

  /**
   * Opens an object file (`clang -target bpf` output).
   * @throws XdpspecError `OBJECT_MISSING`, `FILE_NOT_REGULAR`, `OBJECT_NOT_ELF`, `OBJECT_NOT_BPF`;
   *   BpfError when libbpf cannot parse it.
   */
  static open(path: string, options: OpenOptions = {}): OpenedObject {
    checkElf(path);
    const count = options.count ?? countingByDefault(path);
    // A program's SEC() handler is chosen at open: the counting ones must be there first.
    if (count) registerCountingHandlers();
    const { result: obj, log } = withLibbpfLog(() => ffi().bpf_object__open_file(path, null));
    if (obj === 0n) {
      const e = errno();
      throw new BpfError(`open BPF object ${path}`, e, `${errnoName(e)}${log ? `\n${indentLog(log)}` : ''}`);
    }
    const h = list(obj);
    try {
      h.pins = privatePins(h.maps);
      if (options.mappedArrays !== false) mappableArrays(h);
    } catch (err) {
      ffi().bpf_object__close(obj);
      throw err;
    }
    return new OpenedObject(path, obj, h, count, options);
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
    this.changes.push((o) => o.setGlobal(name, value));
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
    this.changes.push((o) => o.setProgramType(type, name));
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
    const counting = this.count
      ? enroll(
          this.path,
          this.h.progs
            .filter((p) => p.typeId === PROG_TYPE.xdp || p.typeId === PROG_TYPE.sched_cls)
            .map((p) => ({ ptr: p.ptr, name: p.info.name })),
          this.h.btf,
        )
      : undefined;
    let loaded: { result: number; log: string };
    let outcomes: Map<string, CountingOutcome> | undefined;
    try {
      loaded = withLibbpfLog(() => ffi().bpf_object__load(this.obj));
    } finally {
      outcomes = counting?.outcomes();
      counting?.release();
    }
    const { result: rc, log } = loaded;
    const counted = new Map<string, BlockCounters>();
    for (const [name, o] of outcomes ?? []) if ('counters' in o) counted.set(name, o.counters);
    if (rc !== 0 && counted.size > 0) {
      // The verifier may refuse what the counters added where the program alone would pass: the
      // program is what the user asked to test, so it runs as it is.
      for (const c of counted.values()) c.discard();
      this.close();
      const again = OpenedObject.open(this.path, { ...this.options, count: false });
      for (const change of this.changes) change(again);
      const reason = /BEGIN PROG LOAD LOG/.test(log)
        ? `the verifier refused the counted program: ${verifierLog(log)
            .trim()
            .split('\n')
            .filter((l) => l.trim() !== '' && !/^processed \d+ insns/.test(l))
            .slice(-1)
            .join('')}`
        : `the counted object did not load: ${errnoName(-rc || errno())}`;
      const plain = again.load();
      for (const p of plain.programs) warnUncounted(this.path, p.name, reason);
      return plain;
    }
    if (rc !== 0) {
      const e = -rc || errno();
      const failed = /prog '([^']+)': (BPF program load failed|failed to load)/.exec(log)?.[1];
      const op = `load ${this.path}`;
      if (failed && log.includes('BEGIN PROG LOAD LOG')) throw new VerifierError(op, failed, e, verifierLog(log));
      const untyped = /prog '([^']+)': missing BPF prog type, check ELF section name '([^']*)'/.exec(log);
      if (untyped) {
        throw new XdpspecError(
          'PROGRAM_TYPE_UNKNOWN',
          `load ${this.path}: libbpf cannot tell the type of program ${untyped[1]} from its section name "${untyped[2]}" (a legacy name); give the type: ${typeHint(this.h.progs.filter((p) => p.typeId === 0).map((p) => p.info))}`,
        );
      }
      throw new BpfError(
        op,
        e,
        `${errnoName(e)}${e === constants.errno.EPERM ? ' (run as root)' : ''}${log ? `\n${indentLog(log)}` : ''}`,
      );
    }
    this.closed = true; // ownership moves to the loaded object
    for (const [name, o] of outcomes ?? []) if ('uninstrumented' in o) warnUncounted(this.path, name, o.uninstrumented);
    for (const c of counted.values())
      if (c.noLines) process.emitWarning(`program ${c.program}: ${c.noLines}`, { code: 'XDPSPEC_NO_LINES' });
    return new LoadedObject(this.path, this.obj, this.h, counted);
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

/** Opens and loads in one step, setting globals in between. */
export function loadObject(
  path: string,
  globals: Record<string, unknown> = {},
  options: LoadOptions = {},
): LoadedObject {
  const o = OpenedObject.open(path, options);
  try {
    if (options.programType !== undefined) applyProgramTypes(o, options.programType);
    for (const [k, v] of Object.entries(globals)) o.setGlobal(k, v);
    return o.load();
  } catch (err) {
    o.close();
    throw err;
  }
}
