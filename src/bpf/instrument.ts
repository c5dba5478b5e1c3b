// Block counters for a program's instructions, inserted before load: the coverage
// instrumentation. Pure: it takes libbpf's final instructions (relocated, subprograms appended)
// and gives back new ones with a counter increment at the head of every basic block and on the
// fall-through edge of every conditional jump, every jump, call and function start moved to
// match. Counting a block's entries is exact for the whole block because a block has one way in
// and runs to its end (calls return; a tail call ends its block).
import {
  decode,
  encode,
  isCall,
  isConditional,
  isLegacyPacketLoad,
  isExit,
  isGoto,
  isLongGoto,
  isLdImm64,
  isPseudoCall,
  isPseudoFunc,
  isTailCall,
  jumpOffset,
  LD_IMM64,
  PSEUDO_MAP_VALUE,
  regEffects,
  setJumpOffset,
  type Insn,
} from './insns.js';

/** A basic block of the original program, in instruction slots. */
export interface Block {
  /** First slot, and the slot after the last. */
  readonly start: number;
  readonly end: number;
  /** Instructions in it (an ld_imm64 is one, though it takes two slots). */
  readonly instructions: number;
  /** Its counter's index in the counter array. */
  readonly counter: number;
}

/** A conditional jump of the original program and where its outcomes are counted. */
export interface Branch {
  /** The jump's slot. */
  readonly at: number;
  /** The block it ends (its entries are the jump's executions). */
  readonly block: number;
  /**
   * The counter of its fall-through edge (not taken), or -1 when no two registers were free
   * there to count it: taken = executions - not taken.
   */
  readonly fallCounter: number;
}

export interface Instrumented {
  readonly insns: Buffer;
  readonly blocks: readonly Block[];
  readonly branches: readonly Branch[];
  /** Size of the counter array, u64s: the total (index 0), then blocks', then edges'. */
  readonly counters: number;
  /** New slot of each original slot's first inserted or own instruction (for line info). */
  readonly firstOf: Int32Array;
  /** New slot that a jump, call or function start naming an original slot now names. */
  readonly targetOf: Int32Array;
  readonly originalSlots: number;
}

/** Why a program is left as it is. */
export interface NotInstrumented {
  readonly reason: string;
}

const ALU64_MOV_K = 0xb7;
const STX_ATOMIC_DW = 0xdb;
const ATOMIC_ADD = 0x00;
/** Counter 0 is the total of instructions executed; blocks' counters follow, then edges'. */
export const TOTAL = 0;
const R10 = 10;
const R1_5 = 0b111110;
// At entry the main program has its context in r1 (and the frame pointer); a subprogram r1-r5.
const MAIN_ENTRY = 0b10000000010;
const SUBPROG_ENTRY = 0b10000111110;

/**
 * A counter increment: `counter` += 1 and, for a block, the running total of instructions
 * executed (counter 0) += the block's length, through the same pointer while the total is in
 * reach of a 16-bit offset.
 */
function probe(fd: number, counter: number, regs: readonly [number, number], length?: number): Insn[] {
  const [a, b] = regs;
  const address = (c: number): Insn[] => [
    { code: LD_IMM64, dst: a, src: PSEUDO_MAP_VALUE, off: 0, imm: fd },
    { code: 0, dst: 0, src: 0, off: 0, imm: c * 8 },
  ];
  const add = (off: number): Insn => ({ code: STX_ATOMIC_DW, dst: a, src: b, off, imm: ATOMIC_ADD });
  const out = [...address(counter), { code: ALU64_MOV_K, dst: b, src: 0, off: 0, imm: 1 }, add(0)];
  if (length === undefined) return out;
  out.push({ code: ALU64_MOV_K, dst: b, src: 0, off: 0, imm: length });
  if (counter * 8 <= 32768) out.push(add(-counter * 8));
  else out.push(...address(TOTAL), add(0));
  return out;
}

/** Two registers (of r0-r9) that nothing reads before writing, from a live set. */
function twoFree(live: number): [number, number] | undefined {
  const free: number[] = [];
  for (let r = 0; r < R10 && free.length < 2; r++) if ((live & (1 << r)) === 0) free.push(r);
  return free.length === 2 ? [free[0]!, free[1]!] : undefined;
}

/**
 * Inserts the counters. `funcStarts` are the slots where functions begin (func_info), `fd` the
 * counter array map's descriptor (one value of `counters` u64s).
 */
export function instrument(code: Buffer, funcStarts: readonly number[], fd: number): Instrumented | NotInstrumented {
  const insns = decode(code);
  const n = insns.length;
  if (n === 0) return { reason: 'the program has no instructions' };
  const size = (s: number) => (isLdImm64(insns[s]!) ? 2 : 1);
  const heads = new Uint8Array(n + 1); // 1 where a slot begins an instruction
  for (let s = 0; s < n; s += size(s)) heads[s] = 1;

  const leader = new Uint8Array(n);
  leader[0] = 1;
  for (const f of funcStarts) if (f >= 0 && f < n) leader[f] = 1;
  const targetOfInsn = (s: number): number | undefined => {
    const x = insns[s]!;
    if (isConditional(x) || isGoto(x)) return s + 1 + jumpOffset(x);
    if (isPseudoCall(x) || isPseudoFunc(x)) return s + 1 + x.imm;
    return undefined;
  };
  for (let s = 0; s < n; s += size(s)) {
    const x = insns[s]!;
    const t = targetOfInsn(s);
    if (t !== undefined) {
      if (t < 0 || t >= n || !heads[t]) return { reason: `the jump at instruction ${s} leaves the program` };
      leader[t] = 1;
    }
    const next = s + size(s);
    if (next < n && (isConditional(x) || isGoto(x) || isExit(x) || isTailCall(x))) leader[next] = 1;
  }

  // Liveness, backwards to a fixed point (loops need more than one pass).
  const liveIn = new Int32Array(n + 1);
  const effects = insns.map((x, s) => (heads[s] ? regEffects(x) : { use: 0, def: 0 }));
  for (let changed = true; changed;) {
    changed = false;
    for (let s = n - 1; s >= 0; s--) {
      if (!heads[s]) continue;
      const x = insns[s]!;
      let out = 0;
      if (!isExit(x)) {
        if (!isGoto(x)) out |= liveIn[s + size(s)] ?? 0;
        if (isConditional(x) || isGoto(x)) out |= liveIn[s + 1 + jumpOffset(x)]!;
      }
      const e = effects[s]!;
      const v = e.use | (out & ~e.def);
      if (v !== liveIn[s]) {
        liveIn[s] = v;
        changed = true;
      }
    }
  }

  // Registers possibly written on some path from their function's entry, forwards to a fixed
  // point. One never written cannot be read either (the verifier refuses a read of an
  // uninitialised register), whatever the liveness above supposes a call reads: after a call
  // r1-r5 are uninitialised again, so they are free until the program writes them.
  const starts = new Set([0, ...funcStarts.filter((f) => f > 0 && f < n)]);
  const initIn = new Int32Array(n + 1);
  for (const f of starts) initIn[f] = f === 0 ? MAIN_ENTRY : SUBPROG_ENTRY;
  for (let changed = true; changed;) {
    changed = false;
    for (let s = 0; s < n; s += size(s)) {
      const x = insns[s]!;
      const clobbers = isCall(x) || isLegacyPacketLoad(x);
      const out = clobbers ? (initIn[s]! | 1) & ~R1_5 : initIn[s]! | effects[s]!.def;
      const flow = (t: number) => {
        if (t >= n || starts.has(t)) return;
        const v = initIn[t]! | out;
        if (v !== initIn[t]) {
          initIn[t] = v;
          changed = true;
        }
      };
      if (isExit(x)) continue;
      if (!isGoto(x)) flow(s + size(s));
      if (isConditional(x) || isGoto(x)) flow(s + 1 + jumpOffset(x));
    }
  }
  const busy = (s: number) => liveIn[s]! & initIn[s]!;

  // Blocks, and where in each its counter can go (the first point with two free registers).
  const blocks: Block[] = [];
  const probeAt = new Map<number, { counter: number; regs: [number, number]; length: number }>();
  for (let s = 0; s < n;) {
    let e = s + size(s);
    let count = 1;
    while (e < n && !leader[e]) {
      e += size(e);
      count++;
    }
    let placed = false;
    for (let p = s; p < e; p += size(p)) {
      const regs = twoFree(busy(p));
      if (regs) {
        probeAt.set(p, { counter: blocks.length + 1, regs, length: count });
        placed = true;
        break;
      }
    }
    if (!placed)
      return {
        reason: `every register is in use throughout the block at instructions ${s}-${e - 1}, so no counter fits there`,
      };
    blocks.push({ start: s, end: e, instructions: count, counter: blocks.length + 1 });
    s = e;
  }
  const blockOf = new Int32Array(n);
  blocks.forEach((b, i) => blockOf.fill(i, b.start, b.end));

  const branches: Branch[] = [];
  const edgeAt = new Map<number, { counter: number; regs: [number, number] }>();
  let counters = blocks.length + 1;
  for (let s = 0; s < n; s += size(s)) {
    if (!isConditional(insns[s]!) || s + 1 >= n) continue;
    const regs = twoFree(busy(s + 1));
    const fallCounter = regs ? counters++ : -1;
    if (regs) edgeAt.set(s + 1, { counter: fallCounter, regs });
    branches.push({ at: s, block: blockOf[s]!, fallCounter });
  }

  // Lay out: for each original slot, the edge counter of a jump falling into it, then its
  // block's counter, then the instruction itself.
  const out: Insn[] = [];
  const newPos = new Int32Array(n);
  const targetOf = new Int32Array(n);
  const firstOf = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    firstOf[s] = out.length;
    const edge = edgeAt.get(s);
    if (edge) out.push(...probe(fd, edge.counter, edge.regs));
    targetOf[s] = out.length;
    const p = probeAt.get(s);
    if (p) out.push(...probe(fd, p.counter, p.regs, p.length));
    newPos[s] = out.length;
    out.push({ ...insns[s]! });
  }
  for (let s = 0; s < n; s += size(s)) {
    const t = targetOfInsn(s);
    if (t === undefined) continue;
    const x = out[newPos[s]!]!;
    const rel = targetOf[t]! - (newPos[s]! + 1);
    if (isPseudoCall(x) || isPseudoFunc(x)) x.imm = rel;
    else {
      if (!isLongGoto(x) && (rel < -32768 || rel > 32767))
        return { reason: `the jump at instruction ${s} would reach too far (${rel}) with counters in between` };
      setJumpOffset(x, rel);
    }
  }
  return { insns: encode(out), blocks, branches, counters, firstOf, targetOf, originalSlots: n };
}

export function isInstrumented(x: Instrumented | NotInstrumented): x is Instrumented {
  return 'insns' in x;
}
