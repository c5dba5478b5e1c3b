// What xdpspec keeps of a libbpf object: its programs and maps with their facts, its BTF, and
// where its pinned maps go; and finding its global variables by name.
import { privatePinRoot } from '../sys/bpffs.js';
import { BpfError, NotFoundError } from '../sys/errors.js';
import { errnoName } from '../sys/errno.js';
import { Btf } from './btf.js';
import { errno, ffi, readNative, type Ptr } from './ffi.js';
import { MAP_TYPES, PROG_TYPES } from './kinds.js';
import type { MapInfo } from './map.js';
import type { ProgramInfo } from './object.js';

export interface Handles {
  progs: { ptr: Ptr; info: ProgramInfo; typeId: number; calls: CallTraits }[];
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
export function privatePins(maps: Handles['maps']): string[] {
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
const BPF_FUNC_XDP_ADJUST_TAIL = 65;
const BPF_FUNC_SKB_VLAN_PUSH = 18;
const BPF_PSEUDO_CALL = 1;

/**
 * The helpers a program calls itself, and whether it calls subprograms (whose code is not in its
 * own instructions before load); undefined when libbpf has no instructions for it.
 */
function helperCalls(prog: Ptr): { helpers: Set<number>; subprograms: boolean } | undefined {
  const f = ffi();
  const n = Number(f.bpf_program__insn_cnt(prog));
  const at = f.bpf_program__insns(prog);
  if (at === 0n || n === 0) return undefined;
  const insns = readNative(at, n * 8);
  const helpers = new Set<number>();
  let subprograms = false;
  for (let i = 0; i < n; i++) {
    if (insns[i * 8] !== BPF_CALL) continue;
    const src = insns[i * 8 + 1]! >> 4;
    if (src === BPF_PSEUDO_CALL) subprograms = true;
    else if (src === 0) helpers.add(insns.readInt32LE(i * 8 + 4));
  }
  return { helpers, subprograms };
}

/** What a program's calls say it may do to a frame, where that changes how xdpspec runs it. */
export interface CallTraits {
  /**
   * It may put metadata in front of its frame: test runs pass it an xdp_md, whose ctx_out says
   * where the frame starts in the output.
   */
  readonly usesMeta: boolean;
  /**
   * It may grow its frame at the tail: live replays hand it XDP frames, which have the room to
   * grow that a frame sent by socket lacks on veth (see StreamVia).
   */
  readonly growsTail: boolean;
}

/**
 * What a program's calls say (see CallTraits): a helper it calls itself, and, conservatively,
 * anything when it calls a subprogram or its instructions cannot be read.
 */
export function callTraits(prog: Ptr): CallTraits {
  const c = helperCalls(prog);
  const may = (helper: number) => !c || c.subprograms || c.helpers.has(helper);
  return { usesMeta: may(BPF_FUNC_XDP_ADJUST_META), growsTail: may(BPF_FUNC_XDP_ADJUST_TAIL) };
}

/** Whether a program calls bpf_skb_vlan_push itself (a subprogram's calls not counted). */
export function pushesVlanTag(prog: Ptr): boolean {
  return helperCalls(prog)?.helpers.has(BPF_FUNC_SKB_VLAN_PUSH) ?? false;
}

export function list(obj: Ptr): Handles {
  const f = ffi();
  const progs: Handles['progs'] = [];
  for (let p = f.bpf_object__next_program(obj, 0n); p !== 0n; p = f.bpf_object__next_program(obj, p)) {
    const typeId = f.bpf_program__type(p);
    progs.push({
      ptr: p,
      typeId,
      calls: callTraits(p),
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

export interface GlobalVar {
  map: Ptr;
  section: string;
  type: number;
  offset: number;
  size: number;
}

export function globalNames(h: Handles): string[] {
  const btf = h.btf;
  if (!btf) return [];
  return GLOBAL_SECTIONS.flatMap((s) => {
    const sec = btf.findDatasec(s);
    return sec ? btf.varNames(sec.id) : [];
  });
}

export function findGlobal(h: Handles, name: string, where: string): GlobalVar {
  const btf = h.btf;
  for (const section of GLOBAL_SECTIONS) {
    const sec = btf?.findDatasec(section);
    const v = sec ? btf!.findVar(sec.id, name) : undefined;
    const map = h.maps.find((m) => m.info.name.endsWith(section));
    if (v && map) return { map: map.ptr, section, ...v };
  }
  throw new NotFoundError('global', name, globalNames(h), where);
}

export function isInternal(name: string): boolean {
  return /\.(rodata|data|bss|kconfig)(\..*)?$/.test(name);
}
