// `xdpspec run --kernel SPEC ...`: the same specs on this machine's kernel and on others booted
// under qemu, then one report: each case per kernel, and the frames whose fate differs.
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compareKernels, formatMatrix, type KernelReport } from '../harness/matrix.js';
import { XdpspecError } from '../sys/errors.js';
import { atRelease } from '../sys/release.js';
import { writeCpio } from '../vm/cpio.js';
import { GUEST_MODULES, guestEntries, hostTree, LIFE_SIGN, moduleLoadOrder, onPath } from '../vm/guest-root.js';
import { resolveKernel, type Kernel } from '../vm/kernels.js';
import { boot, kvmOpenable, qemuBinary, sweepGuests, type Accel } from '../vm/qemu.js';
import { MATRIX_REPORT_ENV, readMatrixReport } from './matrix-report.js';

export interface KernelRunOptions {
  readonly kernels: readonly string[];
  readonly accel: Accel | 'auto';
  /** Per kernel, ms. */
  readonly timeoutMs: number;
  /** `xdpspec run`'s arguments for each kernel's run, without --kernel, --accel and --junit. */
  readonly runArgs: readonly string[];
  /** `--junit FILE`: FILE-LABEL.xml per kernel. */
  readonly junit?: string;
  /** `--guest-include PATH`: more of this machine's files in every guest. */
  readonly include?: readonly string[];
  /** `--matrix-json FILE`: the kernels' reports and their comparison, for programs. */
  readonly json?: string;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const PACKAGE_ROOT = resolve(dirname(MAIN), '..', '..');
/** More than this of the host's files in a guest is a working directory that is not a project. */
const MAX_GUEST_BYTES = 4e9;
/** How long a KVM guest may take to reach its init before KVM is taken not to work here. */
const KVM_LIFE_SIGN_MS = 15_000;

/** Console lines that are the guest's own business: the kernel's power-off, the init's last word. */
const GUEST_NOISE = /^\[\s*\d+\.\d+\] reboot: Power down$|^xdpspec-guest: exit \d+$/;

const say = (line: string) => process.stderr.write(`xdpspec: ${line}\n`);

/** A kernel's label as a file name's part (`6.12`, `vmlinuz-6.1.0-57`). */
const fileTag = (label: string) => label.replace(/[^\w.-]/g, '_');

/** What a run wrote to its report; none when it wrote nothing (a guest that never got so far). */
const readReport = (path: string, label: string) =>
  readMatrixReport(existsSync(path) ? readFileSync(path, 'utf8') : '', label);

/** qemu, busybox and xz, installed with apt-get when missing and allowed (root, apt-get present). */
function guestTools(): string {
  const busybox = () => ['/bin/busybox', '/usr/bin/busybox', onPath('busybox')].find((p) => p && existsSync(p));
  // xz reads the dependencies of newer kernels' compressed modules; it is installed alongside
  // when missing, but guests boot without it (then only bridge, which needs stp and llc first,
  // fails to load; veth's and TC's modules need no others).
  const xz = () => onPath('xz') !== undefined;
  if (qemuBinary() && busybox() && xz()) return busybox()!;
  const missing = [
    qemuBinary() ? '' : 'qemu-system-x86',
    busybox() ? '' : 'busybox-static',
    xz() ? '' : 'xz-utils',
  ].filter(Boolean);
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    say(`installing ${missing.join(' ')} with apt-get (--kernel boots guests with them)`);
    let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { encoding: 'utf8' });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-qq']);
      r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { encoding: 'utf8' });
    }
    if (qemuBinary() && busybox()) return busybox()!;
  }
  if (qemuBinary() && busybox()) return busybox()!; // only xz is missing
  throw new XdpspecError(
    'VM_TOOL',
    `--kernel boots guests with qemu and busybox, and ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed: apt-get install ${missing.join(' ')}`,
  );
}

/** The environment the specs get in a guest: xdpspec's settings and CI's, not the host's paths. */
function guestEnv(): Record<string, string> {
  const env: Record<string, string> = { [MATRIX_REPORT_ENV]: '/dev/ttyS1' };
  for (const [k, v] of Object.entries(process.env))
    if (
      v !== undefined &&
      (/^XDPSPEC_/.test(k) || ['CI', 'NO_COLOR', 'FORCE_COLOR', 'NODE_OPTIONS'].includes(k)) &&
      k !== MATRIX_REPORT_ENV &&
      k !== 'XDPSPEC_COVERAGE'
    )
      env[k] = v;
  return env;
}

/** Runs the specs on this machine in a child process, for the host's column. */
async function runOnHost(dir: string, args: readonly string[]): Promise<KernelReport & { junit?: string }> {
  const report = join(dir, 'host.jsonl');
  const t0 = performance.now();
  const child = spawn(process.execPath, [MAIN, 'run', ...args, '--junit', join(dir, 'host-junit.xml')], {
    env: { ...process.env, [MATRIX_REPORT_ENV]: report },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const release = atRelease(() => child.kill('SIGKILL'));
  for (const s of [child.stdout, child.stderr])
    createInterface({ input: s }).on('line', (l) => process.stdout.write(`[host] ${l}\n`));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  release();
  const r = readReport(report, 'host');
  const wallMs = performance.now() - t0;
  const how = `this machine, ${(wallMs / 1000).toFixed(1)} s`;
  if (!r.ended) return { ...r, how, wallMs, error: `the run ended (status ${code}) without its report` };
  return { ...r, how, wallMs };
}

/** The guest init's last word when its command died of a fault (SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGSEGV). */
const GUEST_CRASH = /^xdpspec-guest: exit (132|134|135|136|139)$/;

function reportIsEmpty(report: string): boolean {
  try {
    return statSync(report).size === 0;
  } catch {
    return true;
  }
}

/** Boots `kernel` with the project and runs the specs there. */
async function runInGuest(
  kernel: Kernel & { kind: 'image' },
  dir: string,
  { common, busybox, memoryMiB }: { common: string; busybox: string; memoryMiB: number },
  args: readonly string[],
  o: KernelRunOptions,
  accelState: { kvm: boolean | undefined },
): Promise<KernelReport & { junit?: string }> {
  const modules = kernel.modules ? moduleLoadOrder(kernel.modules, GUEST_MODULES) : [];
  const tag = fileTag(kernel.label);
  const initrd = join(dir, `${tag}.cpio`);
  // The host's files, then the guest's own: the kernel unpacks one archive after the other.
  copyFileSync(common, initrd);
  writeCpio(
    initrd,
    guestEntries(busybox, modules, {
      cwd: process.cwd(),
      argv: [process.execPath, MAIN, 'run', ...args, '--junit', '/tmp/xdpspec-junit.xml'],
      env: guestEnv(),
    }),
    { append: true },
  );
  const report = join(dir, `${tag}.jsonl`);
  const attempt = (accel: Accel) => {
    say(`booting ${kernel.label} (${kernel.release}) under ${accel.toUpperCase()}`);
    return boot({
      image: kernel.image,
      initrd,
      accel,
      report,
      memoryMiB,
      timeoutMs: o.timeoutMs,
      lifeSign: LIFE_SIGN,
      ...(accel === 'kvm' && o.accel === 'auto' ? { lifeSignMs: KVM_LIFE_SIGN_MS } : {}),
      onConsole: (line, afterLifeSign) => {
        // The firmware's and the kernel's lines stay out, but in the tail a failure shows.
        if (afterLifeSign && !GUEST_NOISE.test(line)) process.stdout.write(`[${kernel.label}] ${line}\n`);
      },
    });
  };
  let accel: Accel = o.accel === 'auto' ? (accelState.kvm !== false && kvmOpenable() ? 'kvm' : 'tcg') : o.accel;
  let result = await attempt(accel);
  if (accel === 'kvm' && o.accel === 'auto' && result.lifeMs === undefined) {
    // KVM that cannot run guests here: qemu refuses at once, or the guest hangs before its init.
    const why =
      result.killed === 'no-life-sign'
        ? `the guest did not reach its init within ${KVM_LIFE_SIGN_MS / 1000} s (nested guests hang on some hosts)`
        : `qemu stopped at once: ${result.stderr.split('\n')[0] || `status ${result.exitCode}`}`;
    say(`KVM does not run guests here (${why}): TCG from here on`);
    accelState.kvm = false;
    accel = 'tcg';
    result = await attempt(accel);
  } else if (accel === 'kvm') accelState.kvm = true;
  // Two stops that are not the specs' doing, each given one more boot; a retry may meet the
  // other (a fault's retry that panics before init, seen once under TCG), so both are checked
  // after every boot.
  let panicked = false;
  let crashed = false;
  for (;;) {
    if (result.lifeMs === undefined && result.killed === undefined && !panicked) {
      // Seen with Debian's 6.12 under TCG, once in about ten boots: a panic before init. The
      // next boot goes through; a second such stop is reported.
      panicked = true;
      const panic = result.tail.find((l) => /Kernel panic|BUG:|Oops/.test(l));
      say(
        `${kernel.label} stopped before its init${panic ? ` (${panic.replace(/^\[\s*[\d.]+\]\s*/, '')})` : ''}: booting it once more`,
      );
      result = await attempt(accel);
      continue;
    }
    const crash = result.tail.map((l) => GUEST_CRASH.exec(l)).find((m) => m);
    if (crash && reportIsEmpty(report) && !crashed) {
      // Seen under TCG, about once in twenty runs of a spec file there: node killed by a fault
      // as it starts (status 139, SIGSEGV), before the run wrote a line of its report. The same
      // files run on the next boot; a second such crash is reported.
      crashed = true;
      say(
        `${kernel.label}: node died of signal ${Number(crash[1]) - 128} before the run's first report line (status ${crash[1]}, under ${accel.toUpperCase()}): booting it once more`,
      );
      result = await attempt(accel);
      continue;
    }
    break;
  }
  const r = readReport(report, kernel.label);
  rmSync(initrd, { force: true });
  const how = `${accel.toUpperCase()}, ${(result.ms / 1000).toFixed(1)} s${result.lifeMs === undefined ? '' : `, init after ${(result.lifeMs / 1000).toFixed(1)} s`}`;
  const timing = result.lifeMs === undefined ? {} : { bootMs: result.lifeMs, wallMs: result.ms };
  if (r.ended) return { ...r, release: r.release || kernel.release, how, ...timing };
  const why =
    result.killed === 'timeout'
      ? `killed after ${o.timeoutMs / 1000} s (--kernel-timeout)`
      : `the guest stopped without its report (qemu status ${result.exitCode ?? 'killed'})${result.stderr ? `: ${result.stderr.split('\n')[0]}` : ''}`;
  return {
    ...r,
    release: kernel.release,
    how,
    ...timing,
    exitCode: 2,
    error: `${why}; its last console lines:\n      ${result.tail.slice(-16).join('\n      ')}`,
  };
}

const junitPath = (file: string, label: string) =>
  /\.xml$/.test(file) ? file.replace(/\.xml$/, `-${fileTag(label)}.xml`) : `${file}-${fileTag(label)}.xml`;

/** Runs the specs on every kernel in turn, prints the matrix; 0, 1 or 2 as `xdpspec run`. */
export async function runOnKernels(o: KernelRunOptions): Promise<number> {
  const killed = sweepGuests();
  if (killed.length) say(`killed the guests killed runs left: qemu ${killed.join(', ')}`);
  const kernels = o.kernels.map((k) => resolveKernel(k, say));
  const labels = kernels.map((k) => k.label);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice) throw new XdpspecError('USAGE', `--kernel ${twice} is given twice`);
  const guests = kernels.some((k) => k.kind === 'image');
  const busybox = guests ? guestTools() : '';
  const dir = mkdtempSync(join(tmpdir(), 'xdpspec-kernels-'));
  const cleanup = atRelease(() => rmSync(dir, { recursive: true, force: true }));
  try {
    let common = '';
    let memoryMiB = 2048;
    if (guests) {
      const dirs = [process.cwd()];
      if (relative(process.cwd(), PACKAGE_ROOT).startsWith('..')) dirs.push(PACKAGE_ROOT);
      const tree = hostTree(dirs, busybox, o.include);
      if (tree.bytes > MAX_GUEST_BYTES)
        throw new XdpspecError(
          'USAGE',
          `the guest would hold ${(tree.bytes / 1e9).toFixed(1)} GB of this machine's files (${dirs.join(', ')}${o.include?.length ? `, ${o.include.join(', ')}` : ''}); run from the project's own directory, and keep large files out of it`,
        );
      common = join(dir, 'host-files.cpio');
      const bytes = writeCpio(common, tree.entries);
      say(`guest files: ${(bytes / 1e6).toFixed(0)} MB from this machine (node, iproute2, libbpf, ${dirs.join(', ')})`);
      // The archive is unpacked into the guest's memory: room for it, and 1.5 GiB for the run.
      memoryMiB = Math.max(2048, Math.ceil(bytes / 2 ** 20) + 1536);
    }
    const accelState: { kvm: boolean | undefined } = { kvm: undefined };
    const reports: (KernelReport & { junit?: string })[] = [];
    for (const k of kernels)
      reports.push(
        k.kind === 'host'
          ? await runOnHost(dir, o.runArgs)
          : await runInGuest(k, dir, { common, busybox, memoryMiB }, o.runArgs, o, accelState),
      );
    if (o.junit)
      for (const r of reports)
        if (r.junit !== undefined) {
          const p = junitPath(o.junit, r.label);
          mkdirSync(dirname(resolve(p)), { recursive: true });
          writeFileSync(p, r.junit);
        }
    const comparison = compareKernels(reports);
    process.stdout.write(`\n${formatMatrix(reports, comparison)}\n`);
    if (o.json) {
      mkdirSync(dirname(resolve(o.json)), { recursive: true });
      const kernels = reports.map(({ junit: _, ...r }) => r);
      writeFileSync(o.json, JSON.stringify({ kernels, comparison }, null, 1));
    }
    if (reports.some((r) => r.error !== undefined || r.exitCode === 2)) return 2;
    return reports.some((r) => r.exitCode !== 0 || r.cases.some((c) => c.state === 'failed')) ? 1 : 0;
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
