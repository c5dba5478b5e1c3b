// The batch test run of src/bpf/native/run_many.c, bound through koffi: one foreign call for a
// batch of frames instead of one per frame (see that file for why). Built with the package like
// the probes, and on first use where it is missing; where it cannot be built, testRunMany keeps
// its loop in TypeScript.
import { fileURLToPath } from 'node:url';
import { processWide } from '../sys/process-wide.js';
import { declare, loadLibrary, type CPointer, type KoffiPointer } from '../sys/native.js';
import { builtFile } from './probe-objects.js';

const DIR = fileURLToPath(new URL('../../src/bpf/native/', import.meta.url));

/** See run_many.c for what each argument is. */
export type RunMany = (
  fd: number,
  opts: KoffiPointer,
  ctxLenOff: number,
  input: CPointer,
  places: Uint32Array,
  n: number,
  first: number,
  out: Uint8Array,
  outAt: number,
  outCap: number,
  maxOut: number,
  results: Uint32Array,
  same: Uint8Array | null,
  at: BigUint64Array | null,
) => number;

/** Where the bytes of a buffer lie in memory (see run_many.c's `at`). */
export type AddressOf = (bytes: Uint8Array) => bigint | number;

/** In a result's length (see run_many.c): its output is the same as the frame's kept copy. */
export const SAME_COPY = 1 << 30;

const state = processWide('run-many', () => ({
  tried: false,
  fn: undefined as RunMany | undefined,
  address: undefined as AddressOf | undefined,
}));

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
      'int xdpspec_run_batch(int fd, void *opts, int ctx_len_off, void *input, void *places, uint32_t n, uint32_t first, void *out, uint32_t out_at, uint32_t out_cap, uint32_t max_out, void *results, void *same, void *at)',
    );
    state.address = declare<AddressOf>(lib, 'uint64_t xdpspec_address(void *p)');
  } catch {
    // no compiler or no libbpf-dev here: the results are the same, only slower
  }
  return state.fn;
}

/** The address finder beside the batch runner (undefined where that could not be loaded). */
export function addressOfNative(): AddressOf | undefined {
  runManyNative();
  return state.address;
}
