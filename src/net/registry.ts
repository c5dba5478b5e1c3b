import { spawnSync } from 'node:child_process';
import { readdirSync, unlinkSync } from 'node:fs';
import { ffi } from '../bpf/ffi.js';
import { ownerPid } from './names.js';

const MNT_DETACH = 2;

// Every namespace this process creates is registered the moment it exists and removed when
// released: on close, on normal exit, and on SIGINT/SIGTERM/SIGHUP. Deleting a namespace also
// destroys its veths (a veth pair dies with either end) and detaches their XDP and TC programs,
// so namespaces are the one thing to track. A run killed outright (SIGKILL) leaves its
// namespaces behind; `sweepLeftovers` removes those whose owning process is dead.

const owned = new Set<string>();
let hooked = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(sig: NodeJS.Signals): void {
  releaseAll();
  // Die of the same signal, as the process would have without us.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
    return pid !== undefined && pid !== process.pid && !alive(pid);
  });
  deleteNamespaces(dead);
  return dead;
}
