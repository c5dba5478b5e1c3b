import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ, the unit of /proc/PID/stat's start time on Linux

/** Seconds since the epoch at which the system booted (/proc/stat's btime). */
function bootTime(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
}

/**
 * Whether the process that made something at `madeAt` (seconds since the epoch) still runs.
 * A zombie has finished (it only waits for its parent to read its status), and a process that
 * started after the thing was made has only inherited the dead owner's pid.
 */
export function ownerAlive(pid: number, madeAt: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no such process
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  const started = bootTime() + Number(fields[19]) / CLOCK_TICKS;
  return started <= madeAt + 1; // a second's slack for the clocks' rounding
}
