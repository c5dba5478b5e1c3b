// Where a batch's frames lie, for the native batch run (run_many.c takes a start and a length
// per frame). Reading a typed array's buffer and byte offset is a call into V8 each (about 30 and
// 18 ns on Node 20, against 2 for its length): for a batch of frames decoded from one capture,
// they cost more than the rest of the batch's JavaScript. An array of frames is what a suite runs
// again and again, so the second time the same array comes, its places are kept: a frame's
// buffer, offset and length never change, so the same frame objects in the same array (checked
// one by one, by identity and length) lie where they lay.

/** Where each of n frames lies: `places[i]` its start in `input`, `places[n + i]` its length. */
export interface FramePlaces {
  /**
   * The frame lying first in the buffer they all share, the others' starts relative to it;
   * undefined when they do not share one, and `places[i]` is where frame i goes when they are
   * copied end to end.
   */
  readonly input: Uint8Array | undefined;
  readonly places: Uint32Array;
  readonly shortest: number;
  readonly longest: number;
  readonly total: number;
  /** Sharing one buffer: how far from the first frame's start the last frame ends (else `total`). */
  readonly span: number;
}

interface Kept extends FramePlaces {
  readonly frames: readonly Uint8Array[];
  /** The frames' bytes as they were when first asked for, laid as `places` says (see keptBytes). */
  bytes?: Buffer;
  /** Where each frame lies in memory, for frames not of one buffer (see keptAddresses). */
  addresses?: BigUint64Array;
}

const KEEP_FROM = 16;
const kept = new WeakMap<readonly Uint8Array[], Kept>();
const seen = new WeakSet<readonly Uint8Array[]>();

let scratch = new Uint32Array(128);

/**
 * The places of `frames`: kept ones when this array came before with the same frames, else
 * found now, in room of their own when they are to be kept, else in room shared by every call
 * (valid until the next one: a batch hands them to the kernel, a FrameBlock copies them).
 */
export function placesOf(frames: readonly Uint8Array[]): FramePlaces {
  const n = frames.length;
  const known = kept.get(frames);
  if (known && sameFrames(known, frames)) return known;
  // Kept from the second time on, and only for batches long enough to pay for the keeping (a
  // WeakSet entry costs about what the getters of 8 frames do): an array made for one call
  // would pay for it alone.
  const keep = n >= KEEP_FROM && (known !== undefined || seen.has(frames));
  if (!keep && n >= KEEP_FROM) seen.add(frames);
  if (!keep && scratch.length < 2 * n) scratch = new Uint32Array(2 * n);
  const places = keep ? new Uint32Array(2 * n) : scratch;
  const buffer = frames[0]?.buffer;
  let shared = buffer instanceof ArrayBuffer;
  let shortest = Infinity;
  let longest = 0;
  let total = 0;
  let first = 0;
  let from = Infinity;
  for (let i = 0; i < n; i++) {
    const f = frames[i]!;
    const len = f.length;
    const at = f.byteOffset;
    places[i] = at;
    places[n + i] = len;
    if (f.buffer !== buffer) shared = false;
    if (at < from) {
      from = at;
      first = i;
    }
    if (len < shortest) shortest = len;
    if (len > longest) longest = len;
    total += len;
  }
  let span = shared ? 0 : total;
  if (shared)
    for (let i = 0; i < n; i++) {
      places[i] = places[i]! - from;
      span = Math.max(span, places[i]! + places[n + i]!);
    }
  else
    for (let i = 0, p = 0; i < n; i++) {
      places[i] = p;
      p += places[n + i]!;
    }
  const input = shared ? frames[first] : undefined;
  if (!keep) return { input, places, shortest, longest, total, span };
  const k: Kept = { input, places, shortest, longest, total, span, frames: frames.slice() };
  kept.set(frames, k);
  return k;
}

function sameFrames(k: Kept, frames: readonly Uint8Array[]): boolean {
  const n = frames.length;
  if (k.frames.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const f = frames[i];
    if (f !== k.frames[i] || f!.length !== k.places[n + i]) return false;
  }
  return true;
}

/**
 * A copy of the frames of an array that came before, laid as its places say, made the first
 * time it is asked for; undefined for an array not kept. A batch keeps an output that is the
 * same as its frame's bytes here as a view of this copy, not again (see run_many.c): memory of
 * its own, which the caller's frames changing later does not change.
 */
export function keptBytes(p: FramePlaces): Buffer | undefined {
  if (!('frames' in p)) return undefined;
  const k = p as Kept;
  if (k.bytes) return k.bytes;
  const n = k.frames.length;
  const bytes = Buffer.allocUnsafe(k.span);
  if (k.input) bytes.set(new Uint8Array(k.input.buffer, k.input.byteOffset, k.span));
  else for (let i = 0; i < n; i++) bytes.set(k.frames[i]!, k.places[i]);
  return (k.bytes = bytes);
}

/**
 * Where each frame of an array that came before lies in memory, found the first time it is
 * asked for; undefined for an array not kept, or one whose frames share a buffer (they run from
 * `input`). The same frame objects hold the same memory: a typed array's bytes move only while
 * they are in V8's heap, and reading its `buffer` (placesOf reads each) moves them out for
 * good; a buffer detached or shrunk since changes its frame's length, and the array's places
 * are found again.
 */
export function keptAddresses(
  p: FramePlaces,
  addressOf: (bytes: Uint8Array) => bigint | number,
): BigUint64Array | undefined {
  if (!('frames' in p) || p.input) return undefined;
  const k = p as Kept;
  if (k.addresses) return k.addresses;
  const at = new BigUint64Array(k.frames.length);
  k.frames.forEach((f, i) => {
    void f.buffer;
    at[i] = BigInt(addressOf(f));
  });
  return (k.addresses = at);
}
