// `xdpspec fuzz` as one operation: an object loaded fresh (with block counters, for the blocks
// the runs reached), its maps filled, one property checked over generated frames, and
// everything taken down again; the bench for engines-agree is made and removed here too.
import type { LoadedObject, ProgramTypes } from '../bpf/index.js';
import { loadObject } from '../bpf/index.js';
import type { FrameShape } from '../packet/index.js';
import { XdpspecError } from '../sys/errors.js';
import { LiveBench } from './live/index.js';
import {
  enginesAgree,
  forAllFrames,
  neverAborts,
  sameAs,
  validChecksums,
  type FrameProperty,
  type PropertyReport,
} from './properties.js';

/** Map entries to write before the runs, per map name. */
export type FuzzMaps = Readonly<Record<string, readonly (readonly [unknown, unknown])[]>>;

export interface FuzzOptions {
  readonly object: string;
  readonly program?: string;
  readonly programType?: ProgramTypes;
  /** `never-aborts`, `valid-checksums`, `engines-agree`, or `same-as=OLD.o`. */
  readonly property: string;
  readonly runs?: number;
  readonly seed?: number;
  readonly frames?: FrameShape;
  readonly sequence?: number;
  readonly globals?: Record<string, unknown>;
  readonly maps?: FuzzMaps;
  /** Where the counterexample's pcapng goes. */
  readonly out?: string;
  /** Which maps are put back before each run (see ForAllOptions.reset). */
  readonly reset?: 'all' | 'none' | readonly string[];
}

export const PROPERTIES = ['never-aborts', 'valid-checksums', 'engines-agree', 'same-as=OLD.o'];

function load(path: string, o: FuzzOptions): LoadedObject {
  const obj = loadObject(path, o.globals ?? {}, {
    count: true,
    ...(o.programType === undefined ? {} : { programType: o.programType }),
  });
  try {
    for (const [name, pairs] of Object.entries(o.maps ?? {})) {
      const map = obj.map(name);
      for (const [k, v] of pairs) map.set(k, v);
    }
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

/** Checks the property; the report of the runs, or PropertyFailure with the counterexample. */
export async function fuzzObject(o: FuzzOptions): Promise<PropertyReport> {
  const opened: LoadedObject[] = [];
  let bench: LiveBench | undefined;
  try {
    const obj = load(o.object, o);
    opened.push(obj);
    const program = obj.program(o.program);
    let property: FrameProperty;
    if (o.property === 'never-aborts') property = neverAborts();
    else if (o.property === 'valid-checksums') property = validChecksums();
    else if (o.property === 'engines-agree') {
      bench = await LiveBench.create({ ports: [{ name: 'wan' }] });
      property = enginesAgree(bench, 'wan');
    } else if (o.property.startsWith('same-as=') && o.property.length > 8) {
      const old = load(o.property.slice(8), o);
      opened.push(old);
      property = sameAs(old.program(o.program ?? program.name));
    } else
      throw new XdpspecError(
        'FUZZ_PROPERTY',
        `no property ${JSON.stringify(o.property)}; the properties are ${PROPERTIES.join(', ')}`,
      );
    return await forAllFrames(program, property, {
      ...(o.runs === undefined ? {} : { runs: o.runs }),
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      ...(o.frames ? { frames: o.frames } : {}),
      ...(o.sequence ? { sequence: o.sequence } : {}),
      ...(o.out === undefined ? {} : { out: o.out }),
      ...(o.reset === undefined ? {} : { reset: o.reset }),
    });
  } finally {
    bench?.close();
    for (const x of opened) x.close();
  }
}
