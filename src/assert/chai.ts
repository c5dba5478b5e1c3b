/// <reference types="chai" preserve="true" />
import { valueText } from '../sys/text.js';
import * as chai from 'chai';
import {
  Frame,
  diffFrames,
  formatField,
  parseFrame,
  summarize,
  checkChecksums,
  type FieldChange,
} from '../packet/index.js';
import { describeRedirect, VERDICTS, type RedirectTarget, type Verdict } from '../harness/verdict.js';
import { formatChange, formatSummary, type ChangeLabel, type Comparison } from '../harness/compare.js';
import { checkGolden } from '../harness/golden.js';
import { RunTimeRegression, checkRunTime, type RunTimeOptions } from '../harness/runtime.js';
import type { FrameSource } from '../harness/frames.js';
import { Program, type ProgramRun } from '../bpf/program.js';
import { verdictOf } from '../harness/verdict.js';
import { formatTable, type TableRun } from '../harness/table.js';

/** What the assertions need of a frame result; unit and live results both have it. */
interface Subject {
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
}

interface RunSubject {
  readonly frames: readonly Subject[];
  readonly counts: Record<Verdict, number>;
  /** Live runs: frames that arrived without being an injected frame's output. */
  readonly others?: readonly { port: string; side: 'dut' | 'tester'; frame: Frame }[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Chai {
    interface Assertion {
      /** The frame was passed on (XDP_PASS, TC_ACT_OK, ...). */
      passed: Assertion;
      dropped: Assertion;
      /** Sent back out of the port it came in on (XDP_TX). */
      tx: Assertion;
      redirected: Assertion;
      aborted: Assertion;
      stolen: Assertion;
      /** It has an output, byte for byte the input. */
      unchanged: Assertion;
      /** Its output (or the Frame itself) has every checksum (IPv4, TCP, UDP, ICMP...) right for its bytes. */
      validChecksums: Assertion;
      /** Redirected to this port (live), device name or ifindex. */
      redirectedTo(target: string | number): Assertion;
      /** Its output has these field values: `{ 'ipv4.ttl': 63, 'eth.dst': '02:00:00:00:00:0b' }`. */
      rewritten(fields: Record<string, unknown>): Assertion;
      /** A fixture table (`runTable`) matched on every row; a failure lists each row that did not. */
      everyRowMatched: Assertion;
      /** A run's verdict counts are exactly these (verdicts not named must be 0). */
      verdicts(counts: Partial<Record<Verdict, number>>): Assertion;
      /** Live runs: frames arrived that no injected frame caused; `not.to.have.otherFrames` asserts none did. */
      otherFrames: Assertion;
      /**
       * What `equalFrame` does not compare: fields (`ipv4.id`), whole layers (`payload`), or
       * ranges of the frame (`bytes 18-19`, `bits 116-119`, from its first byte or bit).
       */
      ignoring(...paths: string[]): Assertion;
      /** The output (of a frame result), or the frame itself, equals `expected` field by field. */
      equalFrame(expected: Uint8Array | { build(): Buffer } | Frame): Assertion;
      /**
       * A comparison of an old and a new object (`compareObjects`) changed exactly these frames,
       * each as labelled (`{ 3: 'passed->dropped', 7: 'rewrite changed' }`); `{}` asserts none changed.
       */
      onlyChanges(expected: Readonly<Record<number, ChangeLabel>>): Assertion;
      /**
       * A run's outputs equal its golden capture (a path, or a URL next to the spec); with
       * XDPSPEC_UPDATE_GOLDEN=1 the run is recorded as the golden capture instead.
       */
      matchGolden(file: string | URL): Assertion;
      /**
       * The performance gate: a program's kernel run time per frame, as a ratio to xdpspec's
       * reference program measured beside it, is at most `factor` times the ratio recorded in
       * `baseline` (XDPSPEC_UPDATE_BASELINE=1 records it). See `checkRunTime`.
       */
      runTimeWithin(
        factor: number,
        options: RunTimeOptions & { baseline: string | URL; frames: FrameSource },
      ): Assertion;
    }
    // Chai types `.all` for `.all.keys`; xdpspec's assertions also read it on arrays of results:
    // `expect(frames).to.all.be.passed`, `expect(frames).to.all.have.validChecksums`.
    interface KeyFilter {
      be: Assertion;
      have: Assertion;
    }
  }
}

const isSubject = (x: unknown): x is Subject =>
  typeof x === 'object' && x !== null && 'verdict' in x && 'input' in x && 'index' in x;
const isRun = (x: unknown): x is RunSubject => typeof x === 'object' && x !== null && 'frames' in x && 'counts' in x;

function what(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return `an array of ${x.length}`;
  return typeof x === 'object'
    ? `an object with ${Object.keys(x).slice(0, 5).join(', ')}`
    : `${typeof x} ${valueText(x)}`;
}

function fate(r: Subject): string {
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
function context(r: Subject): string {
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
interface Kit {
  readonly u: Chai.ChaiUtils;
  readonly AssertionError: typeof Chai.AssertionError;
}

/** A raw `program.testRun()` result: it has no input or index of its own. */
const isRawRun = (x: unknown): x is ProgramRun =>
  typeof x === 'object' && x !== null && 'retval' in x && 'action' in x && 'output' in x && !('verdict' in x);

function asSubject(r: ProgramRun): Subject {
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

function frames(k: Kit, ctx: Chai.AssertionStatic, name: string): Subject[] {
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
function assertEach(
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

/**
 * The Chai plugin: `chai.use(xdpspecChai)` installs xdpspec's assertions into that Chai. It uses
 * only the `chai` and `utils` it is handed, so it serves whichever copy of Chai the caller has.
 */
export const xdpspecChai: Chai.ChaiPlugin = (c, u) => {
  const k: Kit = { u, AssertionError: c.AssertionError };
  verdictsPlugin(c, k);
  framesPlugin(c, k);
  changesPlugin(c, k);
  tablePlugin(c, k);
  runTimePlugin(c, k);
};

type Part = (c: Chai.ChaiStatic, k: Kit) => void;

/** expected/actual for reporters' diffs: the fate asked for and the fate seen. */
const fates =
  (want: string) =>
  (r: Subject): [unknown, unknown] => [want, fate(r)];

const verdictsPlugin: Part = (c, k) => {
  const { Assertion } = c;
  for (const v of VERDICTS) {
    const word = v === 'tx' ? 'sent back (tx)' : v;
    Assertion.addProperty(v, function (this: Chai.AssertionStatic) {
      assertEach(
        k,
        this,
        v,
        (r) => r.verdict === v,
        (r) => `expected frame #${r.index} to be ${word} by ${r.program}, but it was ${fate(r)}`,
        (r) =>
          `expected frame #${r.index} not to be ${word} by ${r.program}, but it was${r.action ? ` (${r.action})` : ''}`,
        fates(v),
      );
    });
  }

  Assertion.addProperty('unchanged', function (this: Chai.AssertionStatic) {
    assertEach(
      k,
      this,
      'unchanged',
      (r) => r.output !== undefined && r.output.bytes.equals(r.input.bytes),
      (r) =>
        r.output
          ? `expected frame #${r.index} to leave ${r.program} unchanged, but ${r.changes.length} field(s) were rewritten`
          : `expected frame #${r.index} to leave ${r.program} unchanged, but it did not leave at all: ${fate(r)}`,
      (r) => `expected frame #${r.index} to be changed by ${r.program}, but it left unchanged`,
      (r) => [
        Object.fromEntries(r.changes.map((ch) => [ch.path, ch.from])),
        Object.fromEntries(r.changes.map((ch) => [ch.path, ch.to])),
      ],
    );
  });

  Assertion.addProperty('validChecksums', function (this: Chai.AssertionStatic) {
    // A UDP checksum of 0 ("none") is valid; one that cannot be checked (a cut-short frame) is not.
    const wrong = (f: Frame) => checkChecksums(f).filter((ch) => ch.status !== 'valid' && ch.status !== 'none');
    const hex = (n: number | undefined) => (n === undefined ? '?' : `0x${n.toString(16).padStart(4, '0')}`);
    const list = (f: Frame) =>
      wrong(f)
        .map((ch) =>
          ch.status === 'invalid'
            ? `${ch.path} is ${hex(ch.value)}, expected ${hex(ch.expected)}`
            : `${ch.path} cannot be checked`,
        )
        .join('; ');
    const sums = (f: Frame | undefined, pick: 'value' | 'expected'): Record<string, string> =>
      Object.fromEntries(
        (f ? wrong(f) : []).map((ch) => [
          ch.path,
          ch.status === 'invalid' ? hex(pick === 'value' ? ch.value : ch.expected) : ch.status,
        ]),
      );
    const obj: unknown = k.u.flag(this, 'object');
    if (obj instanceof Frame) {
      const ok = wrong(obj).length === 0;
      this.assert(
        ok,
        () => `expected the frame to have valid checksums, but ${list(obj)}\n\n  ${summarize(obj)}`,
        'expected the frame not to have valid checksums, but they all are',
        sums(obj, 'expected'),
        sums(obj, 'value'),
      );
      return;
    }
    assertEach(
      k,
      this,
      'validChecksums',
      (r) => r.output !== undefined && wrong(r.output).length === 0,
      (r) =>
        `expected frame #${r.index}'s output to have valid checksums, but ${r.output ? list(r.output) : `it has no output: it was ${fate(r)}`}`,
      (r) => `expected frame #${r.index}'s output not to have valid checksums, but they all are`,
      (r) => [sums(r.output, 'expected'), sums(r.output, 'value')],
    );
  });

  Assertion.addMethod('redirectedTo', function (this: Chai.AssertionStatic, target: string | number) {
    const hit = (r: Subject) => {
      const t = r.redirect;
      if (r.verdict !== 'redirected' || !t || !t.known) return false;
      return typeof target === 'number'
        ? t.ifindex === target
        : t.port === target || (t.port === undefined && t.device === target);
    };
    assertEach(
      k,
      this,
      'redirectedTo',
      hit,
      (r) => `expected frame #${r.index} to be redirected to ${target} by ${r.program}, but it was ${fate(r)}`,
      (r) => `expected frame #${r.index} not to be redirected to ${target} by ${r.program}, but it was`,
      fates(`redirected to ${target}`),
    );
  });

  Assertion.addMethod('rewritten', function (this: Chai.AssertionStatic, fields: Record<string, unknown>) {
    const text = (path: string, v: unknown) => {
      const [layer, field] = [
        path.slice(0, path.indexOf('.')).replace(/\[\d+\]$/, ''),
        path.slice(path.indexOf('.') + 1),
      ];
      return v === undefined ? '(absent)' : formatField(layer, field, v);
    };
    for (const r of frames(k, this, 'rewritten')) {
      const out = r.output;
      if (!out) {
        // No output: the frame cannot have those values, so `.not.rewritten` holds.
        this.assert(
          false,
          () =>
            `expected frame #${r.index} to be rewritten as specified, but it has no output: it was ${fate(r)}\n\n${context(r)}`,
          '',
          undefined,
          undefined,
        );
        continue;
      }
      const all = Object.entries(fields).map(([path, want]) => ({
        path,
        want: text(path, want),
        got: text(path, out.get(path)),
      }));
      const diffs = all.filter((d) => d.want !== d.got);
      const message = () => {
        const rows: [string, string][] = diffs.map((d) => [
          d.path,
          `expected ${d.want.padEnd(Math.max(...diffs.map((x) => x.want.length)))}   actual ${d.got}`,
        ]);
        for (const ch of checkChecksums(out)) {
          if (ch.path in fields) continue;
          const layer = ch.path.split('.')[0]!.replace(/\[\d+\]$/, '');
          const state =
            ch.status === 'valid'
              ? 'valid for the actual header'
              : ch.status === 'invalid'
                ? `invalid: expected ${formatField(layer, 'checksum', ch.expected)}`
                : ch.status;
          rows.push([ch.path, `actual ${formatField(layer, 'checksum', ch.value)} (${state})`]);
        }
        rows.push(['verdict', fate(r)]);
        const w = Math.max(...rows.map(([key]) => key.length));
        return `expected frame #${r.index} to be rewritten as specified, but ${diffs.length} field(s) differ\n\n${rows.map(([key, v]) => `  ${key.padEnd(w)}  ${v}`).join('\n')}`;
      };
      this.assert(
        diffs.length === 0,
        message,
        () =>
          `expected frame #${r.index} not to be rewritten as specified, but all ${Object.keys(fields).length} field(s) have those values\n\n${context(r)}`,
        Object.fromEntries(all.map((d) => [d.path, d.want])),
        Object.fromEntries(all.map((d) => [d.path, d.got])),
      );
    }
  });

  Assertion.addMethod('verdicts', function (this: Chai.AssertionStatic, want: Partial<Record<Verdict, number>>) {
    const obj: unknown = k.u.flag(this, 'object');
    if (!isRun(obj))
      throw new k.AssertionError(`expected a run (from runUnit or a live replay) for .verdicts, got ${what(obj)}`);
    for (const key of Object.keys(want)) {
      if (!VERDICTS.includes(key as Verdict))
        throw new k.AssertionError(
          `.verdicts: ${JSON.stringify(key)} is not a verdict; verdicts are ${VERDICTS.join(', ')}`,
        );
    }
    const list = (counts: Partial<Record<Verdict, number>>) =>
      VERDICTS.filter((v) => (counts[v] ?? 0) > 0)
        .map((v) => `${counts[v]} ${v}`)
        .join(', ') || 'nothing';
    const same = VERDICTS.every((v) => (want[v] ?? 0) === obj.counts[v]);
    const message = () => {
      // Show the frames of every verdict that came out more often than expected: the surprises.
      const over = VERDICTS.filter((v) => obj.counts[v] > (want[v] ?? 0));
      const lines = over.flatMap((v) => {
        const fs = obj.frames.filter((f) => f.verdict === v);
        return [
          `  ${v} (${fs.length}, expected ${want[v] ?? 0}):`,
          ...fs.slice(0, 5).map((f) => `    #${f.index}  ${summarize(f.input)}`),
          ...(fs.length > 5 ? [`    ... and ${fs.length - 5} more`] : []),
        ];
      });
      return `expected ${obj.frames.length} frames to be ${list(want)}, but they were ${list(obj.counts)}\n\n${lines.join('\n')}`;
    };
    const nonZero = (counts: Partial<Record<Verdict, number>>) =>
      Object.fromEntries(VERDICTS.filter((v) => (counts[v] ?? 0) > 0).map((v) => [v, counts[v]]));
    this.assert(
      same,
      message,
      () => `expected ${obj.frames.length} frames not to be ${list(want)}, but they were`,
      nonZero(want),
      nonZero(obj.counts),
    );
  });
};

const asFrame = (x: Uint8Array | { build(): Buffer } | Frame): Frame =>
  x instanceof Frame ? x : parseFrame(x instanceof Uint8Array ? x : x.build());

/** The second half of the plugin: whole frames and whole runs. */
const framesPlugin: Part = (c, k) => {
  const { Assertion } = c;

  Assertion.addProperty('otherFrames', function (this: Chai.AssertionStatic) {
    const obj: unknown = k.u.flag(this, 'object');
    if (!isRun(obj) || obj.others === undefined)
      throw new k.AssertionError(`expected a live run for .otherFrames, got ${what(obj)}`);
    const others = obj.others;
    const shown = others.slice(0, 10).map((o) => `${`${o.port} (${o.side} side)`.padEnd(20)}  ${summarize(o.frame)}`);
    this.assert(
      others.length > 0,
      'expected frames other than the outputs of injected frames, but none arrived',
      () =>
        `expected no frames other than the outputs of injected frames, but ${others.length} arrived\n\n${shown.map((l) => `  ${l}`).join('\n')}${others.length > 10 ? `\n  ... and ${others.length - 10} more` : ''}`,
      [],
      shown,
    );
  });

  Assertion.addMethod('ignoring', function (this: Chai.AssertionStatic, ...paths: string[]) {
    k.u.flag(this, 'xdpspec.ignoring', [
      ...((k.u.flag(this, 'xdpspec.ignoring') as string[] | undefined) ?? []),
      ...paths,
    ]);
  });

  Assertion.addMethod(
    'equalFrame',
    function (this: Chai.AssertionStatic, expected: Uint8Array | { build(): Buffer } | Frame) {
      const obj: unknown = k.u.flag(this, 'object');
      const ignoring = (k.u.flag(this, 'xdpspec.ignoring') as string[] | undefined) ?? [];
      let actual: Frame;
      let label: string;
      if (isSubject(obj)) {
        if (!obj.output)
          throw new k.AssertionError(
            `expected frame #${obj.index}'s output to equal the expected frame, but it has no output: it was ${fate(obj)}\n\n${context(obj)}`,
          );
        actual = obj.output;
        label = `frame #${obj.index}'s output`;
      } else if (obj instanceof Frame || obj instanceof Uint8Array) {
        actual = asFrame(obj);
        label = 'the frame';
      } else throw new k.AssertionError(`expected a frame result, a Frame or bytes for .equalFrame, got ${what(obj)}`);
      // Ranges ('bytes 18-19', 'bits 116-119', counted from the frame's first byte or bit) are
      // masked out of both frames before comparing; names ('ipv4.id', 'payload') drop fields.
      const ranges = ignoring
        .map((i) => /^(bytes|bits) (\d+)-(\d+)$/.exec(i))
        .filter((m): m is RegExpExecArray => m !== null);
      let want = asFrame(expected);
      if (ranges.length) {
        const mask = (f: Frame) => {
          const b = Buffer.from(f.bytes);
          for (const m of ranges) {
            const [from, to] = [Number(m[2]), Number(m[3])];
            for (let bit = m[1] === 'bytes' ? from * 8 : from; bit <= (m[1] === 'bytes' ? to * 8 + 7 : to); bit++) {
              if (bit >> 3 < b.length) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
            }
          }
          return parseFrame(b);
        };
        actual = mask(actual);
        want = mask(want);
      }
      const ignored = (path: string) =>
        ignoring.some((i) => path === i || path.startsWith(`${i}.`) || path.replace(/\[\d+\]/, '').startsWith(`${i}.`));
      const diffs = diffFrames(actual, want).filter((d) => !ignored(d.path));
      const but = ignoring.length ? ` (ignoring ${ignoring.join(', ')})` : '';
      const message = () => {
        const w = Math.max(...diffs.map((d) => d.path.length));
        const ew = Math.max(...diffs.map((d) => (d.to ?? '(absent)').length));
        const rows = diffs.map(
          (d) => `  ${d.path.padEnd(w)}  expected ${(d.to ?? '(absent)').padEnd(ew)}   actual ${d.from ?? '(absent)'}`,
        );
        return `expected ${label} to equal the expected frame${but}, but ${diffs.length} field(s) differ\n\n${rows.join('\n')}\n\n  expected  ${summarize(want)}\n  actual    ${summarize(actual)}`;
      };
      this.assert(
        diffs.length === 0,
        message,
        `expected ${label} not to equal the expected frame${but}, but it does`,
        Object.fromEntries(diffs.map((d) => [d.path, d.to ?? '(absent)'])),
        Object.fromEntries(diffs.map((d) => [d.path, d.from ?? '(absent)'])),
      );
    },
  );
};

const isComparison = (x: unknown): x is Comparison =>
  typeof x === 'object' && x !== null && 'changed' in x && 'summary' in x && 'runs' in x;

/** Assertions on comparisons of two objects and on golden captures: validating a change. */
const changesPlugin: Part = (c, k) => {
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

const tablePlugin: Part = (c, k) => {
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

const runTimePlugin: Part = (c, k) => {
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

let installed = false;

/**
 * Chai's `expect`, with xdpspec's assertions installed into Chai the first time it is called
 * (importing xdpspec changes nothing). `chai.use(xdpspecChai)` installs the same assertions for
 * Chai's own `expect`, `should` and `assert`.
 */
export const expect: Chai.ExpectStatic = new Proxy(chai.expect, {
  apply(target, thisArg, args: Parameters<Chai.ExpectStatic>) {
    if (!installed) {
      chai.use(xdpspecChai);
      installed = true;
    }
    return Reflect.apply(target, thisArg, args);
  },
});
