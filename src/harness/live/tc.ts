// What following a TC program on a DUT end takes, on either hook: no counter says what TC
// returned, so a frame's fate is read from its consequences (one frame at a time), or, when
// streaming, from the watch probe following each skb of the stream's socket. The hooks'
// strategies are in tc-ingress.ts and tc-egress.ts.
import { NotSupportedError, XdpspecError } from '../../sys/errors.js';
import { type PacketSocket, until } from '../../net/index.js';
import type { Frame } from '../../packet/index.js';
import type { RedirectTarget, Verdict, VerdictCounts } from '../verdict.js';
import {
  closest,
  frameResult,
  landedOn,
  type BenchContext,
  type LiveResult,
  type PortState,
  type Sending,
  type Strategy,
} from './port.js';
import { type WatchProbe } from './probes.js';
import type { LiveOutput, StreamRun, StreamVia } from './results.js';
import { StreamCapture, type Tap } from './stream.js';

/**
 * The EtherType the kernel files a received frame under after it took out an outer VLAN tag
 * (skb->protocol): what a protocol handler socket must be bound to in order to get it.
 */
export function receivedProtocol(bytes: Uint8Array): number {
  const u16 = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
  let type = u16(12);
  let at = 14;
  if ((type === 0x8100 || type === 0x88a8) && bytes.length >= 18) {
    type = u16(16);
    at = 18;
  }
  if (type >= 0x600) return type;
  return bytes.length >= at + 2 && u16(at) === 0xffff ? 0x0001 : 0x0004; // ETH_P_802_3, ETH_P_802_2
}

export const STREAM_COUNTERS = [
  'stream_drops',
  'stream_consumes',
  'stream_frees',
  'stream_xmit_here',
  'stream_xmit_elsewhere',
  'stream_rx_here',
  'stream_rx_elsewhere',
] as const;
export type StreamCounts = Record<(typeof STREAM_COUNTERS)[number], number>;

/** A stream's fates so far: from the probe, and (TC ingress, passed) from the captures. */
export interface Fates {
  readonly passed: number;
  readonly dropped: number;
  readonly stolen: number;
  /** Redirects carried out (the frame went out of, or into, a device) and failed. */
  readonly redirected: number;
  readonly failed: number;
}

/** What TC ingress and egress share: the probes, the program's name, the stream's bookkeeping. */
export abstract class TcStrategy implements Strategy {
  abstract readonly mode: 'tc-ingress' | 'tc-egress';

  protected constructor(
    protected readonly bench: BenchContext,
    protected readonly src: PortState,
    protected readonly program: string,
    protected readonly probe: WatchProbe,
  ) {}

  begin(): void {}

  /**
   * A frame's fate once a sign is in, in this order: it was passed (`passed`, its output), it
   * was redirected to a port (an output `elsewhere`), the probe saw it dropped or stolen, or,
   * with no sign but a free, a redirect that failed. What else was `seen` goes to `others`.
   */
  protected settle(
    index: number,
    input: Frame,
    passed: LiveOutput | undefined,
    elsewhere: readonly LiveOutput[],
    probe: { dropped: boolean; stolen: boolean },
    seen: readonly LiveOutput[],
    others: LiveOutput[],
  ): LiveResult {
    let verdict: Verdict;
    let main = passed;
    let redirect: RedirectTarget | undefined;
    if (main) verdict = 'passed';
    else if (elsewhere.length) {
      verdict = 'redirected';
      main = closest(elsewhere, input.bytes);
      redirect = { ...landedOn(this.bench.topology, main), direction: main.side === 'tester' ? 'egress' : 'ingress' };
    } else if (probe.dropped) verdict = 'dropped';
    else if (probe.stolen) verdict = 'stolen';
    else {
      verdict = 'redirected';
      redirect = {
        known: false,
        reason: 'the redirect failed and the kernel freed the frame (no device with that ifindex, or it was down)',
      };
    }
    for (const x of seen) if (x !== main) others.push(x);
    return frameResult(this.src.name, this.program, index, input, verdict, main ? [main] : [], redirect);
  }

  abstract one(index: number, bytes: Buffer, others: LiveOutput[], sending: Sending): Promise<LiveResult>;

  /** The socket a stream sends from, the taps it reads, and where passed frames are captured. */
  protected abstract streamSetup(): {
    sender: PacketSocket;
    taps: Tap[];
    passedAt: string;
    perFrame?: (f: Uint8Array, cap: StreamCapture) => void;
  };

  /** The fates of a stream's frames, from the probe's counts since it began (`d`) and the capture. */
  protected abstract fates(d: (k: keyof StreamCounts) => number, cap: StreamCapture, passedAt: string): Fates;

  /**
   * Exact counts from the watch probe, which follows every skb of the stream's sending socket to
   * its fate (and, for TC ingress, the protocol handlers' captures of passed frames): no driver
   * counter says what TC returned, and fexit, which could read it, is refused on these kernels.
   * Every output the counts promise must be captured, and the capture must lose nothing.
   */
  async stream(chunks: AsyncIterable<readonly Uint8Array[]>, via: StreamVia): Promise<StreamRun> {
    const on = this.src.name;
    // TC runs on socket buffers: an XDP frame would meet the program only once made into one.
    if (via === 'xdp')
      throw new NotSupportedError(
        'streaming XDP frames',
        `port ${on}'s program is TC, which sees frames sent by socket: stream with { via: 'auto' } or 'socket'`,
      );
    const { sender, taps, passedAt, perFrame } = this.streamSetup();
    const cap = new StreamCapture(taps);
    const following = this.probe.follow(sender.cookie());
    try {
      const start = this.probe.read(STREAM_COUNTERS);
      const n = await cap.pump(chunks, (chunk) => sender.sendBatch(chunk), perFrame && ((f) => perFrame(f, cap)));
      let now = start;
      const d = (k: keyof StreamCounts) => now[k] - start[k];
      let f = this.fates(d, cap, passedAt);
      const sum = () => f.passed + f.dropped + f.stolen + f.redirected;
      // The probe's counters first, then the capture: a passed frame is in a protocol handler's
      // queue before anything the stack makes of it can reach another port.
      const settled = () => (
        (now = this.probe.read(STREAM_COUNTERS)),
        cap.take(),
        cap.checkLoss(),
        (f = this.fates(d, cap, passedAt)),
        sum() >= n
      );
      await until(
        settled,
        `a fate for each of the ${n} frames streamed through TC program ${this.program} on port ${on}`,
        10_000,
      ).catch((err: unknown) => {
        if (!(err instanceof XdpspecError) || err.code !== 'TIMEOUT') throw err;
        throw new XdpspecError(
          'LIVE_TC_NO_SIGN',
          `${err.message}: ${sum()} were accounted for (${f.passed} passed, ${f.dropped} dropped, ${f.stolen} stolen, ${f.redirected} redirected). A program that changes the EtherType or redirects outside the bench cannot be followed live; test such frames with runUnit`,
          { cause: err },
        );
      });
      const probed = f.dropped + f.stolen + f.redirected;
      if (probed > n)
        throw new XdpspecError(
          'LIVE_STRAY',
          `the probe counted ${probed} dropped, stolen or redirected frames for the ${n} streamed on port ${on}; something besides the bench sent from its socket, so the counts cannot be trusted; stream again with nothing else using the bench`,
        );
      // What protocol handlers got beyond what the counts leave room for is not the stream's.
      const counts: VerdictCounts = {
        passed: Math.min(f.passed, n - probed),
        dropped: f.dropped,
        tx: 0,
        redirected: f.redirected,
        aborted: 0,
        stolen: f.stolen,
      };
      const out = f.redirected - f.failed;
      return await cap.settle(
        on,
        counts,
        {
          here: (w) => w === passedAt,
          there: (w) => w !== passedAt,
          passed: counts.passed,
          out,
          what: `${counts.passed} passed at ${passedAt}, ${out} redirected`,
        },
        { xdp: 0, socket: n, ...(via === 'auto' ? { why: 'TC programs see frames sent by socket' } : {}) },
      );
    } finally {
      following.close();
      cap.close();
    }
  }

  close(): void {
    this.probe.close();
  }
}
