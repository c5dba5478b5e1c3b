// Booting a guest under qemu: KVM when it runs guests here, TCG otherwise; bounded, and killed
// on the way out. A qemu whose run was SIGKILLed is killed by the next run's sweep (its pid file
// names the run that started it).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ownerAlive } from '../sys/owner.js';
import { atRelease } from '../sys/release.js';
import { onPath } from './guest-root.js';

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  readonly image: string;
  readonly initrd: string;
  readonly accel: Accel;
  /** The file the guest's second serial port (ttyS1) writes to: its report. */
  readonly report: string;
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Kill the guest after this long (ms). */
  readonly timeoutMs: number;
  /** The console line that shows the guest runs its init (its time is reported). */
  readonly lifeSign?: RegExp;
  /** Kill the guest unless `lifeSign` comes within this long (ms): KVM that hangs. */
  readonly lifeSignMs?: number;
  /** Each line of the guest's console (ttyS0), as it comes; whether the sign of life came before it. */
  readonly onConsole: (line: string, afterLifeSign: boolean) => void;
}

export interface BootResult {
  /** qemu's exit status (0 once the guest powered off), or undefined when it was killed. */
  readonly exitCode: number | undefined;
  /** Why it was killed: the bound ran out, or no sign of life came. */
  readonly killed: 'timeout' | 'no-life-sign' | undefined;
  readonly ms: number;
  /** When the sign of life came (ms after start), with `lifeSign`. */
  readonly lifeMs: number | undefined;
  /** The last console lines, for a message. */
  readonly tail: readonly string[];
  /** qemu's own complaints (stderr). */
  readonly stderr: string;
}

// Root's guests are the machine's to sweep; another user's pid files stay among their own files
// (qemu under TCG needs no privileges, and the specs run as root inside the guest).
const ROOT = process.getuid?.() === 0 ? '/run/xdpspec' : join(tmpdir(), `xdpspec-${process.getuid?.() ?? 'user'}`);
const VM_DIR = `${ROOT}/vm`;

/** Whether this process may open /dev/kvm; whether guests then run is for a boot to show. */
export function kvmOpenable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The qemu binary for x86-64 guests on PATH, or undefined. */
export const qemuBinary = () => onPath('qemu-system-x86_64');

// ANSI escapes the firmware writes to clear the screen.
// eslint-disable-next-line no-control-regex -- the escape character is what is matched
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g;

/** Boots a guest and waits until it powers off, is killed by the bound, or shows no life. */
export function boot(o: BootOptions): Promise<BootResult> {
  mkdirSync(VM_DIR, { recursive: true });
  const t0 = performance.now();
  const accel = o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  const pidFile = `${VM_DIR}/${process.pid}-${Math.floor(t0 * 1000)}.pid`;
  const args = [
    ...accel,
    '-smp',
    String(o.cpus ?? 2),
    '-m',
    String(o.memoryMiB ?? 2048),
    '-nodefaults',
    '-nographic',
    '-no-reboot',
    // No network device: the guest's traffic stays in its own namespaces.
    '-nic',
    'none',
    '-serial',
    'stdio',
    '-serial',
    `file:${o.report}`,
    '-kernel',
    o.image,
    '-initrd',
    o.initrd,
    '-append',
    'console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init',
    '-pidfile',
    pidFile,
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const release = atRelease(() => child.kill('SIGKILL'));
  const tail: string[] = [];
  let stderr = '';
  let killed: BootResult['killed'];
  let lifeMs: number | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (raw) => {
    const line = raw.replace(ESCAPES, '').replace(/\r/g, '');
    if (!line.trim()) return;
    const afterLifeSign = lifeMs !== undefined;
    if (!afterLifeSign && o.lifeSign?.test(line)) lifeMs = performance.now() - t0;
    tail.push(line);
    if (tail.length > 40) tail.shift();
    o.onConsole(line, afterLifeSign);
  });
  const timers = [
    setTimeout(() => {
      killed = 'timeout';
      child.kill('SIGKILL');
    }, o.timeoutMs),
  ];
  if (o.lifeSign && o.lifeSignMs !== undefined)
    timers.push(
      // The one fixed wait here bounds how long a sign of life may take; it is not a synchronization.
      setTimeout(() => {
        if (lifeMs !== undefined) return;
        killed = 'no-life-sign';
        child.kill('SIGKILL');
      }, o.lifeSignMs),
    );
  return new Promise((done) => {
    child.on('close', (code) => {
      for (const t of timers) clearTimeout(t);
      release();
      rmSync(pidFile, { force: true });
      removeIfEmpty(VM_DIR, ROOT);
      done({ exitCode: code ?? undefined, killed, lifeMs, ms: performance.now() - t0, tail, stderr: stderr.trim() });
    });
    child.on('error', () => undefined); // 'close' follows with the status
  });
}

/** Removes each directory in turn while it is empty: a run leaves no trace of its guests. */
function removeIfEmpty(...dirs: string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty: another run's guest, pins or namespaces' files are there
    }
  }
}

/** Kills the guests of runs that died without cleaning up; returns their pids. */
export function sweepGuests(): number[] {
  let names: string[];
  try {
    names = readdirSync(VM_DIR);
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const n of names) {
    const m = /^(\d+)-\d+\.pid$/.exec(n);
    if (!m || Number(m[1]) === process.pid) continue;
    const file = `${VM_DIR}/${n}`;
    let madeAt: number;
    let pid: number;
    try {
      madeAt = statSync(file).mtimeMs / 1000;
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue;
    }
    if (ownerAlive(Number(m[1]), madeAt)) continue;
    // qemu creates its pid file, then writes the pid: an empty one may belong to a guest still
    // starting, which a later sweep finds. Only one left empty for a minute is taken as a
    // guest that died before writing it.
    if (!(pid > 0)) {
      if (Date.now() / 1000 - madeAt > 60) rmSync(file, { force: true });
      continue;
    }
    try {
      // Only a qemu that started before its pid file was written: not a process that reused the pid.
      if (ownerAlive(pid, madeAt) && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('qemu-system')) {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      }
    } catch {
      // gone meanwhile
    }
    rmSync(file, { force: true });
  }
  removeIfEmpty(VM_DIR, ROOT);
  return killed;
}
