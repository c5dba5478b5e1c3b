import { constants } from 'node:os';

/** errno as its name and number, e.g. `ENOENT (2)`; `errno N` for numbers Node has no name for. */
export function errnoName(e: number): string {
  const name = Object.entries(constants.errno).find(([, v]) => v === e)?.[0];
  if (name) return `${name} (${e})`;
  // The kernel's own codes that never reach user space through libc's list.
  if (e === ENOTSUPP) return `ENOTSUPP (${e})`;
  return `errno ${e}`;
}

/** The kernel's internal "operation not supported" (not EOPNOTSUPP), which BPF calls return. */
export const ENOTSUPP = 524;
