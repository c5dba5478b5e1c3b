// Kernels for the guest specs: Debian's, fetched once into the cache as `--kernel 6.1` does.
import { existsSync } from 'node:fs';
import { resolveKernel, type Kernel } from '../../src/vm/kernels.js';

const fetched = new Map<string, Kernel & { kind: 'image' }>();

/** Debian's kernel `version`, fetched with apt when not cached; skips visibly without apt. */
export function debianKernel(ctx: Mocha.Context, version: string): Kernel & { kind: 'image' } & { modules: string } {
  if (!existsSync('/usr/bin/apt-get')) {
    ctx.test!.title += ' (skipped: needs apt-get to fetch a Debian kernel)';
    ctx.skip();
  }
  const k = fetched.get(version) ?? (resolveKernel(version, () => undefined) as Kernel & { kind: 'image' });
  fetched.set(version, k);
  if (!k.modules) throw new Error(`Debian's ${version} kernel came without its modules`);
  return k as Kernel & { kind: 'image' } & { modules: string };
}

/** busybox on this machine, or a visible skip saying what to install (the set-up installs it). */
export function needsBusybox(ctx: Mocha.Context): string {
  const found = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (found) return found;
  ctx.test!.title += ' (skipped: needs busybox: apt-get install busybox-static)';
  return ctx.skip();
}
