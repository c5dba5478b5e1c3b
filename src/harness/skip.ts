import { NotSupportedError } from '../sys/errors.js';

/** What a Mocha test context offers that a skip needs (`this` inside `it(...)` or a hook). */
export interface SkippableContext {
  readonly test?: { title: string } | undefined;
  skip(): never;
}

/**
 * Runs `fn`; when it throws NotSupportedError (the kernel lacks what it needs), the case is
 * skipped, visibly: its title ends with "(skipped: the reason)", which the reporters and
 * `xdpspec run --junit` show. Any other error fails the case as usual.
 *
 *   it('attaches by tcx link', async function () {
 *     await skipIfNotSupported(this, () => attachTc(prog, target, 'ingress', 'link'));
 *   });
 */
export async function skipIfNotSupported<T>(ctx: SkippableContext, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof NotSupportedError)) throw err;
    if (ctx.test) ctx.test.title += ` (skipped: ${err.message})`;
    return ctx.skip();
  }
}

const SKIPPED = / \(skipped: (.*)\)$/;

/** A title as `skipIfNotSupported` (and the spec helpers) left it: the title itself, and the reason when it was skipped. */
export function skippedTitle(title: string): { title: string; reason: string | undefined } {
  const m = SKIPPED.exec(title);
  return m ? { title: title.slice(0, m.index), reason: m[1]! } : { title, reason: undefined };
}
