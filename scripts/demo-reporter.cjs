// The demo's reporter: Mocha's spec output, then a summary a newcomer can read: each program
// under test with its cases, and every verdict the engines reported along the way.
const Mocha = require('mocha');
// The built package (Node 20.19+ loads an ES module from require); its listener registry is
// process-wide, so it hears the runs of the specs' own copy of xdpspec too.
const { onVerdictCounts } = require('../dist/index.js');

class DemoReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const programs = new Map();
    const tally = {};
    const stop = onVerdictCounts((c) => {
      for (const [v, n] of Object.entries(c)) tally[v] = (tally[v] ?? 0) + n;
    });
    const row = (t) => {
      const name = t.titlePath()[0].split(' (')[0]; // 'xdp_ipv6_filter (unit)' is xdp_ipv6_filter
      if (!programs.has(name)) programs.set(name, { passed: 0, failed: 0, skipped: 0 });
      return programs.get(name);
    };
    runner.on('pass', (t) => row(t).passed++);
    runner.on('fail', (t) => row(t).failed++);
    runner.on('pending', (t) => row(t).skipped++);
    runner.once('end', () => {
      const out = [];
      out.push('', 'Summary', '');
      const width = Math.max(...[...programs.keys()].map((k) => k.length), 7);
      out.push(`  ${'program'.padEnd(width)}  cases  passed  failed  skipped`);
      let cases = 0;
      for (const [name, r] of programs) {
        const n = r.passed + r.failed + r.skipped;
        cases += n;
        out.push(
          `  ${name.padEnd(width)}  ${String(n).padStart(5)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}`,
        );
      }
      stop();
      const seen = Object.entries(tally)
        .filter(([, n]) => n > 0)
        .map(([v, n]) => `${n} ${v}`);
      out.push('', `  ${programs.size} programs, ${cases} cases.`);
      out.push(
        `  Frames classified by the unit and live engines along the way: ${seen.length ? seen.join(', ') : 'none'}.`,
      );
      out.push('  Each case is a spec in specs/programs/; the README has a section per program.', '');
      console.log(out.join('\n'));
    });
  }
}

module.exports = DemoReporter;
