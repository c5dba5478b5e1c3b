// One report across kernels: each case's state on each, and the frames whose fate or output
// bytes differ between kernels, run by run, as `xdpspec diff` compares two objects.

/** A case as one kernel's run reported it. */
export interface MatrixCase {
  readonly file: string;
  /** The full title, without xdpspec's "(skipped: why)" ending. */
  readonly title: string;
  readonly state: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped, or the failure's first line. */
  readonly detail?: string;
  /** How long the case took there (Mocha's duration), ms. */
  readonly ms?: number;
}

/** One unit run or live replay a case made, frame by frame. */
export interface MatrixRun {
  /** The title of the case (or hook) that made it. */
  readonly case: string;
  readonly engine: 'unit' | 'live';
  readonly frames: readonly MatrixFrame[];
}

export interface MatrixFrame {
  readonly program: string;
  /** `passed`, `dropped`, `redirected to wan`, ... */
  readonly fate: string;
  /** sha1 of the input bytes: outputs are compared byte for byte only where the inputs were the same. */
  readonly input?: string;
  /** sha1 of the output bytes, or null without output. */
  readonly output: string | null;
  readonly length: number;
  /**
   * The fields the program changed (`eth.dst`, `ipv4.ttl`): what is compared where the inputs
   * differ between kernels (a bench's veths get new MAC addresses on every boot).
   */
  readonly changed?: readonly string[];
}

/** Whether a kernel did to a frame what the reference kernel did; else what it did, for the report. */
function sameFrame(ref: MatrixFrame, b: MatrixFrame): string | undefined {
  if (ref.fate !== b.fate) return b.fate;
  if (ref.input === undefined || ref.input === b.input)
    return ref.output === b.output ? undefined : `${b.fate} (other bytes, ${b.length})`;
  const x = (ref.changed ?? []).join(', ');
  const y = (b.changed ?? []).join(', ');
  if (x === y && ref.length === b.length) return undefined;
  return `${b.fate} (other rewrite: ${y || 'none'}${ref.length === b.length ? '' : `, ${b.length} bytes`})`;
}

/** Everything one kernel's run reported. */
export interface KernelReport {
  readonly label: string;
  /** `uname -r` there. */
  readonly release: string;
  readonly cases: readonly MatrixCase[];
  readonly runs: readonly MatrixRun[];
  /** 0, 1 or 2 as for `xdpspec run`; 2 too when the guest never reported its end. */
  readonly exitCode: number;
  /** Why there is no (complete) report: the guest did not boot, was killed, ... */
  readonly error?: string;
  /** How the guest ran (`TCG`, `KVM`, `this machine`) and how long, for the table's head. */
  readonly how?: string;
  /** From the guest's start to its init, ms (guests only). */
  readonly bootMs?: number;
  /** The whole run there, boot and power-off included, ms. */
  readonly wallMs?: number;
}

export interface FrameDifference {
  readonly case: string;
  /** The run's place among the runs of its case (0-based). */
  readonly run: number;
  readonly engine: 'unit' | 'live';
  readonly index: number;
  readonly program: string;
  /** Per kernel label: the fate, with " (other bytes)" when the output differs from the first kernel's. */
  readonly fates: Readonly<Record<string, string>>;
}

export interface MatrixComparison {
  readonly labels: readonly string[];
  readonly rows: readonly {
    readonly file: string;
    readonly title: string;
    readonly states: Readonly<Record<string, MatrixCase | undefined>>;
  }[];
  readonly differences: readonly FrameDifference[];
  /** Runs that cannot be compared frame by frame: a different number of them, or of their frames. */
  readonly unaligned: readonly string[];
  /** Frames compared on every kernel. */
  readonly framesCompared: number;
}

const key = (file: string, title: string) => `${file}\0${title}`;

/** Compares the kernels' reports, the first as the reference. */
export function compareKernels(reports: readonly KernelReport[]): MatrixComparison {
  const labels = reports.map((r) => r.label);
  const rows = new Map<string, { file: string; title: string; states: Record<string, MatrixCase | undefined> }>();
  for (const r of reports)
    for (const c of r.cases) {
      const k = key(c.file, c.title);
      if (!rows.has(k)) rows.set(k, { file: c.file, title: c.title, states: {} });
      rows.get(k)!.states[r.label] = c;
    }
  const byCase = reports.map((r) => {
    const m = new Map<string, MatrixRun[]>();
    for (const run of r.runs) {
      if (!m.has(run.case)) m.set(run.case, []);
      m.get(run.case)!.push(run);
    }
    return m;
  });
  const differences: FrameDifference[] = [];
  const unaligned: string[] = [];
  let framesCompared = 0;
  const cases = new Set(byCase.flatMap((m) => [...m.keys()]));
  for (const c of cases) {
    const lists = byCase.map((m) => m.get(c) ?? []);
    const counts = lists.map((l) => l.length);
    // A kernel that skipped the case made no runs: nothing of it to compare, and not a difference.
    const present = lists.map((l, i) => ({ l, i })).filter(({ l }) => l.length > 0);
    if (present.length < 2) continue;
    if (new Set(present.map(({ l }) => l.length)).size > 1) {
      unaligned.push(`${c}: ${labels.map((l, i) => `${counts[i]} runs on ${l}`).join(', ')}`);
      continue;
    }
    for (let k = 0; k < present[0]!.l.length; k++) {
      const runs = present.map(({ l, i }) => ({ run: l[k]!, label: labels[i]! }));
      const sizes = runs.map(({ run }) => run.frames.length);
      if (new Set(sizes).size > 1) {
        unaligned.push(
          `${c}, run ${k + 1}: ${runs.map(({ run, label }) => `${run.frames.length} frames on ${label}`).join(', ')}`,
        );
        continue;
      }
      for (let f = 0; f < sizes[0]!; f++) {
        framesCompared++;
        const ref = runs[0]!.run.frames[f]!;
        const seen = runs.map(({ run }) => sameFrame(ref, run.frames[f]!));
        if (seen.every((d) => d === undefined)) continue;
        const fates: Record<string, string> = {};
        runs.forEach(({ run, label }, i) => (fates[label] = seen[i] ?? run.frames[f]!.fate));
        differences.push({ case: c, run: k, engine: runs[0]!.run.engine, index: f, program: ref.program, fates });
      }
    }
  }
  return { labels, rows: [...rows.values()], differences, unaligned, framesCompared };
}

const mark = (c: MatrixCase | undefined) =>
  c === undefined ? '-' : c.state === 'passed' ? 'pass' : c.state === 'failed' ? 'FAIL' : 'skip';

/** The report as text: kernels, the cases that are not the same everywhere, the frames that differ. */
export function formatMatrix(reports: readonly KernelReport[], m: MatrixComparison): string {
  const out: string[] = ['Kernels:'];
  for (const r of reports) {
    const n = (s: MatrixCase['state']) => r.cases.filter((c) => c.state === s).length;
    out.push(
      `  ${r.label.padEnd(10)} ${r.release || '?'}${r.how ? ` (${r.how})` : ''}: ${n('passed')} passed, ${n('failed')} failed, ${n('skipped')} skipped` +
        (r.error ? `; ${r.error}` : ''),
    );
  }
  const uneven = m.rows.filter(
    (row) =>
      new Set(m.labels.map((l) => mark(row.states[l]))).size > 1 ||
      m.labels.some((l) => row.states[l]?.state === 'failed'),
  );
  out.push('', `Cases: ${m.rows.length}, ${m.rows.length - uneven.length} with the same state on every kernel.`);
  if (uneven.length) {
    const width = (l: string) => Math.max(6, l.length);
    out.push(`  ${m.labels.map((l) => l.padEnd(width(l))).join(' ')}  case`);
    for (const row of uneven) {
      out.push(`  ${m.labels.map((l) => mark(row.states[l]).padEnd(width(l))).join(' ')}  ${row.title}  [${row.file}]`);
      for (const l of m.labels) {
        const d = row.states[l]?.detail;
        if (d && row.states[l]!.state !== 'passed') out.push(`      ${l}: ${d}`);
      }
    }
  }
  out.push(
    '',
    `Frames: ${m.framesCompared} compared on every kernel that ran them, ${m.differences.length} with another fate or other bytes.`,
  );
  for (const d of m.differences)
    out.push(
      `  ${d.case} › ${d.engine} run ${d.run + 1}, frame #${d.index} (${d.program}): ${m.labels
        .filter((l) => d.fates[l] !== undefined)
        .map((l) => `${l} ${d.fates[l]}`)
        .join(', ')}`,
    );
  for (const u of m.unaligned) out.push(`  not compared frame by frame: ${u}`);
  return out.join('\n');
}
