import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readCapture } from '../../src/index.js';
import { tempDir } from '../support/tools.js';

const cli = (args: string[], cwd: string) =>
  execa('node', [`${process.cwd()}/dist/cli/main.js`, ...args], { reject: false, cwd });

/** Every file under `dir` with its contents, for "nothing changed" checks. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
}

describe('xdpspec init', () => {
  const t = tempDir();
  after(t.cleanup);

  it('writes a whole project into an empty directory and says what it wrote and what to run next', async () => {
    const dir = t.path('empty');
    const r = await cli(['init', dir, '--no-install'], t.dir);
    expect(r.exitCode, r.stderr).to.equal(0);
    const files = Object.keys(snapshot(dir)).sort();
    expect(files).to.deep.equal([
      '.github/workflows/xdpspec.yml',
      '.gitignore',
      '.mocharc.json',
      'bpf/Makefile',
      'bpf/xdp_port_filter.bpf.c',
      'fixtures/example.pcap',
      'package.json',
      'specs/xdp_port_filter.spec.ts',
      'tsconfig.json',
    ]);
    for (const f of files) expect(r.stdout).to.match(new RegExp(`^ {2}wrote {4}${f.replace(/\./g, '\\.')}`, 'm'));
    expect(r.stdout).to.match(/Next:\n {2}cd empty\n {2}npm install\n {2}sudo npm test/);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      type: string;
      scripts: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg).to.include({ name: 'empty', type: 'module' });
    expect(pkg.scripts).to.deep.equal({
      'build:bpf': 'make -C bpf',
      test: 'npm run build:bpf && tsc --noEmit && xdpspec run',
    });
    const own = JSON.parse(readFileSync('package.json', 'utf8')) as {
      version: string;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.devDependencies).to.deep.equal({
      xdpspec: `^${own.version}`,
      chai: own.devDependencies.chai,
      mocha: own.dependencies.mocha,
      tsx: own.dependencies.tsx,
      typescript: own.devDependencies.typescript,
      '@types/mocha': own.dependencies['@types/mocha'],
      '@types/node': own.devDependencies['@types/node'],
    });
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).to.equal('node_modules/\nbpf/build/\nartifacts/\nreports/\n');
    // The example capture: what the example spec counts on (2 frames to the blocked port 9).
    const cap = await readCapture(join(dir, 'fixtures/example.pcap'));
    expect(cap.records).to.have.length(5);
  });

  it("adds to an existing project without overwriting anything, replaces only npm init's placeholder test script, and runs twice harmlessly", async () => {
    const dir = t.path('existing');
    mkdirSync(join(dir, 'bpf'), { recursive: true });
    const mine = {
      name: 'mine',
      version: '1.2.3',
      type: 'commonjs',
      scripts: { test: 'echo "Error: no test specified" && exit 1', 'build:bpf': 'make -C src/bpf' },
      devDependencies: { typescript: '5.8.3', chai: '^5.2.0' },
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(mine, null, 2));
    writeFileSync(join(dir, 'tsconfig.json'), '{ "mine": true }\n');
    writeFileSync(join(dir, 'bpf/Makefile'), 'all:\n\t@echo mine\n');
    writeFileSync(join(dir, '.gitignore'), 'dist\nnode_modules');
    const r = await cli(['init', '--no-install'], dir);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(
      /^ {2}updated {2}package\.json +\(added scripts\.test, devDependencies\.xdpspec, devDependencies\.mocha, devDependencies\.tsx, devDependencies\.@types\/mocha, devDependencies\.@types\/node\)$/m,
    );
    expect(r.stdout).to.match(/^ {2}kept {5}tsconfig\.json +\(exists\)$/m);
    expect(r.stdout).to.match(/^ {2}kept {5}bpf\/Makefile +\(exists\)$/m);
    expect(r.stdout).to.match(/^ {2}updated {2}\.gitignore +\(added bpf\/build\/ artifacts\/ reports\/\)$/m);
    expect(r.stdout).not.to.match(/cd /); // already there
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof mine;
    expect(pkg).to.include({ name: 'mine', version: '1.2.3', type: 'commonjs' });
    expect(pkg.scripts).to.deep.equal({
      test: 'npm run build:bpf && tsc --noEmit && xdpspec run',
      'build:bpf': 'make -C src/bpf',
    });
    expect(pkg.devDependencies).to.include({ typescript: '5.8.3', chai: '^5.2.0' });
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).to.equal('{ "mine": true }\n');
    expect(readFileSync(join(dir, 'bpf/Makefile'), 'utf8')).to.equal('all:\n\t@echo mine\n');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).to.equal(
      'dist\nnode_modules\nbpf/build/\nartifacts/\nreports/\n',
    );
    expect(existsSync(join(dir, 'specs/xdp_port_filter.spec.ts'))).to.equal(true);

    const before = snapshot(dir);
    const again = await cli(['init', '--no-install'], dir);
    expect(again.exitCode).to.equal(0);
    expect(again.stdout).not.to.match(/^ {2}(wrote|updated)/m);
    expect(snapshot(dir)).to.deep.equal(before);
  });

  it("keeps a test script of the project's own", async () => {
    const dir = t.path('own-test');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', scripts: { test: 'jest' } }));
    const r = await cli(['init', '--no-install'], dir);
    expect(r.exitCode).to.equal(0);
    expect(
      (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.test,
    ).to.equal('jest');
  });

  it('refuses a package.json that is not JSON, and a path that is a file, with exit 2 and what to do', async () => {
    const dir = t.path('broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{ "name": ');
    const r = await cli(['init', '--no-install'], dir);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(
      /^xdpspec: .*broken\/package\.json is not valid JSON \(.*\); fix it, then run xdpspec init again$/,
    );
    expect(readdirSync(dir)).to.deep.equal(['package.json']); // nothing written beside it
    const file = await cli(['init', 'package.json', '--no-install'], dir);
    expect([file.exitCode, file.stderr]).to.deep.equal([
      2,
      `xdpspec: ${join(dir, 'package.json')} is not a directory; name a directory (it is created if missing)`,
    ]);
    const two = await cli(['init', 'a', 'b'], dir);
    expect(two.exitCode).to.equal(2);
    expect(two.stderr).to.match(/^xdpspec: init takes at most one directory, got 2\n/);
  });
});
