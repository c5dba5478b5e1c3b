/**
 * One value per process, however many copies of xdpspec it loaded (this repository's sources
 * beside the built package, a CommonJS copy a TypeScript loader compiled). koffi keeps named
 * types process-wide and refuses a name twice; libbpf has one print callback per process; and
 * what must be cleaned up at exit is the process's, not a copy's.
 */
export function processWide<T>(name: string, make: () => T): T {
  const key = Symbol.for(`xdpspec.${name}.v1`);
  const g = globalThis as Record<symbol, unknown>;
  if (!(key in g)) g[key] = make();
  return g[key] as T;
}
