// Encoding and decoding map keys, values and globals by their BTF type. Over 350 lines because
// one recursive walk covers every BTF kind (ints, enums, arrays, structs, unions, addresses);
// split by kind, each part would need the walk's state.
import { valueText } from '../sys/text.js';
import ipaddr from 'ipaddr.js';
import { XdpspecError } from '../sys/errors.js';
import { type Btf, Kind, type Member } from './btf.js';

/** Map value or key that does not fit its type; the message shows the expected layout. */
export class ValueShapeError extends XdpspecError {
  constructor(what: string, detail: string, layout: string) {
    super('BPF_VALUE', `${what}: ${detail}; expected ${layout}`);
  }
}

// Fields whose name says they hold an address decode to address text and accept it.
const ADDR_NAME = /(addr|^ip\d?$|^ip_|_ip$|^(src|dst|vip)(_?v?[46])?$|^gw$|nexthop)/i;
const MAC_NAME = /(mac|ether|hwaddr|lladdr)/i;

const isAddrName = (n: string) => ADDR_NAME.test(n);

/**
 * Encodes and decodes one BTF type (a map's key or value, a global). Without BTF it works
 * on raw Buffers, plus plain numbers for 4- and 8-byte values.
 *
 * Shapes: integers are numbers (64-bit ones bigint when beyond 2^53), `__be16`/`__be32`
 * fields are converted to and from network byte order, structs are objects, arrays are
 * arrays, `char[]` is a string, and address fields (by name: `saddr`, `dst_ip`, `addr`...,
 * as `__be32`, `__u8[4]` or `__u8[16]`) are address strings, enums are their enumerators' names (a number the enum does not name
 * stays a number; writing takes either). Missing struct members are 0.
 */
export class Codec {
  constructor(
    readonly btf: Btf | undefined,
    readonly typeId: number,
    readonly size: number,
    readonly what: string,
    /** Bytes only, even for 4- and 8-byte values (global sections). */
    readonly raw = false,
    /** The name the top-level value goes by (a global's name), for the address-name rule. */
    readonly rootName = '',
  ) {}

  /**
   * Fields (by member name, anywhere in the type) that hold numbers in network byte order
   * though the program declares them `__u16`/`__u32`: they are converted as `__be16`/`__be32` are.
   */
  readonly network = new Set<string>();

  get layout(): string {
    return this.btf && this.typeId ? this.btf.describe(this.typeId) : `${this.size} raw bytes`;
  }

  private fail(detail: string): never {
    throw new ValueShapeError(this.what, detail, this.layout);
  }

  /** `encode(v)` written into `target` at `offset`; raw bytes are copied once, with no buffer of their own. */
  encodeInto(v: unknown, target: Buffer, offset: number): void {
    if (v instanceof Uint8Array) {
      if (v.length !== this.size) this.fail(`got ${v.length} bytes`);
      target.set(v, offset);
    } else this.encode(v).copy(target, offset);
  }

  encode(v: unknown): Buffer {
    if (v instanceof Uint8Array) {
      if (v.length !== this.size) this.fail(`got ${v.length} bytes`);
      return Buffer.from(v);
    }
    const out = Buffer.alloc(this.size);
    if (this.btf && this.typeId) {
      this.put(out, 0, this.typeId, v, '', this.rootName);
      return out;
    }
    if ((typeof v === 'number' || typeof v === 'bigint') && (this.size === 4 || this.size === 8)) {
      if (this.size === 4) {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) this.fail(`${String(v)} does not fit in 32 bits`);
        out.writeUInt32LE(n);
      } else {
        if ((typeof v === 'number' && !Number.isSafeInteger(v)) || BigInt(v) < 0n || BigInt(v) >= 1n << 64n)
          this.fail(`${String(v)} does not fit in 64 bits (whole numbers from 0 to 2^64-1)`);
        out.writeBigUInt64LE(BigInt(v));
      }
      return out;
    }
    this.fail(
      `got ${typeof v}; this map has no BTF for it, so give a Buffer of ${this.size} bytes${this.size === 4 || this.size === 8 ? ' or a number' : ''}`,
    );
  }

  decode(b: Buffer): unknown {
    if (this.btf && this.typeId) return this.get(b, 0, this.typeId, this.rootName);
    if (this.raw) return Buffer.from(b);
    if (this.size === 4) return b.readUInt32LE(0);
    if (this.size === 8) return toNumber(b.readBigUInt64LE(0));
    return Buffer.from(b);
  }

  private put(out: Buffer, off: number, id: number, v: unknown, path: string, name: string): void {
    const btf = this.btf!;
    const t = btf.resolve(id);
    const at = path ? `${path}: ` : '';
    const tn = btf.typeName(id).replace(/^((const|volatile) )+/, '');
    switch (t.kind) {
      case Kind.Int:
      case Kind.Enum:
      case Kind.Enum64: {
        if (t.intBool && typeof v === 'boolean') v = v ? 1 : 0;
        if (typeof v === 'string' && t.enumerators) {
          const e = t.enumerators.find((x) => x.name === v);
          if (!e)
            this.fail(
              `${at}${JSON.stringify(v)} is not a value of ${tn}; it has ${t.enumerators.map((x) => x.name).join(', ')}`,
            );
          v = e.value;
        }
        const be = btf.isBigEndian(id) || this.network.has(name);
        if (typeof v === 'string' && be && t.size === 4) {
          if (!ipaddr.IPv4.isValidFourPartDecimal(v)) this.fail(`${at}${JSON.stringify(v)} is not an IPv4 address`);
          Buffer.from(ipaddr.IPv4.parse(v).toByteArray()).copy(out, off);
          return;
        }
        if (typeof v !== 'number' && typeof v !== 'bigint')
          this.fail(`${at}expected a number for ${tn}, got ${describe(v)}`);
        if (typeof v === 'number' && !Number.isInteger(v))
          this.fail(`${at}${String(v)} is not a whole number; ${tn} takes ${intRange(t.size, !!t.intSigned)}`);
        writeInt(out, off, t.size, !!t.intSigned, be, v, () =>
          this.fail(`${at}${String(v)} does not fit in ${tn}, which takes ${intRange(t.size, !!t.intSigned)}`),
        );
        return;
      }
      case Kind.Ptr:
        if (typeof v !== 'number' && typeof v !== 'bigint') this.fail(`${at}expected a number for a pointer`);
        if ((typeof v === 'number' && !Number.isSafeInteger(v)) || BigInt(v) < 0n || BigInt(v) >= 1n << 64n)
          this.fail(`${at}${String(v)} is not an address (a whole number from 0 to 2^64-1)`);
        out.writeBigUInt64LE(BigInt(v), off);
        return;
      case Kind.Float:
        if (typeof v !== 'number') this.fail(`${at}expected a number`);
        if (t.size === 4) out.writeFloatLE(v, off);
        else out.writeDoubleLE(v, off);
        return;
      case Kind.Array: {
        const elem = btf.resolve(t.elemType!);
        const n = t.nelems!;
        const bytes = elem.kind === Kind.Int && elem.size === 1;
        if (typeof v === 'string' && bytes) {
          const b = stringBytes(v, n, name, isChar(elem));
          if (!b && n === 6 && !isChar(elem))
            this.fail(
              `${at}${JSON.stringify(v)} is not a MAC address; write it as six hex bytes with colons, e.g. 02:00:00:00:00:01`,
            );
          if (!b) this.fail(`${at}${JSON.stringify(v)} does not fit in ${tn}`);
          b.copy(out, off);
          return;
        }
        // An IPv6 address kept as __u32[4] or __be32[4] (Katran's, Cilium's): the bytes in wire order.
        if (typeof v === 'string' && isAddr32x4(elem, n, name)) {
          if (!ipaddr.IPv6.isValid(v))
            this.fail(`${at}${JSON.stringify(v)} is not an IPv6 address (${tn} named ${name} holds one)`);
          Buffer.from(ipaddr.IPv6.parse(v).toByteArray()).copy(out, off);
          return;
        }
        if (v instanceof Uint8Array && bytes) {
          if (v.length !== n) this.fail(`${at}got ${v.length} bytes for ${tn}`);
          out.set(v, off);
          return;
        }
        if (!Array.isArray(v) || v.length !== n)
          this.fail(`${at}expected an array of ${n} for ${tn}, got ${describe(v)}`);
        const es = btf.sizeOf(t.elemType!);
        v.forEach((x, i) => this.put(out, off + i * es, t.elemType!, x, `${path || ''}[${i}]`, name));
        return;
      }
      case Kind.Struct:
      case Kind.Union: {
        const members = flatMembers(btf, t.members!);
        if (typeof v === 'string' && t.kind === Kind.Struct && this.putCidr(out, off, members, v)) return;
        if (v === null || typeof v !== 'object' || Array.isArray(v))
          this.fail(`${at}expected an object for ${tn}, got ${describe(v)}`);
        const known = new Set(members.map((m) => m.name));
        for (const k of Object.keys(v)) {
          if (!known.has(k))
            this.fail(`${at}${tn} has no member ${JSON.stringify(k)} (members: ${[...known].join(', ')})`);
        }
        for (const m of members) {
          const x = (v as Record<string, unknown>)[m.name];
          if (x === undefined) continue;
          const p = path ? `${path}.${m.name}` : m.name;
          if (m.bitSize) {
            if (typeof x !== 'number') this.fail(`${p}: expected a number for a bitfield`);
            if (!Number.isInteger(x) || x < 0 || x >= 2 ** m.bitSize)
              this.fail(
                `${p}: ${String(x)} does not fit in a ${m.bitSize}-bit field, which takes whole numbers from 0 to ${2 ** m.bitSize - 1}`,
              );
            writeBits(out, off, m.bitOffset, m.bitSize, x);
          } else this.put(out, off + m.bitOffset / 8, m.type, x, p, m.name);
        }
        return;
      }
      default:
        this.fail(`${at}cannot encode ${tn}`);
    }
  }

  /** `'10.0.0.0/24'` for an LPM-trie key of the form `{ prefixlen, <address> }`. */
  private putCidr(
    out: Buffer,
    off: number,
    members: readonly { name: string; type: number; bitOffset: number }[],
    v: string,
  ): boolean {
    const m = /^(.+)\/(\d+)$/.exec(v);
    if (!m || members.length !== 2 || !ipaddr.isValid(m[1]!)) return false;
    const [plen, addr] = members;
    const bytes = Buffer.from(ipaddr.parse(m[1]!).toByteArray());
    if (this.btf!.sizeOf(addr!.type) !== bytes.length || this.btf!.sizeOf(plen!.type) !== 4) return false;
    out.writeUInt32LE(Number(m[2]), off + plen!.bitOffset / 8);
    bytes.copy(out, off + addr!.bitOffset / 8);
    return true;
  }

  private get(b: Buffer, off: number, id: number, name: string): unknown {
    const btf = this.btf!;
    const t = btf.resolve(id);
    switch (t.kind) {
      case Kind.Int:
      case Kind.Enum:
      case Kind.Enum64: {
        const be = btf.isBigEndian(id) || this.network.has(name);
        if (be && t.size === 4 && isAddrName(name)) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
        const v = readInt(b, off, t.size, !!t.intSigned, be);
        // An enum reads as its enumerator's name; a value it does not name stays a number.
        const e = t.enumerators?.find((x) => x.value === Number(v));
        if (e) return e.name;
        return t.intBool ? v !== 0 : v;
      }
      case Kind.Ptr:
        return toNumber(b.readBigUInt64LE(off));
      case Kind.Float:
        return t.size === 4 ? b.readFloatLE(off) : b.readDoubleLE(off);
      case Kind.Array: {
        const elem = btf.resolve(t.elemType!);
        const n = t.nelems!;
        if (elem.kind === Kind.Int && elem.size === 1) {
          const raw = b.subarray(off, off + n);
          if (isAddrName(name) && (n === 4 || n === 16)) return ipaddr.fromByteArray([...raw]).toString();
          if (MAC_NAME.test(name) && n === 6) return [...raw].map((x) => x.toString(16).padStart(2, '0')).join(':');
          if (isChar(elem)) {
            const z = raw.indexOf(0);
            return raw.toString('utf8', 0, z < 0 ? n : z);
          }
        }
        if (isAddr32x4(elem, n, name)) return ipaddr.fromByteArray([...b.subarray(off, off + 16)]).toString();
        const es = btf.sizeOf(t.elemType!);
        return Array.from({ length: n }, (_, i) => this.get(b, off + i * es, t.elemType!, name));
      }
      case Kind.Struct:
      case Kind.Union: {
        const o: Record<string, unknown> = {};
        for (const m of flatMembers(btf, t.members!)) {
          o[m.name] = m.bitSize
            ? readBits(b, off, m.bitOffset, m.bitSize)
            : this.get(b, off + m.bitOffset / 8, m.type, m.name);
        }
        return o;
      }
      default:
        return Buffer.from(b.subarray(off, off + btf.sizeOf(id)));
    }
  }
}

/** Four 32-bit words under an address name: an IPv6 address. */
function isAddr32x4(elem: { kind: Kind; size: number }, n: number, name: string): boolean {
  return elem.kind === Kind.Int && elem.size === 4 && n === 4 && isAddrName(name);
}

/**
 * Members as C lets you name them: those of an anonymous struct or union member stand beside
 * the others (`key.src` for `union { __be32 src; __be32 srcv6[4]; }` inside the key), at their
 * offset in the whole.
 */
function flatMembers(btf: Btf, members: readonly Member[]): Member[] {
  return members.flatMap((m) => {
    if (m.name !== '' || m.bitSize) return [m];
    const t = btf.resolve(m.type);
    if ((t.kind !== Kind.Struct && t.kind !== Kind.Union) || !t.members) return [m];
    return flatMembers(btf, t.members).map((x) => ({ ...x, bitOffset: x.bitOffset + m.bitOffset }));
  });
}

/** clang marks `char` only as a signed 1-byte int, so its name is what tells it from `__s8`. */
function isChar(t: { name: string; intChar?: boolean | undefined }): boolean {
  return !!t.intChar || t.name === 'char';
}

function stringBytes(v: string, n: number, name: string, isChar: boolean): Buffer | undefined {
  if (!isChar && (n === 4 || n === 16) && ipaddr.isValid(v)) {
    const a = ipaddr.parse(v);
    const bytes = Buffer.from(a.toByteArray());
    return bytes.length === n ? bytes : undefined;
  }
  if (!isChar && n === 6 && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) return Buffer.from(v.replace(/:/g, ''), 'hex');
  // Six bytes that are not chars hold a MAC address (h_dest, smac, ...): text is not one.
  if (!isChar && n === 6) return undefined;
  if (isChar || !/^[0-9a-f:.]+$/i.test(v) || MAC_NAME.test(name)) {
    const b = Buffer.alloc(n);
    const s = Buffer.from(v, 'utf8');
    if (s.length > n) return undefined;
    s.copy(b);
    return b;
  }
  return undefined;
}

function toNumber(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

function readInt(b: Buffer, off: number, size: number, signed: boolean, be: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? b.readInt8(off) : b[off]!;
    case 2:
      return be
        ? signed
          ? b.readInt16BE(off)
          : b.readUInt16BE(off)
        : signed
          ? b.readInt16LE(off)
          : b.readUInt16LE(off);
    case 4:
      return be
        ? signed
          ? b.readInt32BE(off)
          : b.readUInt32BE(off)
        : signed
          ? b.readInt32LE(off)
          : b.readUInt32LE(off);
    default:
      return toNumber(
        be
          ? signed
            ? b.readBigInt64BE(off)
            : b.readBigUInt64BE(off)
          : signed
            ? b.readBigInt64LE(off)
            : b.readBigUInt64LE(off),
      );
  }
}

/** The values an integer type holds, for messages: "whole numbers from 0 to 255". */
function intRange(size: number, signed: boolean): string {
  const bits = BigInt(size * 8);
  return signed
    ? `whole numbers from ${-(1n << (bits - 1n))} to ${(1n << (bits - 1n)) - 1n}`
    : `whole numbers from 0 to ${(1n << bits) - 1n}`;
}

function writeInt(
  b: Buffer,
  off: number,
  size: number,
  signed: boolean,
  be: boolean,
  v: number | bigint,
  fail: () => never,
): void {
  if (typeof v === 'number' && !Number.isInteger(v)) fail();
  const big = BigInt(v);
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if ((typeof v === 'number' && !Number.isInteger(v)) || big < min || big > max) fail();
  const u = big < 0n ? (1n << bits) + big : big;
  for (let i = 0; i < size; i++) {
    const byte = Number((u >> BigInt(8 * i)) & 0xffn);
    b[off + (be ? size - 1 - i : i)] = byte;
  }
}

function readBits(b: Buffer, off: number, bitOff: number, bits: number): number {
  let v = 0;
  for (let i = 0; i < bits; i++) {
    const bit = bitOff + i;
    if ((b[off + (bit >> 3)]! >> (bit & 7)) & 1) v += 2 ** i;
  }
  return v;
}

function writeBits(b: Buffer, off: number, bitOff: number, bits: number, v: number): void {
  for (let i = 0; i < bits; i++) {
    const bit = bitOff + i;
    const idx = off + (bit >> 3);
    if (Math.floor(v / 2 ** i) % 2) b[idx] = b[idx]! | (1 << (bit & 7));
    else b[idx] = b[idx]! & ~(1 << (bit & 7));
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  return typeof x === 'string' ? JSON.stringify(x) : typeof x === 'object' ? 'an object' : valueText(x);
}
