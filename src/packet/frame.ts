import type { Layer, LayerName, LayerOf } from './layers.js';
import { parseFieldPath } from './fields.js';

/** Where parsing stopped short: "udp header truncated at offset 34: need 8 bytes, have 1". */
export interface Truncation {
  /** The layer that was cut short. */
  readonly layer: string;
  /** Offset of that layer in the frame. */
  readonly offset: number;
  /** Bytes it needed (its header, or for IP the declared total length), and bytes present. */
  readonly need: number;
  readonly have: number;
}

export function truncationText(t: Truncation): string {
  return `${t.layer} truncated at offset ${t.offset}: need ${t.need} bytes, have ${t.have}`;
}

/**
 * A decoded frame: its bytes and its layers, outermost first. Parsing never throws: bytes
 * that announce a header but are too short for it end up in a `raw` layer, and `truncated`
 * says where and by how much.
 */
// One brand for every copy of this module in a process (a spec importing xdpspec's sources
// beside the built package `xdpspec run` loads): `instanceof` tells only one copy's frames.
const FRAME = Symbol.for('xdpspec.frame');

/** Whether `x` is a parsed frame, made by any copy of xdpspec in the process. */
export function isFrame(x: unknown): x is Frame {
  return typeof x === 'object' && x !== null && (x as { [FRAME]?: true })[FRAME] === true;
}

export class Frame {
  declare readonly [FRAME]: true;
  constructor(
    readonly bytes: Buffer,
    readonly layers: readonly Layer[],
    /** Byte offset of each layer, parallel to `layers`. */
    readonly offsets: readonly number[],
    readonly truncated: Truncation | undefined,
  ) {}

  get length(): number {
    return this.bytes.length;
  }

  /** True when the frame has a layer of this name (`frame.has('ipv6')`). */
  has(name: LayerName): boolean {
    return this.layers.some((l) => l.name === name);
  }

  /** The `nth` layer of this name (0 is the outermost), or undefined. */
  layer<N extends LayerName>(name: N, nth = 0): LayerOf<N> | undefined {
    let seen = 0;
    for (const l of this.layers) {
      if (l.name === name && seen++ === nth) return l as LayerOf<N>;
    }
    return undefined;
  }

  /**
   * The value at a field path: `ipv4.ttl`, `tcp.flags`, `vlan[1].vid` (the second tag).
   * Undefined when the layer or field is absent.
   */
  get(path: string): unknown {
    const p = parseFieldPath(path);
    if (!p) return undefined;
    const l = this.layer(p.layer as LayerName, p.nth);
    return l ? (l as unknown as Record<string, unknown>)[p.field] : undefined;
  }
}

Object.defineProperty(Frame.prototype, FRAME, { value: true });
