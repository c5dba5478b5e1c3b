// The plugin's assertions on whole frames and runs: otherFrames, equalFrame (with ignoring).
import { type Frame, isFrame, diffFrames, parseFrame, summarize } from '../packet/index.js';
import { isSubject, isRun, what, fate, context, type Part } from './subjects.js';

const asFrame = (x: Uint8Array | { build(): Buffer } | Frame): Frame =>
  isFrame(x) ? x : parseFrame(x instanceof Uint8Array ? x : x.build());

/** The second half of the plugin: whole frames and whole runs. */
export const framesPlugin: Part = (c, k) => {
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
      } else if (isFrame(obj) || obj instanceof Uint8Array) {
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
