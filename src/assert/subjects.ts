// What every assertion of the Chai plugin shares: the results it accepts (unit and live frame
// results, runs, raw program runs), how a failure names a frame, and asserting over each frame.
import { valueText } from '../sys/text.js';
import { type Frame, parseFrame, summarize, type FieldChange } from '../packet/index.js';
import { describeRedirect, type RedirectTarget, type Verdict } from '../harness/verdict.js';
import { type ProgramRun } from '../bpf/program.js';
import { verdictOf } from '../harness/verdict.js';

/** What the assertions need of a frame result; unit and live results both have it. */
export interface Subject {
  readonly index: number;
  readonly program: string;
  readonly input: Frame;
  readonly verdict: Verdict;
  readonly action?: string;
  readonly port?: string;
  readonly output: Frame | undefined;
  readonly outputs?: readonly { port: string; side: 'dut' | 'tester'; frame: Frame }[];
  readonly changes: readonly FieldChange[];
  readonly redirect: RedirectTarget | undefined;
  /** A raw test-run result: what went in is not known. */
  readonly raw?: boolean;
  /** Instructions executed, for a program with block counters (unit engine). */
  readonly instructions?: number;
}

export interface RunSubject {
  readonly frames: readonly Subject[];
  readonly counts: Record<Verdict, number>;
  /** Live runs: frames that arrived without being an injected frame's output. */
  readonly others?: readonly { port: string; side: 'dut' | 'tester'; frame: Frame }[];
}

export const isSubject = (x: unknown): x is Subject =>
  typeof x === 'object' && x !== null && 'verdict' in x && 'input' in x && 'index' in x;
export const isRun = (x: unknown): x is RunSubject =>
  typeof x === 'object' && x !== null && 'frames' in x && 'counts' in x;

export function what(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return `an array of ${x.length}`;
  return typeof x === 'object'
    ? `an object with ${Object.keys(x).slice(0, 5).join(', ')}`
    : `${typeof x} ${valueText(x)}`;
}

export function fate(r: Subject): string {
  let s =
    r.verdict === 'redirected' && r.redirect
      ? `redirected ${describeRedirect(r.redirect)}`
      : r.verdict === 'tx'
        ? 'sent back (tx)'
        : r.verdict;
  if (r.action) s += ` (${r.action})`;
  return s;
}

/** The aligned lines under a failure's first sentence: what went in and what came out. */
export function context(r: Subject): string {
  const rows: [string, string][] = [
    [
      `injected`,
      r.raw
        ? '(not known: a raw test-run result)'
        : `#${r.index}${r.port ? ` on ${r.port}` : ''}  ${summarize(r.input)}`,
    ],
  ];
  const rewritten = r.changes.length ? `${r.changes.length} field(s) rewritten` : 'unchanged';
  if (r.outputs) {
    for (const o of r.outputs)
      rows.push([
        'seen on',
        `${o.port} (${o.side === 'dut' ? 'dut side' : 'out of the DUT'}), ${o.frame.bytes.equals(r.input.bytes) ? 'unchanged' : rewritten}`,
      ]);
    if (r.outputs.length === 0) rows.push(['seen on', 'no port']);
  } else rows.push(['output', r.output ? rewritten : 'none']);
  for (const c of r.changes) rows.push(['', `${c.path}: ${c.from ?? '(absent)'} -> ${c.to ?? '(absent)'}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

/** What the plugin's parts need of what Chai hands the plugin: its utils and its error class. */
export interface Kit {
  readonly u: Chai.ChaiUtils;
  readonly AssertionError: typeof Chai.AssertionError;
}

/** A raw `program.testRun()` result: it has no input or index of its own. */
export const isRawRun = (x: unknown): x is ProgramRun =>
  typeof x === 'object' && x !== null && 'retval' in x && 'action' in x && 'output' in x && !('verdict' in x);

export function asSubject(r: ProgramRun): Subject {
  const verdict = verdictOf(r.action);
  const output = verdict === 'dropped' || verdict === 'aborted' ? undefined : parseFrame(r.output);
  return {
    index: 0,
    program: 'the program',
    input: parseFrame(r.output),
    raw: true,
    verdict,
    action: r.action,
    output,
    changes: [],
    redirect: undefined,
  };
}

export function frames(k: Kit, ctx: Chai.AssertionStatic, name: string): Subject[] {
  const given: unknown = k.u.flag(ctx, 'object');
  const obj: unknown = isRawRun(given) ? asSubject(given) : given;
  if (Array.isArray(obj) && k.u.flag(ctx, 'all')) {
    obj.forEach((x, i) => {
      if (!isSubject(x))
        throw new k.AssertionError(
          `expected every element to be a frame result for .${name}, but element ${i} is ${what(x)}`,
        );
    });
    return obj as Subject[];
  }
  if (!isSubject(obj))
    throw new k.AssertionError(
      `expected a frame result (from runUnit or a live replay) for .${name}, got ${what(obj)}${Array.isArray(obj) ? ' (use .all for arrays)' : ''}`,
    );
  return [obj];
}

/**
 * One `assert` per frame: Chai applies `.not`, prefixes a message given to `expect(x, msg)`, and
 * hands `expected`/`actual` to reporters for a diff. Messages are built only when one fails.
 */
export function assertEach(
  k: Kit,
  ctx: Chai.AssertionStatic,
  name: string,
  ok: (r: Subject) => boolean,
  positive: (r: Subject) => string,
  negative: (r: Subject) => string,
  values: (r: Subject) => [expected: unknown, actual: unknown],
): void {
  for (const r of frames(k, ctx, name)) {
    const [expected, actual] = values(r);
    ctx.assert(
      ok(r),
      () => `${positive(r)}\n\n${context(r)}`,
      () => `${negative(r)}\n\n${context(r)}`,
      expected,
      actual,
    );
  }
}

export type Part = (c: Chai.ChaiStatic, k: Kit) => void;
