import { closeSync, openSync } from 'node:fs';
import { BpfError } from './errors.js';
import { errnoName } from './errno.js';
import { libc } from './libc.js';
import { errno } from './native.js';

const CLONE_NEWNET = 0x40000000;

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
  const home = openSync('/proc/thread-self/ns/net', 'r');
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
    closeSync(home);
  }
}

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
  const buf = Buffer.alloc(16);
  if (libc().if_indextoname(ifindex, buf) === 0n) return undefined;
  return buf.toString('utf8', 0, buf.indexOf(0));
}

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
