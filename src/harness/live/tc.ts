// TC programs on a DUT end, ingress or egress. No counter says what TC returned, so a frame's
// fate is read from its consequences (one frame at a time), or, when streaming, from the return
// probe on the program itself.
import { XdpspecError } from '../../sys/errors.js';
import { PacketSocket, until } from '../../net/index.js';
import { parseFrame, type Frame } from '../../packet/index.js';
import type { RedirectTarget, Verdict, VerdictCounts } from '../verdict.js';
import { closest, frameResult, inject, landedOn, type BenchContext, type PortState, type Strategy } from './port.js';
import { WatchProbe } from './probes.js';
import type { LiveFrameResult, LiveOutput, StreamRun } from './results.js';
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

const STREAM_COUNTERS = [
  'stream_drops',
  'stream_consumes',
  'stream_frees',
  'stream_xmit_here',
  'stream_xmit_elsewhere',
  'stream_rx_here',
  'stream_rx_elsewhere',
] as const;
type StreamCounts = Record<(typeof STREAM_COUNTERS)[number], number>;

/** A stream's fates so far: from the probe, and (TC ingress, passed) from the captures. */
interface Fates {
  readonly passed: number;
  readonly dropped: number;
  readonly stolen: number;
  /** Redirects carried out (the frame went out of, or into, a device) and failed. */
  readonly redirected: number;
  readonly failed: number;
}

/** What TC ingress and egress share: the probes, the program's name, the stream's bookkeeping. */
abstract class TcStrategy implements Strategy {
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
  ): LiveFrameResult {
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

  abstract one(index: number, bytes: Buffer, others: LiveOutput[]): Promise<LiveFrameResult>;

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
  async stream(chunks: AsyncIterable<readonly Uint8Array[]>): Promise<StreamRun> {
    const on = this.src.name;
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
          `the probe counted ${probed} dropped, stolen or redirected frames for the ${n} streamed on port ${on}; something besides the bench sends from its socket, and the counts cannot be trusted`,
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
      const here = (w: string) => w === passedAt;
      const elsewhere = (w: string) => w !== passedAt;
      await until(
        () => (cap.take(), cap.checkLoss(), cap.total(here) >= counts.passed && cap.total(elsewhere) >= out),
        `the outputs the counts promise (${counts.passed} passed at ${passedAt}, ${out} redirected) being captured`,
        10_000,
      );
      cap.checkLoss();
      const extra = cap.total(here) - counts.passed + cap.total(elsewhere) - out;
      return { port: on, frames: n, counts, seen: cap.seen, unmatched: cap.unmatched, others: extra };
    } finally {
      following.close();
    }
  }

  close(): void {
    this.probe.close();
  }
}

/**
 * TC on ingress. The DUT end's capture saw the frame before TC ran (taps come first), so that
 * copy is the input, not an output. Every fate has its own positive sign instead, and the replay
 * waits for one:
 * - passed: a socket bound to the frame's EtherType on the DUT end (a protocol handler, run
 *   after TC) gets it, as TC left it;
 * - redirected: it arrives on the tester end of the target port (egress), or is seen entering
 *   the target's DUT end (BPF_F_INGRESS);
 * - dropped: the skb is freed with reason TC_INGRESS (TC_ACT_SHOT);
 * - stolen: it is consumed while no socket owns it (TC_ACT_STOLEN, QUEUED, TRAP);
 * - a redirect that failed: freed for another reason while no socket owns it.
 * The probe's counters are read before the sockets; a passed frame never moves them (see
 * src/bpf/probes/watch.bpf.c), so a sign on a socket wins.
 */
export class TcIngressStrategy extends TcStrategy {
  readonly mode = 'tc-ingress';
  /** Sockets bound to one EtherType each on the DUT end, which get frames after TC. */
  private readonly afterTc = new Map<number, PacketSocket>();

  static open(bench: BenchContext, src: PortState, program: string): TcIngressStrategy {
    return new TcIngressStrategy(bench, src, program, WatchProbe.open(bench.topology, src.name, 'tc-ingress'));
  }

  private handler(protocol: number): { socket: PacketSocket; fresh: boolean } {
    const s = this.afterTc.get(protocol);
    if (s) return { socket: s, fresh: false };
    const socket = PacketSocket.open(this.bench.topology.dut, this.src.name, { protocol });
    this.afterTc.set(protocol, socket);
    return { socket, fresh: true };
  }

  async one(index: number, bytes: Buffer, others: LiveOutput[]): Promise<LiveFrameResult> {
    const { src } = this;
    const protocol = receivedProtocol(bytes);
    this.handler(protocol);
    const readAfter = (into: LiveOutput[]) => {
      for (const s of this.afterTc.values())
        for (const f of s.receive()) into.push({ port: src.name, side: 'dut', frame: parseFrame(f) });
    };
    readAfter(others);
    const events = () => {
      const g = this.probe.read(['tc_drops', 'consumes', 'other_frees']);
      return { drops: g.tc_drops, consumes: g.consumes, frees: g.other_frees };
    };
    const before = events();
    inject(src.tester, index, bytes);
    const passedUp: LiveOutput[] = [];
    const seen: LiveOutput[] = [];
    let tap = false;
    let now = before;
    const elsewhere = (x: LiveOutput) => x.side === 'tester' || x.port !== src.name;
    const signed = () => {
      now = events();
      readAfter(passedUp);
      this.bench.collect(seen);
      if (!tap) {
        const i = seen.findIndex((x) => x.side === 'dut' && x.port === src.name && x.frame.bytes.equals(bytes));
        if (i >= 0) {
          seen.splice(i, 1);
          tap = true;
        }
      }
      return (
        passedUp.length > 0 ||
        now.drops > before.drops ||
        now.consumes > before.consumes ||
        now.frees > before.frees ||
        seen.some(elsewhere)
      );
    };
    await until(signed, `a sign of what TC program ${this.program} on port ${src.name} did with frame #${index}`).catch(
      (err: unknown) => {
        throw new XdpspecError(
          'LIVE_TC_NO_SIGN',
          `${(err as Error).message}: it was not passed up as EtherType 0x${protocol.toString(16).padStart(4, '0')}, redirected to a port, dropped, stolen or freed. A program that changes the EtherType (bpf_skb_change_proto, VLAN push or pop) or redirects outside the bench cannot be followed live; test such frames with runUnit`,
          { cause: err },
        );
      },
    );
    // The stack's answer to a passed frame (an echo reply, say) can reach a tester end while the
    // frame itself is on its way to the socket above TC; reading that socket again settles it.
    readAfter(passedUp);
    const input = parseFrame(bytes);
    let passed = passedUp.shift();
    // The kernel clears an outer VLAN tag before protocol handlers run; put the input's back
    // so the output shows what the program did, not what the stack did after it.
    if (passed && input.layers[1]?.name === 'vlan' && passed.frame.layers[1]?.name !== 'vlan')
      passed = {
        ...passed,
        frame: parseFrame(
          Buffer.concat([passed.frame.bytes.subarray(0, 12), bytes.subarray(12, 16), passed.frame.bytes.subarray(12)]),
        ),
      };
    const fate = { dropped: now.drops > before.drops, stolen: now.consumes > before.consumes };
    return this.settle(index, input, passed, seen.filter(elsewhere), fate, [...passedUp, ...seen], others);
  }

  protected streamSetup() {
    const on = this.src.name;
    const taps: Tap[] = this.bench.ports.flatMap((p) => [
      // The DUT end's tap of the port streamed into holds the inputs themselves (before TC).
      { socket: p.dut, where: `${p.name}/dut`, ignore: p === this.src },
      { socket: p.tester, where: `${p.name}/tester` },
    ]);
    for (const s of this.afterTc.values()) taps.push({ socket: s, where: `${on}/dut` });
    return {
      sender: this.src.tester,
      taps,
      passedAt: `${on}/dut`,
      // A protocol handler for each EtherType in the stream, opened before its first frame goes.
      perFrame: (f: Uint8Array, cap: StreamCapture) => {
        const h = this.handler(receivedProtocol(f));
        if (h.fresh) cap.add({ socket: h.socket, where: `${on}/dut` });
      },
    };
  }

  /**
   * Passed frames have no sign in the kernel a probe could read (the stack goes on with them),
   * so they are what the protocol handlers above TC captured; the rest is the probe's. A
   * redirect back out of the same port is transmitted by it.
   */
  protected fates(d: (k: keyof StreamCounts) => number, cap: StreamCapture, passedAt: string): Fates {
    const failed = d('stream_frees');
    return {
      passed: cap.total((w) => w === passedAt),
      dropped: d('stream_drops'),
      stolen: d('stream_consumes'),
      redirected: d('stream_xmit_here') + d('stream_xmit_elsewhere') + d('stream_rx_elsewhere') + failed,
      failed,
    };
  }

  override close(): void {
    for (const s of this.afterTc.values()) s.close();
    this.afterTc.clear();
    super.close();
  }
}

/**
 * TC on egress: the program sees what the DUT sends out of the port. The bench makes the DUT send
 * each frame from a packet socket in the DUT's namespace (the injector; it goes through the
 * egress hook as any frame the DUT's stack sends), and each fate has a positive sign:
 * - passed: it comes out of the port, on the tester end, as TC left it;
 * - redirected: it comes out of another port's tester end (egress), or is seen entering a DUT
 *   end (BPF_F_INGRESS);
 * - dropped: the skb is freed with reason TC_EGRESS (TC_ACT_SHOT);
 * - stolen: the injector's skb is consumed on the device (TC_ACT_STOLEN, QUEUED, TRAP);
 * - a redirect that failed: the injector's skb is freed on the device for another reason.
 */
export class TcEgressStrategy extends TcStrategy {
  readonly mode = 'tc-egress';

  private constructor(
    bench: BenchContext,
    src: PortState,
    program: string,
    probe: WatchProbe,
    private readonly injector: PacketSocket,
  ) {
    super(bench, src, program, probe);
  }

  static open(bench: BenchContext, src: PortState, program: string): TcEgressStrategy {
    const probe = WatchProbe.open(bench.topology, src.name, 'tc-egress');
    let injector: PacketSocket | undefined;
    try {
      // Bound to no EtherType: it sends, and receives nothing.
      injector = PacketSocket.open(bench.topology.dut, src.name, { protocol: 0, receiveBuffer: 4096, dropsOk: true });
      probe.setInjector(injector.cookie());
      return new TcEgressStrategy(bench, src, program, probe, injector);
    } catch (err) {
      injector?.close();
      probe.close();
      throw err;
    }
  }

  async one(index: number, bytes: Buffer, others: LiveOutput[]): Promise<LiveFrameResult> {
    const { src } = this;
    const events = () => {
      const g = this.probe.read(['tc_egress_drops', 'injected_consumes', 'injected_frees']);
      return { drops: g.tc_egress_drops, consumes: g.injected_consumes, frees: g.injected_frees };
    };
    const before = events();
    inject(this.injector, index, bytes);
    const seen: LiveOutput[] = [];
    let now = before;
    const out = (x: LiveOutput) => x.side === 'tester' && x.port === src.name;
    const elsewhere = (x: LiveOutput) => !out(x);
    await until(
      () => (
        (now = events()),
        this.bench.collect(seen),
        seen.length > 0 || now.drops > before.drops || now.consumes > before.consumes || now.frees > before.frees
      ),
      `a sign of what TC program ${this.program} on the egress of port ${src.name} did with frame #${index}`,
    ).catch((err: unknown) => {
      throw new XdpspecError(
        'LIVE_TC_NO_SIGN',
        `${(err as Error).message}: it did not leave through ${src.name}, was not redirected to a port, dropped, stolen or freed. A program that redirects outside the bench cannot be followed live; test such frames with runUnit`,
        { cause: err },
      );
    });
    const input = parseFrame(bytes);
    // A frame that left may already be answered by the tester's host (the answer enters the DUT
    // end): leaving the port is the sign that counts first.
    const left = seen.filter(out);
    const passed = left.length ? closest(left, bytes) : undefined;
    return this.settle(
      index,
      input,
      passed,
      seen.filter(elsewhere),
      { dropped: now.drops > before.drops, stolen: now.consumes > before.consumes },
      seen,
      others,
    );
  }

  protected streamSetup() {
    const on = this.src.name;
    return {
      sender: this.injector,
      taps: this.bench.ports.flatMap((p): Tap[] => [
        { socket: p.dut, where: `${p.name}/dut` },
        { socket: p.tester, where: `${p.name}/tester` },
      ]),
      passedAt: `${on}/tester`,
    };
  }

  /** Every fate from the probe: a frame that leaves through the port is transmitted by it. */
  protected fates(d: (k: keyof StreamCounts) => number): Fates {
    const failed = d('stream_frees');
    return {
      passed: d('stream_xmit_here'),
      dropped: d('stream_drops'),
      stolen: d('stream_consumes'),
      redirected: d('stream_xmit_elsewhere') + d('stream_rx_here') + d('stream_rx_elsewhere') + failed,
      failed,
    };
  }

  override close(): void {
    this.injector.close();
    super.close();
  }
}
