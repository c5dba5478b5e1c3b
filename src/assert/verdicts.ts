// The plugin's assertions on fates and rewrites: passed, dropped, ..., redirectedTo, rewritten, verdicts.
import {
  type Frame,
  isFrame,
  formatField,
  summarize,
  checkChecksums,
  OPTIONAL_FIELDS,
  parseFieldPath,
} from '../packet/index.js';
import { XdpspecError } from '../sys/errors.js';
import { VERDICTS, type Verdict } from '../harness/verdict.js';
import { type Subject, isRun, what, fate, context, frames, assertEach, type Part } from './subjects.js';

/**
 * Refuses a field path that cannot name anything: the layer is in the frame (or its input) but
 * has no such field, as `vlan.id` for `vlan.vid`. Read as absent, it would fail with a puzzling
 * "actual (absent)", and under `.not` pass whatever the program did.
 */
function checkFieldPath(path: string, frames: readonly (Frame | undefined)[]): void {
  const p = parseFieldPath(path);
  if (!p)
    throw new XdpspecError(
      'FIELD_PATH',
      `rewritten: ${JSON.stringify(path)} is not a field path such as ipv4.ttl or vlan[1].vid`,
    );
  const layers = frames.flatMap((f) => f?.layers.filter((l) => l.name === p.layer) ?? []);
  if (!layers.length) return; // no such layer here: the value is absent, which the assertion reports
  const names = new Set([...layers.flatMap((l) => Object.keys(l)), ...(OPTIONAL_FIELDS[p.layer] ?? [])]);
  names.delete('name');
  if (!names.has(p.field))
    throw new XdpspecError(
      'FIELD_PATH',
      `rewritten: ${p.layer} has no field ${p.field}; its fields are ${[...names].join(', ')}`,
    );
}

/** expected/actual for reporters' diffs: the fate asked for and the fate seen. */
const fates =
  (want: string) =>
  (r: Subject): [unknown, unknown] => [want, fate(r)];

export const verdictsPlugin: Part = (c, k) => {
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
    if (isFrame(obj)) {
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
      for (const path of Object.keys(fields)) checkFieldPath(path, [r.output, r.input]);
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
