import { XdpspecError } from '../sys/errors.js';
import type { Program, TestRunOptions } from '../bpf/index.js';
import { diffFrames, parseFrame, summarize, type Built, type FieldChange } from '../packet/index.js';
import { frameBytes } from './frames.js';
import { runUnit, type UnitOptions } from './unit.js';
import { VERDICTS, type FrameResult } from './verdict.js';

/**
 * One row of a fixture table, as peers' suites keep them (Katran's, a kernel selftest's): an
 * input, and what the program must answer. Frames are bytes, a builder or a hex string.
 */
export interface TableRow {
  /** How the row is named in reports (default `#index`). */
  readonly name?: string;
  readonly input: Uint8Array | Built | string;
  /** The return code by name (`XDP_TX`, `TC_ACT_SHOT`), or a verdict (`tx`, `dropped`). */
  readonly expect?: string;
  /**
   * The bytes the program must leave, whatever its verdict (a decapsulation before a drop
   * counts): compared with the run's buffer.
   */
  readonly output?: Uint8Array | Built | string;
  /** Test-run options for this row alone (a mark, an ingress device). */
  readonly options?: TestRunOptions;
}

export interface TableRowResult {
  readonly index: number;
  readonly name: string;
  readonly ok: boolean;
  /** What did not match, one line each: the return code, then the output's fields. */
  readonly mismatches: readonly string[];
  readonly result: FrameResult;
}

export interface TableRun {
  readonly program: string;
  readonly rows: readonly TableRowResult[];
  readonly passed: number;
  readonly failed: number;
}

const VERDICT_WORDS = new Set<string>(VERDICTS);

function bytesOf(x: Uint8Array | Built | string, what: string): Buffer {
  if (typeof x !== 'string') return frameBytes(x);
  const hex = x.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex))
    throw new XdpspecError('TABLE_ROW', `${what} is not hex bytes: ${JSON.stringify(x.slice(0, 40))}`);
  return Buffer.from(hex, 'hex');
}

/**
 * Runs the rows in order through `program` with BPF_PROG_TEST_RUN (one state, as a peer's suite
 * runs its fixtures: later rows see the map entries earlier ones left) and checks each against
 * its expectations. Returns every row's result; `formatTable` prints the mismatches.
 * @throws XdpspecError `TABLE_ROW` for a row that is not well formed (no input, bad hex).
 */
export async function runTable(
  program: Program,
  rows: readonly TableRow[],
  options: UnitOptions = {},
): Promise<TableRun> {
  const inputs = rows.map((r, i) => {
    if (r.input === undefined)
      throw new XdpspecError('TABLE_ROW', `row #${i}${r.name ? ` (${r.name})` : ''} has no input`);
    return bytesOf(r.input, `row #${i} input`);
  });
  const wanted = rows.map((r, i) => (r.output === undefined ? undefined : bytesOf(r.output, `row #${i} output`)));
  const run = await runUnit(program, inputs, { ...options, perFrame: rows.map((r) => r.options) });
  const results = run.frames.map((result, i): TableRowResult => {
    const row = rows[i]!;
    const mismatches: string[] = [];
    if (row.expect !== undefined) {
      const got = VERDICT_WORDS.has(row.expect) ? result.verdict : result.action;
      if (got !== row.expect) mismatches.push(`returned ${result.action} (${result.verdict}), expected ${row.expect}`);
    }
    const want = wanted[i];
    if (want !== undefined) {
      const actual = result.buffer ?? Buffer.alloc(0);
      if (!actual.equals(want)) {
        const fields: FieldChange[] = diffFrames(parseFrame(want), parseFrame(actual));
        if (fields.length === 0)
          mismatches.push(
            `output differs in bytes no field shows: expected ${want.toString('hex')}, got ${actual.toString('hex')}`,
          );
        for (const f of fields)
          mismatches.push(`${f.path}: expected ${f.from ?? '(absent)'}, got ${f.to ?? '(absent)'}`);
      }
    }
    return { index: i, name: row.name ?? `#${i}`, ok: mismatches.length === 0, mismatches, result };
  });
  const failed = results.filter((r) => !r.ok).length;
  return { program: run.program, rows: results, passed: results.length - failed, failed };
}

/** The rows that did not match, each with its input and what differed; then the counts. */
export function formatTable(run: TableRun): string {
  const lines = run.rows
    .filter((r) => !r.ok)
    .flatMap((r) => [`${r.name}  ${summarize(r.result.input)}`, ...r.mismatches.map((m) => `    ${m}`)]);
  return [...lines, `${run.rows.length} rows: ${run.passed} matched, ${run.failed} did not (${run.program})`].join(
    '\n',
  );
}
