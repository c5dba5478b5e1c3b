import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { XdpspecError } from '../sys/errors.js';

/**
 * Polls `done` (a check of counters) until it is true, yielding to the event loop between
 * polls. The deadline is not synchronisation: it only bounds how long to wait for something
 * that should have happened, and passing it is reported as an error that says what.
 */
export async function until(done: () => boolean, what: string, deadlineMs = 2000): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!done()) {
    if (performance.now() > end) throw new XdpspecError('TIMEOUT', `${what} did not happen within ${deadlineMs} ms`);
    await yieldToLoop();
  }
}
