import { XdpspecError } from '../sys/errors.js';
import type { Built } from '../packet/index.js';
import { readFileSync } from 'node:fs';
import { regularFile } from '../sys/files.js';
import { parseCapture, readCapture } from '../pcap/index.js';
import { placesOf } from '../bpf/frame-places.js';

/**
 * Blocks come out of slabs of our own: a fresh ArrayBuffer costs a microsecond or two here
 * (Buffer's own pool of 8 KiB runs out every few runs), more than a short run's JavaScript. A
 * slab lives while any block of it is viewed (a run's results keep their block).
 */
const SLAB = 1 << 18;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/** Room for a block of `size` bytes whose first 8n hold the places of n frames (aligned to 8). */
function blockRoom(size: number, n: number): { bytes: Buffer; places: Uint32Array } {
  if (size > SLAB / 4) {
    const bytes = Buffer.allocUnsafeSlow(size);
    return { bytes, places: new Uint32Array(bytes.buffer, bytes.byteOffset, 2 * n) };
  }
  if (slab.byteLength - slabUsed < size) {
    slab = new ArrayBuffer(SLAB);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += (size + 7) & ~7;
  return { bytes: Buffer.from(slab, at, size), places: new Uint32Array(slab, at, 2 * n) };
}

/** Frames as a spec gives them: bytes, a builder, an array of either, or a capture file's path. */
export type FrameSource = Uint8Array | Built | readonly (Uint8Array | Built)[] | string;

function isBuilt(x: unknown): x is Built {
  return typeof x === 'object' && x !== null && typeof (x as Built).build === 'function';
}

/** One frame sent in on a named port: a step of a conversation across ports. */
export interface Step {
  readonly on: string;
  readonly frame: Uint8Array | Built;
}

/** One frame's bytes, from bytes or a builder: a copy of its own. */
export function frameBytes(x: Uint8Array | Built): Buffer {
  return isBuilt(x) ? x.build() : Buffer.from(x);
}

/** One frame's bytes, from bytes (themselves, for a FrameBlock to copy) or a builder. */
export function frameData(x: Uint8Array | Built): Uint8Array {
  return isBuilt(x) ? x.build() : x;
}

/**
 * Frames laid end to end in one buffer: what a run takes of a spec's frames. Frames in hand are
 * copied (so that a frame the spec changes afterwards is still decoded as it was sent), all into
 * one allocation that also holds where each lies, rather than a Buffer per frame: at the sizes
 * specs send, the allocations cost more than the bytes. The unit engine hands the kernel the
 * whole block at once; a frame's own Buffer is made when something asks for it.
 */
export class FrameBlock {
  #views: (Buffer | undefined)[] | undefined;
  /** A copy, or a capture's frames only xdpspec holds (see over): the unit engine's outputs may view them. */
  readonly ownBytes = true;

  /** Where frame i starts in `bytes` is `places[i]`, how long it is `places[length + i]`. */
  private constructor(
    readonly bytes: Buffer,
    readonly places: Uint32Array,
    readonly length: number,
  ) {}

  /**
   * A copy of `frames`: their places (two u32 each) first, then their bytes, in one buffer.
   * Frames of one buffer that lie close together (a capture's, between record headers) are
   * copied in one go, what lies between them with them.
   */
  static copyOf(frames: readonly Uint8Array[]): FrameBlock {
    return FrameBlock.lay(frames, true);
  }

  /**
   * Frames no one else holds (a capture file's, just decoded), where they lie when they share
   * one buffer; a copy otherwise.
   */
  static over(frames: readonly Uint8Array[]): FrameBlock {
    return FrameBlock.lay(frames, false);
  }

  private static lay(frames: readonly Uint8Array[], copy: boolean): FrameBlock {
    const n = frames.length;
    const laid = placesOf(frames);
    const from = laid.input;
    if (!copy && from)
      return new FrameBlock(Buffer.from(from.buffer, from.byteOffset, laid.span), laid.places.slice(0, 2 * n), n);
    const inOneGo = from !== undefined && laid.span <= 2 * laid.total + 64 * n;
    const head = 8 * n;
    const { bytes, places } = blockRoom(head + (inOneGo ? laid.span : laid.total), n);
    if (inOneGo) bytes.set(new Uint8Array(from.buffer, from.byteOffset, laid.span), head);
    // In one go, each frame stays where it lay relative to the first; otherwise they go end to end.
    for (let i = 0, p = head; i < n; i++) {
      const len = laid.places[n + i]!;
      places[n + i] = len;
      if (inOneGo) places[i] = head + laid.places[i]!;
      else {
        places[i] = p;
        bytes.set(frames[i]!, p);
        p += len;
      }
    }
    return new FrameBlock(bytes, places, n);
  }

  /** Frame `i`'s bytes, a view of the block. */
  frame(i: number): Buffer {
    const views = (this.#views ??= new Array<Buffer | undefined>(this.length));
    return (views[i] ??= this.bytes.subarray(this.places[i], this.places[i]! + this.places[this.length + i]!));
  }

  /** Every frame's bytes, views of the block. */
  frames(): Buffer[] {
    return Array.from({ length: this.length }, (_, i) => this.frame(i));
  }
}

/** Turns any frame source into an array of frame bytes (a capture file is read whole). */
export async function collectFrames(src: FrameSource): Promise<Buffer[]> {
  return (await layFrames(src)).frames();
}

/**
 * `collectFrames` without awaiting, for callers that must stay synchronous (a Chai assertion):
 * a capture file is read and decoded in one go.
 */
export function collectFramesNow(src: FrameSource): Buffer[] {
  return layFramesNow(src).frames();
}

/** Any frame source's frames, laid end to end in one block. */
export async function layFrames(src: FrameSource): Promise<FrameBlock> {
  if (typeof src === 'string') return FrameBlock.over((await readCapture(src)).records.map((r) => r.data));
  return layFramesNow(src);
}

/** `layFrames` without awaiting (a capture file is read and decoded in one go). */
export function layFramesNow(src: FrameSource): FrameBlock {
  if (typeof src === 'string') {
    regularFile(src, 'capture', (err) => {
      throw new XdpspecError('FILE_OPEN', `cannot open capture ${src}: no such file`, { cause: err });
    });
    return FrameBlock.over(parseCapture(readFileSync(src), src).records.map((r) => r.data));
  }
  if (src instanceof Uint8Array) return FrameBlock.copyOf([src]);
  if (isBuilt(src)) return FrameBlock.copyOf([src.build()]);
  if (Array.isArray(src)) {
    // The spec's own array where it holds only bytes: the same array run again is known (see placesOf).
    if (src.every((x) => x instanceof Uint8Array)) return FrameBlock.copyOf(src);
    return FrameBlock.copyOf(
      src.map((x: unknown, i) => {
        if (x instanceof Uint8Array || isBuilt(x)) return frameData(x);
        throw new XdpspecError(
          'FRAME_SOURCE',
          `frame #${i} of the array is ${x === null ? 'null' : typeof x}; expected a Buffer, a Uint8Array or a frame builder`,
        );
      }),
    );
  }
  throw new XdpspecError(
    'FRAME_SOURCE',
    `expected frames (a Buffer, a frame builder, an array of them, or a capture file path), got ${typeof src}`,
  );
}
