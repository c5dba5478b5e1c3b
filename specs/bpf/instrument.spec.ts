import { expect } from 'chai';
import { decode, encode, LD_IMM64, PSEUDO_MAP_VALUE, type Insn } from '../../src/bpf/insns.js';
import { instrument, isInstrumented, type Instrumented } from '../../src/bpf/instrument.js';

// Hand-assembled programs (no kernel): where the counters go, and that every jump, call and
// function start still lands where it did.
const FD = 7;
const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const MOV_K = (dst: number, imm: number) => I(0xb7, dst, 0, 0, imm);
const MOV_X = (dst: number, src: number) => I(0xbf, dst, src);
const ADD_X = (dst: number, src: number) => I(0x0f, dst, src);
const JEQ_K = (dst: number, imm: number, off: number) => I(0x15, dst, 0, off, imm);
const JA = (off: number) => I(0x05, 0, 0, off);
const CALL_HELPER = (id: number) => I(0x85, 0, 0, 0, id);
const CALL_LOCAL = (imm: number) => I(0x85, 0, 1, 0, imm);
const LDX_W = (dst: number, src: number, off: number) => I(0x61, dst, src, off);
const EXIT = I(0x95);
const LD64 = (dst: number, value: number): Insn[] => [I(LD_IMM64, dst, 0, 0, value), I(0)];

function run(insns: Insn[], funcStarts: number[] = [0]): Instrumented {
  const r = instrument(encode(insns), funcStarts, FD);
  if (!isInstrumented(r)) throw new Error(`not instrumented: ${r.reason}`);
  return r;
}

/**
 * Where each counter is incremented in the new program: counter index -> slot of its probe
 * (the first ld_imm64 of the counter's address; the total's own comes after a block's).
 */
function probes(r: Instrumented): Map<number, { at: number; regs: [number, number] }> {
  const out = decode(r.insns);
  const m = new Map<number, { at: number; regs: [number, number] }>();
  out.forEach((x, i) => {
    const c = out[i + 1]?.imm ?? 0;
    if (x.code === LD_IMM64 && x.src === PSEUDO_MAP_VALUE && x.imm === FD && c > 0)
      m.set(c / 8, { at: i, regs: [x.dst, out[i + 2]!.dst] });
  });
  return m;
}

/** The probe of the block starting at original slot `start`. */
const blockProbe = (r: Instrumented, start: number) => probes(r).get(r.blocks.find((b) => b.start === start)!.counter)!;

/** Slot a jump or call at new slot `i` lands on. */
function landing(r: Instrumented, i: number): number {
  const x = decode(r.insns)[i]!;
  return i + 1 + (x.code === 0x85 ? x.imm : x.off);
}

describe('instrument (block counters before load)', () => {
  it('puts one counter at the head of a straight program, in registers nothing reads, and keeps its instructions', () => {
    const r = run([MOV_K(0, 2), EXIT]);
    // Counter 0 is the running total of instructions executed, counter 1 the block's entries.
    expect(r.blocks).to.deep.equal([{ start: 0, end: 2, instructions: 2, counter: 1 }]);
    expect(r.counters).to.equal(2);
    const out = decode(r.insns);
    // ld_imm64 rA = &counters[1]; rB = 1; lock *(u64 *)(rA + 0) += rB;
    // rB = 2 (the block's length); lock *(u64 *)(rA - 8) += rB (the total, one counter before)
    expect(out.slice(0, 6).map((x) => [x.code, x.off, x.imm])).to.deep.equal([
      [LD_IMM64, 0, FD],
      [0, 0, 8],
      [0xb7, 0, 1],
      [0xdb, 0, 0],
      [0xb7, 0, 2],
      [0xdb, -8, 0],
    ]);
    expect(out[0]!.src).to.equal(PSEUDO_MAP_VALUE);
    // r1 holds the context at entry but nothing reads it; r0 is written before it is read.
    expect(probes(r).get(1)!.regs).to.deep.equal([0, 1]);
    expect(out.slice(6)).to.deep.equal([MOV_K(0, 2), EXIT]);
  });

  it('moves jumps onto the counter of the block they name, and counts the fall-through edge of a conditional jump', () => {
    // 0: if r1 == 0 goto 2; 1: r0 = 1; 2: r0 = 2; 3: exit   (r1 is read by the jump: not free)
    const r = run([JEQ_K(1, 0, 1), MOV_K(0, 1), MOV_K(0, 2), EXIT]);
    expect(r.blocks.map((b) => [b.start, b.end])).to.deep.equal([
      [0, 1],
      [1, 2],
      [2, 4],
    ]);
    expect(r.branches).to.deep.equal([{ at: 0, block: 0, fallCounter: 4 }]);
    const p = probes(r);
    expect(blockProbe(r, 0).regs).to.not.include(1);
    const out = decode(r.insns);
    const jump = out.findIndex((x) => x.code === 0x15);
    // Taken: straight onto block 2's counter, past the fall-through edge's counter.
    expect(landing(r, jump)).to.equal(blockProbe(r, 2).at);
    // Not taken: through the edge counter (4 slots: no length to add), then block 1's.
    expect(p.get(4)!.at).to.equal(jump + 1);
    expect(blockProbe(r, 1).at).to.equal(jump + 5);
    expect(r.targetOf[2]).to.equal(blockProbe(r, 2).at);
  });

  it('treats an ld_imm64 as one instruction in two slots, and jumps backwards land on the loop head', () => {
    // 0-1: r2 = 5 (ld_imm64); 2: r2 += r1 (loop head); 3: if r2 == 9 goto 5; 4: goto 2; 5: exit
    const r = run([...LD64(2, 5), ADD_X(2, 1), JEQ_K(2, 9, 1), JA(-3), MOV_K(0, 0), EXIT]);
    expect(r.blocks.map((b) => [b.start, b.end, b.instructions])).to.deep.equal([
      [0, 2, 1],
      [2, 4, 2],
      [4, 5, 1],
      [5, 7, 2],
    ]);
    const out = decode(r.insns);
    const back = out.findIndex((x) => x.code === 0x05);
    expect(landing(r, back)).to.equal(blockProbe(r, 2).at);
  });

  it('moves BPF-to-BPF calls and function starts onto the callee’s counter', () => {
    // main: 0: call 3; 1: exit   sub (at 2): 2: r0 = r1; 3: exit
    const r = run([CALL_LOCAL(1), EXIT, MOV_X(0, 1), EXIT], [0, 2]);
    const callee = blockProbe(r, 2);
    expect(
      landing(
        r,
        decode(r.insns).findIndex((x) => x.code === 0x85),
      ),
    ).to.equal(callee.at);
    expect(r.targetOf[2]).to.equal(callee.at);
    // In the subprogram r1 is an argument the code reads: the counter keeps off it.
    expect(callee.regs).to.not.include(1);
  });

  it('takes r1-r5 as free after a helper call, which leaves them uninitialised', () => {
    // r6-r9 hold values read at the end; after the call only r1-r5 can take a counter.
    const keep = [6, 7, 8, 9].map((r) => MOV_K(r, r));
    const use = [6, 7, 8, 9].map((r) => ADD_X(0, r));
    const r = run([...keep, CALL_HELPER(5), JEQ_K(0, 0, 0), ...use, EXIT]);
    // The block after the jump starts with r0 and r6-r9 in use: its counter is in r1, r2.
    expect(blockProbe(r, keep.length + 2).regs).to.deep.equal([1, 2]);
  });

  it('leaves a program as it is, saying why, when a block has no two registers free anywhere', () => {
    const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((r) => MOV_K(r, r));
    const sum = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((r) => ADD_X(0, r));
    // The block of one jump at 11: all ten registers hold values the sum reads after it.
    const r = instrument(encode([...all, JEQ_K(0, 0, 0), JEQ_K(1, 0, 0), ...sum, EXIT]), [0], FD);
    expect(isInstrumented(r)).to.equal(false);
    expect((r as { reason: string }).reason).to.equal(
      'every register is in use throughout the block at instructions 11-11, so no counter fits there',
    );
  });

  it('reaches the total from blocks beyond a 16-bit offset of it through its own address', () => {
    const body: Insn[] = [];
    for (let i = 0; i < 4200; i++) body.push(JEQ_K(1, i, 0));
    const r = run([...body, MOV_K(0, 0), EXIT]);
    const out = decode(r.insns);
    const last = blockProbe(r, body.length);
    expect(r.blocks.at(-1)!.counter).to.be.greaterThan(4096);
    // counter += 1, then rA = &total, total += length
    expect(out.slice(last.at + 4, last.at + 8).map((x) => [x.code, x.imm])).to.deep.equal([
      [0xb7, 2],
      [LD_IMM64, FD],
      [0, 0],
      [0xdb, 0],
    ]);
  });

  it('refuses a jump the counters would push out of its 16-bit reach', () => {
    // 6000 blocks between a jump and its target: 6000 counters of 6 slots are more than 32767.
    const body: Insn[] = [];
    for (let i = 0; i < 6000; i++) body.push(LDX_W(2, 1, 0), JEQ_K(2, i, 0));
    const r = instrument(encode([JEQ_K(1, 0, body.length), ...body, MOV_K(0, 0), EXIT]), [0], FD);
    expect(isInstrumented(r)).to.equal(false);
    expect((r as { reason: string }).reason).to.match(/the jump at instruction 0 would reach too far/);
  });

  it('refuses a jump out of the program', () => {
    const r = instrument(encode([JA(5), EXIT]), [0], FD);
    expect((r as { reason: string }).reason).to.equal('the jump at instruction 0 leaves the program');
  });
});
