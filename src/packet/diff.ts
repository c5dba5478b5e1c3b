import { fieldEntries, layerPrefixes, sameValue, type FieldEntry } from './fields.js';
import { isFrame, type Frame } from './frame.js';
import { parseFrame } from './parse.js';

/** One field that differs between two frames; `undefined` means the layer is absent on that side. */
export interface FieldChange {
  readonly path: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

const asFrame = (x: Frame | Uint8Array): Frame => (isFrame(x) ? x : parseFrame(x));

/**
 * Field-level differences from `a` to `b`, in frame order. A layer present on one side only
 * is one change (`path` is the layer, e.g. `vlan`); long byte fields say where they first
 * differ rather than printing both.
 */
export function diffFrames(a: Frame | Uint8Array, b: Frame | Uint8Array): FieldChange[] {
  const fa = asFrame(a);
  const fb = asFrame(b);
  const pa = layerPrefixes(fa.layers);
  const pb = layerPrefixes(fb.layers);
  const va = fieldEntries(fa);
  const vb = fieldEntries(fb);
  const out: FieldChange[] = [];
  const onlyA = pa.filter((p) => !pb.includes(p));
  const onlyB = pb.filter((p) => !pa.includes(p));
  const layerOf = (path: string) => path.slice(0, path.indexOf('.'));
  for (const [path, x] of va) {
    const l = layerOf(path);
    if (onlyA.includes(l)) continue;
    const y = vb.get(path);
    if (y === undefined) out.push({ path, from: x.text, to: undefined });
    else if (!sameValue(x, y)) out.push({ path, from: x.text, to: describeChange(x, y) });
  }
  for (const [path, y] of vb) {
    if (!va.has(path) && !onlyB.includes(layerOf(path))) out.push({ path, from: undefined, to: y.text });
  }
  for (const l of onlyA) out.push({ path: l, from: 'present', to: undefined });
  for (const l of onlyB) out.push({ path: l, from: undefined, to: 'present' });
  return out;
}

function describeChange(a: FieldEntry, b: FieldEntry): string {
  const x = a.value;
  const y = b.value;
  if (Buffer.isBuffer(x) && Buffer.isBuffer(y) && (x.length > 32 || y.length > 32)) {
    let i = 0;
    while (i < x.length && i < y.length && x[i] === y[i]) i++;
    return `${b.text} (first difference at byte ${i})`;
  }
  return b.text;
}

/** One line per change: `ipv4.ttl: 64 -> 63`. */
export function formatChanges(changes: readonly FieldChange[]): string {
  return changes.map((c) => `${c.path}: ${c.from ?? '(absent)'} -> ${c.to ?? '(absent)'}`).join('\n');
}
