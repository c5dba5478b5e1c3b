// The live bench: ports, attaching, replay and stream entry points. Over 350 lines because it is
// the engine's one public class and its doc comments are the API's reference; how each mode
// follows frames is in the strategies beside it (native.ts, generic.ts, tc-*.ts).
import { spawnSync } from 'node:child_process';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { XdpspecError } from '../../sys/errors.js';
import {
  attachTc,
  attachXdp,
  inNetns,
  loadObject,
  type Attachment,
  type BpfMap,
  type LoadedObject,
  type Program,
  type TcDirection,
  type XdpMode,
} from '../../bpf/index.js';
import { DEVICE_MAPS, PROG_TYPE } from '../../bpf/kinds.js';
import { probeObject } from '../../bpf/probe-objects.js';
import { deviceWritesOf, recordDeviceWrite } from '../../bpf/device-writes.js';
import { interfaceName } from '../../sys/netns.js';
import { DriverStats, PacketSocket, Topology, type TopologySpec } from '../../net/index.js';
import { collectFrames, frameBytes, type FrameSource, type Step } from '../frames.js';
import { instructionStats } from '../unit.js';
import { countVerdicts, noteFrameRun } from '../verdict.js';
import { runAttachCommand } from './external.js';
import { GenericStrategy } from './generic.js';
import { NativeStrategy } from './native.js';
import {
  CapturedFrame,
  type BenchContext,
  type LiveMode,
  type PortState,
  type Sending,
  type Strategy,
} from './port.js';
import type { LiveBenchOptions, LiveFrameResult, LiveOutput, LiveRun, StreamRun, StreamVia } from './results.js';
import { chunksOf } from './stream.js';
import { TcEgressStrategy } from './tc-egress.js';
import { TcIngressStrategy } from './tc-ingress.js';

/**
 * A live bench: a topology whose tester ends carry xdpspec's pass-through XDP program (so
 * frames sent back or redirected into them are delivered), capture sockets on both ends of
 * every port, and veth's XDP counters on the DUT ends. `replay` injects frames one at a time
 * and knows each frame's fate from counters and captures, not from waiting; only the outputs
 * the counters promise are waited for.
 *
 * How a port's frames are followed depends on what is attached there, one strategy each (see
 * ./native.ts, ./generic.ts, ./tc.ts): XDP in native mode reads veth's XDP counters, generic
 * mode a probe's events, TC the frame's consequences on sockets and a probe of skb frees.
 */
export class LiveBench {
  private closed = false;
  private readonly context: BenchContext;
  private readonly runListeners = new Set<(run: LiveRun) => void>();

  private constructor(
    readonly topology: Topology,
    private readonly pass: LoadedObject,
    private readonly ports: Map<string, PortState>,
  ) {
    const all = [...ports.values()];
    this.context = {
      topology,
      ports: all,
      collect(into: LiveOutput[]) {
        for (const p of all) {
          for (const f of p.dut.receive()) into.push(new CapturedFrame(p.name, 'dut', f));
          for (const f of p.tester.receive()) into.push(new CapturedFrame(p.name, 'tester', f));
        }
      },
    };
  }

  /** @throws XdpspecError `TOPOLOGY` for a bad spec; BpfError when the pass-through cannot attach. */
  static async create(spec: TopologySpec, options: LiveBenchOptions = {}): Promise<LiveBench> {
    const buf = options.captureBuffer;
    if (buf !== undefined && (!Number.isInteger(buf) || buf < 1 || buf > 1 << 30))
      throw new XdpspecError(
        'LIVE_OPTIONS',
        `captureBuffer must be a whole number of bytes from 1 to 1 GiB, got ${String(buf)}`,
      );
    const sock = buf === undefined ? {} : { receiveBuffer: buf };
    const topology = await Topology.create(spec);
    let pass: LoadedObject | undefined;
    const ports = new Map<string, PortState>();
    try {
      pass = loadObject(probeObject('pass'), {}, { count: false });
      for (const [name, port] of topology.ports) {
        attachXdp(pass.program(), { interface: name, netns: port.testerNetns }, 'native');
        ports.set(name, {
          name,
          tester: PacketSocket.open(port.testerNetns, name, sock),
          dut: PacketSocket.open(topology.dut, name, sock),
          stats: DriverStats.open(topology.dut, name),
        });
      }
      return new LiveBench(topology, pass, ports);
    } catch (err) {
      for (const p of ports.values()) {
        p.tester.close();
        p.dut.close();
        p.stats.close();
      }
      topology.close();
      pass?.close();
      throw err;
    }
  }

  private port(name: string): PortState {
    this.topology.port(name); // NO_PORT, listing the ports, for a name the bench does not have
    return this.ports.get(name)!;
  }

  /**
   * Attaches a program to a port's DUT end (one program per port; attaching another replaces
   * it, attaching the same one again in the same mode changes nothing): an XDP program in
   * `mode`, or a TC (sched_cls) program on the port's ingress hook (`attachTc` for egress).
   */
  attach(program: Program, portName: string, mode: 'native' | 'generic' = 'native'): Attachment {
    if (program.typeId === PROG_TYPE.sched_cls) return this.attachTc(program, portName);
    if ((mode as XdpMode) === 'auto')
      throw new XdpspecError(
        'LIVE_MODE',
        `live runs need to know the mode (native or generic): they read different counters; 'auto' does not say`,
      );
    return this.attachWatched(program, portName, mode, () =>
      attachXdp(program, { interface: portName, netns: this.topology.dut }, mode),
    );
  }

  /**
   * Attaches a TC (sched_cls, direct-action) program to the clsact hook of a port's DUT end:
   * on `ingress` it runs on frames injected from the tester end; on `egress` on frames the DUT
   * sends out of the port, which the bench makes it send (see TcEgressStrategy). Each frame's
   * fate is read from its consequences, since no counter says what TC returned.
   */
  attachTc(program: Program, portName: string, direction: TcDirection = 'ingress'): Attachment {
    if (direction !== 'ingress' && direction !== 'egress')
      throw new XdpspecError(
        'LIVE_MODE',
        `a TC program attaches on ingress or egress, not ${JSON.stringify(direction)}`,
      );
    return this.attachWatched(program, portName, `tc-${direction}`, () =>
      attachTc(program, { interface: portName, netns: this.topology.dut }, direction),
    );
  }

  /** The strategy that follows a port's frames in `mode`. */
  private strategy(p: PortState, mode: LiveMode, name: string): Strategy {
    switch (mode) {
      case 'native':
        return NativeStrategy.open(this.context, p, name);
      case 'generic':
        return GenericStrategy.open(this.context, p, name);
      case 'tc-ingress':
        return TcIngressStrategy.open(this.context, p, name);
      case 'tc-egress':
        return TcEgressStrategy.open(this.context, p, name);
    }
  }

  /**
   * Replaces what is on the port with `attach`'s attachment and the strategy its mode needs. The
   * same program already there in the same mode stays as it is (runs of steps attach each time).
   */
  private attachWatched(program: Program, portName: string, mode: LiveMode, attach: () => Attachment): Attachment {
    const p = this.port(portName);
    if (p.program?.source === program && p.program.strategy.mode === mode) return p.program.attachment;
    this.detach(portName);
    const attachment = attach();
    try {
      p.program = { name: program.name, source: program, attachment, strategy: this.strategy(p, mode, program.name) };
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
   * Lets another tool attach the program: runs `command` (with `$PORT` set to the port) in the
   * DUT namespace with a bpffs of its own (see runAttachCommand), then watches what it attached
   * as `attachedElsewhere` does, named after the command's first word.
   */
  async attachByCommand(portName: string, command: string): Promise<void> {
    this.port(portName);
    await runAttachCommand(this.topology.dut, portName, command);
    this.attachedElsewhere(portName, command.trim().split(/\s+/)[0] ?? command);
  }

  /**
   * For programs attached by another tool (e.g. `xdp-filter load`): xdpspec only watches the
   * port (its counters and probes) and replays; `name` is used in messages. An XDP program must
   * run in native mode for streaming; a TC program can be replayed one frame at a time.
   */
  attachedElsewhere(portName: string, name: string): void {
    const p = this.port(portName);
    this.detach(portName);
    const mode = this.attachedMode(portName, name);
    const how = mode === 'tc-ingress' ? 'TC ingress' : mode === 'tc-egress' ? 'TC egress' : `XDP, ${mode} mode`;
    const noop: Attachment = {
      description: `${name} on ${portName}, attached by another tool (${how})`,
      detach: () => undefined,
    };
    p.program = { name, attachment: noop, strategy: this.strategy(p, mode, name) };
  }

  /**
   * How a program another tool attached sits on the DUT end of `portName`, read from the kernel
   * (iproute2's JSON): XDP in native (driver) or generic (skb) mode, or TC on ingress or egress.
   * Each is observed its own way, so guessing would time out on the first frame.
   * @throws XdpspecError `ATTACH_COMMAND` when nothing is attached there.
   */
  private attachedMode(portName: string, tool: string): LiveMode {
    const ns = this.topology.dut;
    const link = spawnSync('ip', ['-j', '-n', ns, 'link', 'show', 'dev', portName], { encoding: 'utf8' });
    const xdp = (JSON.parse(link.stdout || '[]') as { xdp?: { mode?: number } }[])[0]?.xdp;
    if (xdp?.mode === 1) return 'native';
    if (xdp?.mode === 2) return 'generic';
    if (xdp?.mode === 3)
      throw new XdpspecError(
        'ATTACH_COMMAND',
        `${tool} attached its program to ${portName} in offload mode, which a veth cannot run; attach in native (driver) or generic (skb) mode`,
      );
    const filters = (direction: TcDirection) =>
      (
        JSON.parse(
          spawnSync('tc', ['-j', '-n', ns, 'filter', 'show', 'dev', portName, direction], { encoding: 'utf8' })
            .stdout || '[]',
        ) as unknown[]
      ).length;
    const ingress = filters('ingress');
    const egress = filters('egress');
    if (ingress && egress)
      throw new XdpspecError(
        'ATTACH_COMMAND',
        `${tool} attached TC filters to both the ingress and the egress of ${portName}; a replay follows one of them: attach one direction only`,
      );
    if (ingress) return 'tc-ingress';
    if (egress) return 'tc-egress';
    throw new XdpspecError(
      'ATTACH_COMMAND',
      `${tool} exited without attaching anything to ${portName}: no XDP program on it and no TC filter on its ingress or egress; check that the command names the interface as $PORT and attaches (for XDP, e.g. "ip link set dev $PORT xdp obj prog.o sec xdp")`,
    );
  }

  /** Takes the program (and xdpspec's probes for it) off a port; nothing happens when there is none. */
  detach(portName: string): void {
    const p = this.port(portName);
    const w = p.program;
    if (!w) return;
    p.program = undefined;
    try {
      w.strategy.close();
    } finally {
      w.attachment.detach();
    }
  }

  /**
   * The program on a port, when it can run frames: there is one, and its object is still open
   * (closing an object unloads its programs, and counters that will not move would only time out).
   */
  private liveProgram(p: PortState, doing: 'replaying' | 'streaming'): NonNullable<PortState['program']> {
    if (!p.program)
      throw new XdpspecError('NO_PROGRAM', `no XDP program is attached to port ${p.name}; attach one before ${doing}`);
    if (p.program.source?.object.isClosed)
      throw new XdpspecError(
        'NO_PROGRAM',
        `the program on port ${p.name} (${p.program.name}) went when its object was closed; attach a loaded one before ${doing}`,
      );
    return p.program;
  }

  /**
   * Refuses a run whose program would redirect through a device map entry that xdpspec wrote
   * from outside the DUT's namespace. The kernel resolved that entry's ifindex where it was
   * written, so it holds a device of that namespace (the machine's own interfaces, from the test
   * process's), and a live run would send frames there rather than to a port of the bench,
   * perhaps out of the machine. Entries written by other means (another tool) are not known here.
   */
  private checkDeviceMaps(p: PortState): void {
    const program = p.program?.source;
    if (!program) return;
    const used = new Set(program.mapIds());
    for (const { map, typeId } of program.object.allMaps()) {
      if (!DEVICE_MAPS.has(typeId) || !used.has(map.id)) continue;
      for (const { key, write } of deviceWritesOf(map.id)) {
        if (write.netns === this.topology.dut) continue;
        const value = map.get(key) as Buffer | undefined;
        if (!value) continue; // deleted since
        const ifindex = value.readUInt32LE(0); // the ifindex, or struct bpf_devmap_val starting with it
        const device = inNetns(write.netns, () => interfaceName(ifindex));
        const at = key.length === 4 ? String(key.readUInt32LE(0)) : `0x${key.toString('hex')}`;
        const where = write.netns ? `namespace ${write.netns}` : "the test process's own network namespace";
        throw new XdpspecError(
          'DEVICE_MAP_NAMESPACE',
          `${map.name}[${at}] was written from ${where}, where ifindex ${ifindex} is ${device ?? 'no device'}: the kernel keeps that device, so live, ${program.name} on port ${p.name} would redirect frames to it instead of to a port of this bench (perhaps out of the machine). Write the entry with bench.setDeviceMap(map, ${at}, port), which writes it from the DUT's namespace`,
        );
      }
    }
  }

  /**
   * Injects each frame on port `on` (from the tester end; from the DUT's side for a TC program on
   * egress), one at a time, and classifies it. `via` says how frames go in (see StreamVia): by
   * default a native XDP program that may grow frames at the tail gets XDP frames, in a page as
   * a NIC driver gives them, and every other program gets them by socket.
   * @throws XdpspecError when no program is attached there, when a frame cannot be sent, or
   * when an output the counters promise does not arrive (it names the frame).
   */
  async replay(
    frames: FrameSource,
    o: { on: string; settleMs?: number; via?: StreamVia; onProgress?: (done: number, total: number) => void },
  ): Promise<LiveRun> {
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
  async replaySteps(
    steps: readonly Step[],
    o: { settleMs?: number; via?: StreamVia; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<LiveRun> {
    const via = checkVia(o.via, 'replay');
    const inputs = steps.map((s, index) => ({ index, src: this.port(s.on), bytes: frameBytes(s.frame) }));
    // Refuse what cannot be replayed before anything is sent, not half-way through the run.
    for (const { index, src, bytes } of inputs) {
      const { strategy } = this.liveProgram(src, 'replaying');
      if (via === 'xdp' && strategy.mode !== 'native')
        throw new XdpspecError(
          'LIVE_OPTIONS',
          `replay with { via: 'xdp' } hands frames to XDP in native mode, but port ${src.name} has ${strategy.mode === 'generic' ? 'XDP in generic mode' : `a TC program (${strategy.mode})`}, which gets its frames by socket: replay with { via: 'auto' } or 'socket'`,
        );
      if (bytes.length < 14)
        throw new XdpspecError(
          'FRAME_TOO_SHORT',
          `frame #${index} is ${bytes.length} bytes, shorter than an Ethernet header (14)`,
        );
    }
    const sources = new Set(inputs.map((i) => i.src));
    for (const src of sources) this.checkDeviceMaps(src);
    const results: LiveFrameResult[] = [];
    const others: LiveOutput[] = [];
    const sending: Sending = { via, xdp: 0, socket: 0 };
    for (const src of sources) src.program!.strategy.begin();
    for (const { index, src, bytes } of inputs) {
      if (o.onProgress && index % 1000 === 0) o.onProgress(index, inputs.length);
      // When counters already show each outcome, nothing below waits on the event loop; yield to
      // it now and then so signals (cleanup on SIGINT), timers and I/O of others still run.
      if (index % 64 === 63) await yieldToLoop();
      this.context.collect(others); // whatever arrived since the last frame was not caused by it
      // In native mode the driver's counters show the program ran exactly once for the frame
      // (a stray frame is an error), so a counted program's instructions since are the frame's.
      const counters = src.program!.strategy.mode === 'native' ? src.program!.source?.counters : undefined;
      const before = counters?.instructions() ?? 0;
      const r = await src.program!.strategy.one(index, bytes, others, sending);
      if (counters) r.instructions = counters.instructions() - before;
      results.push(r);
    }
    this.context.collect(others);
    // `settleMs` is the one fixed wait: how long to keep listening after the last frame for
    // frames that should not come (a late reply), before saying none did. 0 by default.
    if (o.settleMs) {
      const end = performance.now() + o.settleMs;
      while (performance.now() < end) {
        await yieldToLoop();
        this.context.collect(others);
      }
    }
    o.onProgress?.(inputs.length, inputs.length);
    const attachments = Object.fromEntries(
      [...this.ports.values()].filter((p) => p.program).map((p) => [p.name, p.program!.attachment.description]),
    );
    const instructions = instructionStats(results);
    const run: LiveRun = {
      port: steps[0]?.on ?? '',
      frames: results,
      counts: countVerdicts(results),
      others,
      attachments,
      ...(instructions ? { instructions } : {}),
      sent: {
        xdp: sending.xdp,
        socket: sending.socket,
        ...(sending.socket > 0 && via === 'auto'
          ? { why: sending.why ?? 'generic-mode XDP and TC programs get their frames by socket' }
          : {}),
      },
    };
    noteFrameRun('live', results);
    for (const l of this.runListeners) l(run);
    return run;
  }

  /**
   * Streams frames into port `on` for large captures: sent in batches without waiting per
   * frame, outputs captured as they come. The verdict counts are exact: XDP in native mode from
   * the driver's counters and the probe (aborts, failed redirects), TC from a probe of what the
   * program returns (it needs the program's BTF). Every output the counts promise must be
   * captured, and the kernel's capture drop count must stay 0, or this throws. Outputs are
   * attributed to inputs by matching bytes, so frames a program rewrites are counted but not
   * attributed: for per-frame results of rewriting programs, use `replay`.
   *
   * `frames` may be a capture file's path: it is read batch by batch as it is sent, so memory
   * does not grow with the file (only `seen`, one entry per frame, does). Outputs are matched
   * against the last `STREAM_WINDOW` frames sent; one arriving later counts as unmatched.
   *
   * `via` says how frames go in (see StreamVia): by default a native XDP program's frames are
   * handed to the DUT end as XDP frames from the tester end, which costs a fraction of a packet
   * socket's send; `run.sent` says how many went which way.
   */
  async stream(frames: readonly Uint8Array[] | string, o: { on: string; via?: StreamVia }): Promise<StreamRun> {
    const via = checkVia(o.via, 'stream');
    const src = this.port(o.on);
    const { strategy } = this.liveProgram(src, 'streaming');
    this.checkDeviceMaps(src);
    if (!strategy.stream)
      throw new XdpspecError(
        'LIVE_MODE',
        'streaming counts verdicts exactly, which generic-mode XDP gives no counter for; replay generic-mode programs one frame at a time, or attach in native mode',
      );
    return strategy.stream(chunksOf(frames), via);
  }

  /**
   * Calls `listener` with every replay's run from now on (the artifacts fixture keeps a case's
   * runs this way); returns what stops it.
   */
  onRun(listener: (run: LiveRun) => void): () => void {
    this.runListeners.add(listener);
    return () => this.runListeners.delete(listener);
  }

  /** Detaches everything and removes the topology. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.ports.values()) {
      try {
        p.program?.strategy.close();
      } catch {
        // the rest must still go; the topology's removal takes the attachments with it
      }
      p.tester.close();
      p.dut.close();
      p.stats.close();
    }
    this.topology.close(); // takes the attachments with it
    this.pass.close();
  }
}

/** `via` of a replay or a stream, `auto` when not given. */
function checkVia(via: StreamVia | undefined, what: 'replay' | 'stream'): StreamVia {
  if (via === undefined) return 'auto';
  if (via === 'auto' || via === 'xdp' || via === 'socket') return via;
  throw new XdpspecError('LIVE_OPTIONS', `${what}: via must be 'auto', 'xdp' or 'socket', got ${String(via)}`);
}
