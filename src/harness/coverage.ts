// Source coverage of the BPF C programs the specs ran, from their block counters: per line hit
// counts, per conditional jump its two outcomes, per function its entries. Written as lcov's
// tracefile (what genhtml and the CI coverage services read) and summed over every counted
// program of the run, across processes: each writes its own part, and whoever finishes last
// writes lcov.info from all parts of the run.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { BlockCounters } from '../bpf/index.js';
import { XdpspecError } from '../sys/errors.js';
import { processWide } from '../sys/process-wide.js';

/** Hits of one conditional jump: taken and not taken (summed over the run). */
interface BranchHits {
  executed: number;
  taken: number;
  notTaken: number;
}

interface FunctionHits {
  line: number;
  hits: number;
  /** `file:line` of every line its code comes from (inlined helpers' too), and its jumps. */
  lines: string[];
  branches: string[];
}

/** Coverage of one source file. */
interface FileHits {
  lines: Record<string, number>;
  /** By `line,k` (the k-th conditional jump of that line in its program). */
  branches: Record<string, BranchHits>;
  functions: Record<string, FunctionHits>;
}

/** What a run's coverage holds: per source file (absolute paths). */
export interface CoverageData {
  readonly files: Record<string, FileHits>;
}

/** Totals of a file or function: hit and found. */
export interface CoverageTotals {
  readonly lines: { readonly hit: number; readonly found: number };
  readonly branches: { readonly hit: number; readonly found: number };
}

const fileOf = (data: { files: Record<string, FileHits> }, file: string): FileHits =>
  (data.files[file] ??= { lines: {}, branches: {}, functions: {} });

/** Where a file named in an object's line info is on this machine. */
function sourcePath(file: string, object: string): string {
  if (isAbsolute(file)) return normalize(file);
  const candidates = [dirname(object), resolve(dirname(object), '..'), process.cwd()].map((d) => resolve(d, file));
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/** Adds one counted program's counts to `data`. */
export function addCounts(data: CoverageData, c: BlockCounters, counts: Float64Array): void {
  const files = data as { files: Record<string, FileHits> };
  const paths = new Map<string, string>();
  const where = (slot: number): { file: string; line: number } | undefined => {
    const s = c.lines[slot];
    if (!s) return undefined;
    let p = paths.get(s.file);
    if (p === undefined) paths.set(s.file, (p = sourcePath(s.file, c.object)));
    return { file: p, line: s.line };
  };
  // A line's count in one program is its busiest block's; copies of a program add up.
  const lineHits = new Map<string, { file: string; line: number; hits: number }>();
  const functionOfBlock = new Int32Array(c.blocks.length).fill(-1);
  const starts = c.functions.map((f) => f.block).filter((b) => b >= 0);
  c.blocks.forEach((_, i) => {
    let f = -1;
    starts.forEach((b, k) => {
      if (b <= i && (f < 0 || b > starts[f]!)) f = k;
    });
    functionOfBlock[i] = f;
  });
  const fnLines = c.functions.map(() => new Set<string>());
  const fnBranches = c.functions.map(() => [] as string[]);
  c.blocks.forEach((b, i) => {
    const hits = counts[b.counter]!;
    for (let s = b.start; s < b.end; s++) {
      const w = where(s);
      if (!w) continue;
      const key = `${w.file}:${w.line}`;
      const seen = lineHits.get(key);
      if (!seen || seen.hits < hits) lineHits.set(key, { ...w, hits });
      if (functionOfBlock[i]! >= 0) fnLines[functionOfBlock[i]!]!.add(key);
    }
  });
  for (const { file, line, hits } of lineHits.values()) {
    const f = fileOf(files, file);
    f.lines[line] = (f.lines[line] ?? 0) + hits;
  }
  const nth = new Map<string, number>();
  for (const br of c.branches) {
    const w = where(br.at);
    if (!w || br.fallCounter < 0) continue;
    const k = nth.get(`${w.file}:${w.line}`) ?? 0;
    nth.set(`${w.file}:${w.line}`, k + 1);
    const executed = counts[c.blocks[br.block]!.counter]!;
    const notTaken = counts[br.fallCounter]!;
    const key = `${w.line},${k}`;
    const f = fileOf(files, w.file);
    const b = (f.branches[key] ??= { executed: 0, taken: 0, notTaken: 0 });
    b.executed += executed;
    b.taken += executed - notTaken;
    b.notTaken += notTaken;
    const fn = functionOfBlock[br.block]!;
    if (fn >= 0) fnBranches[fn]!.push(`${w.file}:${key}`);
  }
  c.functions.forEach((fn, i) => {
    if (fn.block < 0 || !fn.source) return;
    const w = where(c.blocks[fn.block]!.start) ?? { file: sourcePath(fn.source.file, c.object), line: fn.source.line };
    const f = fileOf(files, w.file);
    const mine = (f.functions[fn.name] ??= { line: w.line, hits: 0, lines: [], branches: [] });
    mine.hits += counts[c.blocks[fn.block]!.counter]!;
    mine.lines = [...new Set([...mine.lines, ...fnLines[i]!])];
    mine.branches = [...new Set([...mine.branches, ...fnBranches[i]!])];
  });
}

/** Sums `part` into `into`. */
export function mergeCoverage(into: CoverageData, part: CoverageData): void {
  const files = into as { files: Record<string, FileHits> };
  for (const [file, p] of Object.entries(part.files)) {
    const f = fileOf(files, file);
    for (const [l, h] of Object.entries(p.lines)) f.lines[l] = (f.lines[l] ?? 0) + h;
    for (const [k, b] of Object.entries(p.branches)) {
      const m = (f.branches[k] ??= { executed: 0, taken: 0, notTaken: 0 });
      m.executed += b.executed;
      m.taken += b.taken;
      m.notTaken += b.notTaken;
    }
    for (const [name, fn] of Object.entries(p.functions)) {
      const m = (f.functions[name] ??= { line: fn.line, hits: 0, lines: [], branches: [] });
      m.hits += fn.hits;
      m.lines = [...new Set([...m.lines, ...fn.lines])];
      m.branches = [...new Set([...m.branches, ...fn.branches])];
    }
  }
}

const byNumber = (a: string, b: string) => {
  const [x, y] = [a.split(','), b.split(',')];
  return Number(x[0]) - Number(y[0]) || Number(x[1] ?? 0) - Number(y[1] ?? 0);
};

/** lcov's tracefile format (geninfo(1)): one record per source file. */
export function toLcov(data: CoverageData): string {
  const out: string[] = [];
  for (const file of Object.keys(data.files).sort()) {
    const f = data.files[file]!;
    out.push('TN:', `SF:${file}`);
    const fns = Object.entries(f.functions).sort((a, b) => a[1].line - b[1].line);
    for (const [name, fn] of fns) out.push(`FN:${fn.line},${name}`);
    for (const [name, fn] of fns) out.push(`FNDA:${fn.hits},${name}`);
    out.push(`FNF:${fns.length}`, `FNH:${fns.filter(([, fn]) => fn.hits > 0).length}`);
    const brs = Object.keys(f.branches).sort(byNumber);
    let brh = 0;
    for (const key of brs) {
      const b = f.branches[key]!;
      const [line, k] = key.split(',');
      const v = (n: number) => (b.executed === 0 ? '-' : String(n));
      out.push(`BRDA:${line},${k},0,${v(b.taken)}`, `BRDA:${line},${k},1,${v(b.notTaken)}`);
      brh += (b.taken > 0 ? 1 : 0) + (b.notTaken > 0 ? 1 : 0);
    }
    out.push(`BRF:${brs.length * 2}`, `BRH:${brh}`);
    const lines = Object.keys(f.lines).sort(byNumber);
    for (const l of lines) out.push(`DA:${l},${f.lines[l]}`);
    out.push(`LF:${lines.length}`, `LH:${lines.filter((l) => f.lines[l]! > 0).length}`, 'end_of_record');
  }
  return out.join('\n') + '\n';
}

/** Lines and branch outcomes hit and found: of a file, or of a function (its lines in any file). */
export function coverageTotals(data: CoverageData, file: string, fn?: string): CoverageTotals {
  const f = data.files[file];
  if (!f)
    throw new XdpspecError(
      'COVERAGE_NO_FILE',
      `no coverage of ${file}; files covered: ${Object.keys(data.files).join(', ')}`,
    );
  const lineKeys = fn === undefined ? Object.keys(f.lines).map((l) => `${file}:${l}`) : (f.functions[fn]?.lines ?? []);
  const branchKeys =
    fn === undefined ? Object.keys(f.branches).map((k) => `${file}:${k}`) : (f.functions[fn]?.branches ?? []);
  const split = (key: string, sep: string) => {
    const at = key.lastIndexOf(sep);
    return [key.slice(0, at), key.slice(at + 1)] as const;
  };
  let lh = 0;
  for (const key of lineKeys) {
    const [p, l] = split(key, ':');
    if ((data.files[p]?.lines[l] ?? 0) > 0) lh++;
  }
  let bh = 0;
  for (const key of branchKeys) {
    const [p, k] = split(key, ':');
    const b = data.files[p]?.branches[k];
    if (b) bh += (b.taken > 0 ? 1 : 0) + (b.notTaken > 0 ? 1 : 0);
  }
  return { lines: { hit: lh, found: lineKeys.length }, branches: { hit: bh, found: branchKeys.length * 2 } };
}

const pct = (t: { hit: number; found: number }) =>
  `${t.hit}/${t.found}`.padStart(9) + (t.found ? ` ${((100 * t.hit) / t.found).toFixed(0)}%`.padStart(6) : '     -');

/** The terminal summary: per file, and under each the functions defined in it. */
export function coverageSummary(data: CoverageData, base = process.cwd()): string {
  const rows: [string, CoverageTotals][] = [];
  for (const file of Object.keys(data.files).sort()) {
    const rel = relative(base, file);
    rows.push([rel.startsWith('..') ? file : rel, coverageTotals(data, file)]);
    const fns = Object.entries(data.files[file]!.functions).sort((a, b) => a[1].line - b[1].line);
    for (const [name] of fns) rows.push([`  ${name}()`, coverageTotals(data, file, name)]);
  }
  const width = Math.max(20, ...rows.map(([n]) => n.length));
  return [
    `${'BPF source coverage'.padEnd(width)}  ${'lines'.padStart(15)}  ${'branches'.padStart(15)}`,
    ...rows.map(([n, t]) => `${n.padEnd(width)}  ${pct(t.lines)}  ${pct(t.branches)}`),
  ].join('\n');
}

// The part files of a run live under DIR/parts; a run is named in the environment, so child
// processes (a spec that runs the CLI) add to the same run and an earlier run's parts are not.
const PARTS = 'parts';
const RUN_VAR = 'XDPSPEC_COVERAGE_RUN';

const collector = processWide('coverage-collector', () => ({
  active: undefined as
    { dir: string; data: CoverageData; stop: () => void; finished: boolean; owner: boolean } | undefined,
}));

/**
 * Collects the coverage of every counted program this process closes (or leaves open to the
 * end) into `dir`. The first process of a run clears the run's earlier parts.
 */
export function startCoverage(dir: string): void {
  if (collector.active) return;
  const abs = resolve(dir);
  const owner = !process.env[RUN_VAR];
  if (owner) {
    process.env[RUN_VAR] = `${process.pid}-${Date.now()}`;
    rmSync(join(abs, PARTS), { recursive: true, force: true });
  }
  process.env.XDPSPEC_COVERAGE = abs;
  const data: CoverageData = { files: {} };
  const stop = BlockCounters.onClose((c, counts) => addCounts(data, c, counts));
  collector.active = { dir: abs, data, stop, finished: false, owner };
}

/**
 * Ends this process's collection: writes its part, then lcov.info from every part of the run.
 * Returns the run's coverage so far (undefined when nothing was collected).
 */
export function finishCoverage(): { data: CoverageData; lcov: string; owner: boolean } | undefined {
  const a = collector.active;
  if (!a || a.finished) return undefined;
  a.finished = true;
  for (const c of BlockCounters.live()) addCounts(a.data, c, c.read());
  a.stop();
  const parts = join(a.dir, PARTS);
  mkdirSync(parts, { recursive: true });
  writeFileSync(join(parts, `${process.pid}-${Date.now()}.json`), JSON.stringify(a.data));
  const all: CoverageData = { files: {} };
  for (const name of readdirSync(parts)
    .filter((n) => n.endsWith('.json'))
    .sort())
    mergeCoverage(all, JSON.parse(readFileSync(join(parts, name), 'utf8')) as CoverageData);
  const lcov = join(a.dir, 'lcov.info');
  writeFileSync(lcov, toLcov(all));
  return { data: all, lcov, owner: a.owner };
}

/**
 * With `XDPSPEC_COVERAGE=DIR` in the environment (plain Mocha, or `xdpspec run --coverage`),
 * collects from the start and writes DIR/lcov.info when the process exits; the process that
 * began the run (not the children it starts) prints the summary on stderr.
 */
export function coverageFromEnvironment(): void {
  const dir = process.env.XDPSPEC_COVERAGE;
  if (!dir || collector.active) return;
  startCoverage(dir);
  process.once('exit', () => {
    const done = finishCoverage();
    if (done?.owner && process.env.XDPSPEC_COVERAGE_QUIET !== '1')
      process.stderr.write(`\n${coverageSummary(done.data)}\nlcov: ${done.lcov}\n`);
  });
}
