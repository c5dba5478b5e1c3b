import { execa } from 'execa';
import { readdirSync } from 'node:fs';

/**
 * Runs the built CLI and remembers each process it started, so that `ours()` lists only the
 * namespaces those processes made: another run on the machine has its own.
 */
export function trackedCli(): {
  cli: (...args: string[]) => ReturnType<typeof execa<{ reject: false }>>;
  ours: () => string[];
} {
  const started: number[] = [];
  return {
    cli: (...args: string[]) => {
      const p = execa('node', ['dist/cli/main.js', ...args], { reject: false });
      if (p.pid !== undefined) started.push(p.pid);
      return p;
    },
    ours: () => readdirSync('/run/netns').filter((n) => started.some((pid) => n.startsWith(`xdpspec-${pid}-`))),
  };
}
