import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { XdpspecError } from './errors.js';
import { ownerAlive } from './owner.js';
import { processWide } from './process-wide.js';
import { atRelease } from './release.js';

// Maps a program pins by name (LIBBPF_PIN_BY_NAME) would go into the host's /sys/fs/bpf, outlive
// the run and carry state into the next run and into runs beside it. Each run pins into a bpffs
// instance of its own instead: every `mount -t bpf` is a separate instance, private to it.

const ROOT = '/run/xdpspec';
const NAME = /^bpffs-(\d+)$/;
const state = processWide('pin-root', () => ({ dir: undefined as string | undefined }));

function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
  try {
    rmdirSync(dir);
    rmdirSync(ROOT); // only when no other run has its instance there
  } catch {
    // already gone, still busy (the next sweep tries again), or another run's is there
  }
}

/**
 * This run's private bpffs, mounted the first time an object pins a map; unmounted when the
 * process exits or is stopped by a signal, and by the next run's sweep after a SIGKILL.
 * @throws XdpspecError `BPFFS_MOUNT` when it cannot be mounted (no root, no bpffs in the kernel).
 */
export function privatePinRoot(): string {
  if (state.dir) return state.dir;
  const dir = `${ROOT}/bpffs-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new XdpspecError(
      'BPFFS_MOUNT',
      `cannot mount a private bpffs at ${dir} for the maps the object pins: ${(r.error?.message ?? r.stderr).trim()}; run as root on a kernel with bpffs`,
    );
  }
  state.dir = dir;
  atRelease(() => unmount(dir));
  return dir;
}

/** Unmounts the private bpffs of runs whose process is dead; returns their paths. */
export function sweepPinRoots(): string[] {
  let names: string[];
  try {
    names = readdirSync(ROOT);
  } catch {
    return [];
  }
  const dead: string[] = [];
  for (const n of names) {
    const pid = Number(NAME.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    const dir = `${ROOT}/${n}`;
    let madeAt: number;
    try {
      madeAt = statSync(dir).ctimeMs / 1000;
    } catch {
      continue;
    }
    if (ownerAlive(pid, madeAt)) continue;
    unmount(dir);
    dead.push(dir);
  }
  return dead;
}
