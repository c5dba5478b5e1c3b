import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  coverageSummary,
  coverageTotals,
  LiveBench,
  loadObject,
  readCapture,
  runUnit,
  runUnitSteps,
  type CoverageData,
} from '../../src/index.js';
import { addCounts, toLcov } from '../../src/harness/coverage.js';
import { needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

const SOURCE = resolve('specs/bpf/counted.bpf.c');
const OBJECT = 'specs/bpf/build/counted.bpf.o';
const SEED = 'fixtures/ipv4-and-ipv6.pcap'; // the article's capture: 10 IPv4, then 10 IPv6 frames

/** The line of the source that ends in `mark:NAME`. */
function marked(name: string): number {
  const i = readFileSync(SOURCE, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(`mark:${name} `));
  if (i < 0) throw new Error(`no mark:${name} in ${SOURCE}`);
  return i + 1;
}

/** lcov's records of one source file, by kind: DA lines, BRDA lines, FNDA lines. */
function record(lcov: string, file: string): { da: Map<number, number>; brda: string[]; fnda: string[] } {
  const rec = lcov.split('end_of_record').find((r) => r.includes(`SF:${file}\n`));
  if (!rec) throw new Error(`no record of ${file} in:\n${lcov}`);
  const lines = rec.trim().split('\n');
  const da = new Map(
    lines.filter((l) => l.startsWith('DA:')).map((l) => l.slice(3).split(',').map(Number) as [number, number]),
  );
  return {
    da,
    brda: lines.filter((l) => l.startsWith('BRDA:')),
    fnda: lines.filter((l) => l.startsWith('FNDA:')),
  };
}

async function seedCoverage(run: (o: ReturnType<typeof loadObject>, frames: Buffer[]) => Promise<void>) {
  const frames = (await readCapture(SEED)).records.map((r) => r.data);
  const o = loadObject(OBJECT, {}, { count: true });
  const data: CoverageData = { files: {} };
  try {
    await run(o, frames);
    const c = o.program('counted').counters!;
    addCounts(data, c, c.read());
  } finally {
    o.close();
  }
  return data;
}

describe('coverage (lcov from block counters)', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  const expectSeedCounts = (data: CoverageData) => {
    const r = record(toLcov(data), SOURCE);
    expect(r.da.get(marked('bounds')), 'the bounds check, every frame').to.equal(20);
    expect(r.da.get(marked('ipv6')), 'the IPv6 count').to.equal(10);
    expect(r.da.get(marked('other')), 'the other count').to.equal(10);
    // The bounds check's jump: never taken (no frame is shorter than Ethernet), 20 times not.
    expect(r.brda.filter((l) => l.startsWith(`BRDA:${marked('bounds')},`))).to.deep.equal([
      `BRDA:${marked('bounds')},0,0,0`,
      `BRDA:${marked('bounds')},0,1,20`,
    ]);
    expect(r.fnda).to.deep.equal(['FNDA:10,walk', 'FNDA:20,counted']);
  };

  it('counts each line of the C source as often as the capture runs it (unit engine)', async () => {
    const data = await seedCoverage(async (o, frames) => {
      const run = await runUnit(o.program('counted'), frames);
      expect(run.counts).to.include({ passed: 10, dropped: 10 });
    });
    expectSeedCounts(data);
  });

  it('counts the frames of a live replay the same way, each frame executing what it executes in a unit run', async () => {
    const bench = await LiveBench.create({ ports: [{ name: 'wan' }] });
    try {
      let unit: (number | undefined)[] = [];
      const data = await seedCoverage(async (o, frames) => {
        bench.attach(o.program('counted'), 'wan');
        try {
          const run = await bench.replay(frames, { on: 'wan' });
          expect(run.counts).to.include({ passed: 10, dropped: 10 });
          const live = run.frames.map((f) => f.instructions);
          // The unit engine's counts of the same frames (its runs are not coverage of this case:
          // the counters are read before and put back after).
          o.program('counted').counters!.preserve(() => {
            unit = runUnitSteps(
              { p: o.program('counted') },
              frames.map((frame) => ({ on: 'p', frame })),
            ).frames.map((f) => f.instructions);
          });
          expect(live).to.deep.equal(unit);
          expect(run.instructions).to.include({ min: 16 });
        } finally {
          bench.detach('wan');
        }
      });
      expectSeedCounts(data);
      expect(unit.every((n) => typeof n === 'number' && n > 0)).to.equal(true);
    } finally {
      bench.close();
    }
  });

  it('writes lcov that genhtml renders without a warning, and a summary per file and function', async () => {
    const data = await seedCoverage(async (o, frames) => {
      await runUnit(o.program('counted'), frames);
    });
    writeFileSync(t.path('lcov.info'), toLcov(data));
    const g = await execa('genhtml', ['--branch-coverage', '-o', t.path('html'), t.path('lcov.info')], {
      reject: false,
    });
    expect(g.exitCode, g.stderr).to.equal(0);
    expect(`${g.stdout}\n${g.stderr}`).to.not.match(/warning|error/i);
    expect(existsSync(t.path('html/index.html'))).to.equal(true);
    expect(g.stdout).to.match(/lines\.+: [\d.]+% \(\d+ of \d+ lines\)/);

    const whole = coverageTotals(data, SOURCE);
    const walk = coverageTotals(data, SOURCE, 'walk');
    expect(whole.lines.found).to.be.greaterThan(walk.lines.found);
    expect(whole.lines.hit).to.be.at.most(whole.lines.found);
    const summary = coverageSummary(data);
    expect(summary.split('\n')[0]).to.match(/^BPF source coverage\s+lines\s+branches$/);
    const row = (name: string) => summary.split('\n').find((l) => l.trimStart().startsWith(name))!;
    expect(row('specs/bpf/counted.bpf.c')).to.match(
      new RegExp(`${whole.lines.hit}/${whole.lines.found}\\s+\\d+%\\s+${whole.branches.hit}/${whole.branches.found}`),
    );
    expect(row('walk()')).to.match(new RegExp(`^  walk\\(\\)\\s+${walk.lines.hit}/${walk.lines.found}`));
  });

  it('collects from plain Mocha with XDPSPEC_COVERAGE, and from xdpspec run --coverage, across processes', async () => {
    // A spec of a user's: load, run the seed capture, and run a child process that does the same.
    const script = t.path('seed.spec.mts');
    const load = `const { loadObject, runUnit, readCapture } = await import(${JSON.stringify(resolve('src/index.ts'))});
const o = loadObject(${JSON.stringify(resolve(OBJECT))});
await runUnit(o.program('counted'), (await readCapture(${JSON.stringify(resolve(SEED))})).records.map((r) => r.data));
o.close();`;
    writeFileSync(t.path('child.mts'), load);
    writeFileSync(
      script,
      `import { execFileSync } from 'node:child_process';
describe('seed', () => {
  // Two counted loads and a child process: over Mocha's default 2 s on a busy machine.
  it('runs', async function () {
    this.timeout(60_000);
    ${load.replace(/\n/g, '\n    ')}
    execFileSync(process.execPath, ['--import', 'tsx', ${JSON.stringify(t.path('child.mts'))}], { stdio: 'inherit' });
  });
});
`,
    );
    const check = (dir: string, stderr: string) => {
      const lcov = readFileSync(`${dir}/lcov.info`, 'utf8');
      const r = record(lcov, SOURCE);
      // Two loads, one in each process: twice the seed capture's counts.
      expect(r.da.get(marked('ipv6'))).to.equal(20);
      expect(r.fnda).to.deep.equal(['FNDA:20,walk', 'FNDA:40,counted']);
      // One summary, from the process that began the run.
      expect(stderr.match(/BPF source coverage/g)).to.have.length(1);
      expect(stderr).to.match(/specs\/bpf\/counted\.bpf\.c\s+\d+\/\d+/);
      expect(stderr).to.include(`lcov: ${dir}/lcov.info`);
    };
    const env = { ...process.env, XDPSPEC_COVERAGE_RUN: '' };
    const mocha = await execa('npx', ['mocha', '--no-config', '--node-option', 'import=tsx', script], {
      reject: false,
      env: { ...env, XDPSPEC_COVERAGE: t.path('plain') },
    });
    expect(mocha.exitCode, `${mocha.stdout}\n${mocha.stderr}`).to.equal(0);
    check(t.path('plain'), mocha.stderr);

    const run = await execa('node', ['dist/cli/main.js', 'run', `--coverage=${t.path('cli')}`, script], {
      reject: false,
      env,
    });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).to.equal(0);
    check(t.path('cli'), run.stderr);
    // A second run starts afresh: the first one's counts are not in it.
    const again = await execa('node', ['dist/cli/main.js', 'run', `--coverage=${t.path('cli')}`, script], {
      reject: false,
      env,
    });
    check(t.path('cli'), again.stderr);
  });
});
