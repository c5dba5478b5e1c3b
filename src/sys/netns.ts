import { closeSync, openSync } from 'node:fs';
import { BpfError } from './errors.js';
import { errnoName } from './errno.js';
import { libc } from './libc.js';
import { errno } from './native.js';

const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

// The named namespaces this thread is in now, innermost last (a private one is '(private)'): a
// device map's entry names a device of the namespace it was written in, so writes record it.
const where: string[] = [];

/** The named network namespace this thread is in now (`inNetns`), or undefined for the process's own. */
export function currentNetns(): string | undefined {
  return where[where.length - 1];
}

/**
 * Runs `fn` on this thread after `enter()` has moved it to another network namespace, and
 * always moves it back to the one it started in. Staying in the wrong namespace would
 * silently misdirect everything after, so failing to return ends the process.
 */
function away<T>(enter: () => void, fn: () => T): T {
  const f = libc();
  // Opening a namespace file is most of a switch's cost (8 us of 12, where setns takes 2): the
  // thread's own namespace, where it is whenever no switch of ours is under way, is opened once
  // and kept (close-on-exec); inside a switch, the one to return to is opened each time.
  const atHome = where.length === 0;
  const home = atHome && ownNetns >= 0 ? ownNetns : f.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  if (home < 0) {
    const e = errno();
    throw new BpfError("open this thread's network namespace", e, errnoName(e));
  }
  if (atHome) ownNetns = home;
  try {
    enter();
    try {
      return fn();
    } finally {
      if (f.setns(home, CLONE_NEWNET) !== 0) {
        process.stderr.write(
          `xdpspec: cannot return to the original network namespace (${errnoName(errno())}); exiting\n`,
        );
        process.exit(70);
      }
    }
  } finally {
    if (!atHome) f.close(home);
  }
}

/** The thread's own network namespace, opened by the first switch away from it. */
let ownNetns = -1;

/**
 * Runs `fn` on this thread inside a fresh, empty network namespace (only a loopback device,
 * down), then switches back. The namespace has no name and no other user, so it disappears
 * when `fn` returns: nothing to clean up, even if the process dies inside.
 */
export function inPrivateNetns<T>(fn: () => T): T {
  return away(
    () => {
      if (libc().unshare(CLONE_NEWNET) !== 0) {
        const e = errno();
        throw new BpfError(
          'create a private network namespace',
          e,
          `${errnoName(e)} (needs CAP_SYS_ADMIN: run as root)`,
        );
      }
    },
    () => within('(private)', fn),
  );
}

/**
 * A private network namespace kept for many runs: made once (empty: only a loopback device,
 * down) and entered by its file descriptor each time, since making a namespace costs about a
 * millisecond. It has no name and no other user: it disappears when `close()` lets go of its
 * descriptor, or with the process, whatever happens to it.
 */
export class PrivateNetns {
  private constructor(private fd: number) {}

  static open(): PrivateNetns {
    let fd = -1;
    inPrivateNetns(() => {
      fd = openSync('/proc/thread-self/ns/net', 'r');
    });
    return new PrivateNetns(fd);
  }

  /** Runs `fn` on this thread inside the namespace, then switches back. */
  run<T>(fn: () => T): T {
    if (this.fd < 0)
      throw new BpfError('enter the private network namespace', 9, 'it was closed; open another (PrivateNetns.open())');
    return away(
      () => {
        if (libc().setns(this.fd, CLONE_NEWNET) !== 0) {
          const e = errno();
          throw new BpfError('enter the private network namespace', e, errnoName(e));
        }
      },
      () => within('(private)', fn),
    );
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function within<T>(name: string, fn: () => T): T {
  where.push(name);
  try {
    return fn();
  } finally {
    where.pop();
  }
}

/** The name of the interface with this index in the current namespace, or undefined. */
export function interfaceName(ifindex: number): string | undefined {
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.writeInt32LE(ifindex, 16);
  return interfaceIoctl(SIOCGIFNAME, ifr) ? ifr.toString('utf8', 0, ifr.indexOf(0)) : undefined;
}

/** The MTU of the interface called `ifname` in the current namespace, or undefined. */
export function interfaceMtu(ifname: string): number | undefined {
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(ifname, 0, 15, 'latin1');
  return interfaceIoctl(SIOCGIFMTU, ifr) ? ifr.readInt32LE(16) : undefined;
}

/**
 * An interface ioctl (`struct ifreq`: the name, then a union) on a socket of the current
 * namespace, whose interfaces it sees: at home one socket kept for the asking (a socket per
 * call, as libc's if_indextoname makes, was 15 us of telling a located redirect's device; the
 * ioctl alone about 1), inside a switch one made for the call. False when the kernel refuses.
 */
function interfaceIoctl(request: number, ifr: Buffer): boolean {
  const f = libc();
  const atHome = where.length === 0;
  const fd = atHome && nameSocket >= 0 ? nameSocket : f.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (atHome) nameSocket = fd;
  try {
    return f.ioctl(fd, request, ifr) === 0;
  } finally {
    if (!atHome) f.close(fd);
  }
}

/** The socket of the thread's own namespace that interfaceIoctl keeps (sockets keep their namespace). */
let nameSocket = -1;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const IFREQ_SIZE = 40;
const SIOCGIFNAME = 0x8910;
const SIOCGIFMTU = 0x8921;

/**
 * Runs `fn` on this thread inside the named network namespace (`/run/netns/NAME`, as `ip netns
 * add` makes), then switches back. Sockets and netlink requests made inside stay there.
 * @throws BpfError when the namespace does not exist.
 */
export function inNetns<T>(name: string | undefined, fn: () => T): T {
  if (name === undefined) return fn();
  let target: number;
  try {
    target = openSync(`/run/netns/${name}`, 'r');
  } catch {
    throw new BpfError(
      `enter network namespace ${name}`,
      2,
      `no namespace called ${name} (ip netns list shows the ones there are)`,
    );
  }
  try {
    return away(
      () => {
        if (libc().setns(target, CLONE_NEWNET) !== 0) {
          const e = errno();
          throw new BpfError(`enter network namespace ${name}`, e, errnoName(e));
        }
      },
      () => within(name, fn),
    );
  } finally {
    closeSync(target);
  }
}
