import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { ffi, processWide } from '../bpf/ffi.js';
import { ownerPid } from './names.js';

const MNT_DETACH = 2;

// Every namespace this process creates is registered the moment it exists and removed when
// released: on close, on normal exit, and on SIGINT/SIGTERM/SIGHUP. Deleting a namespace also
// destroys its veths (a veth pair dies with either end) and detaches their XDP and TC programs,
// so namespaces are the one thing to track. A run killed outright (SIGKILL) leaves its
// namespaces behind; `sweepLeftovers` removes those whose owning process is dead.

// Process-wide, so that two copies of xdpspec in one process (sources and built package) share
// one list and one set of signal handlers.
const state = processWide('netns-registry', () => ({ owned: new Set<string>(), hooked: false, swept: false }));
const owned = state.owned;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(sig: NodeJS.Signals): void {
  releaseAll();
  // Die of the same signal, as the process would have without us.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

function hook(): void {
  if (state.hooked) return;
  state.hooked = true;
  process.on('exit', releaseAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

/**
 * Deletes namespaces as `ip netns delete` does, in this process: detach the bind mount that
 * keeps the namespace alive, remove the file. The kernel then tears the namespace down (and its
 * veths and attached programs with it). Synchronous, so it also works on exit. Falls back to
 * `ip` for anything the direct way cannot remove.
 */
export function deleteNamespaces(names: readonly string[]): void {
  const rest: string[] = [];
  for (const n of names) {
    const path = `/run/netns/${n}`;
    try {
      ffi().umount2(path, MNT_DETACH);
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') rest.push(n);
    }
  }
  // -force: carry on past a namespace that is already gone
  if (rest.length) spawnSync('ip', ['-force', '-batch', '-'], { input: rest.map((n) => `netns delete ${n}\n`).join(''), stdio: ['pipe', 'ignore', 'ignore'] });
}

export function register(name: string): void {
  hook();
  owned.add(name);
}

export function release(names: readonly string[]): void {
  deleteNamespaces(names);
  for (const n of names) owned.delete(n);
}

/** Removes everything this process still owns. */
export function releaseAll(): void {
  release([...owned]);
}

/** Namespaces this process owns now (for specs and diagnostics). */
export function ownedNamespaces(): string[] {
  return [...owned];
}

const CLOCK_TICKS = 100; // USER_HZ, the unit of /proc/PID/stat's start time on Linux

/** Seconds since the epoch at which the system booted (/proc/stat's btime). */
function bootTime(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
}

/**
 * Whether the process that made a namespace at `madeAt` (seconds since the epoch) still runs.
 * A zombie has finished (it only waits for its parent to read its status), and a process that
 * started after the namespace was made has only inherited the dead owner's pid.
 */
function ownerAlive(pid: number, madeAt: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no such process
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  const started = bootTime() + Number(fields[19]) / CLOCK_TICKS;
  return started <= madeAt + 1; // a second's slack for the clocks' rounding
}

/**
 * Deletes namespaces left by xdpspec runs whose process is dead (killed outright); never
 * touches those of live runs, this one included. Returns the names removed (none when not
 * root: only root could have made them, or can remove them).
 */
export function sweepLeftovers(): string[] {
  if (process.getuid?.() !== 0) return [];
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  const dead = names.filter((n) => {
    const pid = ownerPid(n);
    if (pid === undefined || pid === process.pid) return false;
    let madeAt: number;
    try {
      madeAt = statSync(`/run/netns/${n}`).mtimeMs / 1000;
    } catch {
      return false; // gone meanwhile
    }
    return !ownerAlive(pid, madeAt);
  });
  deleteNamespaces(dead);
  return dead;
}

/**
 * Sweeps once per process, before the first bench or topology is made: every entry point that
 * creates namespaces (library, CLI, specs) thereby cleans up after killed runs. Says on stderr
 * what it removed.
 */
export function sweepOnce(): void {
  if (state.swept) return;
  state.swept = true;
  const swept = sweepLeftovers();
  if (swept.length) process.stderr.write(`xdpspec: removed ${swept.length} namespace(s) left by killed runs: ${swept.join(', ')}\n`);
}
