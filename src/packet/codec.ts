/** What a layer's `emit` and `finish` know about the frame being built around it. */
export interface EmitContext {
  /** Name of the layer that follows, if any (used to fill type and protocol fields). */
  readonly next: string | undefined;
  /** Name of the layer after that (QinQ picks its outer TPID from it). */
  readonly afterNext: string | undefined;
  /** Where this layer's content ends: the frame end, or the start of trailing padding. */
  readonly contentEnd: number;
  /** Offset and version of the innermost IP header before this layer, for pseudo-headers. */
  readonly ip: { readonly off: number; readonly version: 4 | 6 } | undefined;
}

/** Layer specs are the layer's fields, every one optional: unset means computed or defaulted. */
export type Spec<L> = { -readonly [K in keyof Omit<L, 'name'>]?: L[K] | undefined };
