// What a call threw, for specs that check an error's code and whole message rather than a pattern.
import type { XdpspecError } from '../../src/index.js';

/** The error `fn` throws; fails the spec when it returns instead. */
export function thrown(fn: () => unknown): XdpspecError {
  try {
    fn();
  } catch (e) {
    return e as XdpspecError;
  }
  throw new Error('expected it to throw, but it returned');
}
