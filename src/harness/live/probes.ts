// xdpspec's probe on a DUT port, as an object: tracepoints filtered to the port's device.
import { statSync } from 'node:fs';
import { loadObject, type LoadedObject } from '../../bpf/index.js';
import { probeObject } from '../../bpf/probe-objects.js';
import { closeAll, TraceLink } from '../../bpf/trace.js';
import type { Topology } from '../../net/index.js';
import type { LiveMode } from './port.js';

// Native mode needs only exceptions and failed redirects (veth counts neither apart), and
// kfree_skb fires all over the kernel, so each mode attaches only what it reads.
const TRACEPOINTS: Record<LiveMode, readonly (readonly [string, string])[]> = {
  // And kfree_skb: a frame XDP passed that the stack freed before any capture (see native.ts).
  native: [
    ['on_kfree_skb', 'kfree_skb'],
    ['on_exception', 'xdp_exception'],
    ['on_redirect_err', 'xdp_redirect_err'],
  ],
  generic: [
    ['on_kfree_skb', 'kfree_skb'],
    ['on_exception', 'xdp_exception'],
    ['on_redirect', 'xdp_redirect'],
    ['on_redirect_err', 'xdp_redirect_err'],
  ],
  'tc-ingress': [
    ['on_kfree_skb', 'kfree_skb'],
    ['on_consume_skb', 'consume_skb'],
  ],
  'tc-egress': [
    ['on_kfree_skb', 'kfree_skb'],
    ['on_consume_skb', 'consume_skb'],
  ],
};

/**
 * The probe that watches one port's DUT device only (src/bpf/probes/watch.bpf.c), attached to
 * the tracepoints its mode reads.
 */
export class WatchProbe {
  private constructor(
    private readonly obj: LoadedObject,
    private readonly links: TraceLink[],
  ) {}

  static open(topology: Topology, port: string, mode: LiveMode): WatchProbe {
    const obj = loadObject(probeObject('watch'), {}, { count: false });
    const links: TraceLink[] = [];
    try {
      obj.setGlobal('watched_ifindex', topology.port(port).dutIfindex);
      obj.setGlobal('watched_netns', Number(statSync(`/run/netns/${topology.dut}`).ino));
      for (const [prog, tp] of TRACEPOINTS[mode]) links.push(TraceLink.rawTracepoint(obj.program(prog), tp));
      return new WatchProbe(obj, links);
    } catch (err) {
      closeAll(links);
      obj.close();
      throw err;
    }
  }

  /** The socket whose frames count as injected (see watch.bpf.c), by its cookie. */
  setInjector(cookie: bigint): void {
    this.obj.setGlobal('injector_cookie', cookie);
  }

  /**
   * Follows every skb that `cookie`'s socket sends (see watch.bpf.c, "Streaming through TC")
   * until the returned handle is closed: the transmit and receive tracepoints fire for every
   * frame of the machine, so they are attached only while a stream needs them.
   */
  follow(cookie: bigint): { close(): void } {
    const links: TraceLink[] = [];
    try {
      this.obj.setGlobal('stream_cookie', cookie);
      links.push(TraceLink.rawTracepoint(this.obj.program('on_xmit'), 'net_dev_start_xmit'));
      links.push(TraceLink.rawTracepoint(this.obj.program('on_rx'), 'netif_rx'));
    } catch (err) {
      closeAll(links);
      throw err;
    }
    return {
      close: () => {
        closeAll(links);
        if (!this.obj.isClosed) this.obj.setGlobal('stream_cookie', 0n);
      },
    };
  }

  /** Readers of the probe's counters by the names they read, made once per list (polled per frame). */
  private readonly readers = new Map<string, () => Record<string, unknown>>();

  /** The probe's counters, as numbers. */
  read<N extends string>(names: readonly N[]): Record<N, number> {
    const key = names.join();
    let reader = this.readers.get(key);
    if (!reader) this.readers.set(key, (reader = this.obj.globalsReader(names)));
    const g = reader() as Record<N, unknown>;
    const out = {} as Record<N, number>;
    for (const n of names) out[n] = Number(g[n]);
    return out;
  }

  private freedReader: (() => Record<string, unknown>) | undefined;

  /**
   * How many skbs the device freed before any capture took them, and the last one's length and
   * first 64 bytes.
   */
  lastFreed(): { count: number; len: number; bytes: Buffer } {
    this.freedReader ??= this.obj.globalsReader(['uncaptured_frees', 'freed_len', 'freed_bytes']);
    const g = this.freedReader();
    const words = g.freed_bytes as readonly (bigint | number)[];
    const bytes = Buffer.alloc(8 * words.length);
    words.forEach((w, i) => bytes.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w)), 8 * i));
    return { count: Number(g.uncaptured_frees), len: Number(g.freed_len), bytes };
  }

  close(): void {
    try {
      closeAll(this.links);
    } finally {
      this.obj.close();
    }
  }
}
