import { XdpspecError } from '../sys/errors.js';
import type { Built } from '../packet/index.js';
import { readFileSync } from 'node:fs';
import { regularFile } from '../sys/files.js';
import { parseCapture, readCapture } from '../pcap/index.js';

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

/** One frame's bytes, from bytes or a builder. */
export function frameBytes(x: Uint8Array | Built): Buffer {
  return isBuilt(x) ? x.build() : Buffer.from(x);
}

/** Turns any frame source into an array of frame bytes (a capture file is read whole). */
export async function collectFrames(src: FrameSource): Promise<Buffer[]> {
  if (typeof src === 'string') return (await readCapture(src)).records.map((r) => r.data);
  return collectFramesNow(src);
}

/**
 * `collectFrames` without awaiting, for callers that must stay synchronous (a Chai assertion):
 * a capture file is read and decoded in one go.
 */
export function collectFramesNow(src: FrameSource): Buffer[] {
  if (typeof src === 'string') {
    regularFile(src, 'capture', (err) => {
      throw new XdpspecError('FILE_OPEN', `cannot open capture ${src}: no such file`, { cause: err });
    });
    return parseCapture(readFileSync(src), src).records.map((r) => Buffer.from(r.data));
  }
  if (src instanceof Uint8Array) return [Buffer.from(src)];
  if (isBuilt(src)) return [src.build()];
  if (Array.isArray(src)) return src.map((x: Uint8Array | Built) => frameBytes(x));
  throw new XdpspecError(
    'FRAME_SOURCE',
    `expected frames (a Buffer, a frame builder, an array of them, or a capture file path), got ${typeof src}`,
  );
}
