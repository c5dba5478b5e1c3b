import type { RedirectTarget, SkbContextOut } from '../bpf/index.js';
import { PROG_TYPE, returnCodeName, XDP_ACTIONS } from '../bpf/kinds.js';
import type { FieldChange, Frame } from '../packet/index.js';
import { processWide } from '../sys/process-wide.js';

export type { RedirectTarget };

/**
 * What became of a frame. XDP: `passed` (XDP_PASS), `dropped` (XDP_DROP), `tx` (XDP_TX),
 * `redirected` (XDP_REDIRECT), `aborted` (XDP_ABORTED, or a return code XDP does not know).
 * TC, as cls_bpf in direct-action mode carries the codes out: `dropped` (SHOT), `redirected`
 * (REDIRECT), `stolen` (STOLEN, TRAP: the program took the packet), and `passed` for OK and every
 * other code (cls_bpf turns QUEUED, PIPE, RECLASSIFY, REPEAT and unknown codes into UNSPEC, which
 * passes the frame when no filter follows).
 */
export type Verdict = 'passed' | 'dropped' | 'tx' | 'redirected' | 'aborted' | 'stolen';
export const VERDICTS: readonly Verdict[] = ['passed', 'dropped', 'tx', 'redirected', 'aborted', 'stolen'];

export function verdictOf(action: string): Verdict {
  switch (action) {
    case 'XDP_PASS':
    case 'TC_ACT_OK':
    case 'TC_ACT_UNSPEC':
    case 'TC_ACT_PIPE':
    case 'TC_ACT_RECLASSIFY':
    case 'TC_ACT_REPEAT':
      return 'passed';
    case 'XDP_DROP':
    case 'TC_ACT_SHOT':
      return 'dropped';
    case 'XDP_TX':
      return 'tx';
    case 'XDP_REDIRECT':
    case 'TC_ACT_REDIRECT':
      return 'redirected';
    case 'TC_ACT_STOLEN':
    case 'TC_ACT_TRAP':
      return 'stolen';
    default:
      // XDP_ABORTED and codes XDP does not know (the kernel drops those with an exception); for
      // TC, anything else cls_bpf makes UNSPEC: the frame goes on.
      return action.startsWith('TC_') ? 'passed' : 'aborted';
  }
}

const XDP_VERDICTS: readonly Verdict[] = XDP_ACTIONS.map(verdictOf);

/** `verdictOf` the return code itself: XDP's by table, the unit engine's batches' per-frame path. */
export function verdictOfCode(progType: number, retval: number): Verdict {
  if (progType === PROG_TYPE.xdp) return XDP_VERDICTS[retval] ?? 'aborted';
  return verdictOf(returnCodeName(progType, retval));
}

/** The fate of one input frame. */
export interface FrameResult {
  readonly index: number;
  /** The program that decided. */
  readonly program: string;
  /** The port it came in on, in a run of steps across ports (`runUnitSteps`). */
  readonly port?: string;
  readonly input: Frame;
  readonly verdict: Verdict;
  /** The return code by name: `XDP_PASS`, `TC_ACT_SHOT`, ... */
  readonly action: string;
  /** The frame as the program left it (absent when dropped or aborted). */
  readonly output: Frame | undefined;
  /** Field changes from input to output (empty when unchanged or when there is no output). */
  readonly changes: readonly FieldChange[];
  /**
   * Unit engine only: the packet buffer as the program left it, whatever the verdict. A dropped
   * or aborted frame has no output, but a program that rewrote it first (decapsulated, say) left
   * these bytes, which a peer's fixture may check.
   */
  readonly buffer?: Buffer;
  /** Unit engine, TC runs given a context: the `__sk_buff` fields as the program left them. */
  readonly context?: SkbContextOut;
  readonly redirect: RedirectTarget | undefined;
  /** Kernel run time of this frame, ns. */
  readonly durationNs: number;
  /**
   * Unit engine, a program loaded with block counters (`count: true`, coverage): the BPF
   * instructions it executed for this frame (an ld_imm64 counts as one; a tail-called program's
   * are its own). The same on every run of the same frame and state: a gate without timing noise.
   */
  readonly instructions?: number;
}

export type VerdictCounts = Record<Verdict, number>;

export function countVerdicts(results: readonly { readonly verdict: Verdict }[]): VerdictCounts {
  // A literal, not one made from VERDICTS: an object of fixed shape counts several times faster.
  const c: Record<Verdict, number> = { passed: 0, dropped: 0, tx: 0, redirected: 0, aborted: 0, stolen: 0 };
  // By name, not c[r.verdict]++: a store keyed by a string that changes from frame to frame
  // takes V8's slowest path, a tenth of runUnit's JavaScript.
  for (const r of results)
    switch (r.verdict) {
      case 'passed':
        c.passed++;
        break;
      case 'dropped':
        c.dropped++;
        break;
      case 'tx':
        c.tx++;
        break;
      case 'redirected':
        c.redirected++;
        break;
      case 'aborted':
        c.aborted++;
        break;
      case 'stolen':
        c.stolen++;
        break;
    }
  tally(c);
  return c;
}

const listeners = processWide('verdict-listeners', () => new Set<(counts: VerdictCounts) => void>());

/**
 * Calls `listener` with the counts of every run from now on (unit and live, in every copy of
 * xdpspec in the process), e.g. for a reporter's summary of what the engines saw (`npm run
 * demo`); returns what stops it. Nothing is collected while no one listens.
 */
export function onVerdictCounts(listener: (counts: VerdictCounts) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function tally(c: VerdictCounts): void {
  for (const l of listeners) l(c);
}

/** A run's frames as a listener of `onFrameRuns` gets them: what became of each, in order. */
export interface FrameRunNote {
  readonly engine: 'unit' | 'live';
  readonly frames: readonly {
    readonly program: string;
    readonly verdict: Verdict;
    readonly input: { readonly bytes: Buffer };
    readonly output: { readonly bytes: Buffer } | undefined;
    readonly changes: readonly { readonly path: string }[];
    readonly redirect: RedirectTarget | undefined;
  }[];
}

const frameRunListeners = processWide('frame-run-listeners', () => new Set<(run: FrameRunNote) => void>());

/**
 * Calls `listener` with every unit run and live replay from now on, frame by frame (the kernel
 * matrix records them to compare kernels); returns what stops it. Costs nothing while no one listens.
 */
export function onFrameRuns(listener: (run: FrameRunNote) => void): () => void {
  frameRunListeners.add(listener);
  return () => frameRunListeners.delete(listener);
}

/** Tells the listeners of `onFrameRuns` about a run the engines just made. */
export function noteFrameRun(engine: FrameRunNote['engine'], frames: FrameRunNote['frames']): void {
  for (const l of frameRunListeners) l({ engine, frames });
}

/** `10 passed, 10 dropped`: the non-zero counts, in a fixed order. */
export function formatCounts(c: VerdictCounts): string {
  const parts = VERDICTS.filter((v) => c[v] > 0).map((v) => `${c[v]} ${v}`);
  return parts.length ? parts.join(', ') : 'no frames';
}

/** `to ifindex 3 (veth0) via devmap ports[0]`, `to an unknown target (why)`. */
export function describeRedirect(t: RedirectTarget): string {
  if (!t.known) return `to an unknown target (${t.reason})`;
  const parts: string[] = [];
  if (t.ifindex !== undefined)
    parts.push(`ifindex ${t.ifindex}${t.port ? ` (port ${t.port})` : t.device ? ` (${t.device})` : ''}`);
  if (t.map) parts.push(`${parts.length ? 'via ' : ''}${t.map.type} ${t.map.name}[${t.map.key}]`);
  return `to ${parts.join(' ')}${t.error ? `, failed: ${t.error}` : ''}`;
}
