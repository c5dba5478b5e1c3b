import { processWide } from '../sys/process-wide.js';

/**
 * Where each entry of a device map (devmap, devmap_hash) was written: the kernel resolved its
 * ifindex in that network namespace, so that is where the device has that number and a name;
 * benches also say which of their ports it is. Keyed by the map's kernel id and the key's bytes.
 */
export interface DeviceWrite {
  /** The named namespace (`/run/netns/NAME`) the entry was written from; undefined: the process's own. */
  readonly netns: string | undefined;
  /** The bench port whose DUT end the entry points at, when a bench wrote it. */
  readonly port?: string;
}

const writes = processWide('device-writes', () => new Map<string, DeviceWrite>());
const at = (mapId: number, key: Buffer) => `${mapId}/${key.toString('hex')}`;

// How often each device map was changed through xdpspec, by kernel id: a copy of its entries
// (the redirect probe's) is made again only when this moved. Programs cannot change device maps.
const changes = processWide('device-map-changes', () => new Map<number, number>());

export function recordDeviceWrite(mapId: number, key: Buffer, w: DeviceWrite): void {
  writes.set(at(mapId, key), w);
  deviceMapChanged(mapId);
}

/** Notes that a device map's entries changed (a write, a delete, a put back). */
export function deviceMapChanged(mapId: number): void {
  changes.set(mapId, (changes.get(mapId) ?? 0) + 1);
}

/** How many changes xdpspec has made to a device map so far. */
export function deviceMapChanges(mapId: number): number {
  return changes.get(mapId) ?? 0;
}

export function deviceWrite(mapId: number, key: Buffer): DeviceWrite | undefined {
  return writes.get(at(mapId, key));
}

/** The entries of device map `mapId` written through xdpspec, each with its key's bytes. */
export function deviceWritesOf(mapId: number): { key: Buffer; write: DeviceWrite }[] {
  const prefix = `${mapId}/`;
  const out: { key: Buffer; write: DeviceWrite }[] = [];
  for (const [k, write] of writes)
    if (k.startsWith(prefix)) out.push({ key: Buffer.from(k.slice(prefix.length), 'hex'), write });
  return out;
}
