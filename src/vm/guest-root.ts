// What a guest needs to run the specs: this machine's node, iproute2 and libbpf with the shared
// libraries they link, busybox for init, the project, and the kernel's modules for veth and TC.
// The files keep their host paths, so specs, fixtures and objects are where they are on the host.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { XdpspecError } from '../sys/errors.js';
import type { CpioEntry } from './cpio.js';

/** Modules a bench may need that Debian's kernels build as modules; missing ones are left out. */
export const GUEST_MODULES = [
  'veth',
  'sch_ingress',
  'cls_bpf',
  'act_bpf',
  'act_gact',
  'act_mirred',
  'dummy',
  'ifb',
  'bridge',
] as const;

const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/lib64', '/usr/local/lib'];

/** Where a command is on PATH, or undefined. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir || '.', command);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The shared libraries `elf` needs, as ldd resolves them (absolute paths). */
function sharedLibraries(elf: string): string[] {
  const r = spawnSync('ldd', [elf], { encoding: 'utf8' });
  if (r.status !== 0) return []; // static, or not an ELF file
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/**
 * Entries for host paths at the same paths in the guest: symlinks along the way (Debian's /lib ->
 * usr/lib) become symlinks, directories are made once, files are read when the archive is written.
 */
export class HostTree {
  private readonly seen = new Set<string>();
  readonly entries: CpioEntry[] = [];
  bytes = 0;

  private dirs(path: string): void {
    const parent = dirname(path);
    if (parent === path || this.seen.has(parent)) return;
    this.add(parent);
  }

  /** Adds `path` (a file, symlink or directory entry, not its contents) and what leads to it. */
  add(path: string): void {
    path = resolve(path);
    if (this.seen.has(path) || path === '/') return;
    this.dirs(path);
    // A symlinked parent was added as a symlink: continue in the directory it points at.
    const real = join(realDir(dirname(path)), basename(path));
    if (real !== path) {
      this.add(real);
      return;
    }
    this.seen.add(path);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(path);
      this.entries.push({ kind: 'symlink', path, target });
      this.add(posix.resolve(dirname(path), target));
    } else if (st.isDirectory()) {
      this.entries.push({ kind: 'dir', path, mode: st.mode & 0o7777 });
    } else if (st.isFile()) {
      this.entries.push({ kind: 'file', path, mode: st.mode & 0o7777, data: path });
      this.bytes += st.size;
    }
  }

  /** Adds an executable or library and the libraries it loads (ldd lists them all, transitively). */
  addElf(path: string): void {
    this.add(path);
    for (const lib of sharedLibraries(path)) this.add(lib);
  }

  /** Adds a directory tree, but for the entries whose name `skip` refuses. */
  addTree(dir: string, skip: (name: string) => boolean): void {
    this.add(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (skip(e.name)) continue;
      if (e.isDirectory()) this.addTree(p, skip);
      else {
        this.add(p);
        if (e.isFile() && e.name.endsWith('.node')) this.addElf(p); // native addons' libraries
      }
    }
  }
}

/** `dir` with its symlinks resolved (dir itself exists: it was added before its entries). */
function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** This machine's libbpf.so.1, which xdpspec loads through koffi. */
export function findLibbpf(): string {
  for (const d of LIB_DIRS) {
    const p = join(d, 'libbpf.so.1');
    if (existsSync(p)) return p;
  }
  throw new XdpspecError(
    'LIBRARY_MISSING',
    `no libbpf.so.1 in ${LIB_DIRS.join(', ')}: the guest gets this machine's libbpf; install it (apt-get install libbpf1)`,
  );
}

/** A kernel module's `depends=` list, read from its .modinfo strings (xz-compressed ones through xz). */
function moduleDepends(file: string): string[] {
  let bytes: Buffer;
  if (file.endsWith('.xz')) {
    const r = spawnSync('xz', ['-dc', file], { maxBuffer: 256 << 20 });
    if (r.status !== 0) return [];
    bytes = r.stdout;
  } else bytes = readFileSync(file);
  const at = bytes.indexOf('\0depends=');
  if (at < 0) return [];
  const end = bytes.indexOf(0, at + 1);
  const list = bytes.subarray(at + 9, end).toString('latin1');
  return list ? list.split(',') : [];
}

/** A module file's name: `veth.ko`, `veth.ko.xz` (6.12), `veth.ko.zst`. */
const MODULE_FILE = /\.ko(\.[a-z]+)?$/;
const moduleName = (file: string) => basename(file).replace(MODULE_FILE, '').replace(/-/g, '_');

/**
 * The module files to load, dependencies first, for `wanted` in the modules tree `dir`
 * (`.../lib/modules/RELEASE`). Modules built into the kernel, or absent, are left out.
 */
export function moduleLoadOrder(dir: string, wanted: readonly string[]): string[] {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (MODULE_FILE.test(e.name)) files.set(moduleName(p), p);
    }
  };
  if (existsSync(join(dir, 'kernel'))) walk(join(dir, 'kernel'));
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (name: string) => {
    const n = name.replace(/-/g, '_');
    if (done.has(n)) return;
    done.add(n);
    const f = files.get(n);
    if (!f) return; // built in, or not built at all: a spec that needs it says so when it probes
    for (const d of moduleDepends(f)) visit(d);
    order.push(f);
  };
  for (const w of wanted) visit(w);
  return order;
}

/** `'a b'` for sh. */
export const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** What the guest's init runs, and where. */
export interface GuestCommand {
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** The line the guest's init prints first: the host's sign that the guest runs. */
export const LIFE_SIGN = /^xdpspec-guest: up /;

/**
 * The guest's /init (busybox sh): mounts what a fresh machine has, loads the modules in order,
 * runs the command with the console as its output, and powers off whatever it returned. /tmp
 * and /run stay the initramfs's own (writable already): a tmpfs there would hide a project that
 * lives under /tmp.
 */
export function initScript(busybox: string, cmd: GuestCommand): string {
  const env = Object.entries(cmd.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return `#!${busybox} sh
${busybox} --install -s /xdpspec/bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/xdpspec/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
stty -F /dev/ttyS1 raw -echo
echo "xdpspec-guest: up $(uname -r)"
for m in /xdpspec/modules/*; do
  [ -e "$m" ] && { insmod "$m" || echo "xdpspec-guest: insmod $(basename "$m") failed"; }
done
ip link set lo up
cd ${shellQuote(cmd.cwd)} && env ${env.join(' ')} ${cmd.argv.map(shellQuote).join(' ')}
echo "xdpspec-guest: exit $?"
sync
poweroff -f
`;
}

/** The guest's own entries beside the host's files: empty mount points, modules, /init. */
export function guestEntries(busybox: string, modules: readonly string[], cmd: GuestCommand): CpioEntry[] {
  const dirs = ['/proc', '/sys', '/dev', '/tmp', '/run', '/root', '/xdpspec', '/xdpspec/bin', '/xdpspec/modules'];
  return [
    ...dirs.map((path) => ({ kind: 'dir' as const, path })),
    // Numbered so that the shell's glob loads them in dependency order.
    ...modules.map((m, i) => ({
      kind: 'file' as const,
      path: `/xdpspec/modules/${String(i).padStart(3, '0')}-${basename(m)}`,
      data: m,
    })),
    { kind: 'file', path: '/init', mode: 0o755, data: Buffer.from(initScript(busybox, cmd)) },
  ];
}

/** Names under a project left out of the guest: history and reports, not what specs read. */
export const LEFT_OUT = new Set(['.git', 'coverage', '.nyc_output', '.cache']);

/**
 * The host's side of every guest: node, sh, libbpf, busybox and the GUEST_TOOLS there are, with
 * their libraries, the project directories (`dirs`: the working directory, and xdpspec's own
 * package when it is elsewhere), and what `include` names (files, with their libraries when they
 * are programs; directories whole). @throws XdpspecError `USAGE` for an `include` that is not there.
 */
export function hostTree(dirs: readonly string[], busybox: string, include: readonly string[] = []): HostTree {
  const h = new HostTree();
  for (const elf of [process.execPath, '/bin/sh', findLibbpf(), busybox]) h.addElf(elf);
  for (const tool of GUEST_TOOLS) {
    const p = onPath(tool);
    if (p) h.addElf(p);
  }
  for (const d of dirs) h.addTree(d, (name) => LEFT_OUT.has(name));
  for (const p of include) {
    if (!existsSync(p))
      throw new XdpspecError('USAGE', `--guest-include ${p}: no such file or directory on this machine`);
    if (statSync(p).isDirectory()) h.addTree(resolve(p), () => false);
    else h.addElf(p);
  }
  return h;
}

/**
 * Commands specs commonly run beside xdpspec, taken into guests when this machine has them (with
 * their libraries); anything else a spec runs is `--guest-include PATH`.
 */
export const GUEST_TOOLS = ['ip', 'tc', 'ethtool', 'ping', 'tcpdump', 'tcpreplay', 'bpftool'] as const;
