// Which maps a program can change, from its instructions as loaded: what a redirect rerun must
// snapshot and put back. A large table the program only reads (a balancer's ring of backends)
// then costs nothing per located frame.
//
// The analysis follows, through every path to a fixed point, where each register may point: at
// a map (ld_imm64 of a map), into a map's values (a lookup's result, a global's address, either
// moved on by pointer arithmetic), or into the stack at a known offset (where such pointers are
// spilled and found again). A map counts as written when the program stores or does atomics
// through a pointer into its values, hands such a pointer or the map itself to a helper that is
// not known to only read it, passes either to a subprogram or returns it from one, or stores
// either anywhere but a stack slot it can follow. Whatever it cannot follow (a kfunc, ld_imm64
// of an unknown kind or map) answers "every map": never fewer maps than the program can change.
import {
  CLASS,
  cls,
  decode,
  isCall,
  isExit,
  isGoto,
  isLdImm64,
  isLegacyPacketLoad,
  isPseudoCall,
  isPseudoFunc,
  jumpOffset,
  PSEUDO_FUNC,
  PSEUDO_MAP_VALUE,
} from './insns.js';

/** Where a register may point: maps (m) and map values (v) as bit sets of map numbers, the stack. */
interface Value {
  m: bigint;
  v: bigint;
  /** A stack pointer at this offset from r10, `null` one at an offset not known, else not the stack. */
  s?: number | null;
}

interface State {
  regs: Value[];
  /** Spilled pointers by stack offset (only slots that ever held one). */
  slots: Map<number, Value>;
}

const NONE: Value = { m: 0n, v: 0n };
const PSEUDO_MAP_FD = 1;
const PSEUDO_BTF_ID = 3;
const PSEUDO_KFUNC_CALL = 2;
const MODE_MEM = 0x60;
const MODE_ATOMIC = 0xc0;
const SIZE_DW = 0x18;
const SRC_X = 0x08;
const ALU_ADD = 0x00;
const ALU_SUB = 0x10;
const ALU_MOV = 0xb0;

/** Helpers that take a map and only read it (or, for tail calls and redirects, no state map). */
const READS_MAP = new Set([
  1, // map_lookup_elem
  12, // tail_call
  25, // perf_event_output
  51, // redirect_map
  89, // map_peek_elem
  195, // map_lookup_percpu_elem
]);
/** Helpers that call back into the program with an argument of the caller's (a stack pointer, say). */
const CALLS_BACK = new Set([
  164, // for_each_map_elem
  170, // timer_set_callback
  180, // find_vma
  181, // loop
  209, // user_ringbuf_drain
]);
/**
 * How many arguments common helpers take: registers past them hold whatever they held, and the
 * helper reads none of it. A helper not listed is taken to read all five.
 */
const ARITY = new Map([
  [1, 2], // map_lookup_elem
  [2, 4], // map_update_elem
  [3, 2], // map_delete_elem
  [5, 0], // ktime_get_ns
  [7, 0], // get_prandom_u32
  [8, 0], // get_smp_processor_id
  [12, 3], // tail_call
  [14, 0], // get_current_pid_tgid
  [23, 2], // redirect
  [44, 2], // xdp_adjust_head
  [51, 3], // redirect_map
  [54, 2], // xdp_adjust_meta
  [65, 2], // xdp_adjust_tail
  [69, 4], // fib_lookup
  [87, 3], // map_push_elem
  [88, 2], // map_pop_elem
  [89, 2], // map_peek_elem
  [125, 0], // ktime_get_boot_ns
  [195, 3], // map_lookup_percpu_elem
]);
/** Helpers whose result points into the values of the map in r1. */
const RETURNS_VALUE = new Set([1, 195]);
/** Helper arguments (helper id, argument register) that point at memory the helper only reads. */
const READ_ONLY_ARGS = new Set([
  '1:2', // map_lookup_elem(map, key)
  '2:2', // map_update_elem(map, key, value, flags)
  '2:3',
  '3:2', // map_delete_elem(map, key)
  '87:2', // map_push_elem(map, value, flags)
  '195:2', // map_lookup_percpu_elem(map, key, cpu)
]);

const union = (a: Value, b: Value): Value => ({
  m: a.m | b.m,
  v: a.v | b.v,
  s: a.s === b.s ? a.s : a.s === undefined && b.s === undefined ? undefined : null,
});
const same = (a: Value, b: Value) => a.m === b.m && a.v === b.v && a.s === b.s;
const tagged = (x: Value) => x.m !== 0n || x.v !== 0n;

/**
 * The numbers of the maps (as `mapOf` numbers them, from an ld_imm64's kind and imm) that the
 * program in `code` can change, or `'all'` when it does something the analysis cannot follow.
 */
export function mapsWritten(
  code: Buffer,
  mapOf: (kind: number, imm: number) => number | undefined,
): Set<number> | 'all' {
  const insns = decode(code);
  const n = insns.length;
  const written = new Set<number>();
  let all = false;
  const mark = (x: Value) => {
    for (const bits of [x.m, x.v]) for (let i = 0, b = bits; b !== 0n; i++, b >>= 1n) if (b & 1n) written.add(i);
  };

  const fresh = (): State => ({
    regs: Array.from({ length: 11 }, (_, r) => (r === 10 ? { m: 0n, v: 0n, s: 0 } : NONE)),
    slots: new Map(),
  });
  const copy = (st: State): State => ({ regs: [...st.regs], slots: new Map(st.slots) });
  const states: (State | undefined)[] = new Array<State | undefined>(n);
  const work: number[] = [];
  /** Merges `st` into what `at` starts with; queues it when that grew. */
  const flow = (at: number, st: State) => {
    if (at < 0 || at >= n) return;
    const old = states[at];
    if (!old) {
      states[at] = copy(st);
      work.push(at);
      return;
    }
    let grew = false;
    for (let r = 0; r < 11; r++) {
      const u = union(old.regs[r]!, st.regs[r]!);
      if (!same(u, old.regs[r]!)) {
        old.regs[r] = u;
        grew = true;
      }
    }
    for (const [k, v] of st.slots) {
      const o = old.slots.get(k);
      const u = o ? union(o, v) : v;
      if (!o || !same(u, o)) {
        old.slots.set(k, u);
        grew = true;
      }
    }
    if (grew) work.push(at);
  };

  // Every function starts afresh: the main program, and each subprogram called or taken as a
  // callback. An exit returns to the program's own code only from a called one (the main
  // program's and a callback's return to the kernel): each slot's function is known up front.
  const called = new Set<number>();
  const starts = new Set([0]);
  insns.forEach((x, i) => {
    if (isPseudoCall(x)) called.add(i + 1 + x.imm);
    if (isPseudoCall(x) || isPseudoFunc(x)) starts.add(i + 1 + x.imm);
  });
  for (const s of starts) flow(s, fresh());
  const returnsToCaller = new Uint8Array(n);
  for (let i = 0, fn = 0; i < n; i++) {
    if (starts.has(i)) fn = i;
    returnsToCaller[i] = called.has(fn) ? 1 : 0;
  }

  while (work.length > 0 && !all) {
    const i = work.pop()!;
    const x = insns[i]!;
    const st = copy(states[i]!);
    const r = st.regs;
    const c = cls(x);
    const next = () => flow(i + 1, st);

    if (isLdImm64(x)) {
      let v: Value = NONE;
      if (x.src === PSEUDO_MAP_FD || x.src === PSEUDO_MAP_VALUE) {
        const map = mapOf(x.src, x.imm);
        if (map === undefined || map >= 64) {
          all = true;
          break;
        }
        v = x.src === PSEUDO_MAP_FD ? { m: 1n << BigInt(map), v: 0n } : { m: 0n, v: 1n << BigInt(map) };
      } else if (x.src !== 0 && x.src !== PSEUDO_BTF_ID && x.src !== PSEUDO_FUNC) {
        all = true; // a map by index into fd_array, or a kind this does not know
        break;
      }
      r[x.dst] = v;
      flow(i + 2, st);
      continue;
    }
    switch (c) {
      case CLASS.ALU:
      case CLASS.ALU64: {
        const o = x.code & 0xf0;
        const byReg = (x.code & SRC_X) !== 0;
        const src = byReg ? r[x.src]! : NONE;
        const dst = r[x.dst]!;
        if (o === ALU_MOV) r[x.dst] = byReg ? src : NONE;
        else if (c === CLASS.ALU64 && !byReg && (o === ALU_ADD || o === ALU_SUB) && dst.s !== undefined)
          r[x.dst] = { ...dst, s: dst.s === null ? null : dst.s + (o === ALU_ADD ? x.imm : -x.imm) };
        // Anything else keeps every place either operand may point (more is never wrong).
        else {
          const u = union(dst, src);
          r[x.dst] = dst.s === undefined && src.s === undefined ? u : { ...u, s: null };
        }
        next();
        break;
      }
      case CLASS.LDX: {
        const base = r[x.src]!;
        let v: Value = NONE;
        if (base.s !== undefined) {
          if (typeof base.s === 'number' && (x.code & 0x18) === SIZE_DW) v = st.slots.get(base.s + x.off) ?? NONE;
          else for (const s of st.slots.values()) v = union(v, { m: s.m, v: s.v });
          v = { m: v.m, v: v.v };
        }
        r[x.dst] = v;
        next();
        break;
      }
      case CLASS.ST:
      case CLASS.STX: {
        const base = r[x.dst]!;
        const src = c === CLASS.STX ? r[x.src]! : NONE;
        const mode = x.code & 0xe0;
        if (mode !== MODE_MEM && mode !== MODE_ATOMIC) {
          all = true;
          break;
        }
        // A store through a pointer into a map's values, or through a map pointer.
        if (tagged(base)) mark(base);
        if (tagged(src)) {
          if (typeof base.s === 'number') {
            const at = base.s + x.off;
            const o = st.slots.get(at);
            st.slots.set(at, o ? union(o, { m: src.m, v: src.v }) : { m: src.m, v: src.v });
          } else mark(src); // somewhere it cannot be followed to
        }
        // A stack pointer stored where it cannot be followed leads to the spilled pointers too.
        if (src.s !== undefined && typeof base.s !== 'number') for (const v of st.slots.values()) mark(v);
        if (mode === MODE_ATOMIC && c === CLASS.STX && (x.imm & 1) !== 0) {
          // A fetch loads into src (cmpxchg: into r0) what was there.
          const was = typeof base.s === 'number' ? (st.slots.get(base.s + x.off) ?? NONE) : NONE;
          r[x.imm === 0xf1 ? 0 : x.src] = { m: was.m, v: was.v };
        }
        next();
        break;
      }
      case CLASS.LD:
        if (isLegacyPacketLoad(x)) for (let k = 0; k <= 5; k++) r[k] = NONE;
        next();
        break;
      default: {
        if (isExit(x)) {
          if (tagged(r[0]!) && returnsToCaller[i]) mark(r[0]!); // a caller may store through it
          break;
        }
        if (isCall(x)) {
          if (x.src === PSEUDO_KFUNC_CALL) {
            all = true;
            break;
          }
          // What a stack pointer handed to a callee (or a callback) leads to is read there as a
          // plain value: every pointer spilled so far counts as stored through.
          const args = x.src === 0 ? (ARITY.get(x.imm) ?? 5) : 5;
          const stackArg = [1, 2, 3, 4, 5].some((k) => k <= args && r[k]!.s !== undefined);
          if (stackArg && (isPseudoCall(x) || CALLS_BACK.has(x.imm))) for (const v of st.slots.values()) mark(v);
          if (isPseudoCall(x)) {
            for (let k = 1; k <= 5; k++) if (tagged(r[k]!)) mark(r[k]!);
          } else {
            for (let k = 1; k <= args; k++) {
              const a = r[k]!;
              if (a.m !== 0n && !READS_MAP.has(x.imm)) mark({ m: a.m, v: 0n });
              if (a.v !== 0n && !READ_ONLY_ARGS.has(`${x.imm}:${k}`)) mark({ m: 0n, v: a.v });
            }
          }
          const r0: Value = x.src === 0 && RETURNS_VALUE.has(x.imm) ? { m: 0n, v: r[1]!.m } : NONE;
          for (let k = 1; k <= 5; k++) r[k] = NONE;
          r[0] = r0;
          next();
          break;
        }
        // Jumps: the next instruction unless it always jumps, and the target when it can.
        if (!isGoto(x)) next();
        flow(i + 1 + jumpOffset(x), st);
      }
    }
  }
  return all ? 'all' : written;
}
