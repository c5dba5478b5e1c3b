// `xdpspec diff` as one operation: the same capture through an old and a new object (unit
// engine, or a one-port live bench), with their map entries filled, and the evidence written.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedObject, ProgramTypes } from '../bpf/index.js';
import { writeCapture } from '../pcap/index.js';
import { compareObjects, type Comparison } from './compare.js';
import { encodeGolden } from './golden.js';
import { LiveBench } from './live/index.js';

/** Map entries to write before the runs, per map name. */
export type MapEntries = Readonly<Record<string, readonly (readonly [unknown, unknown])[]>>;

export interface DiffCaptureOptions {
  readonly old: { readonly object: string; readonly globals?: Record<string, unknown>; readonly maps?: MapEntries };
  readonly new: { readonly object: string; readonly globals?: Record<string, unknown>; readonly maps?: MapEntries };
  readonly program?: string;
  readonly programType?: ProgramTypes;
  /** The frames: a capture file. */
  readonly pcap: string;
  /** Globals and entries for both objects. */
  readonly globals?: Record<string, unknown>;
  readonly maps?: MapEntries;
  /** Both runs live, through a fresh one-port bench, instead of the unit engine. */
  readonly live?: boolean;
  /** Count the instructions each frame executes in both (unit engine). */
  readonly instructions?: boolean;
  /** Writes DIR/old.pcapng, DIR/new.pcapng (golden captures of each run) and DIR/changed.pcap. */
  readonly artifacts?: string;
}

const fill = (entries: MapEntries | undefined) => (obj: LoadedObject) => {
  for (const [name, pairs] of Object.entries(entries ?? {})) {
    const map = obj.map(name);
    for (const [k, v] of pairs) map.set(k, v);
  }
};

/** Compares an old and a new object on a capture; the bench (if any) is gone when it returns. */
export async function diffCapture(o: DiffCaptureOptions): Promise<Comparison> {
  const bench = o.live ? await LiveBench.create({ ports: [{ name: 'wan' }] }) : undefined;
  let cmp: Comparison;
  try {
    cmp = await compareObjects(
      { object: o.old.object, globals: o.old.globals ?? {}, setup: fill(o.old.maps) },
      { object: o.new.object, globals: o.new.globals ?? {}, setup: fill(o.new.maps) },
      {
        program: o.program,
        ...(o.programType === undefined ? {} : { programType: o.programType }),
        frames: o.pcap,
        globals: o.globals ?? {},
        setup: fill(o.maps),
        ...(o.instructions ? { instructions: true } : {}),
        ...(bench ? { live: { bench, port: 'wan' } } : {}),
      },
    );
  } finally {
    bench?.close();
  }
  if (o.artifacts !== undefined) {
    await mkdir(o.artifacts, { recursive: true });
    await writeFile(join(o.artifacts, 'old.pcapng'), encodeGolden(cmp.runs.old));
    await writeFile(join(o.artifacts, 'new.pcapng'), encodeGolden(cmp.runs.new));
    await writeCapture(
      join(o.artifacts, 'changed.pcap'),
      cmp.changed.map((c) => ({ data: c.input.bytes })),
      { format: 'pcap' },
    );
  }
  return cmp;
}
