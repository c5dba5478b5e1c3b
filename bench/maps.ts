// Map fills and dumps at the size of a real program's tables: a hash map of 500,000 entries,
// filled with `setMany` and read back with `capture` (what bench() and runBoth do between
// cases), against the same batch calls made from C (map_batch.c, built here).
import { execa } from 'execa';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMap } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const N = 500_000;

export const mapsBench: Bench = {
  name: 'maps',
  async run() {
    const dir = fileURLToPath(new URL('./build/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const bin = `${dir}map_batch`;
    await execa('gcc', ['-O2', '-o', bin, fileURLToPath(new URL('./map_batch.c', import.meta.url)), '-lbpf']);
    const entries = Array.from({ length: N }, (_, i): [Buffer, Buffer] => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(i);
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(BigInt(i) * 3n);
      return [k, v];
    });
    const ours = () => {
      const m = createMap({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: N, name: 'bench' });
      try {
        let t = performance.now();
        m.setMany(entries);
        const fill = performance.now() - t;
        t = performance.now();
        const st = m.capture();
        const dump = performance.now() - t;
        t = performance.now();
        m.putBack(st);
        const back = performance.now() - t;
        // A case that changed ten values of an array of the same size (a hash map moves an
        // updated key to its bucket's head, so its order changes and putBack resets it whole).
        const arr = createMap({ type: 'array', keySize: 4, valueSize: 8, maxEntries: N, name: 'bench_array' });
        let few: number;
        try {
          arr.setMany(entries);
          const ast = arr.capture();
          for (let i = 0; i < 10; i++) arr.set(entries[i * 40_000]![0], Buffer.alloc(8, 0xff));
          t = performance.now();
          arr.putBack(ast);
          few = performance.now() - t;
        } finally {
          arr.close();
        }
        if (st.count !== N) throw new Error(`captured ${st.count} of ${N}`);
        return { fill, dump, back, few };
      } finally {
        m.close();
      }
    };
    const theirs = async () =>
      JSON.parse((await execa(bin, [String(N)])).stdout) as { fill_ms: number; dump_ms: number };
    ours(); // warm up
    const best = <T>(xs: T[], f: (x: T) => number) => Math.min(...xs.map(f));
    const o: ReturnType<typeof ours>[] = [];
    const c: { fill_ms: number; dump_ms: number }[] = [];
    for (let i = 0; i < 3; i++) {
      c.push(await theirs());
      o.push(ours());
    }
    const cf = best(c, (x) => x.fill_ms);
    const cd = best(c, (x) => x.dump_ms);
    const of = best(o, (x) => x.fill);
    const od = best(o, (x) => x.dump);
    const ob = best(o, (x) => x.back);
    const ofew = best(o, (x) => x.few);
    return [
      `a hash map of ${fmt.int(N)} entries (4-byte keys, 8-byte values), best of 3:`,
      `  C batch update (baseline)        ${cf.toFixed(1).padStart(7)} ms`,
      `  xdpspec setMany                  ${of.toFixed(1).padStart(7)} ms   ${fmt.ratio(of / cf)} the C fill's time`,
      `  C batch lookup (baseline)        ${cd.toFixed(1).padStart(7)} ms`,
      `  xdpspec capture                  ${od.toFixed(1).padStart(7)} ms   ${fmt.ratio(od / cd)} the C dump's time`,
      `  xdpspec putBack, nothing changed          ${ob.toFixed(1).padStart(7)} ms   ${fmt.ratio(ob / cd)} the C dump's time`,
      `  xdpspec putBack of an array of as many, ten values changed   ${ofew.toFixed(1)} ms   ${fmt.ratio(ofew / cd)} the C dump's time`,
    ];
  },
};
