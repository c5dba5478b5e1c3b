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

export function recordDeviceWrite(mapId: number, key: Buffer, w: DeviceWrite): void {
  writes.set(at(mapId, key), w);
}

export function deviceWrite(mapId: number, key: Buffer): DeviceWrite | undefined {
  return writes.get(at(mapId, key));
}
