// What a live run returns: the public shapes of its results.
import type { FieldChange, Frame } from '../../packet/index.js';
import type { InstructionStats } from '../unit.js';
import type { RedirectTarget, Verdict, VerdictCounts } from '../verdict.js';

/** A frame seen on a port after an injection. `side` is where it was captured. */
export interface LiveOutput {
  readonly port: string;
  /** `dut`: on the DUT end (passed up, or entering it); `tester`: came out of the DUT through this port. */
  readonly side: 'dut' | 'tester';
  readonly frame: Frame;
}

export interface LiveFrameResult {
  readonly index: number;
  readonly program: string;
  /** The port it was injected on (from the tester end; from the DUT's side for TC egress). */
  readonly port: string;
  readonly input: Frame;
  readonly verdict: Verdict;
  /** The frame as it left the program: on the DUT end (passed), back out (tx), out of the port (passed at TC egress) or out of another port (redirected). */
  readonly output: Frame | undefined;
  readonly outputs: readonly LiveOutput[];
  readonly changes: readonly FieldChange[];
  readonly redirect: RedirectTarget | undefined;
  /**
   * Native XDP, a program loaded with block counters: the instructions it executed for this
   * frame, as the unit engine's FrameResult has them.
   */
  readonly instructions?: number;
  /**
   * Native XDP: the program passed the frame and the kernel freed it before any capture saw it
   * (an 802.1Q or 802.1ad header announced and cut short, which the receive path cannot take
   * off): it has no output, where the unit engine has the program's.
   */
  readonly freedByKernel?: true;
}

/** A streaming replay: exact counts, and which inputs were seen unchanged where. */
export interface StreamRun {
  readonly port: string;
  readonly frames: number;
  readonly counts: VerdictCounts;
  /** Per input: `port/side` where it was captured byte for byte, or undefined. */
  readonly seen: readonly (string | undefined)[];
  /** Captured outputs that match no input byte for byte (rewritten by the program). */
  readonly unmatched: number;
  /** Captured frames beyond what the counters account for (the DUT's own traffic). */
  readonly others: number;
  /**
   * How the frames went in: as XDP frames from the tester end (`xdp`), or from its packet
   * socket (`socket`); `why` says why any went by socket when `via` was `auto`.
   */
  readonly sent: SentVia;
}

/**
 * How a stream or a replay sends: `xdp` hands each frame to the DUT end as veth's peer does an
 * XDP frame (native XDP only; kernel 5.18+), `socket` sends from the tester end's packet socket,
 * `auto` (the default) the first where it can, the second for the rest (frames over the DUT
 * end's MTU or 3,392 bytes, generic-mode XDP and TC programs). A replay under `auto` sends XDP
 * frames only to a program that may grow them at the tail (`Program.growsTail`, or one another
 * tool attached): one frame per live-frames test run costs several socket sends.
 *
 * The two differ in more than cost. A frame sent by socket reaches the program in a buffer
 * veth copies it into, which on 6.18 is cut to the frame's size: `bpf_xdp_adjust_tail` can grow
 * it by at most the 0 to 63 bytes that rounding leaves. An XDP frame comes in a page, as most
 * NIC drivers and the unit engine give one, with room to grow it by up to about 3.5 KB.
 */
export type StreamVia = 'auto' | 'xdp' | 'socket';

/** How a run's frames went in (see StreamVia); `why` says why any went by socket under `auto`. */
export interface SentVia {
  readonly xdp: number;
  readonly socket: number;
  readonly why?: string;
}

export interface LiveRun {
  readonly port: string;
  readonly frames: readonly LiveFrameResult[];
  readonly counts: VerdictCounts;
  /** Frames that arrived but were not the output of an injected frame (e.g. the DUT's own replies). */
  readonly others: readonly LiveOutput[];
  /**
   * How each port's program was attached when the run began: e.g. "xdp xdp_ipv6_only on wan
   * (netns ...) (native), by BPF link", or "..., attached by another tool (XDP, generic mode)".
   */
  readonly attachments: Readonly<Record<string, string>>;
  /** Instructions executed per frame, when every frame has a count (see LiveFrameResult). */
  readonly instructions?: InstructionStats;
  /** How the frames went in: as XDP frames or by socket (see StreamVia). */
  readonly sent: SentVia;
}

/** How a live bench captures. */
export interface LiveBenchOptions {
  /**
   * Bytes of kernel queue behind each capture socket (default 8 MiB), and of the receive ring a
   * stream captures into (memory the kernel holds from a port's first stream while the bench
   * lives). Streams that outrun the capture lose frames, which is reported as CAPTURE_LOSS, never
   * as a verdict.
   */
  readonly captureBuffer?: number;
}
