import { closeSync } from 'node:fs';
import { BpfError, XdpspecError } from '../sys/errors.js';
import { errno, ffi } from './ffi.js';
import { MAP_TYPES, OUTER_MAPS } from './kinds.js';
import { BpfMap } from './map.js';
import { errnoName } from '../sys/errno.js';
import { requirePrivileges } from '../sys/privileges.js';

/** What `createMap` makes. */
export interface MapSpec {
  /** The kernel's name of the type: `hash`, `array`, `lru_hash`, `array_of_maps`, ... */
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** BPF_F_* map flags (BPF_F_NO_PREALLOC is 1), default 0. */
  readonly flags?: number;
  /** Up to 15 characters; default `xdpspec`. */
  readonly name?: string;
  /** Maps of maps: what their inner maps are like, as a map or as a spec. */
  readonly inner?: BpfMap | Omit<MapSpec, 'inner'>;
}

/** A map made by `createMap`: its file descriptor is this process's; `close()` gives it up. */
export class CreatedMap extends BpfMap {
  readonly path: string;
  /** Shared with the BpfMap underneath, which refuses every operation once it says closed. */
  private readonly state: { isClosed: boolean; readonly path: string };

  constructor(spec: MapSpec, typeId: number, fd: number, innerSpec: string | undefined) {
    const state = { isClosed: false, path: `createMap(${spec.name ?? 'xdpspec'})` };
    super(
      spec.name ?? 'xdpspec',
      typeId,
      fd,
      spec.keySize,
      OUTER_MAPS.has(typeId) ? 4 : spec.valueSize,
      spec.maxEntries,
      undefined,
      0,
      0,
      false,
      state,
    );
    this.state = state;
    this.path = state.path;
    this.innerSpec = innerSpec;
  }

  get isClosed(): boolean {
    return this.state.isClosed;
  }

  /** Closes this process's handle; the kernel frees the map once no program or map holds it. */
  close(): void {
    if (this.state.isClosed) return;
    const fd = this.fd;
    this.state.isClosed = true;
    closeSync(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const typeIds = Object.fromEntries(Object.entries(MAP_TYPES).map(([id, name]) => [name, Number(id)]));
const OPTS_SIZE = 48; // struct bpf_map_create_opts of libbpf 1.1
const OPT_INNER_MAP_FD = 24;
const OPT_MAP_FLAGS = 28;

function check(spec: Omit<MapSpec, 'inner'>, what: string): number {
  const typeId = typeIds[spec.type];
  if (typeId === undefined)
    throw new XdpspecError(
      'MAP_SPEC',
      `${what}: map type ${JSON.stringify(spec.type)} is not one the kernel has; types: ${Object.keys(typeIds).join(', ')}`,
    );
  for (const k of ['keySize', 'valueSize', 'maxEntries'] as const) {
    const v = spec[k];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new XdpspecError('MAP_SPEC', `${what}: ${k} must be a whole number from 0 to 4294967295, got ${String(v)}`);
  }
  if (spec.flags !== undefined && (!Number.isInteger(spec.flags) || spec.flags < 0 || spec.flags > 0xffffffff))
    throw new XdpspecError('MAP_SPEC', `${what}: flags must be a 32-bit number, got ${String(spec.flags)}`);
  if (spec.name !== undefined && !/^[A-Za-z0-9_.]{0,15}$/.test(spec.name))
    throw new XdpspecError(
      'MAP_SPEC',
      `${what}: name ${JSON.stringify(spec.name)} must be at most 15 letters, digits, _ or .`,
    );
  return typeId;
}

const describe = (s: Omit<MapSpec, 'inner'>) => `${s.type}(${s.keySize}, ${s.valueSize}) of ${s.maxEntries}`;

function make(spec: Omit<MapSpec, 'inner'>, typeId: number, innerFd: number, what: string): number {
  const opts = Buffer.alloc(OPTS_SIZE);
  opts.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  opts.writeUInt32LE(innerFd, OPT_INNER_MAP_FD);
  opts.writeUInt32LE(spec.flags ?? 0, OPT_MAP_FLAGS);
  const fd = ffi().bpf_map_create(
    typeId,
    spec.name ?? 'xdpspec',
    spec.keySize,
    OUTER_MAPS.has(typeId) ? 4 : spec.valueSize,
    spec.maxEntries,
    opts,
  );
  if (fd < 0) {
    const e = -fd || errno();
    throw new BpfError(
      `create ${what} ${describe(spec)}`,
      e,
      `${errnoName(e)}: the kernel refused this type with these sizes, entries and flags (arrays take 4-byte keys; hash maps need max_entries above 0; maps of maps need their inner map)`,
    );
  }
  return fd;
}

/**
 * Creates a map outside any object: for state a spec sets up by hand, and for the inner maps of
 * a map of maps (`set(key, innerMap)` then puts it in). Values are raw Buffers or numbers (4
 * and 8 bytes), since a created map has no BTF.
 * @throws XdpspecError `MAP_SPEC` for a spec the kernel cannot take (type, sizes, name),
 *   PrivilegeError without CAP_BPF, BpfError when the kernel refuses it.
 */
export function createMap(spec: MapSpec): CreatedMap {
  const typeId = check(spec, 'createMap');
  requirePrivileges('creating a BPF map');
  const outer = OUTER_MAPS.has(typeId);
  if (outer && spec.inner === undefined)
    throw new XdpspecError(
      'MAP_SPEC',
      `createMap: a ${spec.type} map needs inner: the map (or the spec of one) its values are like`,
    );
  if (!outer && spec.inner !== undefined)
    throw new XdpspecError(
      'MAP_SPEC',
      `createMap: inner is for maps of maps (array_of_maps, hash_of_maps), not ${spec.type}`,
    );
  let innerFd = 0;
  let template: CreatedMap | undefined;
  let innerSpec: string | undefined;
  if (spec.inner instanceof BpfMap) {
    innerFd = spec.inner.fd;
    innerSpec = spec.inner.describe();
  } else if (spec.inner) {
    // The kernel keeps what the template is like, not the template: it is closed again at once.
    template = createMap(spec.inner);
    innerFd = template.fd;
    innerSpec = describe(spec.inner);
  }
  try {
    return new CreatedMap(spec, typeId, make(spec, typeId, innerFd, 'map'), innerSpec);
  } finally {
    template?.close();
  }
}
