// The "newc" cpio format the kernel unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** One entry of the archive: a directory, a file with its bytes (or a host path), or a symlink. */
export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly mode?: number; readonly data: Uint8Array | string }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/**
 * Writes `entries` as a newc archive to `file` (after what it holds, with `append`: the kernel
 * unpacks archives laid end to end one after another); files given as host paths are read one
 * at a time. Returns the bytes written.
 */
export function writeCpio(file: string, entries: Iterable<CpioEntry>, o: { append?: boolean } = {}): number {
  const fd = openSync(file, o.append ? 'a' : 'w');
  let written = 0;
  let ino = 1;
  const put = (b: Uint8Array) => {
    writeSync(fd, b);
    written += b.length;
  };
  const zeros = Buffer.alloc(4);
  const record = (name: string, mode: number, data: Uint8Array) => {
    const nameBytes = Buffer.from(`${name}\0`);
    const header =
      '070701' + [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join('');
    put(Buffer.from(header, 'ascii'));
    put(nameBytes);
    put(zeros.subarray(0, pad4(110 + nameBytes.length)));
    if (data.length) put(data);
    put(zeros.subarray(0, pad4(data.length)));
  };
  try {
    for (const e of entries) {
      const name = e.path.replace(/^\/+/, '');
      if (e.kind === 'dir') record(name, S_IFDIR | (e.mode ?? 0o755), new Uint8Array());
      else if (e.kind === 'symlink') record(name, S_IFLNK | 0o777, Buffer.from(e.target));
      else record(name, S_IFREG | (e.mode ?? 0o644), typeof e.data === 'string' ? readFileSync(e.data) : e.data);
    }
    record('TRAILER!!!', 0, new Uint8Array());
  } finally {
    closeSync(fd);
  }
  return written;
}
