// xdpspec's own fixtures, for `fixtures().suite(...)` and `.case(...)`: a live bench, a loaded
// object, maps put back between cases, and a failed live case's capture attached to it.
import { loadObject, type BpfMap, type LoadedObject, type LoadOptions, type MapState } from '../bpf/index.js';
import type { TopologySpec } from '../net/index.js';
import { writeArtifact } from './artifact.js';
import type { FixtureBody } from './fixtures.js';
import { LiveBench, type LiveBenchOptions, type LiveRun } from './live/index.js';

/** A live bench on `spec`, closed (topology removed) when the fixture ends. */
export function liveBench(spec: TopologySpec, options: LiveBenchOptions = {}): FixtureBody<object, LiveBench> {
  return async (_, use) => {
    const b = await LiveBench.create(spec, options);
    try {
      await use(b);
    } finally {
      b.close();
    }
  };
}

/** A BPF object loaded with `globals` (set before load), closed (unloaded, detached) when the fixture ends. */
export function bpfObject(
  path: string,
  globals: Record<string, unknown> = {},
  options: LoadOptions = {},
): FixtureBody<object, LoadedObject> {
  return async (_, use) => {
    const o = loadObject(path, globals, options);
    try {
      await use(o);
    } finally {
      o.close();
    }
  };
}

/** Loads BPF objects (`load(path, globals, options)`), as many as a case asks for. */
export type ObjectLoader = (path: string, globals?: Record<string, unknown>, options?: LoadOptions) => LoadedObject;

/**
 * Its value loads objects on demand, each with the globals the case gives it; every object it
 * loaded is closed when the fixture ends (a `case` fixture: at the end of each case).
 */
export function bpfObjects(): FixtureBody<object, ObjectLoader> {
  return async (_, use) => {
    const open: LoadedObject[] = [];
    try {
      await use((path, globals = {}, options = {}) => {
        const o = loadObject(path, globals, options);
        open.push(o);
        return o;
      });
    } finally {
      for (const o of open.splice(0).reverse()) o.close();
    }
  };
}

/**
 * A case fixture that puts the state maps of the object `of` picks back after each case as they
 * were when the first case began (per-CPU ones included): every case then starts from the same
 * state whatever ran before. The state is read once, for the first case (`capture`), and each
 * case's end writes back only what changed where it can (`putBack`), and drains the ring and
 * perf buffers a case read, so the next case's drain starts empty. Its value is the object.
 */
export function mapsRestored<D>(of: (deps: D) => LoadedObject): FixtureBody<D, LoadedObject> {
  let saved: { obj: LoadedObject; maps: { map: BpfMap; state: MapState }[] } | undefined;
  return async (deps, use) => {
    const obj = of(deps);
    if (saved?.obj !== obj) saved = { obj, maps: obj.stateMaps().map((map) => ({ map, state: map.capture() })) };
    const { maps } = saved;
    try {
      await use(obj);
    } finally {
      if (!obj.isClosed) {
        for (const { map, state } of maps) map.putBack(state);
        // What a case's frames wrote into ring and perf buffers and nobody drained is that
        // case's; records a full perf buffer lost were that case's too.
        for (const r of obj.openEventReaders()) r.discard();
      }
    }
  };
}

export interface ArtifactOptions {
  /** Directory of the captures (default `artifacts`): DIR/<spec file>/<case>.pcapng. */
  readonly dir?: string;
  /** Which cases write one: those that fail (default), or all. */
  readonly when?: 'on-failure' | 'always';
}

/**
 * A case fixture that keeps every replay the bench `of` picks makes during the case, and after
 * a case that failed (or every case, `when: 'always'`) writes the last one as a pcapng capture
 * (inputs and outputs per port side, a comment per frame) and attaches it to the case. Its value
 * is the list of runs so far.
 */
export function liveArtifacts<D>(
  of: (deps: D) => LiveBench,
  o: ArtifactOptions = {},
): FixtureBody<D, readonly LiveRun[]> {
  return async (deps, use, info) => {
    const bench = of(deps);
    const runs: LiveRun[] = [];
    const stop = bench.onRun((r) => runs.push(r));
    try {
      await use(runs);
    } finally {
      stop();
    }
    const last = runs[runs.length - 1];
    if (last && (info.failed || o.when === 'always')) {
      const file = await writeArtifact(
        last,
        [...bench.topology.ports.keys()],
        info.pathFor(o.dir ?? 'artifacts', 'pcapng'),
      );
      info.attach('capture', file);
    }
  };
}
