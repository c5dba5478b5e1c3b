// TC on a DUT end's ingress: frames injected from the tester end.
import { XdpspecError } from '../../sys/errors.js';
import { PacketSocket, until } from '../../net/index.js';
import { parseFrame } from '../../packet/index.js';
import {
  CapturedFrame,
  inject,
  outputBytes,
  type BenchContext,
  type LiveResult,
  type PortState,
  type Sending,
} from './port.js';
import { WatchProbe } from './probes.js';
import type { LiveOutput } from './results.js';
import type { StreamCapture, Tap } from './stream.js';
import { receivedProtocol, TcStrategy, type Fates, type StreamCounts } from './tc.js';

/**
 * TC on ingress. The DUT end's capture saw the frame before TC ran (taps come first), so that
 * copy is the input, not an output. Every fate has its own positive sign instead, and the replay
 * waits for one:
 * - passed: a socket bound to the frame's EtherType on the DUT end (a protocol handler, run
 *   after TC) gets it, as TC left it;
 * - redirected: it arrives on the tester end of the target port (egress), or is seen entering
 *   the target's DUT end (BPF_F_INGRESS);
 * - dropped: the skb is freed with reason TC_INGRESS (TC_ACT_SHOT);
 * - stolen: it is consumed while no socket owns it (TC_ACT_STOLEN, TRAP);
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

  async one(index: number, bytes: Buffer, others: LiveOutput[], sending: Sending): Promise<LiveResult> {
    const { src } = this;
    const protocol = receivedProtocol(bytes);
    this.handler(protocol);
    const readAfter = (into: LiveOutput[]) => {
      for (const s of this.afterTc.values())
        for (const f of s.receive()) into.push(new CapturedFrame(src.name, 'dut', f));
    };
    readAfter(others);
    const events = () => {
      const g = this.probe.read(['tc_drops', 'consumes', 'other_frees']);
      return { drops: g.tc_drops, consumes: g.consumes, frees: g.other_frees };
    };
    const before = events();
    inject(src.tester, index, bytes, sending);
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
        const i = seen.findIndex((x) => x.side === 'dut' && x.port === src.name && outputBytes(x).equals(bytes));
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
    if (passed && input.layers[1]?.name === 'vlan' && passed.frame.layers[1]?.name !== 'vlan') {
      const out = outputBytes(passed);
      passed = new CapturedFrame(
        passed.port,
        passed.side,
        Buffer.concat([out.subarray(0, 12), bytes.subarray(12, 16), out.subarray(12)]),
      );
    }
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
    for (const s of this.afterTc.values()) taps.push({ socket: s, where: `${on}/dut`, queued: true });
    return {
      sender: this.src.tester,
      taps,
      passedAt: `${on}/dut`,
      // A protocol handler for each EtherType in the stream, opened before its first frame goes.
      perFrame: (f: Uint8Array, cap: StreamCapture) => {
        const h = this.handler(receivedProtocol(f));
        if (h.fresh) cap.add({ socket: h.socket, where: `${on}/dut`, queued: true });
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
