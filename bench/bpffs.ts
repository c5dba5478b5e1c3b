import { readdirSync, lstatSync, rmdirSync, unlinkSync } from 'node:fs';

const ROOT = '/sys/fs/bpf';
// iproute2's BPF loader (`ip link set ... xdp obj`, `tc ... bpf obj`) creates this skeleton the
// first time it runs: two symlinks and two directories, empty unless something pins into them.
const IPROUTE2 = ['tc/globals', 'tc', 'ip', 'xdp'];
// The kernel's bpf_preload creates these in every bpffs instance the moment it is mounted: on a
// machine without systemd, the first tool that mounts /sys/fs/bpf makes them appear. Not pins.
const KERNEL = new Set([`${ROOT}/maps.debug`, `${ROOT}/progs.debug`]);

function list(dir = ROOT, depth = 3): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = `${dir}/${n}`;
    const st = lstatSync(p);
    return [p, ...(st.isDirectory() && depth > 1 ? list(p, depth - 1) : [])];
  });
}

/**
 * For the benchmarks' iproute2 baselines, which run on the host's bpffs (xdpspec's own
 * --attached-by gives its command a private bpffs instead). Notes what bpffs holds now; `finish()` removes iproute2's skeleton if it appeared since and is
 * still empty, and returns whatever else appeared (pins made by other tools during the run),
 * which the caller reports: they may belong to another process, so they are not deleted blindly.
 */
export function watchBpffs(): { finish(): string[] } {
  const before = new Set(list());
  return {
    finish() {
      removeSkeleton(before);
      return list().filter((p) => !before.has(p) && !KERNEL.has(p));
    },
  };
}

/** iproute2's skeleton, where it appeared since `before` and is still empty. */
function removeSkeleton(before: ReadonlySet<string>): void {
  for (const rel of IPROUTE2) {
    const p = `${ROOT}/${rel}`;
    if (before.has(p)) continue;
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) unlinkSync(p);
      else if (st.isDirectory() && readdirSync(p).length === 0) rmdirSync(p);
    } catch {
      // already gone
    }
  }
}
