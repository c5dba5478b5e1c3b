import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BpfError, XdpspecError } from '../errors.js';
import { attachTc, attachXdp, inNetns, loadObject, type Attachment, type BpfMap, type LoadedObject, type Program, type TcDirection, type XdpMode } from '../bpf/index.js';
import { PROG_TYPE } from '../bpf/kinds.js';
import { probeObject } from '../bpf/probe-objects.js';
import { recordDeviceWrite } from '../bpf/device-writes.js';
import { errno, ffi, type Ptr } from '../bpf/ffi.js';
import { errnoName } from '../bpf/map.js';
import { DriverStats, PacketSocket, Topology, until, type TopologySpec } from '../net/index.js';
import { diffFrames, parseFrame, summarize, type FieldChange, type Frame } from '../packet/index.js';
import { CaptureReader } from '../pcap/index.js';
import { collectFrames, frameBytes, type FrameSource, type Step } from './frames.js';
import { countVerdicts, type RedirectTarget, type Verdict, type VerdictCounts } from './verdict.js';


/** A frame seen on a port after an injection. `side` is where it was captured. */
export interface LiveOutput {
  readonly port: string;
  /** `dut`: on the DUT end, i.e. passed up by XDP; `tester`: came out of the DUT through this port. */
  readonly side: 'dut' | 'tester';
  readonly frame: Frame;
}

export interface LiveFrameResult {
  readonly index: number;
  readonly program: string;
  /** The port it was injected on. */
  readonly port: string;
  readonly input: Frame;
  readonly verdict: Verdict;
  /** The frame as it left the program: on the DUT end (passed), back out (tx) or out of another port (redirected). */
  readonly output: Frame | undefined;
  readonly outputs: readonly LiveOutput[];
  readonly changes: readonly FieldChange[];
  readonly redirect: RedirectTarget | undefined;
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
}

/** How a live bench captures. */
export interface LiveBenchOptions {
  /**
   * Bytes of kernel queue behind each capture socket (default 8 MiB). Streams that outrun the
   * capture lose frames, which is reported as CAPTURE_LOSS, never as a verdict.
   */
  readonly captureBuffer?: number;
}

interface PortState {
  readonly name: string;
  readonly tester: PacketSocket;
  readonly dut: PacketSocket;
  readonly stats: DriverStats;
  /** TC ports: sockets bound to one EtherType each on the DUT end, which get frames after TC. */
  readonly afterTc: Map<number, PacketSocket>;
  /** `mode`: how an XDP program is attached, or `tc` for a TC program on ingress; it says what to read. */
  program?: { name: string; source?: Program; mode: LiveMode; attachment: Attachment; probe: LoadedObject; links: Ptr[] };
}

type LiveMode = 'native' | 'generic' | 'tc';

const q = (s: Record<string, number>, n: string) => s[`rx_queue_0_${n}`] ?? 0;

/** What a native port's probe has counted (see src/bpf/probes/watch.bpf.c). */
interface ProbeCounts {
  exceptions: number;
  redirectErrors: number;
}

const probeCounts = (src: PortState): ProbeCounts => {
  const g = src.program!.probe.globalValues(['exceptions', 'redirect_errors']);
  return { exceptions: Number(g.exceptions), redirectErrors: Number(g.redirect_errors) };
};

/** How many of the frames sent last a streamed output is matched against (see `stream`). */
const STREAM_WINDOW = 8192;

/**
 * Of the frames seen where an output was due, the one that is the output. The host it reached
 * may already have answered it (an ICMP port unreachable coming back through the DUT), and both
 * can turn up in one poll; programs rewrite a few fields, so the output is the frame of the
 * input's length that differs from it in the fewest bytes (the first seen when none has its length).
 */
function closest(candidates: readonly LiveOutput[], input: Buffer): LiveOutput {
  let best = candidates[0]!;
  let fewest = Infinity;
  for (const c of candidates) {
    const b = c.frame.bytes;
    if (b.length !== input.length) continue;
    let d = 0;
    for (let i = 0; i < b.length; i++) if (b[i] !== input[i]) d++;
    if (d < fewest) (fewest = d), (best = c);
  }
  return best;
}

/** Sends frame #index from the port's tester end, naming the frame when the kernel refuses it. */
function inject(src: PortState, index: number, bytes: Buffer): void {
  try {
    src.tester.send(bytes);
  } catch (err) {
    throw new XdpspecError('INJECT', `frame #${index} (${summarize(parseFrame(bytes))}): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The EtherType the kernel files a received frame under after it took out an outer VLAN tag
 * (skb->protocol): what a protocol handler socket must be bound to in order to get it.
 */
function receivedProtocol(bytes: Buffer): number {
  let type = bytes.readUInt16BE(12);
  let at = 14;
  if ((type === 0x8100 || type === 0x88a8) && bytes.length >= 18) (type = bytes.readUInt16BE(16)), (at = 18);
  if (type >= 0x600) return type;
  return bytes.length >= at + 2 && bytes.readUInt16BE(at) === 0xffff ? 0x0001 : 0x0004; // ETH_P_802_3, ETH_P_802_2
}

/**
 * A live bench: a topology whose tester ends carry xdpspec's pass-through XDP program (so
 * frames sent back or redirected into them are delivered), capture sockets on both ends of
 * every port, and veth's XDP counters on the DUT ends. `replay` injects frames one at a time
 * and knows each frame's fate from those counters, not from waiting; only the outputs the
 * counters promise are waited for.
 *
 * Native mode reads veth's XDP counters; generic (skb) mode, which the driver does not count,
 * reads a probe's events instead (see `oneGeneric`). Streaming is native only.
 */
export class LiveBench {
  private closed = false;
  private constructor(
    readonly topology: Topology,
    private readonly pass: LoadedObject,
    private readonly ports: Map<string, PortState>,
  ) {}

  /** @throws XdpspecError `TOPOLOGY` for a bad spec; BpfError when the pass-through cannot attach. */
  static async create(spec: TopologySpec, options: LiveBenchOptions = {}): Promise<LiveBench> {
    const buf = options.captureBuffer;
    if (buf !== undefined && (!Number.isInteger(buf) || buf < 1 || buf > 1 << 30)) throw new XdpspecError('LIVE_OPTIONS', `captureBuffer must be a whole number of bytes from 1 to 1 GiB, got ${String(buf)}`);
    const sock = buf === undefined ? {} : { receiveBuffer: buf };
    const topology = await Topology.create(spec);
    let pass: LoadedObject | undefined;
    const ports = new Map<string, PortState>();
    try {
      pass = loadObject(probeObject('pass'));
      for (const [name, port] of topology.ports) {
        attachXdp(pass.program(), { interface: name, netns: port.testerNetns }, 'native');
        ports.set(name, {
          name,
          tester: PacketSocket.open(port.testerNetns, name, sock),
          dut: PacketSocket.open(topology.dut, name, sock),
          stats: DriverStats.open(topology.dut, name),
          afterTc: new Map(),
        });
      }
      return new LiveBench(topology, pass, ports);
    } catch (err) {
      for (const p of ports.values()) (p.tester.close(), p.dut.close());
      topology.close();
      pass?.close();
      throw err;
    }
  }

  private port(name: string): PortState {
    const p = this.ports.get(name);
    if (!p) throw new XdpspecError('NO_PORT', `port ${JSON.stringify(name)} does not exist; ports: ${[...this.ports.keys()].join(', ')}`);
    return p;
  }

  /**
   * Attaches a program to a port's DUT end (one program per port; attaching another replaces
   * it, attaching the same one again in the same mode changes nothing): an XDP program in
   * `mode`, or a TC (sched_cls) program on the port's ingress hook.
   */
  attach(program: Program, portName: string, mode: 'native' | 'generic' = 'native'): Attachment {
    if (program.typeId === PROG_TYPE.sched_cls) return this.attachTc(program, portName);
    if ((mode as XdpMode) === 'auto') throw new XdpspecError('LIVE_MODE', `live runs need to know the mode (native or generic): they read different counters; 'auto' does not say`);
    return this.attachWatched(program, portName, mode, () => attachXdp(program, { interface: portName, netns: this.topology.dut }, mode));
  }

  /**
   * Attaches a TC (sched_cls, direct-action) program to the clsact ingress hook of a port's DUT
   * end. Each frame's fate is read from its consequences, since no counter says what TC
   * returned: see `oneTc`. Ingress only: frames enter the DUT from the tester; an egress
   * program sees what the DUT's own stack sends, which the bench does not inject.
   */
  attachTc(program: Program, portName: string, direction: TcDirection = 'ingress'): Attachment {
    if (direction !== 'ingress') throw new XdpspecError('LIVE_TC_EGRESS', `live benches run TC programs on ingress only (frames are injected from the tester end); test ${program.name} on egress with the unit engine (runUnit)`);
    return this.attachWatched(program, portName, 'tc', () => attachTc(program, { interface: portName, netns: this.topology.dut }, 'ingress'));
  }

  /**
   * Replaces what is on the port with `attach()`'s attachment and the probe its mode needs. The
   * same program already there in the same mode stays as it is (runs of steps attach each time).
   */
  private attachWatched(program: Program, portName: string, mode: LiveMode, attach: () => Attachment): Attachment {
    const p = this.port(portName);
    if (p.program?.source === program && p.program.mode === mode) return p.program.attachment;
    this.detach(portName);
    const attachment = attach();
    try {
      p.program = { name: program.name, source: program, mode, attachment, ...this.probeFor(portName, mode) };
    } catch (err) {
      attachment.detach();
      throw err;
    }
    return attachment;
  }

  /**
   * Points entry `key` of a device map (devmap, devmap_hash) at a port's DUT end. The kernel
   * resolves the ifindex in the namespace of whoever updates the map, and the same number in the
   * caller's namespace is another device (possibly the machine's real interface), so the update
   * is made inside the DUT namespace.
   */
  setDeviceMap(map: BpfMap, key: unknown, portName: string): void {
    const port = this.topology.port(portName);
    inNetns(this.topology.dut, () => map.set(key, port.dutIfindex));
    recordDeviceWrite(map.id, map.keyCodec.encode(key), { netns: this.topology.dut, port: portName });
  }

  /**
   * For programs attached by another tool (e.g. `xdp-filter load`): xdpspec only watches the
   * port (its counters and exception tracepoint) and replays; `name` is used in messages.
   * The program must run in native mode for its verdicts to be counted.
   */
  attachedElsewhere(portName: string, name: string): void {
    const p = this.port(portName);
    this.detach(portName);
    const mode = this.attachedMode(portName, name);
    const noop: Attachment = { description: `${name} on ${portName}, attached by another tool (${mode === 'tc' ? 'TC ingress' : `XDP, ${mode} mode`})`, detach: () => undefined };
    p.program = { name, mode, attachment: noop, ...this.probeFor(portName, mode) };
  }

  /** Where a failed redirect went, from the probe's record of the kernel's xdp_redirect_err. */
  private failedRedirect(src: PortState): RedirectTarget {
    const g = src.program!.probe.globalValues(['redirect_error_index', 'redirect_error_errno', 'redirect_error_map_id']);
    const index = Number(g.redirect_error_index);
    const why = errnoName(Number(g.redirect_error_errno));
    // The kernel reports map id INT_MAX (or 0) for a redirect that went through no map.
    const mapId = Number(g.redirect_error_map_id);
    if (mapId !== 0 && mapId < 0x7fffffff) return { known: false, reason: `the redirect through map id ${mapId}, key ${index}, failed (${why}) and the frame was freed` };
    return { known: true, ifindex: index, error: `the redirect failed with ${why}: no device with ifindex ${index} in the DUT's network namespace, or it cannot take frames; the frame was freed` };
  }

  /**
   * How a program another tool attached sits on the DUT end of `portName`, read from the kernel
   * (iproute2's JSON): XDP in native (driver) or generic (skb) mode, or TC on ingress. Each is
   * observed its own way, so guessing would time out on the first frame.
   * @throws XdpspecError `ATTACH_COMMAND` when nothing is attached there.
   */
  private attachedMode(portName: string, tool: string): LiveMode {
    const ns = this.topology.dut;
    const link = spawnSync('ip', ['-j', '-n', ns, 'link', 'show', 'dev', portName], { encoding: 'utf8' });
    const xdp = (JSON.parse(link.stdout || '[]') as { xdp?: { mode?: number } }[])[0]?.xdp;
    if (xdp?.mode === 1) return 'native';
    if (xdp?.mode === 2) return 'generic';
    if (xdp?.mode === 3) throw new XdpspecError('ATTACH_COMMAND', `${tool} attached its program to ${portName} in offload mode, which a veth cannot run; attach in native (driver) or generic (skb) mode`);
    const tc = spawnSync('tc', ['-j', '-n', ns, 'filter', 'show', 'dev', portName, 'ingress'], { encoding: 'utf8' });
    if ((JSON.parse(tc.stdout || '[]') as unknown[]).length > 0) return 'tc';
    throw new XdpspecError(
      'ATTACH_COMMAND',
      `${tool} exited without attaching anything to ${portName}: no XDP program on it and no TC filter on its ingress; check that the command names the interface as $PORT and attaches (for XDP, e.g. "ip link set dev $PORT xdp obj prog.o sec xdp")`,
    );
  }

  /**
   * The probe that watches this port's DUT device only (src/bpf/probes/watch.bpf.c). Native:
   * xdp_exception, since veth counts XDP_ABORTED and XDP_DROP both as xdp_drops. Generic: the
   * driver counts nothing, so frees, exceptions and redirect events.
   */
  private probeFor(portName: string, mode: LiveMode): { probe: LoadedObject; links: Ptr[] } {
    const probeObj = loadObject(probeObject('watch'));
    const links: Ptr[] = [];
    try {
      probeObj.setGlobal('watched_ifindex', this.topology.port(portName).dutIfindex);
      probeObj.setGlobal('watched_netns', Number(statSync(`/run/netns/${this.topology.dut}`).ino));
      // Native mode attaches only exceptions and failed redirects (veth counts neither apart):
      // kfree_skb fires all over the kernel.
      const tps =
        mode === 'generic'
          ? [['on_kfree_skb', 'kfree_skb'], ['on_exception', 'xdp_exception'], ['on_redirect', 'xdp_redirect'], ['on_redirect_err', 'xdp_redirect_err']]
          : mode === 'tc'
            ? [['on_kfree_skb', 'kfree_skb'], ['on_consume_skb', 'consume_skb']]
            : [['on_exception', 'xdp_exception'], ['on_redirect_err', 'xdp_redirect_err']];
      for (const [prog, tp] of tps) {
        const link = ffi().bpf_program__attach_raw_tracepoint(probeObj.program(prog).handle, tp!);
        if (link === 0n) throw new BpfError(`attach raw tracepoint ${tp}`, errno(), errnoName(errno()));
        links.push(link);
      }
      return { probe: probeObj, links };
    } catch (err) {
      for (const l of links) ffi().bpf_link__destroy(l);
      probeObj.close();
      throw err;
    }
  }

  /** Takes the program (and xdpspec's probe for it) off a port; nothing happens when there is none. */
  detach(portName: string): void {
    const p = this.port(portName);
    if (!p.program) return;
    for (const l of p.program.links) ffi().bpf_link__destroy(l);
    p.program.probe.close();
    p.program.attachment.detach();
    p.program = undefined;
    for (const s of p.afterTc.values()) s.close();
    p.afterTc.clear();
  }

  /**
   * The program on a port, when it can run frames: there is one, and its object is still open
   * (closing an object unloads its programs, and counters that will not move would only time out).
   */
  private liveProgram(p: PortState, doing: 'replaying' | 'streaming'): NonNullable<PortState['program']> {
    if (!p.program) throw new XdpspecError('NO_PROGRAM', `no XDP program is attached to port ${p.name}; attach one before ${doing}`);
    if (p.program.source?.object.isClosed) throw new XdpspecError('NO_PROGRAM', `the program on port ${p.name} (${p.program.name}) went when its object was closed; attach a loaded one before ${doing}`);
    return p.program;
  }

  /** Where a frame captured out of a port's tester end (or entering its DUT end) was redirected to. */
  private landedOn(out: LiveOutput): RedirectTarget & { known: true } {
    return { known: true, port: out.port, ifindex: this.topology.port(out.port).dutIfindex };
  }

  /** One frame's result, the same in every mode: `outputs[0]` is its output. */
  private result(src: PortState, index: number, input: Frame, verdict: Verdict, outputs: LiveOutput[], redirect: RedirectTarget | undefined): LiveFrameResult {
    const main = outputs[0];
    return { index, program: src.program!.name, port: src.name, input, verdict, output: main?.frame, outputs, changes: main ? diffFrames(input, main.frame) : [], redirect };
  }

  /**
   * Injects each frame on port `on` (from the tester end), one at a time, and classifies it.
   * @throws XdpspecError when no program is attached there, when a frame cannot be sent, or
   * when an output the counters promise does not arrive (it names the frame).
   */
  async replay(frames: FrameSource, o: { on: string; settleMs?: number; onProgress?: (done: number, total: number) => void }): Promise<LiveRun> {
    this.port(o.on);
    const inputs = await collectFrames(frames);
    return this.replaySteps(
      inputs.map((frame) => ({ on: o.on, frame })),
      o,
    );
  }

  /**
   * Injects frames on the ports each step names, in order, one at a time: a conversation across
   * ports (a LAN host's SYN, then the far side's SYN-ACK on the WAN port, ...), where state the
   * programs keep carries from one step to the next. Every port a step names needs a program.
   * The run's `port` is the first step's; each frame's result names its own.
   */
  async replaySteps(steps: readonly Step[], o: { settleMs?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<LiveRun> {
    const inputs = steps.map((s, index) => ({ index, src: this.port(s.on), bytes: frameBytes(s.frame) }));
    // Refuse what cannot be replayed before anything is sent, not half-way through the run.
    for (const { index, src, bytes } of inputs) {
      this.liveProgram(src, 'replaying');
      if (bytes.length < 14) throw new XdpspecError('FRAME_TOO_SHORT', `frame #${index} is ${bytes.length} bytes, shorter than an Ethernet header (14)`);
    }
    const results: LiveFrameResult[] = [];
    const others: LiveOutput[] = [];
    const all = [...this.ports.values()];
    const collect = (into: LiveOutput[]) => {
      for (const p of all) {
        for (const f of p.dut.receive()) into.push({ port: p.name, side: 'dut', frame: parseFrame(f) });
        for (const f of p.tester.receive()) into.push({ port: p.name, side: 'tester', frame: parseFrame(f) });
      }
    };
    // Exceptions only come with drops (veth counts XDP_ABORTED as xdp_drops), so a port's probe
    // count is read again only after a drop there.
    // The native probe's counts per port as last read: read again only when a driver counter
    // says something happened that needs them (an XDP drop, or a drop outside XDP).
    const seenCounts = new Map<string, ProbeCounts>();
    for (const { src } of inputs) if (src.program!.mode === 'native' && !seenCounts.has(src.name)) seenCounts.set(src.name, probeCounts(src));
    for (const { index, src, bytes } of inputs) {
      if (o.onProgress && index % 1000 === 0) o.onProgress(index, inputs.length);
      // When counters already show each outcome, nothing below waits on the event loop; yield to
      // it now and then so signals (cleanup on SIGINT), timers and I/O of others still run.
      if (index % 64 === 63) await yieldToLoop();
      collect(others); // whatever arrived since the last frame was not caused by it
      const mode = src.program!.mode;
      if (mode === 'tc') results.push(await this.oneTc(src, index, bytes, others, collect));
      else if (mode === 'generic') results.push(await this.oneGeneric(src, index, bytes, others, collect));
      else results.push(await this.oneNative(src, index, bytes, others, collect, seenCounts.get(src.name)!));
    }
    collect(others);
    // `settleMs` is the one fixed wait: how long to keep listening after the last frame for
    // frames that should not come (a late reply), before saying none did. 0 by default.
    if (o.settleMs) {
      const end = performance.now() + o.settleMs;
      while (performance.now() < end) {
        await yieldToLoop();
        collect(others);
      }
    }
    o.onProgress?.(inputs.length, inputs.length);
    const attachments = Object.fromEntries([...this.ports.values()].filter((p) => p.program).map((p) => [p.name, p.program!.attachment.description]));
    return { port: steps[0]?.on ?? '', frames: results, counts: countVerdicts(results), others, attachments };
  }

  /** One frame in native mode: the driver's XDP counters say what became of it. */
  private async oneNative(src: PortState, index: number, bytes: Buffer, others: LiveOutput[], collect: (into: LiveOutput[]) => void, seen: ProbeCounts): Promise<LiveFrameResult> {
    const on = src.name;
    const before = src.stats.read();
    inject(src, index, bytes);
    let after = before;
    await until(() => q((after = src.stats.read()), 'xdp_packets') >= q(before, 'xdp_packets') + 1, `XDP on port ${on} running on frame #${index}`).catch((err: unknown) => {
      throw new XdpspecError(
        'TIMEOUT',
        `${(err as Error).message}: the driver counted no XDP run for it. Check that the program is still attached to ${on} in native mode (not detached, nor replaced by a generic-mode one: ip -n ${this.topology.dut} link show dev ${on}), and that the frame fits the port's MTU`,
      );
    });
    const d = (n: string) => q(after, n) - q(before, n);
    if (d('xdp_packets') > 1) {
      throw new XdpspecError('LIVE_STRAY', `while frame #${index} was injected, ${d('xdp_packets') - 1} other frame(s) reached XDP on port ${on}, so its verdict cannot be told from the counters; something besides the bench sends into the DUT (the tester's kernel answering ARP or ND, say: give both ends addresses so the bench sets static neighbours)`);
    }
    let verdict: Verdict;
    if (d('xdp_drops') > 0) {
      const now = probeCounts(src);
      verdict = now.exceptions > seen.exceptions ? 'aborted' : 'dropped';
      Object.assign(seen, now);
    } else if (d('xdp_tx') > 0) verdict = 'tx';
    else if (d('xdp_redirect') > 0) verdict = 'redirected';
    else if (d('xdp_tx_errors') > 0) throw new XdpspecError('LIVE_LOST', `frame #${index} was sent back or redirected into a device that could not take it (xdp_tx_errors)`);
    else if (d('drops') > 0 && probeCounts(src).redirectErrors > seen.redirectErrors) {
      // XDP_REDIRECT to a target that does not exist or cannot take frames: veth frees the frame
      // and counts it only as a drop outside XDP's counters; the kernel's redirect-error event
      // (read only then) says it was one, and where it was going.
      Object.assign(seen, probeCounts(src));
      return this.result(src, index, parseFrame(bytes), 'redirected', [], this.failedRedirect(src));
    } else verdict = 'passed';
    // The frame's output is what arrives where its verdict sends it; anything else seen
    // meanwhile (the DUT's own reply, say) is not its output and goes to `others`.
    const outputs: LiveOutput[] = [];
    if (verdict === 'passed' || verdict === 'tx' || verdict === 'redirected') {
      const want = (x: LiveOutput) => (verdict === 'passed' ? x.side === 'dut' && x.port === on : verdict === 'tx' ? x.side === 'tester' && x.port === on : x.side === 'tester');
      const seen: LiveOutput[] = [];
      await until(() => (collect(seen), seen.some(want)), `the output of frame #${index} (${verdict})`);
      const main = closest(seen.filter(want), bytes);
      for (const x of seen) (x === main ? outputs : others).push(x);
    }
    return this.result(src, index, parseFrame(bytes), verdict, outputs, verdict === 'redirected' && outputs[0] ? this.landedOn(outputs[0]) : undefined);
  }

  /**
   * One frame in generic mode. Every verdict has a positive sign here: an output where it went,
   * a free of the frame's skb on the device (drops, aborts, failed redirects; a passed frame
   * reaches the capture taps before the stack could free it, so counters are read before
   * collecting), or a redirect event.
   */
  private async oneGeneric(src: PortState, index: number, bytes: Buffer, others: LiveOutput[], collect: (into: LiveOutput[]) => void): Promise<LiveFrameResult> {
    const pr = src.program!.probe;
    const events = () => {
      const g = pr.globalValues(['frees', 'exceptions', 'redirects', 'redirect_errors']);
      return { frees: Number(g.frees), exceptions: Number(g.exceptions), redirects: Number(g.redirects), redirectErrors: Number(g.redirect_errors) };
    };
    const before = events();
    inject(src, index, bytes);
    const seen: LiveOutput[] = [];
    let now = before;
    await until(() => {
      now = events(); // first the counters, then the sockets: see above
      collect(seen);
      return seen.length > 0 || now.frees > before.frees || now.redirects > before.redirects || now.redirectErrors > before.redirectErrors;
    }, `an outcome for frame #${index} (generic XDP on ${src.name})`);
    const at = (side: 'dut' | 'tester', same: boolean) => seen.find((x) => x.side === side && (x.port === src.name) === same);
    let verdict: Verdict;
    let main: LiveOutput | undefined;
    let redirect: RedirectTarget | undefined;
    if ((main = at('dut', true))) verdict = 'passed';
    else if ((main = at('tester', true)) && now.redirects === before.redirects) verdict = 'tx';
    else if (now.redirects > before.redirects || at('tester', false)) {
      verdict = 'redirected';
      await until(() => (collect(seen), seen.some((x) => x.side === 'tester')), `the redirected frame #${index} arriving on a port`);
      main = seen.find((x) => x.side === 'tester');
      redirect = this.landedOn(main!);
    } else if (now.redirectErrors > before.redirectErrors) {
      verdict = 'redirected';
      redirect = { known: false, reason: 'the redirect failed (xdp_redirect_err) and the frame was freed' };
    } else verdict = now.exceptions > before.exceptions ? 'aborted' : 'dropped';
    for (const x of seen) if (x !== main) others.push(x);
    return this.result(src, index, parseFrame(bytes), verdict, main ? [main] : [], redirect);
  }

  /**
   * One frame through a TC program on ingress. No counter says what TC returned, and the DUT
   * end's capture saw the frame before TC ran (taps come first), so that copy is the input, not
   * an output. Every fate has its own positive sign instead, and the replay waits for one:
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
  private async oneTc(src: PortState, index: number, bytes: Buffer, others: LiveOutput[], collect: (into: LiveOutput[]) => void): Promise<LiveFrameResult> {
    const pr = src.program!.probe;
    const protocol = receivedProtocol(bytes);
    let after = src.afterTc.get(protocol);
    if (!after) src.afterTc.set(protocol, (after = PacketSocket.open(this.topology.dut, src.name, { protocol })));
    const readAfter = (into: LiveOutput[]) => {
      for (const s of src.afterTc.values()) for (const f of s.receive()) into.push({ port: src.name, side: 'dut', frame: parseFrame(f) });
    };
    readAfter(others);
    const events = () => {
      const g = pr.globalValues(['tc_drops', 'consumes', 'other_frees']);
      return { drops: Number(g.tc_drops), consumes: Number(g.consumes), frees: Number(g.other_frees) };
    };
    const before = events();
    inject(src, index, bytes);
    const passedUp: LiveOutput[] = [];
    const seen: LiveOutput[] = [];
    let tap = false;
    let now = before;
    const elsewhere = (x: LiveOutput) => x.side === 'tester' || x.port !== src.name;
    const signed = () => {
      now = events();
      readAfter(passedUp);
      collect(seen);
      if (!tap) {
        const i = seen.findIndex((x) => x.side === 'dut' && x.port === src.name && x.frame.bytes.equals(bytes));
        if (i >= 0) (seen.splice(i, 1), (tap = true));
      }
      return passedUp.length > 0 || now.drops > before.drops || now.consumes > before.consumes || now.frees > before.frees || seen.some(elsewhere);
    };
    await until(signed, `a sign of what TC program ${src.program!.name} on port ${src.name} did with frame #${index}`).catch((err: unknown) => {
      throw new XdpspecError(
        'LIVE_TC_NO_SIGN',
        `${(err as Error).message}: it was not passed up as EtherType 0x${protocol.toString(16).padStart(4, '0')}, redirected to a port, dropped, stolen or freed. A program that changes the EtherType (bpf_skb_change_proto, VLAN push or pop) or redirects outside the bench cannot be followed live; test such frames with runUnit`,
        { cause: err },
      );
    });
    // The stack's answer to a passed frame (an echo reply, say) can reach a tester end while the
    // frame itself is on its way to the socket above TC; reading that socket again settles it.
    readAfter(passedUp);
    const input = parseFrame(bytes);
    let verdict: Verdict;
    let main: LiveOutput | undefined;
    let redirect: RedirectTarget | undefined;
    if (passedUp.length > 0) {
      verdict = 'passed';
      main = passedUp.shift()!;
      // The kernel clears an outer VLAN tag before protocol handlers run; put the input's back
      // so the output shows what the program did, not what the stack did after it.
      if (input.layers[1]?.name === 'vlan' && main.frame.layers[1]?.name !== 'vlan') main = { ...main, frame: parseFrame(Buffer.concat([main.frame.bytes.subarray(0, 12), bytes.subarray(12, 16), main.frame.bytes.subarray(12)])) };
    } else if (seen.some(elsewhere)) {
      verdict = 'redirected';
      main = closest(seen.filter(elsewhere), bytes);
      redirect = { ...this.landedOn(main), direction: main.side === 'tester' ? 'egress' : 'ingress' };
    } else if (now.drops > before.drops) verdict = 'dropped';
    else if (now.consumes > before.consumes) verdict = 'stolen';
    else {
      verdict = 'redirected';
      redirect = { known: false, reason: 'the redirect failed and the kernel freed the frame (no device with that ifindex, or it was down)' };
    }
    for (const x of [...passedUp, ...seen]) if (x !== main) others.push(x);
    return this.result(src, index, input, verdict, main ? [main] : [], redirect);
  }

  /**
   * Streams frames into port `on` for large captures: sent in batches without waiting per
   * frame, outputs captured as they come. The verdict counts are exact (the driver's counters,
   * the exception probe for aborts); every output the counters promise must be captured, and the
   * kernel's capture drop count must stay 0, or this throws. Outputs are attributed to inputs by
   * matching bytes, so frames a program rewrites are counted but not attributed: for per-frame
   * results of rewriting programs, use `replay`.
   *
   * `frames` may be a capture file's path: it is read batch by batch as it is sent, so memory
   * does not grow with the file (only `seen`, one entry per frame, does). Outputs are matched
   * against the last `STREAM_WINDOW` frames sent; one arriving later counts as unmatched.
   */
  async stream(frames: readonly Uint8Array[] | string, o: { on: string }): Promise<StreamRun> {
    const src = this.port(o.on);
    const program = this.liveProgram(src, 'streaming');
    if (program.mode === 'tc') throw new XdpspecError('LIVE_MODE', "streaming counts verdicts with the driver's XDP counters; replay TC programs one frame at a time");
    if (program.mode !== 'native') throw new XdpspecError('LIVE_MODE', 'streaming counts verdicts with the driver, which counts native-mode XDP only; replay generic-mode programs one frame at a time');
    const reader = typeof frames === 'string' ? await CaptureReader.open(frames) : undefined;
    const all = [...this.ports.values()];
    for (const p of all) (p.dut.drain(), p.tester.drain(), p.dut.statistics(), p.tester.statistics());
    const before = src.stats.read();
    const exceptionsBefore = Number(program.probe.global('exceptions'));
    const redirectErrorsBefore = Number(program.probe.global('redirect_errors'));

    // Attribution as outputs arrive: an output byte-identical to a recently sent input is that
    // input's (the earliest such not yet taken).
    const pending = new Map<string, number[]>();
    const sent: { key: string; index: number }[] = [];
    let forgotten = 0;
    const seen: (string | undefined)[] = [];
    let unmatched = 0;
    const totals = new Map<string, number>(all.flatMap((p) => [[`${p.name}/dut`, 0], [`${p.name}/tester`, 0]]));
    const take = () => {
      for (const p of all) {
        for (const [sock, where] of [[p.dut, `${p.name}/dut`], [p.tester, `${p.name}/tester`]] as const) {
          const got = sock.receiveBatch();
          if (got.length === 0) continue;
          totals.set(where, totals.get(where)! + got.length);
          for (const f of got) {
            const i = pending.get(f.toString('latin1'))?.shift();
            if (i === undefined) unmatched++;
            else seen[i] = where;
          }
        }
      }
    };
    const register = (f: Uint8Array) => {
      const key = Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('latin1');
      const index = seen.length;
      seen.push(undefined);
      const list = pending.get(key);
      if (list) list.push(index);
      else pending.set(key, [index]);
      sent.push({ key, index });
    };
    const forget = () => {
      while (sent.length - forgotten > STREAM_WINDOW) {
        const { key, index } = sent[forgotten++]!;
        const list = pending.get(key);
        if (list?.[0] === index) list.shift(); // otherwise it was matched already
        if (list?.length === 0) pending.delete(key);
      }
      if (forgotten > 4 * STREAM_WINDOW) (sent.splice(0, forgotten), (forgotten = 0));
    };

    const CHUNK = 512;
    let chunks = 0;
    const send = async (chunk: readonly Uint8Array[]) => {
      for (const f of chunk) register(f);
      src.tester.sendBatch(chunk);
      take();
      forget();
      if (++chunks % 16 === 0) await yieldToLoop();
    };
    if (reader) {
      let chunk: Uint8Array[] = [];
      for await (const batch of reader.batches()) {
        for (const r of batch) {
          chunk.push(r.data);
          if (chunk.length === CHUNK) (await send(chunk), (chunk = []));
        }
      }
      if (chunk.length) await send(chunk);
    } else {
      for (let i = 0; i < frames.length; i += CHUNK) await send((frames as readonly Uint8Array[]).slice(i, i + CHUNK));
    }
    const n = seen.length;
    let after = before;
    await until(() => (take(), q((after = src.stats.read()), 'xdp_packets') - q(before, 'xdp_packets') >= n), `XDP on port ${o.on} running on all ${n} frames`, 10_000);
    const d = (k: string) => q(after, k) - q(before, k);
    if (d('xdp_packets') > n) throw new XdpspecError('LIVE_STRAY', `${d('xdp_packets') - n} frame(s) besides the ${n} streamed reached XDP on port ${o.on}; the counts cannot be trusted`);
    const aborted = Number(program.probe.global('exceptions')) - exceptionsBefore;
    // Failed redirects are in no XDP counter of veth's: the redirect-error event counts them.
    const failedRedirects = Number(program.probe.global('redirect_errors')) - redirectErrorsBefore;
    const counts: VerdictCounts = {
      passed: n - d('xdp_drops') - d('xdp_tx') - d('xdp_redirect') - d('xdp_tx_errors') - failedRedirects,
      dropped: d('xdp_drops') - aborted,
      tx: d('xdp_tx'),
      redirected: d('xdp_redirect') + failedRedirects,
      aborted,
      stolen: 0,
    };
    if (d('xdp_tx_errors') > 0) throw new XdpspecError('LIVE_LOST', `${d('xdp_tx_errors')} frame(s) were sent back or redirected into a device that could not take them (xdp_tx_errors)`);
    const total = (side: 'dut' | 'tester', port?: string) => [...totals].filter(([k]) => k.endsWith(`/${side}`) && (!port || k.startsWith(`${port}/`))).reduce((s, [, v]) => s + v, 0);
    // A frame the capture lost never arrives, so loss is read while waiting: it ends the wait at
    // once as what it is, rather than as a time-out. statistics() counts since its last call.
    let lost = 0;
    const loss = () => {
      for (const p of all) lost += p.dut.statistics().dropped + p.tester.statistics().dropped;
      if (lost) throw new XdpspecError('CAPTURE_LOSS', `the capture lost ${lost} frame(s) (the kernel dropped them from a full socket queue); nothing was counted as a drop`);
    };
    await until(
      () => (take(), loss(), total('dut', o.on) >= counts.passed && total('tester') >= counts.tx + counts.redirected - failedRedirects),
      `the outputs the counters promise (${counts.passed} passed on ${o.on}, ${counts.tx + counts.redirected - failedRedirects} sent out) being captured`,
      10_000,
    );
    loss();
    const extra = total('dut', o.on) - counts.passed + total('tester') - counts.tx - counts.redirected + failedRedirects;
    return { port: o.on, frames: n, counts, seen, unmatched, others: extra };
  }

  /** Detaches everything and removes the topology. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.ports.values()) {
      if (p.program) {
        for (const l of p.program.links) ffi().bpf_link__destroy(l);
        p.program.probe.close();
      }
      p.tester.close();
      p.dut.close();
      p.stats.close();
      for (const s of p.afterTc.values()) s.close();
    }
    this.topology.close(); // takes the attachments with it
    this.pass.close();
  }
}
