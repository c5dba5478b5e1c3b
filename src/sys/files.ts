import { statSync, type Stats } from 'node:fs';
import { XdpspecError } from './errors.js';

const KINDS: [(s: Stats) => boolean, string][] = [
  [(s) => s.isDirectory(), 'a directory'],
  [(s) => s.isFIFO(), 'a FIFO (named pipe)'],
  [(s) => s.isSocket(), 'a socket'],
  [(s) => s.isCharacterDevice(), 'a character device'],
  [(s) => s.isBlockDevice(), 'a block device'],
];

/**
 * Checks that `path` names a regular file before anything opens it: a directory would fail
 * late with EISDIR, and a FIFO or device would block the open or the first read forever.
 * Returns its size. `missing` reports a path that does not exist, in the caller's words.
 * @throws what `missing` throws; XdpspecError `FILE_NOT_REGULAR`, `FILE_ACCESS`.
 */
export function regularFile(path: string, what: string, missing: (err: Error) => never): number {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') missing(err as Error);
    throw new XdpspecError(
      'FILE_ACCESS',
      `cannot read ${what} ${path}: ${(err as Error).message}; check its permissions`,
      { cause: err },
    );
  }
  for (const [is, kind] of KINDS) {
    if (is(st))
      throw new XdpspecError(
        'FILE_NOT_REGULAR',
        `${what} ${path} is ${kind}, not a file; name a regular file${kind === 'a directory' ? ' inside it' : ''}`,
      );
  }
  return st.size;
}
