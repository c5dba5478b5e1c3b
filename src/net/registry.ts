import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { ownerPid } from './names.js';

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

/** Deletes namespaces with one `ip -batch` process; synchronous, so it also works on exit. */
export function deleteNamespaces(names: readonly string[]): void {
  if (names.length === 0) return;
  // -force: carry on past a namespace that is already gone
  spawnSync('ip', ['-force', '-batch', '-'], { input: names.map((n) => `netns delete ${n}\n`).join(''), stdio: ['pipe', 'ignore', 'ignore'] });
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
 * touches those of live runs, this one included. Returns the names removed.
 */
export function sweepLeftovers(): string[] {
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
