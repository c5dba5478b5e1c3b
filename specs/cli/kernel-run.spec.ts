// `xdpspec run --kernel`: the same specs on this machine's kernel and on Debian's 6.1 under qemu,
// one report across them. Each guest boot costs about a minute under TCG, so one full run
// carries most of the checks; the bound and the signals cost a few seconds each.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { until } from '../../src/net/wait.js';
import { needsBpf } from '../support/kernel.js';
import { trackedCli } from '../support/cli.js';
import { debianKernel } from '../support/guests.js';
import { tempDir } from '../support/tools.js';

const { cli } = trackedCli();
const SELECTION = ['specs/programs/xdp_ipv6_filter.spec.ts', 'specs/support/matrix/by-kernel.case.ts'];

/** qemu processes that boot one of xdpspec's guests, and the runs' temporary directories. */
const guests = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('xdpspec-kernels-');
      } catch {
        return false;
      }
    });
const runDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('xdpspec-kernels-'));

describe('xdpspec run --kernel', function () {
  needsBpf();
  this.timeout(300_000);
  const t = tempDir();
  after(t.cleanup);
  before(function () {
    debianKernel(this, '6.1'); // fetched once, outside the timings of the cases
  });

  it("runs the IPv6 filter's specs (unit and live) on Debian's 6.1 beside the host, finds the one frame whose fate depends on the kernel, shows 6.1's skip with its reason, and writes JUnit per kernel", async () => {
    const before = runDirs();
    const r = await cli('run', '--kernel', 'host', '--kernel', '6.1', ...SELECTION, '--junit', t.path('k.xml'));
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
    // The accelerator is said: KVM where it runs guests, TCG otherwise (with the reason KVM was not used).
    expect(r.stderr).to.match(/booting 6\.1 \(6\.1\.0-\d+-cloud-amd64\) under (KVM|TCG)/);
    if (/under TCG/.test(r.stderr) && existsSync('/dev/kvm'))
      expect(r.stderr).to.match(/KVM does not run guests here \(.+\): TCG from here on/);
    // The guest's own output streams, each line marked with its kernel.
    expect(r.stdout).to.match(/^\[6\.1\]\s+✔ passes only the IPv6 half of the capture \(live\)/m);
    expect(r.stdout).to.match(/^ {2}host +\S+ \(this machine, [\d.]+ s\): 8 passed, 0 failed, 0 skipped$/m);
    expect(r.stdout).to.match(
      /^ {2}6\.1 +6\.1\.0-\d+-cloud-amd64 \((KVM|TCG), [\d.]+ s, init after [\d.]+ s\): 7 passed, 0 failed, 1 skipped$/m,
    );
    expect(r.stdout).to.include('Cases: 8, 7 with the same state on every kernel.');
    // tcx links came with 6.6: probed in the guest, a visible skip there with the kernel's reason.
    expect(r.stdout).to.match(
      /^ {2}pass +skip +by_kernel attaches a TC program by tcx link \(6\.6\+\) {2}\[specs\/support\/matrix\/by-kernel\.case\.ts\]$/m,
    );
    expect(r.stdout).to.match(/^ {6}6\.1: .*this kernel has no tcx links \(6\.6\+\)/m);
    // 48 frames of the IPv6 filter's runs and 4 of by_kernel's, every one compared; only IPv4
    // through by_kernel, in both engines, differs: 6.1 is older than 6.6.
    expect(r.stdout).to.include(
      'Frames: 52 compared on every kernel that ran them, 2 with another fate or other bytes.',
    );
    expect(r.stdout).to.include(
      'by_kernel drops IPv4 before 6.6 and passes it after; IPv6 passes everywhere (unit) › unit run 1, frame #0 (by_kernel): host passed, 6.1 dropped',
    );
    expect(r.stdout).to.include(
      'by_kernel the same through a live replay › live run 1, frame #0 (by_kernel): host passed, 6.1 dropped',
    );
    for (const label of ['host', '6.1']) {
      const xml = readFileSync(t.path(`k-${label}.xml`), 'utf8');
      expect(xml.match(/<testcase /g), label).to.have.length(8);
      expect(xml, label).to.not.include('<failure');
      expect((xml.match(/<skipped /g) ?? []).length, label).to.equal(label === 'host' ? 0 : 1);
    }
    expect(guests()).to.deep.equal([]);
    expect(runDirs()).to.deep.equal(before);
  });

  it('kills a guest at --kernel-timeout and says so, exit 2, with nothing left behind', async () => {
    const before = runDirs();
    const r = await cli('run', '--kernel', '6.1', '--accel', 'tcg', '--kernel-timeout', '2', SELECTION[0]!);
    expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
    expect(r.stdout).to.match(
      /6\.1 +6\.1\.0-\d+-cloud-amd64 \(TCG, [\d.]+ s\): 0 passed, 0 failed, 0 skipped; killed after 2 s \(--kernel-timeout\)/,
    );
    expect(guests()).to.deep.equal([]);
    expect(runDirs()).to.deep.equal(before);
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    it(`leaves no qemu and no files behind when the run gets ${sig} while a guest boots`, async () => {
      const before = runDirs();
      const p = execa('node', ['dist/cli/main.js', 'run', '--kernel', '6.1', '--accel', 'tcg', SELECTION[0]!], {
        reject: false,
      });
      await new Promise<void>((booting) =>
        p.stderr.on('data', (d: Buffer) => /booting 6\.1/.test(d.toString()) && booting()),
      );
      await until(() => guests().length === 1, 'qemu starting', 10_000);
      p.kill(sig);
      const r = await p;
      expect(r.signal).to.equal(sig);
      expect(guests()).to.deep.equal([]);
      expect(runDirs()).to.deep.equal(before);
    });

  it('boots once more when node dies of a fault in the guest before the run reports, and reports a second such death', async () => {
    const before = runDirs();
    // A fault only in the guest (where the report goes to the second serial port), every time.
    const fault = `--import=data:text/javascript,process.env.XDPSPEC_MATRIX_REPORT==='/dev/ttyS1'&&process.kill(process.pid,'SIGSEGV')`;
    const r = await execa('node', ['dist/cli/main.js', 'run', '--kernel', '6.1', '--accel', 'tcg', SELECTION[0]!], {
      reject: false,
      env: { NODE_OPTIONS: fault },
    });
    expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
    expect(
      r.stderr.match(
        /6\.1: node died of signal 11 before the run's first report line \(status 139, under TCG\): booting it once more/g,
      ),
    ).to.have.length(1);
    // A boot that panics before init (not this case's doing, rare under TCG) gets one more of its own.
    const panics = r.stderr.match(/6\.1 stopped before its init/g)?.length ?? 0;
    expect(panics, r.stderr).to.be.at.most(1);
    expect(r.stderr.match(/booting 6\.1 \(/g)).to.have.length(2 + panics);
    expect(r.stdout).to.match(
      /6\.1 +6\.1\.0-\d+-cloud-amd64 \(TCG, [\d.]+ s, init after [\d.]+ s\): 0 passed, 0 failed, 0 skipped; the guest stopped without its report/,
    );
    expect(r.stdout).to.include('xdpspec-guest: exit 139');
    expect(guests()).to.deep.equal([]);
    expect(runDirs()).to.deep.equal(before);
  });

  it('refuses what it cannot do, before booting anything', async () => {
    const cases: [string[], RegExp][] = [
      [['--kernel', 'host', '--accel', 'fast'], /--accel takes auto, kvm or tcg, got "fast"/],
      [['--kernel', 'host', '--kernel-timeout', '0'], /--kernel-timeout takes seconds, got "0"/],
      [
        ['--accel', 'tcg'],
        /--accel, --kernel-timeout, --guest-include and --matrix-json are for the kernel matrix: give them with --kernel SPEC/,
      ],
      [['--kernel', 'host', '--coverage'], /--coverage counts the blocks of one kernel's run: run it without --kernel/],
      [['--kernel', 'host', '--kernel', 'host'], /--kernel host is given twice/],
      [['--kernel', 'latest'], /give host, a kernel image path, or a Debian kernel version such as 6\.1/],
      [['--kernel', 'specs/bpf/build/by_kernel.bpf.o'], /is not an x86 kernel image/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('run', ...args, SELECTION[0]!);
      expect(r.exitCode, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
  });
});
