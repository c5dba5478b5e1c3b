// What a call threw (or a promise rejected with), for specs that check an error's code and whole message rather than a pattern.
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

/** The error `promise` rejects with; fails the spec when it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<XdpspecError> {
  return promise.then(
    () => {
      throw new Error('expected it to reject, but it resolved');
    },
    (e: unknown) => e as XdpspecError,
  );
}
