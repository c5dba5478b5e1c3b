import { expect } from 'chai';
import { readNative } from '../../src/bpf/ffi.js';
import { ffi } from '../../src/bpf/ffi.js';
import { encode, LD_IMM64, type Insn } from '../../src/bpf/insns.js';
import { mapsWritten } from '../../src/bpf/map-writes.js';
import { frame, loadObject } from '../../src/index.js';
import { needsBpf } from '../support/kernel.js';
import { readdirSync } from 'node:fs';

// Hand-assembled programs (no kernel): map "fd" 10 + n is map n.
const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const MAP = (dst: number, n: number): Insn[] => [I(LD_IMM64, dst, 1, 0, 10 + n), I(0)];
const GLOBAL = (dst: number, n: number): Insn[] => [I(LD_IMM64, dst, 2, 0, 10 + n), I(0)];
const MOV_X = (dst: number, src: number) => I(0xbf, dst, src);
const MOV_K = (dst: number, imm: number) => I(0xb7, dst, 0, 0, imm);
const ADD_K = (dst: number, imm: number) => I(0x07, dst, 0, 0, imm);
const STX_DW = (dst: number, src: number, off: number) => I(0x7b, dst, src, off);
const ST_W = (dst: number, off: number, imm: number) => I(0x62, dst, 0, off, imm);
const LDX_DW = (dst: number, src: number, off: number) => I(0x79, dst, src, off);
const LDX_W = (dst: number, src: number, off: number) => I(0x61, dst, src, off);
const XADD = (dst: number, src: number) => I(0xdb, dst, src, 0, 0);
const JEQ_K = (dst: number, imm: number, off: number) => I(0x15, dst, 0, off, imm);
const CALL = (id: number) => I(0x85, 0, 0, 0, id);
const CALL_LOCAL = (imm: number) => I(0x85, 0, 1, 0, imm);
const KFUNC = I(0x85, 0, 2, 0, 77);
const EXIT = I(0x95);
/** r2 = fp - 8, the usual key pointer. */
const KEY = [MOV_X(2, 10), ADD_K(2, -8), ST_W(10, -8, 0)];
/** r0 = lookup(map n, key); if r0 == 0 return 2. */
const LOOKUP = (n: number): Insn[] => [...MAP(1, n), ...KEY, CALL(1), I(0x55, 0, 0, 2, 0), MOV_K(0, 2), EXIT];

const written = (insns: Insn[]) => {
  const w = mapsWritten(encode(insns), (_kind, fd) => fd - 10);
  return w === 'all' ? w : [...w].sort();
};

describe('which maps a program can change (redirect reruns snapshot only those)', () => {
  it('tells a map only read from one stored into, through lookups and globals', () => {
    expect(written([...LOOKUP(0), LDX_W(3, 0, 0), MOV_K(0, 2), EXIT])).to.deep.equal([]);
    expect(written([...LOOKUP(0), MOV_K(3, 1), XADD(0, 3), MOV_K(0, 2), EXIT])).to.deep.equal([0]);
    // Two maps looked up, the second's value changed; a global stored into.
    expect(
      written([
        ...LOOKUP(0),
        MOV_X(6, 0),
        ...LOOKUP(1),
        ST_W(0, 4, 1),
        LDX_W(3, 6, 0),
        ...GLOBAL(4, 2),
        ST_W(4, 0, 9),
        MOV_K(0, 2),
        EXIT,
      ]),
    ).to.deep.equal([1, 2]);
    // Through pointer arithmetic, and on one path of two.
    expect(written([...LOOKUP(3), ADD_K(0, 8), JEQ_K(3, 0, 1), ST_W(0, 0, 1), MOV_K(0, 2), EXIT])).to.deep.equal([3]);
  });

  it('counts helpers that change the map they are given, and values handed to helpers that may write them', () => {
    expect(written([...MAP(1, 0), ...KEY, MOV_X(3, 2), MOV_K(4, 0), CALL(2), MOV_K(0, 2), EXIT])).to.deep.equal([0]);
    expect(written([...MAP(1, 4), ...KEY, CALL(3), MOV_K(0, 2), EXIT])).to.deep.equal([4]);
    // A value pointer as map_update_elem's value is only read; as bpf_probe_read_kernel's destination it is written.
    expect(
      written([...LOOKUP(0), MOV_X(3, 0), ...MAP(1, 1), ...KEY, MOV_K(4, 0), CALL(2), MOV_K(0, 2), EXIT]),
    ).to.deep.equal([1]);
    expect(written([...LOOKUP(0), MOV_X(1, 0), MOV_K(2, 4), MOV_K(3, 0), CALL(113), MOV_K(0, 2), EXIT])).to.deep.equal([
      0,
    ]);
    // A stale value pointer in a register past the helper's arguments is not handed to it.
    expect(written([...LOOKUP(0), MOV_X(5, 0), ...MAP(1, 1), ...KEY, CALL(1), MOV_K(0, 2), EXIT])).to.deep.equal([]);
  });

  it('follows pointers spilled to the stack and found again, and gives up on what it cannot follow', () => {
    // Spilled at fp-16, reloaded, stored through.
    expect(
      written([...LOOKUP(0), STX_DW(10, 0, -16), MOV_K(0, 0), LDX_DW(7, 10, -16), ST_W(7, 0, 1), MOV_K(0, 2), EXIT]),
    ).to.deep.equal([0]);
    // Spilled and reloaded but only read: not written.
    expect(
      written([...LOOKUP(0), STX_DW(10, 0, -16), LDX_DW(7, 10, -16), LDX_W(3, 7, 0), MOV_K(0, 2), EXIT]),
    ).to.deep.equal([]);
    // Stored into the context (memory it cannot follow): counted as written.
    expect(written([MOV_X(6, 1), ...LOOKUP(0), STX_DW(6, 0, 0), MOV_K(0, 2), EXIT])).to.deep.equal([0]);
    // A kfunc: every map.
    expect(written([...LOOKUP(0), KFUNC, MOV_K(0, 2), EXIT])).to.equal('all');
  });

  it('counts what subprograms may do with the pointers handed to them, or return', () => {
    // main: r1 = value of map 0; call sub; sub stores through r1. sub: *(u32 *)(r1 + 0) = 1.
    const sub = [ST_W(1, 0, 1), MOV_K(0, 0), EXIT];
    const main = [...LOOKUP(0), MOV_X(1, 0), CALL_LOCAL(2), MOV_K(0, 2), EXIT];
    expect(written([...main, ...sub])).to.deep.equal([0]);
    // A stack pointer to a spilled value pointer, handed to a subprogram that writes through it.
    const viaStack = [...LOOKUP(0), STX_DW(10, 0, -16), MOV_X(1, 10), ADD_K(1, -16), CALL_LOCAL(2), MOV_K(0, 2), EXIT];
    expect(written([...viaStack, LDX_DW(2, 1, 0), ST_W(2, 0, 1), EXIT])).to.deep.equal([0]);
    // A subprogram returning a pointer into map 1's values.
    const returns = [CALL_LOCAL(2), MOV_K(0, 2), EXIT, ...LOOKUP(1), EXIT];
    expect(written(returns)).to.deep.equal([1]);
  });
});

describe('which maps a program can change, against what the program does', () => {
  needsBpf();
  // Every object of bpf/ and specs/bpf/, each program run on varied frames: a state map the
  // analysis says a program cannot change keeps its bytes.
  const objects = [
    ...readdirSync('bpf/build').map((f) => `bpf/build/${f}`),
    ...readdirSync('specs/bpf/build').map((f) => `specs/bpf/build/${f}`),
  ].filter((f) => f.endsWith('.bpf.o'));
  const frames = [
    frame.eth().ipv4().udp({ dport: 53 }).build(),
    frame.eth().ipv4().tcp({ dport: 80, flags: 'S' }).build(),
    frame.eth().ipv6().udp({ dport: 5 }).build(),
    frame.eth().ipv6().tcp({ dport: 443 }).build(),
    frame.eth().vlan({ vid: 5 }).ipv4().udp({ dport: 7 }).build(),
    ...[3, 5, 6, 7, 9].map((d) => frame.eth().ipv4().udp({ dport: d }).build()),
  ];

  it('leaves unchanged every map it says a program cannot change (every program of bpf/ and specs/bpf/)', () => {
    let checked = 0;
    let unchanged = 0;
    for (const path of objects) {
      let o;
      try {
        o = loadObject(path);
      } catch {
        continue; // objects made to be refused, or to need globals
      }
      try {
        const maps = o.allMaps();
        const numbers = new Map(maps.map((m, i) => [m.map.fd, i]));
        for (const { name } of o.programs) {
          const p = o.program(name);
          const f = ffi();
          const n = Number(f.bpf_program__insn_cnt(p.handle));
          const w = mapsWritten(readNative(f.bpf_program__insns(p.handle), n * 8), (_k, fd) => numbers.get(fd) ?? 63);
          if (w === 'all') continue;
          const kept = o.stateMaps().filter((m) => !w.has(maps.findIndex((x) => x.map.id === m.id)));
          const before = kept.map((m) => m.snapshot());
          for (const x of frames)
            try {
              p.testRun(x);
            } catch {
              // a TC program given an XDP-sized frame, or the like: what ran still counts
            }
          kept.forEach((m, i) => expect(m.snapshot(), `${path} ${name}: ${m.name}`).to.deep.equal(before[i]));
          checked++;
          unchanged += kept.length;
        }
      } finally {
        o.close();
      }
    }
    expect(checked).to.be.greaterThan(15);
    expect(unchanged).to.be.greaterThan(5);
  });
});
