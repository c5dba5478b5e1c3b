import { readFileSync } from 'node:fs';
import { PrivilegeError } from './errors.js';

const CAPS: Record<string, number> = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 };

/** The effective capabilities of this process, by name. */
export function effectiveCapabilities(): Set<string> {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const bits = m ? BigInt(`0x${m[1]}`) : 0n;
  return new Set(
    Object.entries(CAPS)
      .filter(([, bit]) => (bits >> BigInt(bit)) & 1n)
      .map(([name]) => name),
  );
}

/**
 * Throws PrivilegeError naming what is missing for `what` (loading BPF programs needs CAP_BPF
 * or CAP_SYS_ADMIN, and CAP_NET_ADMIN for XDP and TC).
 */
export function requirePrivileges(what: string, caps: Set<string> = effectiveCapabilities()): void {
  const missing: string[] = [];
  if (!caps.has('CAP_BPF') && !caps.has('CAP_SYS_ADMIN')) missing.push('CAP_BPF (or CAP_SYS_ADMIN)');
  if (!caps.has('CAP_NET_ADMIN')) missing.push('CAP_NET_ADMIN');
  if (missing.length) throw new PrivilegeError(what, missing);
}
