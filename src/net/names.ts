// Names of everything a run creates. Namespace names carry the owning process id, so that
// parallel runs never collide and a later run can tell a dead run's leftovers from a live
// run's resources: `xdpspec-<pid>-<n>-<role>`.

import { XdpspecError } from '../sys/errors.js';

const PREFIX = 'xdpspec-';
// Shared by every copy of xdpspec in the process (see processWide), so names never repeat.
const SEQ = Symbol.for('xdpspec.namespace-seq.v1');
const g = globalThis as { [SEQ]?: number };

/** A new namespace name owned by this process. */
export function namespaceName(role: string): string {
  if (!/^[a-z0-9]{1,12}$/.test(role))
    throw new XdpspecError(
      'INTERNAL',
      `namespace role ${JSON.stringify(role)} must be 1-12 lower-case letters or digits`,
    );
  const n = g[SEQ] ?? 0;
  g[SEQ] = n + 1;
  return `${PREFIX}${process.pid}-${n}-${role}`;
}

/** The process that owns a namespace name xdpspec made, or undefined for any other name. */
export function ownerPid(name: string): number | undefined {
  const m = /^xdpspec-(\d+)-\d+-[a-z0-9]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
