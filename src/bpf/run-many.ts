// The batch test run of src/bpf/native/run_many.c, bound through koffi: one foreign call for a
// batch of frames instead of one per frame (see that file for why). Built with the package like
// the probes, and on first use where it is missing; where it cannot be built, testRunMany keeps
// its loop in TypeScript.
import { fileURLToPath } from 'node:url';
import { processWide } from '../sys/process-wide.js';
import { declare, loadLibrary, type CPointer, type KoffiPointer } from '../sys/native.js';
import { builtFile } from './probe-objects.js';

const DIR = fileURLToPath(new URL('../../src/bpf/native/', import.meta.url));

export type RunMany = (
  fd: number,
  opts: KoffiPointer,
  ctxLenOff: number,
  input: CPointer,
  starts: Uint32Array,
  lens: Uint32Array,
  n: number,
  out: CPointer,
  outCap: number,
  maxOut: number,
  results: Uint32Array,
  err: Int32Array,
) => number;

const state = processWide('run-many', () => ({ tried: false, fn: undefined as RunMany | undefined }));

/** The batch runner, or undefined where it cannot be built or loaded (testRunMany then loops in TypeScript). */
export function runManyNative(): RunMany | undefined {
  if (state.tried) return state.fn;
  state.tried = true;
  try {
    const lib = loadLibrary(
      builtFile(DIR, `${DIR}build/libxdpspec_run.so`, "xdpspec's batch test-run helper"),
      'libbpf1',
    );
    state.fn = declare<RunMany>(
      lib,
      'int xdpspec_run_many(int fd, void *opts, int ctx_len_off, void *input, void *starts, void *lens, uint32_t n, void *out, uint32_t out_cap, uint32_t max_out, void *results, void *err)',
    );
  } catch {
    // no compiler or no libbpf-dev here: the results are the same, only slower
  }
  return state.fn;
}
