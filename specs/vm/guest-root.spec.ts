// What a guest gets from this machine: programs with their libraries, the project, modules, /init.
import { expect } from 'chai';
import { execa, execaSync } from 'execa';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  GUEST_MODULES,
  guestEntries,
  hostTree,
  initScript,
  moduleLoadOrder,
  shellQuote,
} from '../../src/vm/guest-root.js';
import { debianKernel, needsBusybox } from '../support/guests.js';

describe('guest root', function () {
  this.timeout(120_000);

  it('holds node, sh, ip and tc with every library ldd names, at their host paths, and the project without its history', function () {
    const busybox = needsBusybox(this);
    const tree = hostTree([process.cwd()], busybox);
    const paths = new Set(tree.entries.map((e) => e.path));
    expect(paths).to.include(process.execPath);
    expect(paths).to.include(join(process.cwd(), 'package.json'));
    expect([...paths].some((p) => p.endsWith('/libbpf.so.1'))).to.equal(true);
    expect([...paths].some((p) => p.includes('/.git/'))).to.equal(false);
    // Debian's merged /usr: /lib is a symlink, and what is reached through it is archived under usr/lib.
    const lib = tree.entries.find((e) => e.path === '/lib');
    if (lib) expect(lib).to.deep.equal({ kind: 'symlink', path: '/lib', target: 'usr/lib' });
    const libs = execaSync('ldd', [process.execPath])
      .stdout.split('\n')
      .flatMap((l) => /=>\s+(\/\S+)/.exec(l)?.[1] ?? []);
    expect(libs).to.not.be.empty;
    for (const l of libs) expect(paths, `${l} (ldd of node)`).to.include(join(realpathSync(dirname(l)), basename(l)));
  });

  it("orders Debian 6.1's modules with their dependencies first (bridge after llc and stp) and leaves out what is not built", function () {
    const k = debianKernel(this, '6.1');
    const order = moduleLoadOrder(k.modules, [...GUEST_MODULES, 'no_such_module']).map((f) => basename(f));
    expect(order).to.include.members(['veth.ko', 'sch_ingress.ko', 'cls_bpf.ko', 'bridge.ko']);
    expect(order.indexOf('llc.ko')).to.be.lessThan(order.indexOf('stp.ko'));
    expect(order.indexOf('stp.ko')).to.be.lessThan(order.indexOf('bridge.ko'));
    expect(order.some((m) => m.startsWith('no_such_module'))).to.equal(false);
  });

  it('writes an /init that loads modules in order, runs the command quoted, and powers off whatever it returned', () => {
    const cmd = { cwd: '/my project', argv: ['node', 'x.js', "it's"], env: { XDPSPEC_SEED: '7', A: 'b c' } };
    const init = initScript('/bin/busybox', cmd);
    expect(init.startsWith('#!/bin/busybox sh\n')).to.equal(true);
    expect(init).to.include(`cd '/my project' && env XDPSPEC_SEED=7 A='b c' node x.js 'it'\\''s'`);
    expect(init.trimEnd().endsWith('poweroff -f')).to.equal(true);
    expect(shellQuote('a-b_c/d.e')).to.equal('a-b_c/d.e');
    const entries = guestEntries('/bin/busybox', ['/m/b.ko', '/m/a.ko.xz'], cmd);
    expect(entries.filter((e) => e.path.startsWith('/xdpspec/modules/')).map((e) => e.path)).to.deep.equal([
      '/xdpspec/modules/000-b.ko',
      '/xdpspec/modules/001-a.ko.xz',
    ]);
  });

  it('the /init runs under busybox sh to the end: the command, its status, and the power-off it asks for', async function () {
    const busybox = needsBusybox(this);
    const dir = mkdtempSync(join(tmpdir(), 'xdpspec-init-'));
    try {
      // Outside a guest: mounts and insmod fail harmlessly, poweroff is a stub that says it was asked.
      const init = initScript(busybox, { cwd: dir, argv: ['sh', '-c', 'echo ran in $PWD; exit 3'], env: {} })
        .replace(/^(mount|stty) .*$/gm, ': $&')
        .replace(`${busybox} --install -s /xdpspec/bin`, ':')
        .replace('poweroff -f', 'echo poweroff asked');
      const r = await execa(busybox, ['sh', '-c', init], { reject: false });
      expect(r.stdout).to.match(/^xdpspec-guest: up /m);
      expect(r.stdout).to.include(`ran in ${dir}`);
      expect(r.stdout).to.include('xdpspec-guest: exit 3');
      expect(r.stdout.trimEnd().endsWith('poweroff asked')).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
