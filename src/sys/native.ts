// Native libraries and memory through koffi: loading a library with a clear error, declaring a
// function with its TypeScript signature, native blocks, errno. Pointers are BigInt addresses
// (koffi 3); 0n is NULL.
import koffi from 'koffi';
import { XdpspecError } from './errors.js';

export type Ptr = bigint;

declare const handle: unique symbol;
/** koffi's handle of a native allocation: passing it to a pointer parameter is cheaper than its address. */
export type KoffiPointer = { readonly [handle]: true };

/** What a `void *` parameter takes: a buffer (its bytes), an address, koffi's handle, or NULL. */
export type CPointer = Uint8Array | Ptr | KoffiPointer | null;

/** A koffi library handle. */
export type Library = ReturnType<typeof koffi.load>;

export function loadLibrary(name: string, pkg: string): Library {
  try {
    return koffi.load(name);
  } catch (err) {
    throw new XdpspecError(
      'LIBRARY_MISSING',
      `cannot load ${name}: ${(err as Error).message}; install the Debian package ${pkg} (npm test installs it)`,
      { cause: err },
    );
  }
}

/**
 * Declares a C function with the TypeScript signature `F`. koffi checks the arguments against
 * the C declaration at each call; `F` is what the rest of xdpspec compiles against, so no `any`
 * crosses the boundary.
 */
export function declare<F extends (...args: never[]) => unknown>(lib: Library, decl: string): F {
  return lib.func(decl) as unknown as F;
}

/** Declares a function returning a pointer, normalised to a bigint address (NULL is 0n). */
export function declarePtr<A extends unknown[]>(lib: Library, decl: string): (...args: A) => Ptr {
  const fn = lib.func(decl) as unknown as (...args: A) => bigint | number | null;
  return (...args: A) => {
    const r = fn(...args);
    return r === null ? 0n : BigInt(r);
  };
}

/** errno of the last foreign call. */
export function errno(): number {
  return koffi.errno();
}

/** Native memory that lives until `free`: its address for C, and a Buffer view for us. */
export interface NativeBlock {
  readonly address: Ptr;
  readonly pointer: KoffiPointer;
  readonly view: Buffer;
  free(): void;
}

export function allocNative(size: number): NativeBlock {
  const p = koffi.alloc('uint8_t', size) as KoffiPointer;
  const address = koffi.address(p);
  const view = Buffer.from(koffi.view(p, size));
  view.fill(0);
  let freed = false;
  return {
    address,
    pointer: p,
    view,
    free: () => {
      if (!freed) koffi.free(p);
      freed = true;
    },
  };
}

/** Reads `size` bytes at a native address (copied). */
export function readNative(address: Ptr, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  // Buffer.from of a Uint8Array copies; of the ArrayBuffer itself it would only be a view.
  return Buffer.from(new Uint8Array(koffi.view(address, size)));
}

export { koffi };
