// Which kernel a `--kernel SPEC` names: this machine's, an image file, or a Debian kernel
// package fetched with apt and unpacked into a cache (nothing is installed on the host).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, XdpspecError } from '../sys/errors.js';

/** A kernel to boot in a guest, or the host itself. */
export type Kernel =
  | { readonly kind: 'host'; readonly label: string }
  | {
      readonly kind: 'image';
      /** What the report calls it: the SPEC as given (`6.1`), or the image's release. */
      readonly label: string;
      readonly image: string;
      /** Its release (`uname -r` in the guest), read from the image's header. */
      readonly release: string;
      /** `lib/modules/RELEASE` for it, when there is one. */
      readonly modules: string | undefined;
    };

/**
 * The release string in a bzImage's setup header (boot protocol 2.x: the offset at 0x20e points
 * 0x200 bytes short of it). @throws XdpspecError `KERNEL_IMAGE` for a file that is not one.
 */
export function imageRelease(image: string): string {
  let fd: number;
  try {
    fd = openSync(image, 'r');
  } catch (err) {
    throw new XdpspecError(
      'KERNEL_IMAGE',
      `${image}: ${(err as Error).message}; give the path of a kernel image (bzImage, /boot/vmlinuz-*)`,
    );
  }
  try {
    const head = Buffer.alloc(0x300);
    readSync(fd, head, 0, head.length, 0);
    if (head.toString('latin1', 0x202, 0x206) !== 'HdrS')
      throw new XdpspecError(
        'KERNEL_IMAGE',
        `${image} is not an x86 kernel image (no "HdrS" boot header at 0x202); give a bzImage such as /boot/vmlinuz-*, not vmlinux or a module`,
      );
    const at = head.readUInt16LE(0x20e) + 0x200;
    const text = Buffer.alloc(256);
    readSync(fd, text, 0, text.length, at);
    return text.toString('latin1').split(/[\s\0]/)[0]!;
  } finally {
    closeSync(fd);
  }
}

/** `lib/modules/RELEASE` beside an image unpacked from a package, or the host's for its release. */
function modulesFor(image: string, release: string): string | undefined {
  const candidates = [join(dirname(resolve(image)), '..', 'lib', 'modules', release), `/lib/modules/${release}`];
  return candidates.find((d) => existsSync(join(d, 'kernel')));
}

/** Where fetched kernels are kept between runs: $XDG_CACHE_HOME/xdpspec/kernels. */
export function kernelCache(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xdpspec', 'kernels');
}

const run = (cmd: string, args: string[], cwd?: string) =>
  spawnSync(cmd, args, { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });

/** Debian's package names for kernel `version` (`6.1`, `6.12`, `6.1.0-50`), newest first. */
export function kernelPackages(version: string, names: readonly string[]): string[] {
  const esc = version.replace(/[.+]/g, (c) => `\\${c}`);
  const re = new RegExp(`^linux-image-${esc}([.-][^ ]*)?-cloud-amd64-unsigned$`);
  const numbers = (n: string) => (n.match(/\d+/g) ?? []).map(Number);
  return names
    .filter((n) => re.test(n))
    .sort((a, b) => {
      const x = numbers(a);
      const y = numbers(b);
      for (let i = 0; i < Math.max(x.length, y.length); i++)
        if ((x[i] ?? -1) !== (y[i] ?? -1)) return (y[i] ?? -1) - (x[i] ?? -1);
      return 0;
    });
}

function aptNames(): string[] {
  const r = run('apt-cache', ['pkgnames', 'linux-image-']);
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/**
 * The newest Debian cloud kernel of `version`, from the cache or fetched with `apt-get download`
 * and unpacked with `dpkg-deb -x`. @throws XdpspecError `KERNEL_FETCH` when apt has none or fails.
 */
export function fetchDebianKernel(version: string, log: (line: string) => void): { image: string; modules: string } {
  const full = /^linux-image-/.test(version) ? version : undefined;
  if (!existsSync('/usr/bin/apt-get'))
    throw new XdpspecError(
      'KERNEL_FETCH',
      `--kernel ${version} fetches a Debian kernel package, and this machine has no apt-get; give the path of a kernel image instead`,
    );
  let known = aptNames();
  if (known.length === 0) {
    // A fresh machine's apt has no package lists yet.
    log('apt knows no kernel packages; running apt-get update');
    run('apt-get', ['update', '-qq']);
    known = aptNames();
  }
  const names = full ? [full] : kernelPackages(version, known);
  const pkg = names[0];
  if (!pkg)
    throw new XdpspecError(
      'KERNEL_FETCH',
      `no Debian package linux-image-${version}*-cloud-amd64-unsigned in apt's lists; see \`apt-cache search linux-image- | grep cloud-amd64-unsigned\` for the versions there are`,
    );
  const dir = join(kernelCache(), pkg);
  const found = unpacked(dir);
  if (found) return found;
  log(`fetching ${pkg} with apt-get download`);
  const tmp = `${dir}.part-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const got = run('apt-get', ['download', '-qq', pkg], tmp);
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (got.status !== 0 || !deb)
      throw new XdpspecError(
        'KERNEL_FETCH',
        `apt-get download ${pkg} failed: ${(got.stderr || got.stdout).trim().split('\n').pop()}; check apt's sources and network`,
      );
    const x = run('dpkg-deb', ['-x', deb, 'root'], tmp);
    if (x.status !== 0) throw new XdpspecError('KERNEL_FETCH', `dpkg-deb -x ${deb} failed: ${x.stderr.trim()}`);
    rmSync(join(tmp, deb));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir); // whole or not at all: a killed fetch leaves only a .part directory
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return unpacked(dir)!;
}

function unpacked(dir: string): { image: string; modules: string } | undefined {
  const boot = join(dir, 'root', 'boot');
  if (!existsSync(boot)) return undefined;
  const image = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!image) return undefined;
  return { image: join(boot, image), modules: join(dir, 'root', 'lib', 'modules', image.slice('vmlinuz-'.length)) };
}

/**
 * What `--kernel SPEC` names: `host`, a path to a kernel image, or a Debian kernel version or
 * package name. @throws UsageError for an empty SPEC; XdpspecError from the fetch or the image.
 */
export function resolveKernel(spec: string, log: (line: string) => void): Kernel {
  if (spec === '')
    throw new UsageError('--kernel takes host, a kernel image path, or a Debian kernel version such as 6.1');
  if (spec === 'host') return { kind: 'host', label: 'host' };
  if (spec.includes('/') || existsSync(spec)) {
    const release = imageRelease(spec);
    return { kind: 'image', label: basename(spec), image: resolve(spec), release, modules: modulesFor(spec, release) };
  }
  if (!/^(\d+\.\d+[\w.+~-]*|linux-image-[\w.+~-]+)$/.test(spec))
    throw new UsageError(
      `--kernel ${JSON.stringify(spec)}: give host, a kernel image path, or a Debian kernel version such as 6.1 or 6.12`,
    );
  const { image, modules } = fetchDebianKernel(spec, log);
  const release = imageRelease(image);
  return { kind: 'image', label: spec, image, release, modules: existsSync(modules) ? modules : undefined };
}
