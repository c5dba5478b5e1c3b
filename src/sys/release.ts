import { processWide } from './process-wide.js';

// What a run made that must not outlive it (namespaces, a private bpffs) is released on normal
// exit and on SIGINT, SIGTERM and SIGHUP; each owner registers how. SIGKILL gives no chance:
// then the next run's sweep removes what a dead process owned.

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const state = processWide('release', () => ({ hooked: false, releasers: new Set<() => void>() }));

/** Runs every registered releaser once, the latest first; one that throws does not stop the rest. */
export function releaseEverything(): void {
  for (const f of [...state.releasers].reverse()) {
    state.releasers.delete(f);
    try {
      f();
    } catch {
      // best effort on the way out
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  releaseEverything();
  // Die of the same signal, as the process would have without us.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, sig);
}

/**
 * Runs `fn` when the process exits or is stopped by SIGINT, SIGTERM or SIGHUP, unless the
 * returned function is called first (the owner released it itself).
 */
export function atRelease(fn: () => void): () => void {
  if (!state.hooked) {
    state.hooked = true;
    process.on('exit', releaseEverything);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  state.releasers.add(fn);
  return () => void state.releasers.delete(fn);
}
