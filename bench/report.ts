/** A benchmark: runs its subject and a named baseline side by side, returns report lines. */
export interface Bench {
  readonly name: string;
  run(tmpDir: string): Promise<string[]>;
}

export const fmt = {
  int: (n: number) => n.toLocaleString('en-US'),
  rate: (n: number) => Math.round(n).toLocaleString('en-US').padStart(10),
  mib: (kib: number) => `${(kib / 1024).toFixed(0)} MiB`,
  ratio: (r: number) => `${r.toFixed(2)}x`,
  ns: (n: number) => `${n.toFixed(0)} ns`,
  ms: (n: number) => `${n < 10_000 ? n.toFixed(0) + ' ms' : (n / 1000).toFixed(1) + ' s'}`.padStart(8),
};
