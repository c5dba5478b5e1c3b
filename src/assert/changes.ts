// The plugin's assertions for validating a change: onlyChanges, matchGolden, everyRowMatched, runTimeWithin.
import { summarize } from '../packet/index.js';
import { formatChange, formatSummary, type ChangeLabel, type Comparison } from '../harness/compare.js';
import { checkGolden } from '../harness/golden.js';
import { RunTimeRegression, checkRunTime, type RunTimeOptions } from '../harness/runtime.js';
import type { FrameSource } from '../harness/frames.js';
import { Program } from '../bpf/program.js';
import { formatTable, type TableRun } from '../harness/table.js';
import { isRun, what, type Part } from './subjects.js';

const isComparison = (x: unknown): x is Comparison =>
  typeof x === 'object' && x !== null && 'changed' in x && 'summary' in x && 'runs' in x;

/** Assertions on comparisons of two objects and on golden captures: validating a change. */
export const changesPlugin: Part = (c, k) => {
  const { Assertion } = c;

  Assertion.addMethod(
    'onlyChanges',
    function (this: Chai.AssertionStatic, expected: Readonly<Record<number, ChangeLabel>>) {
      const obj: unknown = k.u.flag(this, 'object');
      if (!isComparison(obj))
        throw new k.AssertionError(`expected a comparison (from compareObjects) for .onlyChanges, got ${what(obj)}`);
      if (k.u.flag(this, 'negate'))
        throw new k.AssertionError('.not.onlyChanges says too little to check; list the changes you expect instead');
      const byIndex = new Map(obj.changed.map((ch) => [ch.index, ch]));
      const indexes = [...new Set([...byIndex.keys(), ...Object.keys(expected).map(Number)])].sort((a, b) => a - b);
      const wrong = indexes.filter((i) => byIndex.get(i)?.label !== expected[i]);
      const message = () => {
        const lines = wrong.slice(0, 10).map((i) => {
          const ch = byIndex.get(i);
          const want = expected[i] ?? 'no change';
          if (!ch) {
            const input = obj.runs.old.frames[i]?.input;
            return `  #${i}  ${input ? summarize(input) : '(the capture has no such frame)'}\n      expected ${want}, but it did not change`;
          }
          return `${formatChange(ch).replace(/^/gm, '  ')}\n      expected ${want}, but it was ${ch.label}`;
        });
        const more = wrong.length > 10 ? `\n  ... and ${wrong.length - 10} more` : '';
        return `expected only the listed changes from the old object to the new (${obj.program}), but ${wrong.length} frame(s) differ from the list (${formatSummary(obj)})\n\n${lines.join('\n')}${more}`;
      };
      this.assert(
        wrong.length === 0,
        message,
        '',
        { ...expected },
        Object.fromEntries(obj.changed.map((ch) => [ch.index, ch.label])),
      );
    },
  );

  Assertion.addMethod('matchGolden', function (this: Chai.AssertionStatic, file: string | URL) {
    const obj: unknown = k.u.flag(this, 'object');
    if (!isRun(obj))
      throw new k.AssertionError(`expected a run (from runUnit or a live replay) for .matchGolden, got ${what(obj)}`);
    if (k.u.flag(this, 'negate'))
      throw new k.AssertionError('.not.matchGolden is not supported: a golden capture records what a run should give');
    let mismatch: string | undefined;
    try {
      checkGolden(obj, file);
    } catch (err) {
      // The mismatch's message is the per-frame diff; as a failed assertion it reads as a failure, not a crash.
      if (!(err instanceof Error && 'code' in err && String(err.code).startsWith('GOLDEN'))) throw err;
      mismatch = err.message;
    }
    this.assert(mismatch === undefined, () => mismatch!, '', undefined, undefined);
  });
};

const isTable = (x: unknown): x is TableRun =>
  typeof x === 'object' && x !== null && 'rows' in x && 'failed' in x && 'passed' in x;

export const tablePlugin: Part = (c, k) => {
  c.Assertion.addProperty('everyRowMatched', function (this: Chai.AssertionStatic) {
    const obj: unknown = k.u.flag(this, 'object');
    if (!isTable(obj))
      throw new k.AssertionError(`expected a table run (from runTable) for .everyRowMatched, got ${what(obj)}`);
    this.assert(
      obj.failed === 0,
      () =>
        `expected every row of the table to match ${obj.program}, but ${obj.failed} of ${obj.rows.length} did not\n\n${formatTable(obj).replace(/^/gm, '  ')}`,
      `expected some row of the table not to match ${obj.program}, but all ${obj.rows.length} did`,
      obj.rows.length,
      obj.passed,
    );
  });
};

export const runTimePlugin: Part = (c, k) => {
  c.Assertion.addMethod(
    'runTimeWithin',
    function (
      this: Chai.AssertionStatic,
      factor: number,
      options: RunTimeOptions & { baseline: string | URL; frames: FrameSource },
    ) {
      const obj: unknown = k.u.flag(this, 'object');
      if (!(obj instanceof Program))
        throw new k.AssertionError(`expected a loaded program for .runTimeWithin, got ${what(obj)}`);
      if (k.u.flag(this, 'negate'))
        throw new k.AssertionError('.not.runTimeWithin is not supported: a performance gate bounds growth from above');
      let regression: RunTimeRegression | undefined;
      try {
        checkRunTime(obj, options.frames, { ...options, factor });
      } catch (err) {
        if (!(err instanceof RunTimeRegression)) throw err;
        regression = err;
      }
      this.assert(regression === undefined, () => regression!.message, '', undefined, undefined);
    },
  );
};
