import type { Frame } from './frame.js';
import type { NdOption } from './icmpv6.js';
import type { Layer } from './layers.js';
import { formatOption, type TcpOption } from './tcp.js';

/**
 * Field names and their text forms, shared by the dissection, the diff and failure messages.
 * A layer that occurs twice is addressed with an index from the second on: `vlan`, `vlan[1]`.
 */
export function layerPrefixes(layers: readonly Layer[]): string[] {
  const seen = new Map<string, number>();
  return layers.map((l) => {
    const n = seen.get(l.name) ?? 0;
    seen.set(l.name, n + 1);
    return n === 0 ? l.name : `${l.name}[${n}]`;
  });
}

/** A field path's parts: `vlan[1].vid` is layer vlan, the second of them, field vid. */
export function parseFieldPath(path: string): { layer: string; nth: number; field: string } | undefined {
  const m = /^([a-z0-9]+)(?:\[(\d+)\])?\.(\w+)$/.exec(path);
  return m ? { layer: m[1]!, nth: m[2] === undefined ? 0 : Number(m[2]), field: m[3]! } : undefined;
}

/** Fields some frames of a layer have and others lack (the layer types' optional fields). */
export const OPTIONAL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  icmp: ['id', 'seq', 'rest'],
  icmpv6: ['id', 'seq', 'target', 'flags', 'reserved', 'rest', 'options'],
  gre: ['checksum', 'key', 'seq'],
};

const HEX16 = new Set([
  'eth.type',
  'vlan.type',
  'arp.ptype',
  'ipv4.checksum',
  'tcp.checksum',
  'udp.checksum',
  'icmp.checksum',
  'icmpv6.checksum',
  'gre.proto',
  'gre.checksum',
  'geneve.proto',
]);
const HEX8 = new Set(['ipv4.tos', 'ipv6.tc']);

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

/** Bytes shown in full up to this many; longer ones are cut with their length. */
const BYTES_SHOWN = 32;

export function formatBytes(b: Buffer): string {
  if (b.length === 0) return '(none)';
  if (b.length <= BYTES_SHOWN) return b.toString('hex');
  return `${b.subarray(0, BYTES_SHOWN).toString('hex')}... (${b.length} bytes)`;
}

function formatNdOption(o: NdOption): string {
  const name = o.type === 1 ? 'sll' : o.type === 2 ? 'tll' : `opt-${o.type}`;
  return 'lladdr' in o ? `${name} ${o.lladdr}` : `${name} 0x${o.data.toString('hex')}`;
}

/** The text form of one field's value, e.g. `0x0800` for `eth.type`, `64` for `ipv4.ttl`. */
export function formatField(layer: string, field: string, v: unknown): string {
  const key = `${layer}.${field}`;
  if (typeof v === 'number') {
    if (HEX16.has(key)) return hex(v, 4);
    if (HEX8.has(key)) return hex(v, 2);
    if (key === 'ipv6.flow') return hex(v, 5);
    return String(v);
  }
  if (Buffer.isBuffer(v)) return formatBytes(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '(none)';
    if (layer === 'tcp') return (v as TcpOption[]).map(formatOption).join(',');
    if (layer === 'icmpv6') return (v as NdOption[]).map(formatNdOption).join(',');
    return JSON.stringify(v);
  }
  if (typeof v === 'string' && field === 'flags' && v === '') return '(none)';
  return String(v);
}

/** A field's value and its text form. */
export interface FieldEntry {
  readonly value: unknown;
  readonly text: string;
}

/** Every field of every layer as `path -> value and text`, in frame order. */
export function fieldEntries(f: Frame): Map<string, FieldEntry> {
  const out = new Map<string, FieldEntry>();
  const prefixes = layerPrefixes(f.layers);
  f.layers.forEach((l, i) => {
    for (const [k, v] of Object.entries(l)) {
      if (k === 'name' || v === undefined) continue;
      out.set(`${prefixes[i]}.${k}`, { value: v, text: formatField(l.name, k, v) });
    }
  });
  return out;
}

/** Every field of every layer as `path -> text`, in frame order. */
export function flatten(f: Frame): Map<string, string> {
  return new Map([...fieldEntries(f)].map(([p, e]) => [p, e.text]));
}

/**
 * Whether two values of the same field are equal. Bytes compare in full: their text form
 * shows only a prefix of long ones, which would hide a difference further on.
 */
export function sameValue(a: FieldEntry, b: FieldEntry): boolean {
  if (Buffer.isBuffer(a.value) && Buffer.isBuffer(b.value)) return a.value.equals(b.value);
  return a.text === b.text;
}

/** A layer as plain JSON: bytes as hex strings, everything else as is. */
export function layerToJson(l: Layer): Record<string, unknown> {
  return toJson(l) as Record<string, unknown>;
}

function toJson(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toJson(x);
    return o;
  }
  return v;
}
