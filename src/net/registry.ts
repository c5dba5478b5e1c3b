import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { libc } from '../sys/libc.js';
import { ownerAlive } from '../sys/owner.js';
import { processWide } from '../sys/process-wide.js';
import { atRelease } from '../sys/release.js';
import { sweepPinRoots } from '../sys/bpffs.js';
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

function hook(): void {
  if (state.hooked) return;
  state.hooked = true;
  atRelease(releaseAll);
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
      libc().umount2(path, MNT_DETACH);
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') rest.push(n);
    }
  }
  // -force: carry on past a namespace that is already gone
  if (rest.length)
    spawnSync('ip', ['-force', '-batch', '-'], {
      input: rest.map((n) => `netns delete ${n}\n`).join(''),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
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

/**
 * Deletes namespaces left by xdpspec runs whose process is dead (killed outright), and their
 * private bpffs instances; never touches those of live runs, this one included. Returns the
 * names removed (none when not
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
  return [...dead, ...sweepPinRoots()];
}

/**
 * Sweeps once per process, before the first bench or topology is made: every entry point that
 * creates namespaces (library, CLI, specs) thereby cleans up after killed runs. Says on stderr
 * what it removed.
 */
export function sweepOnce(): void {
  if (state.swept) return;
  state.swept = true;
  sweepAndSay();
}

/** Sweeps now and says on stderr what it removed: namespaces and private bpffs instances. */
export function sweepAndSay(): void {
  const swept = sweepLeftovers();
  if (swept.length) process.stderr.write(`xdpspec: removed what killed runs left: ${swept.join(', ')}\n`);
}
