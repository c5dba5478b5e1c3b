import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { loadObject, readCapture, runUnit, type LoadedObject } from '../../src/index.js';
import { needsBpf, OBJ } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

const COUNTED = 'specs/bpf/build/counted.bpf.o';

/** An Ethernet frame of EtherType `type` whose payload starts with `walk` non-zero bytes. */
function frameOf(type: number, walk = 0): Buffer {
  const b = Buffer.alloc(14 + 16);
  b.writeUInt16BE(type, 12);
  b.fill(0xaa, 14, 14 + walk);
  return b;
}

/** Warnings emitted while `fn` runs (they arrive on a later tick, which is waited for). */
async function warningsOf<T>(fn: () => T): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const on = (w: Error) => warnings.push(w.message);
  process.on('warning', on);
  try {
    const result = fn();
    await new Promise((r) => setImmediate(r));
    return { result, warnings };
  } finally {
    process.off('warning', on);
  }
}

describe('block counters (programs loaded counted)', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  it('gives the instructions each frame executed, as counted by hand from llvm-objdump of counted.bpf.o', async () => {
    const o = loadObject(COUNTED, {}, { count: true });
    try {
      const p = o.program('counted');
      const c = p.counters!;
      // The hand count below is of this code: 25 slots of the program, 16 of its subprogram.
      expect(c.originalSlots, 'counted.bpf.o compiled differently: count again from llvm-objdump -d').to.equal(43);
      const frames = [frameOf(0x0800), ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => frameOf(0x86dd, k))];
      const run = await runUnit(p, frames);
      // IPv4: 11 instructions to the EtherType test, 5 to count it and drop. IPv6 with k bytes
      // to walk: 15 in the program to the call, 13 in walk() for the first byte test, 10 for
      // each byte walked, 6 back in the program to pass (k <= 4) or 4 to drop (k > 4). Eight
      // bytes end the loop on its bound, not on a zero byte: 103.
      const expected = [16, 34, 44, 54, 64, 74, 82, 92, 102, 103];
      expect(run.frames.map((f) => f.instructions)).to.deep.equal(expected);
      expect(run.frames.map((f) => f.verdict)).to.deep.equal([
        'dropped',
        ...['passed', 'passed', 'passed', 'passed', 'passed'],
        ...['dropped', 'dropped', 'dropped', 'dropped'],
      ]);
      expect(run.instructions).to.deep.equal({ min: 16, median: 69, max: 103, total: 665 });
      // The same frame and state: the same count, every time.
      const again = await runUnit(p, frames);
      expect(again.frames.map((f) => f.instructions)).to.deep.equal(expected);
    } finally {
      o.close();
    }
  });

  it('counts each function and block: the program entered once per frame, its subprogram once per IPv6 frame', async () => {
    const o = loadObject(COUNTED, {}, { count: true });
    try {
      const p = o.program('counted');
      const c = p.counters!;
      expect(c.functions.map((f) => f.name)).to.deep.equal(['counted', 'walk']);
      await runUnit(p, [frameOf(0x0800), frameOf(0x0800), frameOf(0x86dd, 2)]);
      const counts = c.read();
      const entries = c.functions.map((f) => counts[c.blocks[f.block]!.counter]);
      expect(entries).to.deep.equal([3, 1]);
    } finally {
      o.close();
    }
  });

  it('does not count the reruns that locate redirects', async () => {
    const o = loadObject('specs/bpf/build/redirect_by_port.bpf.o', { target: 1 }, { count: true });
    try {
      const p = o.program();
      const c = p.counters!;
      const udp5 = Buffer.from(
        'ffffffffffff0000000000010800' + '4500001c0000000040110000c0a80001c0a80002' + '0001000500080000',
        'hex',
      );
      const run = await runUnit(p, [udp5, udp5, udp5]);
      expect(run.counts.redirected).to.equal(3);
      expect(run.frames[0]!.redirect).to.include({ known: true, ifindex: 1 });
      expect(c.read()[c.blocks[0]!.counter]).to.equal(3);
    } finally {
      o.close();
    }
  });

  it('loads every program of bpf/ and specs/bpf/ counted, with the verdict and output bytes of the program alone on every fixture frame', async () => {
    const captures = ['fixtures', 'specs/harness'].flatMap((d) =>
      readdirSync(d)
        .filter((f) => /\.pcap(ng)?$/.test(f))
        .map((f) => `${d}/${f}`),
    );
    const whole = (await Promise.all(captures.map(async (f) => (await readCapture(f)).records.map((r) => r.data))))
      .flat()
      .filter((f) => f.length >= 14 && f.length <= 3000);
    // And each cut short every 4 bytes from the Ethernet header on: the bounds checks' other side.
    const cuts = whole.flatMap((f) => Array.from({ length: 13 }, (_, i) => f.subarray(0, 14 + 4 * i)));
    const frames = [...new Map([...whole, ...cuts].map((f) => [f.toString('hex'), f])).values()];
    expect(whole.length).to.be.greaterThan(100);
    // Objects that cannot load as they are: refused by the verifier, no programs, no type.
    // And many_maps, which cannot be counted (the next case).
    const skip = new Set([
      'rejected.bpf.o',
      'no_programs.bpf.o',
      'legacy_section.bpf.o',
      'legacy_prefixed.bpf.o',
      'legacy_mixed.bpf.o',
      'codec_shapes.bpf.o',
      'many_maps.bpf.o',
    ]);
    const objects = ['bpf/build', 'specs/bpf/build'].flatMap((d) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.o') && !skip.has(f))
        .map((f) => `${d}/${f}`),
    );
    const programs: string[] = [];
    for (const path of objects) {
      const { result: objs, warnings } = await warningsOf(() => [
        loadObject(path, {}, { count: false }),
        loadObject(path, {}, { count: true }),
      ]);
      const [plain, counted] = objs as [LoadedObject, LoadedObject];
      try {
        expect(warnings, path).to.deep.equal([]);
        for (const info of plain.programs) {
          const a = plain.program(info.name);
          const b = counted.program(info.name);
          expect(b.counters, `${path} ${info.name}`).to.not.equal(undefined);
          // What the kernel makes of the frame, or that it refuses it (TC wants an IP header).
          const fate = (p: typeof a, f: Buffer) => {
            try {
              const r = p.testRun(f);
              return [r.action, r.output.toString('hex')];
            } catch (err) {
              return ['refused', (err as Error).message];
            }
          };
          for (const [i, f] of frames.entries())
            expect(fate(b, f), `${path} ${info.name}, frame ${i}`).to.deep.equal(fate(a, f));
          programs.push(info.name);
        }
      } finally {
        plain.close();
        counted.close();
      }
    }
    expect(programs).to.include.members(['xdp_firewall', 'xdp_lb', 'xdp_router_lan', 'tc_redirect', 'xdp_verdicts']);
  });

  it('loads a program the verifier refuses counted as it is, with a warning saying why', async () => {
    // 64 maps, the most a program may use: the counters' map would be a 65th.
    const { result: o, warnings } = await warningsOf(() =>
      loadObject('specs/bpf/build/many_maps.bpf.o', {}, { count: true }),
    );
    try {
      expect(o.program().counters).to.equal(undefined);
      expect(warnings).to.deep.equal([
        'specs/bpf/build/many_maps.bpf.o: program xdp_many_maps runs without block counters: the verifier refused the counted program: The total number of maps per program has reached the limit of 64',
      ]);
      expect(o.program().testRun(frameOf(0x0800)).action).to.equal('XDP_PASS');
      const run = await runUnit(o.program(), [frameOf(0x0800)]);
      expect(run.frames[0]!.instructions).to.equal(undefined);
    } finally {
      o.close();
    }
  });

  it('counts an object built without line info, and says it cannot name its lines', async () => {
    const stripped = t.path('no-lines.bpf.o');
    copyFileSync(OBJ.ipv6Filter, stripped);
    execFileSync('llvm-objcopy', ['--remove-section=.BTF.ext', stripped]);
    const { result: o, warnings } = await warningsOf(() => loadObject(stripped, {}, { count: true }));
    try {
      const c = o.program().counters!;
      expect(c.noLines).to.match(/has no BTF line info \(built without -g\?\).*build it with clang -g/);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include('has no BTF line info');
      expect(c.lines.every((l) => l === undefined)).to.equal(true);
      const run = await runUnit(o.program(), [frameOf(0x86dd), frameOf(0x0800)]);
      expect(run.frames.every((f) => (f.instructions ?? 0) > 0)).to.equal(true);
    } finally {
      o.close();
    }
  });
});
