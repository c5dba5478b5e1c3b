// Guests are bounded and never outlive their run.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { qemuBinary, sweepGuests } from '../../src/vm/qemu.js';
import { until } from '../../src/net/wait.js';
import { needsBpf } from '../support/kernel.js';

describe('qemu guests', function () {
  needsBpf(); // root, for /run/xdpspec
  this.timeout(60_000);

  it("kills a guest whose run died without cleaning up (its pid file names the dead run), and not a live run's", async function () {
    if (!qemuBinary()) {
      this.test!.title += ' (skipped: needs qemu: apt-get install qemu-system-x86)';
      return this.skip();
    }
    mkdirSync('/run/xdpspec/vm', { recursive: true });
    // A process that has ended: a SIGKILLed run, as far as the sweep can tell.
    const gone = execa('true');
    const dead = gone.pid!;
    await gone;
    const start = (owner: number) => {
      const pidFile = `/run/xdpspec/vm/${owner}-${Date.now()}${owner}.pid`;
      const q = execa(
        'qemu-system-x86_64',
        ['-S', '-nodefaults', '-display', 'none', '-nic', 'none', '-pidfile', pidFile],
        {
          reject: false,
        },
      );
      return { q, pidFile };
    };
    const orphan = start(dead);
    const ours = start(process.pid); // the sweep never touches its own process's guests
    try {
      // qemu creates its pid file, then writes the pid: an empty file is not written yet.
      const written = (f: string) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '';
      await until(() => written(orphan.pidFile) && written(ours.pidFile), 'qemu writing its pid files', 10_000);
      const pid = Number(readFileSync(orphan.pidFile, 'utf8'));
      expect(sweepGuests()).to.deep.equal([pid]);
      const r = await orphan.q;
      expect(r.signal).to.equal('SIGKILL');
      expect(existsSync(orphan.pidFile)).to.equal(false);
      expect(ours.q.exitCode).to.equal(null); // still running
      expect(existsSync(ours.pidFile)).to.equal(true);
    } finally {
      orphan.q.kill('SIGKILL');
      ours.q.kill('SIGKILL');
      await Promise.all([orphan.q, ours.q]);
      // SIGKILLed, qemu leaves its pid file; a run's own guests' files are its own to remove.
      rmSync(ours.pidFile, { force: true });
      sweepGuests(); // and with them the directory, when no other run has guests
    }
  });
});
