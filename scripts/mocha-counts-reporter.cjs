'use strict';
// Mocha's spec reporter, plus one closing line that CI and humans can both read:
// "N passed, N failed, N skipped". Skipped cases (this.skip(), kernel features missing)
// are counted apart, never as passed.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class CountsReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || this.stats;
      const line = `${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`;
      // Printed after the spec reporter's epilogue, which also listens for EVENT_RUN_END.
      process.nextTick(() => process.stdout.write(`\n${line}\n`));
    });
  }
}

module.exports = CountsReporter;
