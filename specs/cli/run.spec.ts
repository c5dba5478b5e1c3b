import { expect } from 'chai';
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'junit2json';
import { tempDir } from '../support/tools.js';

const cli = (args: string[], cwd?: string) =>
  execa('node', [`${process.cwd()}/dist/cli/main.js`, ...args], { reject: false, ...(cwd ? { cwd } : {}) });

interface JsonReport {
  stats: { passes: number; failures: number };
  passes: { fullTitle: string; file: string }[];
  failures: { fullTitle: string; err: { message: string } }[];
}

describe('xdpspec run', () => {
  const t = tempDir();
  after(t.cleanup);
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
  before(() => {
    // A user's project: TypeScript specs in specs/ (one nested), with no .mocharc of its own.
    mkdirSync(t.path('project/specs/nested'), { recursive: true });
    names.forEach((n, i) => {
      const dir = i === 4 ? 'specs/nested' : 'specs';
      writeFileSync(
        t.path(`project/${dir}/${n}.spec.ts`),
        `const title: string = '${n}';\ndescribe(title, () => {\n  it('passes', () => {});\n});\n`,
      );
    });
    mkdirSync(t.path('project/more'));
    writeFileSync(
      t.path('project/more/golden.spec.ts'),
      "describe('golden', () => {\n  it('sees the update flag', () => {\n    if (process.env.XDPSPEC_UPDATE_GOLDEN !== '1') throw new Error('XDPSPEC_UPDATE_GOLDEN is ' + process.env.XDPSPEC_UPDATE_GOLDEN);\n  });\n});\n",
    );
    writeFileSync(t.path('project/more/notes.md'), 'not a spec');
  });

  const json = async (args: string[]) => {
    const r = await cli([...args, '--reporter', 'json'], t.path('project'));
    return { r, report: JSON.parse(r.stdout) as JsonReport };
  };

  it('runs the TypeScript specs under specs/ by default and exits 0 when all pass', async () => {
    const { r, report } = await json(['run']);
    expect(r.exitCode).to.equal(0);
    expect(report.passes.map((p) => p.fullTitle)).to.have.members(names.map((n) => `${n} passes`));
  });

  it('splits the spec files into shards by sorted path, each file in exactly one, the same every time', async () => {
    const shards: string[][] = [];
    for (const i of [1, 2, 3]) {
      const { r, report } = await json(['run', 'specs', '--shard', `${i}/3`]);
      expect(r.exitCode).to.equal(0);
      shards.push(report.passes.map((p) => p.fullTitle.split(' ')[0]!).sort());
      expect(r.stderr).to.equal(`xdpspec: shard ${i}/3: ${shards[i - 1]!.length} of 5 spec files`);
    }
    // Sorted paths: specs/alpha, specs/bravo, specs/charlie, specs/delta, specs/nested/echo.
    expect(shards).to.deep.equal([['alpha', 'delta'], ['bravo', 'echo'], ['charlie']]);
    const again = await json(['run', 'specs', '--shard', '2/3']);
    expect(again.report.passes.map((p) => p.fullTitle.split(' ')[0]).sort()).to.deep.equal(shards[1]);
    // More shards than files: the extra ones run nothing, say so, and still report (empty).
    const { r, report } = await json(['run', 'specs', '--shard', '6/6']);
    expect([r.exitCode, r.stderr, report.stats.passes]).to.deep.equal([0, 'xdpspec: shard 6/6: 0 of 5 spec files', 0]);
  });

  it('sets XDPSPEC_UPDATE_GOLDEN with --update-golden, and exits 1 when a case fails', async () => {
    const without = await json(['run', 'more']);
    expect(without.r.exitCode).to.equal(1);
    expect(without.report.failures[0]!.err.message).to.equal('XDPSPEC_UPDATE_GOLDEN is undefined');
    const withFlag = await json(['run', 'more', '--update-golden']);
    expect([withFlag.r.exitCode, withFlag.report.stats.passes]).to.deep.equal([0, 1]);
  });

  it('writes a JUnit report with the xunit reporter, and filters with --grep', async () => {
    const r = await cli(
      ['run', 'specs', '--grep', 'bravo', '--reporter', 'xunit', '--reporter-option', `output=${t.path('junit.xml')}`],
      t.path('project'),
    );
    expect(r.exitCode).to.equal(0);
    const xml = readFileSync(t.path('junit.xml'), 'utf8');
    expect(xml).to.match(/<testsuite name="Mocha Tests" tests="1" failures="0" errors="0" skipped="0"/);
    expect(xml).to.include('<testcase classname="bravo" name="passes"');
  });

  it('writes JUnit XML with --junit while the console keeps its reporter, read back by a JUnit parser', async () => {
    writeFileSync(
      t.path('project/more/mixed.spec.ts'),
      [
        "describe('mixed', () => {",
        "  it('passes', () => {});",
        "  it('fails', () => { throw new Error('wrong <verdict> & more'); });",
        "  it('is skipped with a reason', function () { this.test!.title += ' (skipped: needs a kernel with tcx)'; this.skip(); });",
        "  it('is pending');",
        '});',
      ].join('\n'),
    );
    const r = await cli(['run', 'more/mixed.spec.ts', '--junit', t.path('reports/run.xml')], t.path('project'));
    expect(r.exitCode).to.equal(1);
    expect(r.stdout)
      .to.match(/1 passing/)
      .and.match(/2 pending/)
      .and.match(/1 failing/); // the spec reporter still prints
    const report = await parse(readFileSync(t.path('reports/run.xml'), 'utf8'));
    expect(report).to.include({ tests: 4, failures: 1, errors: 0, skipped: 2 });
    const cases = (report as { testsuite: { name: string; testcase: Record<string, unknown>[] }[] }).testsuite[0]!;
    expect(cases.name).to.equal('more/mixed.spec.ts');
    const byName = Object.fromEntries(cases.testcase.map((c) => [c.name as string, c]));
    expect(byName.fails!.failure).to.deep.include.members([]).and.have.length(1);
    expect((byName.fails!.failure as { message: string; type: string }[])[0]).to.include({
      message: 'wrong <verdict> & more',
      type: 'Error',
    });
    expect(byName.fails!.error).to.equal(undefined);
    expect(byName['is skipped with a reason (skipped: needs a kernel with tcx)']!.skipped).to.deep.equal([
      { message: 'needs a kernel with tcx' },
    ]);
    expect(byName['is pending']!.skipped).to.deep.equal([{ message: 'pending: the case has no body' }]);
    expect(byName.passes).to.include({ classname: 'mixed' }).and.not.have.any.keys('failure', 'skipped');
  });

  it('exits 2 with one line on bad arguments', async () => {
    const cases: [string[], string][] = [
      [['run', '--shard', '4/3'], 'xdpspec: --shard takes I/N with 1 <= I <= N (e.g. 2/3), got "4/3"'],
      [['run', '--shard', 'half'], 'xdpspec: --shard takes I/N with 1 <= I <= N (e.g. 2/3), got "half"'],
      [['run', 'nowhere'], 'xdpspec: nowhere: no such file or directory'],
      [['run', 'more/notes.md', '--timeout', 'soon'], 'xdpspec: --timeout takes milliseconds, got "soon"'],
      [['run', 'more/notes.md'], 'xdpspec: no spec files (*.spec.ts, *.test.ts, ...) under more/notes.md'],
      [['run', 'specs', '--junit'], "xdpspec: Option '--junit <value>' argument missing"],
      [
        ['run', 'specs', '--junit', ''],
        'xdpspec: --junit takes the path of the XML file to write, e.g. --junit reports/xdpspec.xml',
      ],
    ];
    for (const [args, err] of cases) {
      const r = await cli(args, t.path('project'));
      expect([r.exitCode, r.stderr], args.join(' ')).to.deep.equal([2, err]);
    }
    writeFileSync(t.path('project/more/broken.ts'), 'const x = ;\n');
    const broken = await cli(['run', 'more/broken.ts'], t.path('project'));
    expect(broken.exitCode).to.equal(2);
    expect(broken.stderr).to.match(
      /^xdpspec: a spec file did not load: .*\n.*more\/broken\.ts:1:10: ERROR: Unexpected ";"/,
    );
    const flag = await cli(['run', 'specs', '--no-such-flag'], t.path('project'));
    expect([flag.exitCode, flag.stderr.split('.')[0]]).to.deep.equal([2, "xdpspec: Unknown option '--no-such-flag'"]);
    const reporter = await cli(['run', 'specs', '--reporter', 'no-such-reporter'], t.path('project'));
    expect(reporter.exitCode).to.equal(2);
    expect(reporter.stderr).to.match(
      /^xdpspec: --reporter no-such-reporter: .*no-such-reporter.*; give one of Mocha's \(spec, dot, /,
    );
    const empty = await cli(['run'], t.path('project/more'));
    expect([empty.exitCode, empty.stderr]).to.deep.equal([
      2,
      'xdpspec: no specs named and none of specs/, spec/, test/ exists here; name spec files or directories',
    ]);
  });

  it("runs this repository's own specs: its sources and the built CLI in one process share libbpf's bindings", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const r = await cli(['run', 'specs/assert/chai.spec.ts', '--reporter', 'dot']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).not.to.include('Duplicate type name');
  });

  it('says what to do when a spec uses top-level await in a CommonJS package', async () => {
    mkdirSync(t.path('cjs/specs'), { recursive: true });
    writeFileSync(t.path('cjs/package.json'), JSON.stringify({ name: 'cjs', type: 'commonjs' }));
    writeFileSync(
      t.path('cjs/specs/tla.spec.ts'),
      "const x = await Promise.resolve(1);\ndescribe('tla', () => it('runs', () => { if (x !== 1) throw new Error(); }));\nexport {};\n",
    );
    const r = await cli(['run'], t.path('cjs'));
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: a spec file did not load: /);
    expect(r.stderr).to.include(
      'The spec uses top-level await, which a CommonJS package cannot: add "type": "module" to package.json, rename the spec to .spec.mts, or move the await into a before() hook.',
    );
  });
});
