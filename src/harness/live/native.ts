// XDP in native (driver) mode: veth's XDP counters say what became of each frame, and the
// watch probe tells aborts from drops and finds failed redirects.
import { NotSupportedError, XdpspecError } from '../../sys/errors.js';
import { errnoName } from '../../sys/errno.js';
import { until } from '../../net/index.js';
import type { RedirectTarget, Verdict, VerdictCounts } from '../verdict.js';
import {
  closest,
  frameResult,
  inject,
  landedOn,
  queueStat as q,
  type BenchContext,
  type LiveResult,
  type PortState,
  type Sending,
  type Strategy,
} from './port.js';
import { WatchProbe } from './probes.js';
import { SLOT_BYTES, XdpInjector } from './inject.js';
import type { LiveOutput, StreamRun, StreamVia } from './results.js';
import { StreamCapture } from './stream.js';

interface ProbeCounts {
  exceptions: number;
  redirectErrors: number;
  /** skbs the device freed before any capture took them (see watch.bpf.c). */
  uncapturedFrees: number;
}

export class NativeStrategy implements Strategy {
  readonly mode = 'native';
  /** The probe's counts as last read: read again only when a driver counter says something needs them. */
  private seen: ProbeCounts = { exceptions: 0, redirectErrors: 0, uncapturedFrees: 0 };

  private constructor(
    private readonly bench: BenchContext,
    private readonly src: PortState,
    private readonly program: string,
    private readonly probe: WatchProbe,
  ) {}

  static open(bench: BenchContext, src: PortState, program: string): NativeStrategy {
    return new NativeStrategy(bench, src, program, WatchProbe.open(bench.topology, src.name, 'native'));
  }

  /**
   * Whether the device freed an skb no capture took since the last such free a frame was told
   * by, and it was `bytes`: then that frame is told by it (and the next needs a free of its own).
   */
  private freed(bytes: Buffer): boolean {
    // The count first (one word of mapped memory): the bytes are read only once it moved.
    if (this.probe.read(['uncaptured_frees']).uncaptured_frees <= this.seen.uncapturedFrees) return false;
    const f = this.probe.lastFreed();
    if (f.count <= this.seen.uncapturedFrees || f.len !== bytes.length) return false;
    const n = Math.min(bytes.length, f.bytes.length);
    if (!f.bytes.subarray(0, n).equals(bytes.subarray(0, n))) return false;
    this.seen.uncapturedFrees = f.count;
    return true;
  }

  private probeCounts(): ProbeCounts {
    const g = this.probe.read(['exceptions', 'redirect_errors', 'uncaptured_frees']);
    return { exceptions: g.exceptions, redirectErrors: g.redirect_errors, uncapturedFrees: g.uncaptured_frees };
  }

  begin(): void {
    this.seen = this.probeCounts();
  }

  /** Where a failed redirect went, from the probe's record of the kernel's xdp_redirect_err. */
  private failedRedirect(): RedirectTarget {
    const g = this.probe.read(['redirect_error_index', 'redirect_error_errno', 'redirect_error_map_id']);
    const index = g.redirect_error_index;
    const why = errnoName(g.redirect_error_errno);
    // The kernel reports map id INT_MAX (or 0) for a redirect that went through no map.
    const mapId = g.redirect_error_map_id;
    if (mapId !== 0 && mapId < 0x7fffffff)
      return {
        known: false,
        reason: `the redirect through map id ${mapId}, key ${index}, failed (${why}) and the frame was freed`,
      };
    return {
      known: true,
      ifindex: index,
      error: `the redirect failed with ${why}: no device with ifindex ${index} in the DUT's network namespace, or it cannot take frames; the frame was freed`,
    };
  }

  async one(index: number, bytes: Buffer, others: LiveOutput[], sending: Sending): Promise<LiveResult> {
    const { src } = this;
    const on = src.name;
    const before = src.stats.read();
    // The two ways differ only for a program that grows frames at the tail (see StreamVia); an
    // XDP frame costs a live-frames test run (about 25 us here), a socket's send about 4.
    // Whether a program another tool attached may grow them is not known here.
    const grows = src.program?.source?.growsTail ?? true;
    const injector = sending.via === 'xdp' || (sending.via === 'auto' && grows) ? this.injector() : undefined;
    if (typeof injector === 'object' && injector.takes([bytes])) {
      await injector.send([bytes], false, before).catch((err: unknown) => {
        if (!(err instanceof XdpspecError) || err.code !== 'LIVE_LOST') throw err;
        throw new XdpspecError(
          'LIVE_LOST',
          `veth refused frame #${index} as an XDP frame into the DUT end of port ${on}; it takes XDP frames only into an end with an XDP program in native mode. Check that the program is still attached to ${on} in native mode (not detached, nor replaced by a generic-mode one: ip -n ${this.bench.topology.dut} link show dev ${on})`,
          { cause: err },
        );
      });
      sending.xdp++;
    } else {
      // Said once a run: not worth a string per frame.
      const why = () =>
        !injector
          ? `${this.program} grows no frame at the tail (it calls no bpf_xdp_adjust_tail), so a socket's send gives the same for less`
          : typeof injector === 'string'
            ? injector
            : `frames over the DUT end's MTU or ${SLOT_BYTES} bytes go by socket`;
      if (sending.via === 'xdp')
        throw new XdpspecError(
          'INJECT',
          `frame #${index} cannot go to port ${on} as an XDP frame (${why()}): replay with { via: 'auto' } or 'socket'`,
        );
      if (sending.via === 'auto') sending.why ??= why();
      inject(src.tester, index, bytes, sending);
    }
    let after = before;
    await until(
      () => q((after = src.stats.read()), 'xdp_packets') >= q(before, 'xdp_packets') + 1,
      `XDP on port ${on} running on frame #${index}`,
    ).catch((err: unknown) => {
      throw new XdpspecError(
        'TIMEOUT',
        `${(err as Error).message}: the driver counted no XDP run for it. Check that the program is still attached to ${on} in native mode (not detached, nor replaced by a generic-mode one: ip -n ${this.bench.topology.dut} link show dev ${on}), and that the frame fits the port's MTU`,
      );
    });
    const d = (n: string) => q(after, n) - q(before, n);
    if (d('xdp_packets') > 1) {
      throw new XdpspecError(
        'LIVE_STRAY',
        `while frame #${index} was injected, ${d('xdp_packets') - 1} other frame(s) reached XDP on port ${on}, so its verdict cannot be told from the counters; something besides the bench sends into the DUT (the tester's kernel answering ARP or ND, say: give both ends addresses so the bench sets static neighbours)`,
      );
    }
    let verdict: Verdict;
    if (d('xdp_drops') > 0) {
      // veth counts XDP_ABORTED as an xdp_drop; only the exception tracepoint tells them apart.
      const now = this.probeCounts();
      verdict = now.exceptions > this.seen.exceptions ? 'aborted' : 'dropped';
      this.seen = now;
    } else if (d('xdp_tx') > 0) verdict = 'tx';
    else if (d('xdp_redirect') > 0) verdict = 'redirected';
    else if (d('xdp_tx_errors') > 0)
      throw new XdpspecError(
        'LIVE_LOST',
        `frame #${index} was sent back or redirected into a device that could not take it (xdp_tx_errors)`,
      );
    else if (d('drops') > 0 && this.probeCounts().redirectErrors > this.seen.redirectErrors) {
      // XDP_REDIRECT to a target that does not exist or cannot take frames: veth frees the frame
      // and counts it only as a drop outside XDP's counters; the kernel's redirect-error event
      // (read only then) says it was one, and where it was going.
      this.seen = this.probeCounts();
      return frameResult(on, this.program, index, bytes, 'redirected', [], this.failedRedirect());
    } else verdict = 'passed';
    // The frame's output is what arrives where its verdict sends it; anything else seen
    // meanwhile (the DUT's own reply, say) is not its output and goes to `others`.
    const outputs: LiveOutput[] = [];
    if (verdict === 'passed' || verdict === 'tx' || verdict === 'redirected') {
      const want = (x: LiveOutput) =>
        verdict === 'passed'
          ? x.side === 'dut' && x.port === on
          : verdict === 'tx'
            ? x.side === 'tester' && x.port === on
            : x.side === 'tester';
      const seen: LiveOutput[] = [];
      // A frame XDP passed may be freed by the stack before any capture sees it (a VLAN header
      // cut short: skb_vlan_untag frees it): then the probe's last such free on the device is it.
      const freedHere = () => verdict === 'passed' && this.freed(bytes);
      let freed = false;
      await until(
        () => (this.bench.collect(seen), seen.some(want) || (freed = freedHere())),
        `the output of frame #${index} (${verdict})`,
      );
      // Whatever the capture got before the free is queued by now: a frame the IP layer drops
      // after the taps saw it is freed after them, so its output is seen, not taken for gone.
      this.bench.collect(seen);
      if (seen.some(want)) freed = false;
      if (freed) {
        others.push(...seen);
        const r = frameResult(on, this.program, index, bytes, 'passed', [], undefined);
        r.freedByKernel = true;
        return r;
      }
      const main = closest(seen.filter(want), bytes);
      for (const x of seen) (x === main ? outputs : others).push(x);
    }
    return frameResult(
      on,
      this.program,
      index,
      bytes,
      verdict,
      outputs,
      verdict === 'redirected' && outputs[0] ? landedOn(this.bench.topology, outputs[0]) : undefined,
    );
  }

  /**
   * The verdict counts are exact: the driver's counters, the exception probe for aborts, the
   * redirect-error event for failed redirects. Every output the counters promise must be captured.
   */
  async stream(chunks: AsyncIterable<readonly Uint8Array[]>, via: StreamVia): Promise<StreamRun> {
    const { src } = this;
    const on = src.name;
    const injector = via === 'socket' ? 'the stream was asked to send by socket' : this.injector();
    if (via === 'xdp' && typeof injector === 'string')
      throw new NotSupportedError(
        'streaming XDP frames',
        `port ${on} cannot be sent XDP frames from its tester end here (${injector}): stream with { via: 'auto' } or 'socket'`,
      );
    const sent = { xdp: 0, socket: 0, why: typeof injector === 'string' ? injector : undefined };
    const send = async (chunk: readonly Uint8Array[]) => {
      if (typeof injector !== 'string' && injector.takes(chunk)) {
        await injector.send(chunk);
        sent.xdp += chunk.length;
        return;
      }
      if (via === 'xdp')
        throw new XdpspecError(
          'INJECT',
          `a frame of this stream cannot go to port ${on} as an XDP frame (over the DUT end's MTU, over ${SLOT_BYTES} bytes, or under 14): stream with { via: 'auto' } to send such frames by socket`,
        );
      src.tester.sendBatch(chunk);
      sent.socket += chunk.length;
      if (typeof injector !== 'string') sent.why = `frames over the DUT end's MTU or ${SLOT_BYTES} bytes go by socket`;
    };
    const cap = new StreamCapture(
      this.bench.ports.flatMap((p) => [
        { socket: p.dut, where: `${p.name}/dut` },
        { socket: p.tester, where: `${p.name}/tester` },
      ]),
    );
    try {
      const before = src.stats.read();
      const start = this.probeCounts();
      const n = await cap.pump(chunks, send);
      let after = before;
      await until(
        () => (cap.take(), q((after = src.stats.read()), 'xdp_packets') - q(before, 'xdp_packets') >= n),
        `XDP on port ${on} running on all ${n} frames`,
        10_000,
      );
      const d = (k: string) => q(after, k) - q(before, k);
      if (d('xdp_packets') > n)
        throw new XdpspecError(
          'LIVE_STRAY',
          `${d('xdp_packets') - n} frame(s) besides the ${n} streamed reached XDP on port ${on}, so the counts cannot be trusted; something besides the bench sends into the DUT (give both ends of the port addresses, so the bench sets static neighbours) - stream again once it does not`,
        );
      const end = this.probeCounts();
      const aborted = end.exceptions - start.exceptions;
      // Failed redirects are in no XDP counter of veth's: the redirect-error event counts them.
      const failedRedirects = end.redirectErrors - start.redirectErrors;
      this.seen = end;
      const counts: VerdictCounts = {
        passed: n - d('xdp_drops') - d('xdp_tx') - d('xdp_redirect') - d('xdp_tx_errors') - failedRedirects,
        dropped: d('xdp_drops') - aborted,
        tx: d('xdp_tx'),
        redirected: d('xdp_redirect') + failedRedirects,
        aborted,
        stolen: 0,
      };
      if (d('xdp_tx_errors') > 0)
        throw new XdpspecError(
          'LIVE_LOST',
          `${d('xdp_tx_errors')} frame(s) were sent back or redirected into a device that could not take them (xdp_tx_errors)`,
        );
      const out = counts.tx + counts.redirected - failedRedirects;
      return await cap.settle(
        on,
        counts,
        {
          here: (w) => w === `${on}/dut`,
          there: (w) => w.endsWith('/tester'),
          passed: counts.passed,
          out,
          what: `${counts.passed} passed on ${on}, ${out} sent out`,
        },
        { xdp: sent.xdp, socket: sent.socket, ...(sent.socket > 0 && sent.why ? { why: sent.why } : {}) },
      );
    } finally {
      cap.close();
    }
  }

  /** The port's injector, made at the first stream (or why there is none, kept as the answer). */
  private injector(): XdpInjector | string {
    return (this.madeInjector ??= XdpInjector.open(this.bench.topology, this.src.name, this.src.stats));
  }

  private madeInjector: XdpInjector | string | undefined;

  close(): void {
    if (typeof this.madeInjector === 'object') this.madeInjector.close();
    this.madeInjector = undefined;
    this.probe.close();
  }
}
