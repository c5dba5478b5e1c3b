// Sending a port's frames in as XDP frames from its tester end (src/bpf/probes/inject.bpf.c):
// a live-frames test run of xdpspec's injector redirects each through a devmap holding the
// tester end, and veth hands it to the DUT end's receive path, where the program under test
// runs on it natively. A packet socket's send makes a socket buffer per frame, queues it and has
// veth turn it back into an XDP frame (a copy into a buffer cut to the frame's size, since a sent
// buffer lacks XDP's headroom): most of what a streamed frame cost, and what leaves a program
// almost no room to grow a frame at its tail (see StreamVia in results.ts).
import { XdpspecError } from '../../sys/errors.js';
import { inNetns, interfaceMtu } from '../../sys/netns.js';
import { loadObject, type LoadedObject, type Program } from '../../bpf/index.js';
import { probeObject } from '../../bpf/probe-objects.js';
import { DriverStats, until, type Topology } from '../../net/index.js';
import { queueStat as q } from './port.js';

/** inject.bpf.c's frame slots: how many, the bytes a frame may have, and one slot's stride. */
const SLOTS = 256;
export const SLOT_BYTES = 3392;
const STRIDE = 3400;
/** The test run's own frame, which the injector resizes to each frame's length. */
const TEMPLATE = Buffer.alloc(64);

export class XdpInjector {
  private readonly slots: Buffer;
  private readonly next: Buffer;
  private readonly count: Buffer;
  private readonly refused: Buffer;
  private readonly program: Program;
  /** The largest frame the DUT end takes from its peer this way (its MTU, a header, a VLAN tag). */
  private readonly maxLen: number;
  /** The tester end's counters after the last send (see send). */
  private testerNow: Record<string, number> | undefined;

  private constructor(
    private readonly obj: LoadedObject,
    private readonly tester: DriverStats,
    private readonly dut: DriverStats,
    /** The DUT end's MTU when the injector was made. */
    mtu: number,
  ) {
    const frames = obj.map('frames');
    const slots = obj.mapped(frames.fd, SLOTS * STRIDE);
    const next = obj.globalMemory('next');
    const count = obj.globalMemory('count');
    const refused = obj.globalMemory('refused');
    if (!slots || !next || !count || !refused)
      throw new XdpspecError('INJECT', "the injector's maps cannot be mapped into memory on this kernel");
    this.slots = slots;
    this.next = next;
    this.count = count;
    this.refused = refused;
    this.program = obj.program('inject');
    this.maxLen = Math.min(SLOT_BYTES, mtu + 14 + 4);
  }

  /**
   * An injector into `port`'s DUT end, or the reason there is none (then a stream sends from
   * the packet socket): the kernel lacks live-frames test runs (5.18+), or devmaps.
   */
  static open(topology: Topology, port: string, dut: DriverStats): XdpInjector | string {
    const p = topology.port(port);
    let obj: LoadedObject | undefined;
    let tester: DriverStats | undefined;
    try {
      obj = loadObject(probeObject('inject'), {}, { count: false });
      // A devmap entry names the device in the namespace it is written from: the tester's.
      const out = obj.map('out');
      inNetns(p.testerNetns, () => out.set(0, p.testerIfindex));
      tester = DriverStats.open(p.testerNetns, port);
      // veth hands its peer frames up to the peer's MTU (with a header and a VLAN tag).
      const mtu = inNetns(topology.dut, () => interfaceMtu(port));
      if (mtu === undefined) throw new Error(`cannot read the MTU of ${port} in ${topology.dut}`);
      const injector = new XdpInjector(obj, tester, dut, mtu);
      injector.probe();
      return injector;
    } catch (err) {
      tester?.close();
      obj?.close();
      return (err as Error).message;
    }
  }

  /** One empty run: the kernel refuses live-frames runs it does not have at the first. */
  private probe(): void {
    this.count.writeUInt32LE(0, 0);
    this.next.writeUInt32LE(0, 0);
    this.program.testRun(TEMPLATE, { liveFrames: true, repeat: 1 });
  }

  /** Whether every frame can go this way (at most a slot's bytes, and what the DUT end takes). */
  takes(frames: readonly Uint8Array[]): boolean {
    for (const f of frames) if (f.length > this.maxLen || f.length < 14) return false;
    return true;
  }

  /**
   * Sends `frames` into the DUT end, a slot's worth at a time. Before each, the DUT's XDP has
   * run on every frame sent so far (its counter says so): veth's ring towards it holds 256
   * frames, and one more than it can take is dropped there, so no more than that is ever in it.
   * With `waitForLast` false it returns once the last slot's worth is handed over (a replay
   * waits for its one frame itself, and says what to check when it never runs).
   * @throws XdpspecError `LIVE_LOST` when veth refused frames all the same (its transmit error
   *   count moved), `INJECT` when the injector could not make a frame.
   */
  async send(
    frames: readonly Uint8Array[],
    waitForLast = true,
    /** The DUT end's counters as the caller just read them, which saves reading them again. */
    dutNow?: Record<string, number>,
  ): Promise<void> {
    for (let start = 0; start < frames.length; start += SLOTS) {
      const n = Math.min(SLOTS, frames.length - start);
      for (let i = 0; i < n; i++) {
        const f = frames[start + i]!;
        const at = i * STRIDE;
        this.slots.writeUInt32LE(f.length, at);
        this.slots.set(f, at + 4);
      }
      // Only the injector sends XDP frames out of the tester end, so its counters as the last
      // send left them are as they are now (forgotten until this one completes).
      const before = this.testerNow ?? this.tester.read();
      this.testerNow = undefined;
      const ran = q(start === 0 && dutNow ? dutNow : this.dut.read(), 'xdp_packets');
      const refused = this.refused.readUInt32LE(0);
      this.next.writeUInt32LE(0, 0);
      this.count.writeUInt32LE(n, 0);
      // A run of many repeats: its first settles the injector in the XDP dispatcher (see
      // bpf/dispatcher.ts), or each would wait 24 ms for the dispatcher's changes.
      this.program.testRun(TEMPLATE, { liveFrames: true, repeat: n });
      const after = (this.testerNow = this.tester.read());
      const sent = xmit(after, 'xdp_xmit') - xmit(before, 'xdp_xmit');
      const failed = xmit(after, 'xdp_xmit_errors') - xmit(before, 'xdp_xmit_errors');
      const unmade = this.refused.readUInt32LE(0) - refused + n - Math.min(n, this.next.readUInt32LE(0));
      if (unmade > 0)
        throw new XdpspecError(
          'INJECT',
          `xdpspec's injector could not make ${unmade} of ${n} frames (the kernel refused to resize or write them, or ran it fewer times); send with { via: 'socket' }`,
        );
      if (failed > 0 || sent !== n)
        throw new XdpspecError(
          'LIVE_LOST',
          `veth refused ${n - sent} of ${n} frames handed to the DUT end (its queue towards the DUT was full, or the DUT end is down): they never reached the program, and nothing was counted for them. Run again, or send with { via: 'socket' }`,
        );
      if (!waitForLast && start + n >= frames.length) break;
      await until(
        () => q(this.dut.read(), 'xdp_packets') >= ran + n,
        `XDP on the DUT end running on the ${n} frames injected`,
        10_000,
      );
    }
  }

  close(): void {
    this.tester.close();
    this.obj.close();
  }
}

/** A counter of veth's transmit queues (XDP frames handed to the peer), summed over them. */
function xmit(s: Record<string, number>, name: string): number {
  let n = 0;
  for (const k in s) if (k.startsWith('tx_queue_') && k.endsWith(`_${name}`)) n += s[k]!;
  return n;
}
