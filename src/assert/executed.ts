// The plugin's gate on work per frame: executedAtMost, over the instructions a counted program
// executed (exact, so the gate has no timing noise).
import { context, frames, isRun, type Part, type Subject } from './subjects.js';

export const executedPlugin: Part = (c, k) => {
  c.Assertion.addMethod('executedAtMost', function (this: Chai.AssertionStatic, most: number) {
    if (!Number.isFinite(most) || most < 0)
      throw new k.AssertionError(`.executedAtMost takes a number of instructions (0 or more), got ${String(most)}`);
    const obj: unknown = k.u.flag(this, 'object');
    const subjects: readonly Subject[] = isRun(obj) ? obj.frames : frames(k, this, 'executedAtMost');
    for (const r of subjects) {
      if (r.instructions === undefined)
        throw new k.AssertionError(
          `frame #${r.index}: ${r.program} was loaded without block counters, so what it executed is not known; load its object with { count: true } (or run with --coverage / XDPSPEC_COVERAGE)`,
        );
      this.assert(
        r.instructions <= most,
        () =>
          `expected frame #${r.index} to take at most ${most} instructions of ${r.program}, but it took ${r.instructions}\n\n${context(r)}`,
        () =>
          `expected frame #${r.index} to take more than ${most} instructions of ${r.program}, but it took ${r.instructions}\n\n${context(r)}`,
        most,
        r.instructions,
      );
    }
  });
};
