import type { Spec } from './codec.js';

/** Data after the last header xdpspec decodes (application data, or a protocol it does not know). */
export interface Payload {
  readonly name: 'payload';
  readonly data: Buffer;
}

/** Bytes after the end of the IP datagram: Ethernet padding up to the 60-byte minimum, or a trailer. */
export interface Padding {
  readonly name: 'padding';
  readonly data: Buffer;
}

/**
 * Bytes that announce a header (`of`) but are too few for it: a frame cut short. Parsing
 * stops there; `need` and `have` say by how much it fell short.
 */
export interface Raw {
  readonly name: 'raw';
  readonly of: string;
  readonly need: number;
  readonly have: number;
  readonly data: Buffer;
}

export type PayloadSpec = Spec<Payload>;
