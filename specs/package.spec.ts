// The package as a user meets it: packed from this checkout, installed from the tarball into a
// new CommonJS project outside the repository (npm init -y), set up with xdpspec init, and its
// generated spec run with npm test, as the README's "Use xdpspec in your project" says.
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'junit2json';
import { tempDir } from './support/tools.js';
import { needsBpf } from './support/kernel.js';
import { debianKernel } from './support/guests.js';

describe('the npm package in a project of its own', function () {
  needsBpf();
  this.timeout(300_000); // npm pack builds, and two npm installs run (from npm's cache when warm)
  const t = tempDir();
  after(t.cleanup);
  const project = t.path('project');
  // npm's cache from this checkout's npm ci serves the installs; the registry fills the rest.
  const env = {
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const run = (cmd: string, args: string[]) => execa(cmd, args, { cwd: project, env, reject: false, all: true });
  let tarball = '';

  before(async () => {
    const packed = await execa('npm', ['pack', '--pack-destination', t.dir, '--silent'], { env, all: true });
    const name = packed.stdout.trim().split('\n').pop()!;
    tarball = join(t.dir, name);
    await execa('mkdir', [project]);
    await run('npm', ['init', '-y']);
  });

  it('holds the built library, its types, the probes built and as source, the BPF rules and the templates', async () => {
    const { stdout } = await execa('tar', ['tzf', tarball]);
    const files = stdout.split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).to.include.members([
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/mocha.js',
      'bpf/rules.mk',
      'bpf/include/xdpspec_parse.h',
      'bpf/include/compat/gnu/stubs-32.h',
      'src/bpf/probes/Makefile',
      ...['pass', 'watch', 'redirect', 'reference'].flatMap((p) => [
        `src/bpf/probes/${p}.bpf.c`,
        `src/bpf/probes/build/${p}.bpf.o`,
      ]),
      'src/bpf/native/run_many.c',
      'src/bpf/native/Makefile',
      'src/bpf/native/build/libxdpspec_run.so',
      'templates/init/specs/xdp_port_filter.spec.ts',
      'templates/init/bpf/xdp_port_filter.bpf.c',
    ]);
    expect(
      files.filter((f) => f.startsWith('specs/') || f.endsWith('.map') || f.startsWith('node_modules/')),
    ).to.deep.equal([]);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    expect(pkg.dependencies).not.to.have.any.keys('cap', 'chai');
    expect(pkg.peerDependencies).to.have.key('chai');
  });

  it('installs into a CommonJS project, where init and npm test give a green generated spec with a JUnit report', async () => {
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { type?: string };
    expect(manifest.type ?? 'commonjs').to.equal('commonjs'); // npm init -y: the case that failed before
    const install = await run('npm', ['install', tarball]);
    expect(install.exitCode, install.all).to.equal(0);
    const init = await run('npx', ['xdpspec', 'init']);
    expect(init.exitCode, init.all).to.equal(0);
    expect(init.stdout).to.match(/^ {2}wrote {4}specs\/xdp_port_filter\.spec\.ts$/m);
    // As the workflow init wrote runs it: a JUnit report, and the C program's coverage.
    const test = await run('npm', ['test', '--', '--junit', 'reports/xdpspec.xml', '--coverage=reports/coverage']);
    expect(test.exitCode, test.all).to.equal(0);
    expect(test.stdout).to.match(/2 passing/);
    const report = await parse(readFileSync(join(project, 'reports/xdpspec.xml'), 'utf8'));
    expect(report).to.include({ tests: 2, failures: 0, errors: 0, skipped: 0 });
    const lcov = readFileSync(join(project, 'reports/coverage/lcov.info'), 'utf8');
    expect(lcov).to.include(`SF:${join(project, 'bpf/xdp_port_filter.bpf.c')}\n`);
    expect(lcov).to.match(/^FNDA:[1-9]\d*,xdp_port_filter$/m);
    expect(test.stderr).to.match(/^bpf\/xdp_port_filter\.bpf\.c\s+\d+\/\d+/m);
  });

  it('type-checks the spec against the published types: a misspelt assertion is an error', async () => {
    const typo = join(project, 'specs/typo.spec.ts');
    writeFileSync(
      typo,
      "import { bench, expect } from 'xdpspec';\ndescribe('t', () => {\n  const b = bench({ object: 'x.o' });\n  it('x', async () => {\n    expect(await b.unit(new Uint8Array(60))).to.be.rewriten;\n  });\n});\n",
    );
    try {
      const tsc = await run('npx', ['tsc', '--noEmit']);
      expect(tsc.exitCode).to.equal(2);
      expect(tsc.stdout).to.include(
        "specs/typo.spec.ts(5,52): error TS2551: Property 'rewriten' does not exist on type 'Assertion'. Did you mean 'rewritten'?",
      );
      expect(tsc.stdout.trim().split('\n')).to.have.length(1); // and nothing else: skipLibCheck is off
    } finally {
      unlinkSync(typo);
    }
  });

  it('runs one spec file with plain npx mocha through the .mocharc init wrote', async () => {
    const r = await run('npx', ['mocha', 'specs/xdp_port_filter.spec.ts']);
    expect(r.exitCode, r.all).to.equal(0);
    expect(r.stdout).to.match(/2 passing/);
  });

  it("runs the generated specs on Debian's 6.1 kernel too, from the installed package, with the project under /tmp", async function () {
    debianKernel(this, '6.1');
    const r = await run('npx', [
      'xdpspec',
      'run',
      '--kernel',
      '6.1',
      '--accel',
      'tcg',
      'specs/xdp_port_filter.spec.ts',
    ]);
    expect(r.exitCode, r.all).to.equal(0);
    expect(r.stdout).to.match(
      /^ {2}6\.1 +6\.1\.0-\d+-cloud-amd64 \(TCG, [\d.]+ s, init after [\d.]+ s\): 2 passed, 0 failed, 0 skipped$/m,
    );
  });

  it('works the same when the project is an ES module package', async () => {
    const file = join(project, 'package.json');
    const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...m, type: 'module' }, null, 2));
    const r = await run('npx', ['xdpspec', 'run']);
    expect(r.exitCode, r.all).to.equal(0);
    expect(r.stdout).to.match(/2 passing/);
  });

  it('builds its probes from the shipped sources where the built ones are missing', async () => {
    const build = join(project, 'node_modules/xdpspec/src/bpf/probes/build');
    rmSync(build, { recursive: true });
    const r = await run('npx', ['xdpspec', 'run']); // the live case needs the pass and watch probes
    expect(r.exitCode, r.all).to.equal(0);
    expect(readdirSync(build).sort()).to.include.members(['pass.bpf.o', 'watch.bpf.o']);
  });

  it('builds its batch test-run helper from the shipped source where the built one is missing', async () => {
    const build = join(project, 'node_modules/xdpspec/src/bpf/native/build');
    rmSync(build, { recursive: true });
    // testRunMany is what uses it: a program of the project's over a batch of frames
    const script = [
      "const { loadObject, frame } = require('xdpspec');",
      "const o = loadObject('bpf/build/xdp_port_filter.bpf.o');",
      'const runs = o.program().testRunMany([9, 53, 9].map((dport) => frame.eth().ipv4().udp({ dport }).build()));',
      "console.log(runs.map((r) => r.action).join(' '));",
      'o.close();',
    ].join('\n');
    const r = await run('node', ['-e', script]);
    expect(r.exitCode, r.all).to.equal(0);
    expect(r.stdout).to.equal('XDP_DROP XDP_PASS XDP_DROP');
    expect(readdirSync(build)).to.deep.equal(['libxdpspec_run.so']);
  });
});
