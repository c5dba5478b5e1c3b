// BTF, the kernel's type format, parsed from the raw bytes libbpf hands out. xdpspec uses it
// to turn map keys, values and globals into plain JS shapes and back.
import { XdpspecError } from '../sys/errors.js';

export const enum Kind {
  Void = 0,
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
}

export interface Member {
  readonly name: string;
  readonly type: number;
  /** Offset in bits from the start of the struct. */
  readonly bitOffset: number;
  /** Bitfield width in bits, 0 for a whole member. */
  readonly bitSize: number;
}

export interface BtfType {
  readonly id: number;
  readonly kind: Kind;
  readonly name: string;
  /** Size in bytes for ints, structs, unions, enums, datasecs, floats. */
  readonly size: number;
  /** Referenced type for pointers, typedefs, qualifiers, vars, funcs. */
  readonly type: number;
  readonly intSigned?: boolean;
  readonly intBool?: boolean;
  readonly intChar?: boolean;
  readonly intBits?: number;
  readonly elemType?: number;
  readonly nelems?: number;
  readonly members?: readonly Member[];
  /** Datasec variables: type id (of a VAR), offset and size. */
  readonly vars?: readonly { type: number; offset: number; size: number }[];
  /** Enums: each enumerator's name and value. */
  readonly enumerators?: readonly { name: string; value: number }[];
}

const KIND_NAMES = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
];

/** All types of one BTF blob, by id (0 is void). */
export class Btf {
  readonly types: BtfType[] = [{ id: 0, kind: Kind.Void, name: 'void', size: 0, type: 0 }];
  /** A string of the string section by its offset (line info's file names and source lines). */
  readonly string: (offset: number) => string;

  /** Parses raw BTF as `btf__raw_data` returns it (native byte order). */
  constructor(raw: Buffer) {
    if (raw.length < 24 || raw.readUInt16LE(0) !== 0xeb9f)
      throw new XdpspecError('INTERNAL', 'libbpf handed over data that is not BTF (bad magic)');
    const hdrLen = raw.readUInt32LE(4);
    const typeOff = hdrLen + raw.readUInt32LE(8);
    const typeLen = raw.readUInt32LE(12);
    const strOff = hdrLen + raw.readUInt32LE(16);
    const str = (this.string = (o: number) => {
      const s = strOff + o;
      const e = raw.indexOf(0, s);
      return raw.toString('utf8', s, e < 0 ? raw.length : e);
    });
    let p = typeOff;
    const end = typeOff + typeLen;
    while (p < end) {
      const id = this.types.length;
      const name = str(raw.readUInt32LE(p));
      const info = raw.readUInt32LE(p + 4);
      const vlen = info & 0xffff;
      const kind = ((info >>> 24) & 0x1f) as Kind;
      const kflag = info >>> 31 === 1;
      const sizeOrType = raw.readUInt32LE(p + 8);
      p += 12;
      const base = { id, kind, name, size: sizeOrType, type: sizeOrType };
      switch (kind) {
        case Kind.Int: {
          const enc = raw.readUInt32LE(p);
          p += 4;
          this.types.push({
            ...base,
            type: 0,
            intSigned: ((enc >>> 24) & 1) === 1,
            intChar: ((enc >>> 24) & 2) === 2,
            intBool: ((enc >>> 24) & 4) === 4,
            intBits: enc & 0xff,
          });
          break;
        }
        case Kind.Array:
          this.types.push({
            ...base,
            size: 0,
            type: 0,
            elemType: raw.readUInt32LE(p),
            nelems: raw.readUInt32LE(p + 8),
          });
          p += 12;
          break;
        case Kind.Struct:
        case Kind.Union: {
          const members: Member[] = [];
          for (let i = 0; i < vlen; i++, p += 12) {
            const off = raw.readUInt32LE(p + 8);
            members.push({
              name: str(raw.readUInt32LE(p)),
              type: raw.readUInt32LE(p + 4),
              bitOffset: kflag ? off & 0xffffff : off,
              bitSize: kflag ? off >>> 24 : 0,
            });
          }
          this.types.push({ ...base, type: 0, members });
          break;
        }
        case Kind.Enum: {
          const enumerators = [];
          for (let i = 0; i < vlen; i++, p += 8)
            enumerators.push({
              name: str(raw.readUInt32LE(p)),
              value: kflag ? raw.readInt32LE(p + 4) : raw.readUInt32LE(p + 4),
            });
          this.types.push({ ...base, type: 0, intSigned: kflag, enumerators });
          break;
        }
        case Kind.Enum64:
          p += 12 * vlen;
          this.types.push({ ...base, type: 0, intSigned: kflag });
          break;
        case Kind.FuncProto:
          p += 8 * vlen;
          this.types.push({ ...base, size: 0 });
          break;
        case Kind.Var:
          p += 4;
          this.types.push({ ...base, size: 0 });
          break;
        case Kind.Datasec: {
          const vars = [];
          for (let i = 0; i < vlen; i++, p += 12)
            vars.push({ type: raw.readUInt32LE(p), offset: raw.readUInt32LE(p + 4), size: raw.readUInt32LE(p + 8) });
          this.types.push({ ...base, type: 0, vars });
          break;
        }
        case Kind.DeclTag:
          p += 4;
          this.types.push({ ...base, size: 0 });
          break;
        default:
          this.types.push({ ...base, size: kind === Kind.Float ? sizeOrType : 0 });
      }
    }
  }

  get(id: number): BtfType {
    const t = this.types[id];
    if (!t) throw new XdpspecError('INTERNAL', `BTF type ${id} does not exist in the object's BTF`);
    return t;
  }

  /** Follows typedefs and qualifiers to the type that has a layout. */
  resolve(id: number): BtfType {
    let t = this.get(id);
    while (
      t.kind === Kind.Typedef ||
      t.kind === Kind.Volatile ||
      t.kind === Kind.Const ||
      t.kind === Kind.Restrict ||
      t.kind === Kind.TypeTag
    )
      t = this.get(t.type);
    return t;
  }

  /** True when a typedef on the way to an int says network byte order (`__be16`, `__be32`, `__be64`). */
  isBigEndian(id: number): boolean {
    let t = this.get(id);
    while (t.kind === Kind.Typedef || t.kind === Kind.Volatile || t.kind === Kind.Const || t.kind === Kind.TypeTag) {
      if (/^__be(16|32|64)$/.test(t.name)) return true;
      t = this.get(t.type);
    }
    return false;
  }

  /**
   * Whether a value of this type holds one of the kernel's special fields (a spin lock, a timer,
   * a work item, a list or tree head, a kernel pointer), which a memory-mapped array may not.
   */
  hasSpecialFields(id: number, depth = 0): boolean {
    if (depth > 32) return true;
    const t = this.resolve(id);
    if (t.kind === Kind.Ptr) return true;
    if (t.kind === Kind.Array) return this.hasSpecialFields(t.elemType!, depth + 1);
    if (t.kind === Kind.Struct || t.kind === Kind.Union) {
      if (/^bpf_(spin_lock|timer|wq|list_head|list_node|rb_root|rb_node|refcount)$/.test(t.name)) return true;
      return (t.members ?? []).some((m) => this.hasSpecialFields(m.type, depth + 1));
    }
    return false;
  }

  sizeOf(id: number): number {
    const t = this.resolve(id);
    if (t.kind === Kind.Array) return this.sizeOf(t.elemType!) * t.nelems!;
    if (t.kind === Kind.Ptr) return 8;
    return t.size;
  }

  /** A C-like name for messages: `struct flow_key`, `__be32`, `__u8[4]`. */
  typeName(id: number): string {
    const t = this.get(id);
    switch (t.kind) {
      case Kind.Struct:
      case Kind.Union:
        return `${KIND_NAMES[t.kind]} ${t.name || '(anon)'}`;
      case Kind.Array:
        return `${this.typeName(t.elemType!)}[${t.nelems}]`;
      case Kind.Ptr:
        return `${this.typeName(t.type)} *`;
      case Kind.Const:
      case Kind.Volatile:
        return `${KIND_NAMES[t.kind]} ${this.typeName(t.type)}`;
      default:
        return t.name || KIND_NAMES[t.kind] || `kind ${t.kind}`;
    }
  }

  /** The layout of a type, one line per member, for error messages. */
  describe(id: number, indent = ''): string {
    const t = this.resolve(id);
    if ((t.kind === Kind.Struct || t.kind === Kind.Union) && t.members) {
      const inner = t.members
        .map(
          (m) =>
            `${indent}  ${m.name || '(its members stand beside the others)'}: ${this.describe(m.type, indent + '  ')}`,
        )
        .join('\n');
      return `${this.typeName(t.id)} {\n${inner}\n${indent}}`;
    }
    return `${this.typeName(id).replace(/^((const|volatile) )+/, '')} (${this.sizeOf(id)} bytes)`;
  }

  /** The variable of a datasec (`.rodata`, `.data`, `.bss`) called `name`, with its type. */
  findVar(secId: number, name: string): { type: number; offset: number; size: number } | undefined {
    const sec = this.get(secId);
    for (const v of sec.vars ?? []) {
      const vt = this.get(v.type);
      if (vt.kind === Kind.Var && vt.name === name) return { type: vt.type, offset: v.offset, size: v.size };
    }
    return undefined;
  }

  varNames(secId: number): string[] {
    return (this.get(secId).vars ?? []).map((v) => this.get(v.type).name);
  }

  findDatasec(name: string): BtfType | undefined {
    return this.types.find((t) => t.kind === Kind.Datasec && t.name === name);
  }

  /**
   * A type by its C name: `struct event`, `union u`, or a bare name (a struct, union or typedef
   * called that, in that order); undefined when the object's BTF has none.
   */
  findNamed(cName: string): BtfType | undefined {
    const m = /^\s*(struct|union)\s+(\S+)\s*$/.exec(cName);
    if (m) {
      const kind = m[1] === 'struct' ? Kind.Struct : Kind.Union;
      return this.types.find((t) => t.kind === kind && t.name === m[2]);
    }
    const name = cName.trim();
    for (const kind of [Kind.Struct, Kind.Union, Kind.Typedef]) {
      const t = this.types.find((x) => x.kind === kind && x.name === name);
      if (t) return t;
    }
    return undefined;
  }
}
