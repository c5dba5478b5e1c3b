// BPF instructions as the kernel takes them (8 bytes each, little-endian on these machines):
// decoding, and what each reads, writes and where it goes next. The instrumenter works on these.

/** One 8-byte slot; an `ld_imm64` takes two, the second with code 0. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const CLASS = { LD: 0, LDX: 1, ST: 2, STX: 3, ALU: 4, JMP: 5, JMP32: 6, ALU64: 7 } as const;
const OP = { JA: 0x00, CALL: 0x80, EXIT: 0x90 } as const;
const ALU_MOV = 0xb0;
const ALU_NEG = 0x80;
const ALU_END = 0xd0;
const SRC_X = 0x08;
const MODE_IMM = 0x00;
const MODE_ABS = 0x20;
const MODE_IND = 0x40;
const MODE_ATOMIC = 0xc0;
const ATOMIC_FETCH = 0x01;
const ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;

export const LD_IMM64 = 0x18;
export const PSEUDO_MAP_VALUE = 2;
export const PSEUDO_CALL = 1;
export const PSEUDO_FUNC = 4;
export const HELPER_TAIL_CALL = 12;

export function decode(buf: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let p = 0; p + 8 <= buf.length; p += 8) {
    const regs = buf[p + 1]!;
    out.push({
      code: buf[p]!,
      dst: regs & 0x0f,
      src: regs >> 4,
      off: buf.readInt16LE(p + 2),
      imm: buf.readInt32LE(p + 4),
    });
  }
  return out;
}

export function encode(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    const p = i * 8;
    buf[p] = x.code;
    buf[p + 1] = (x.src << 4) | x.dst;
    buf.writeInt16LE(x.off, p + 2);
    buf.writeInt32LE(x.imm | 0, p + 4);
  });
  return buf;
}

export const cls = (x: Insn): number => x.code & 0x07;
const op = (x: Insn): number => x.code & 0xf0;
const isJumpClass = (x: Insn): boolean => cls(x) === CLASS.JMP || cls(x) === CLASS.JMP32;

export const isLdImm64 = (x: Insn): boolean => x.code === LD_IMM64;
export const isExit = (x: Insn): boolean => isJumpClass(x) && op(x) === OP.EXIT;
export const isCall = (x: Insn): boolean => cls(x) === CLASS.JMP && op(x) === OP.CALL;
export const isPseudoCall = (x: Insn): boolean => isCall(x) && x.src === PSEUDO_CALL;
export const isTailCall = (x: Insn): boolean => isCall(x) && x.src === 0 && x.imm === HELPER_TAIL_CALL;
/** LD_ABS / LD_IND: old socket-filter packet loads, which clobber r1-r5 like a call. */
export const isLegacyPacketLoad = (x: Insn): boolean =>
  cls(x) === CLASS.LD && ((x.code & 0xe0) === MODE_ABS || (x.code & 0xe0) === MODE_IND);
export const isPseudoFunc = (x: Insn): boolean => isLdImm64(x) && x.src === PSEUDO_FUNC;
export const isGoto = (x: Insn): boolean => isJumpClass(x) && op(x) === OP.JA;
/** A jump that may or may not be taken (`if r1 > r2 goto`). */
export const isConditional = (x: Insn): boolean =>
  isJumpClass(x) && op(x) !== OP.JA && op(x) !== OP.CALL && op(x) !== OP.EXIT;

/** `gotol` (JMP32 | JA) keeps its offset in imm, 32 bits; every other jump in off, 16. */
export const isLongGoto = (x: Insn): boolean => cls(x) === CLASS.JMP32 && op(x) === OP.JA;
export function jumpOffset(x: Insn): number {
  return isLongGoto(x) ? x.imm : x.off;
}
export function setJumpOffset(x: Insn, v: number): void {
  if (isLongGoto(x)) x.imm = v;
  else x.off = v;
}

/** Register bit sets: bit n is rn. */
const R0_5 = 0b111111;
const R1_5 = 0b111110;
const bit = (r: number): number => 1 << r;

/**
 * Registers an instruction reads and writes, conservatively (reading more is always safe for
 * a liveness question: a register is only taken as free when nothing can read it before it is
 * written). A call reads r1-r5 and leaves r0-r5 written (the verifier treats r1-r5 as
 * uninitialised after it); exit reads r0.
 */
export function regEffects(x: Insn): { use: number; def: number } {
  const c = cls(x);
  const o = op(x);
  const x_ = (x.code & SRC_X) !== 0;
  switch (c) {
    case CLASS.ALU:
    case CLASS.ALU64:
      if (o === ALU_MOV) return { use: x_ ? bit(x.src) : 0, def: bit(x.dst) };
      if (o === ALU_NEG || o === ALU_END) return { use: bit(x.dst), def: bit(x.dst) };
      return { use: bit(x.dst) | (x_ ? bit(x.src) : 0), def: bit(x.dst) };
    case CLASS.LDX:
      return { use: bit(x.src), def: bit(x.dst) };
    case CLASS.ST:
      return { use: bit(x.dst), def: 0 };
    case CLASS.STX:
      if ((x.code & 0xe0) === MODE_ATOMIC) {
        const fetch = (x.imm & ATOMIC_FETCH) !== 0;
        const cmpxchg = x.imm === ATOMIC_CMPXCHG;
        return { use: bit(x.dst) | bit(x.src) | (cmpxchg ? 1 : 0), def: cmpxchg ? 1 : fetch ? bit(x.src) : 0 };
      }
      return { use: bit(x.dst) | bit(x.src), def: 0 };
    case CLASS.LD: {
      const mode = x.code & 0xe0;
      if (mode === MODE_IMM) return { use: 0, def: bit(x.dst) };
      // Legacy packet loads read the context in r6 (and src for IND), and clobber like a call.
      if (mode === MODE_ABS || mode === MODE_IND)
        return { use: bit(6) | (mode === MODE_IND ? bit(x.src) : 0), def: R0_5 };
      return { use: 0x3ff, def: 0 };
    }
    default:
      if (o === OP.CALL) return { use: R1_5, def: R0_5 };
      if (o === OP.EXIT) return { use: 1, def: 0 };
      if (o === OP.JA) return { use: 0, def: 0 };
      return { use: bit(x.dst) | (x_ ? bit(x.src) : 0), def: 0 };
  }
}
