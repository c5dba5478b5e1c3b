// TC on a DUT end's egress: frames the DUT sends, which the bench makes it send.
import { XdpspecError } from '../../sys/errors.js';
import { PacketSocket, until } from '../../net/index.js';
import { parseFrame } from '../../packet/index.js';
import { closest, inject, type BenchContext, type LiveResult, type PortState, type Sending } from './port.js';
import { WatchProbe } from './probes.js';
import type { LiveOutput } from './results.js';
import type { Tap } from './stream.js';
import { TcStrategy, type Fates, type StreamCounts } from './tc.js';

/**
 * TC on egress: the program sees what the DUT sends out of the port. The bench makes the DUT send
 * each frame from a packet socket in the DUT's namespace (the injector; it goes through the
 * egress hook as any frame the DUT's stack sends), and each fate has a positive sign:
 * - passed: it comes out of the port, on the tester end, as TC left it;
 * - redirected: it comes out of another port's tester end (egress), or is seen entering a DUT
 *   end (BPF_F_INGRESS);
 * - dropped: the skb is freed with reason TC_EGRESS (TC_ACT_SHOT);
 * - stolen: the injector's skb is consumed on the device (TC_ACT_STOLEN, TRAP);
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

  async one(index: number, bytes: Buffer, others: LiveOutput[], sending: Sending): Promise<LiveResult> {
    const { src } = this;
    const events = () => {
      const g = this.probe.read(['tc_egress_drops', 'injected_consumes', 'injected_frees']);
      return { drops: g.tc_egress_drops, consumes: g.injected_consumes, frees: g.injected_frees };
    };
    const before = events();
    inject(this.injector, index, bytes, sending);
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
