import { execa, type ResultPromise } from 'execa';

/**
 * Runs a child script of specs/support that prints its namespaces as one JSON line once they
 * exist; `names` resolves with them (the line is the signal to act on, never a delay), or
 * rejects with the child's stderr if it ends first.
 */
export function startChild(
  script: string,
  ...args: string[]
): { proc: ResultPromise<{ reject: false }>; names: Promise<string[]> } {
  const proc = execa('node', ['--import', 'tsx/esm', `specs/support/${script}`, ...args], { reject: false });
  const names = new Promise<string[]>((resolve, reject) => {
    proc.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as string[]));
    void proc.then((r) => reject(new Error(`${script} ended before printing its namespaces: ${String(r.stderr)}`)));
  });
  return { proc, names };
}
