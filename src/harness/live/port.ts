// What every way of watching a port shares: the port's sockets and counters, the interface a
// strategy implements, and the small pieces of classifying a frame they all use.
import { XdpspecError } from '../../sys/errors.js';
import type { Attachment, Program } from '../../bpf/index.js';
import type { DriverStats, PacketSocket, Topology } from '../../net/index.js';
import { inspect, type InspectOptionsStylized } from 'node:util';
import { inspectAs, showGetters } from '../../sys/shown-getters.js';
import { diffFrames, parseFrame, summarize, type FieldChange, type Frame } from '../../packet/index.js';
import type { RedirectTarget, Verdict } from '../verdict.js';
import type { LiveFrameResult, LiveOutput, StreamRun, StreamVia } from './results.js';

/**
 * How the program on a port is watched, which says what is read to know a frame's fate: XDP in
 * native mode (veth's XDP counters), XDP in generic mode (probe events), TC on the DUT end's
 * ingress (the frame's consequences) or egress (the same, for frames the DUT sends).
 */
export type LiveMode = 'native' | 'generic' | 'tc-ingress' | 'tc-egress';

export interface PortState {
  readonly name: string;
  readonly tester: PacketSocket;
  readonly dut: PacketSocket;
  readonly stats: DriverStats;
  program?: Watched;
}

/** A program on a port: what was attached, and the strategy that follows its frames. */
export interface Watched {
  readonly name: string;
  /** Absent for a program another tool attached. */
  readonly source?: Program;
  readonly attachment: Attachment;
  readonly strategy: Strategy;
}

/** What a strategy needs of the bench around its port. */
export interface BenchContext {
  readonly topology: Topology;
  readonly ports: readonly PortState[];
  /** Reads every port's capture sockets, both ends, into `into`. */
  collect(into: LiveOutput[]): void;
}

/** How a replay is to send its frames (see StreamVia), and a count of how each went. */
export interface Sending {
  readonly via: StreamVia;
  xdp: number;
  socket: number;
  /** Why frames went by socket under `auto`. */
  why?: string;
}

/** One way of following a port's frames; one per mode, made when a program is attached. */
export interface Strategy {
  readonly mode: LiveMode;
  /** Before a run's first frame on this port. */
  begin(): void;
  /**
   * Injects frame #index and says what became of it; what else arrives goes to `others`. Only
   * native XDP sends XDP frames; the others send by socket whatever `sending.via` says (the
   * bench refuses `xdp` for them before a run starts).
   */
  one(index: number, bytes: Buffer, others: LiveOutput[], sending: Sending): Promise<LiveResult>;
  /** Streams batches of frames with exact counts, where the mode can count them. */
  stream?(chunks: AsyncIterable<readonly Uint8Array[]>, via: StreamVia): Promise<StreamRun>;
  /** Lets go of the probe, links and sockets it holds (not the attachment). */
  close(): void;
}

/** Sends frame #index from `socket`, naming the frame when the kernel refuses it. */
export function inject(socket: PacketSocket, index: number, bytes: Buffer, sending: Sending): void {
  try {
    socket.send(bytes);
    sending.socket++;
  } catch (err) {
    throw new XdpspecError('INJECT', `frame #${index} (${summarize(parseFrame(bytes))}): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Of the frames seen where an output was due, the one that is the output. The host it reached
 * may already have answered it (an ICMP port unreachable coming back through the DUT), and both
 * can turn up in one poll; programs rewrite a few fields, so the output is the frame of the
 * input's length that differs from it in the fewest bytes (the first seen when none has its length).
 */
export function closest(candidates: readonly LiveOutput[], input: Buffer): LiveOutput {
  let best = candidates[0]!;
  let fewest = Infinity;
  for (const c of candidates) {
    const b = outputBytes(c);
    if (b.length !== input.length) continue;
    let d = 0;
    for (let i = 0; i < b.length; i++) if (b[i] !== input[i]) d++;
    if (d < fewest) {
      fewest = d;
      best = c;
    }
  }
  return best;
}

/** Where a frame captured out of a port's tester end (or entering its DUT end) was redirected to. */
export function landedOn(topology: Topology, out: LiveOutput): RedirectTarget & { known: true } {
  return { known: true, port: out.port, ifindex: topology.port(out.port).dutIfindex };
}

/**
 * A frame a port's socket captured, decoded when first read: a run's counts and verdicts need
 * only where it was seen, and decoding every capture of every case was most of a live case's
 * JavaScript (and the longest of it to get compiled). `frame` is an enumerable getter, so deep
 * equality and `for...in` see it; `toJSON` and `util.inspect` show it too.
 */
export class CapturedFrame implements LiveOutput {
  #frame: Frame | undefined;
  readonly #bytes: Buffer;

  constructor(
    readonly port: string,
    readonly side: 'dut' | 'tester',
    bytes: Buffer,
  ) {
    this.#bytes = bytes;
  }

  get frame(): Frame {
    return (this.#frame ??= parseFrame(this.#bytes));
  }

  /** The captured bytes, without decoding them. */
  get bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): Record<string, unknown> {
    return { port: this.port, side: this.side, frame: this.frame };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return inspectAs('LiveOutput', this.toJSON(), options);
  }
}
showGetters(CapturedFrame, ['frame']);

/** An output's bytes, without decoding it where the engine captured it (any other LiveOutput's from its frame). */
export function outputBytes(x: LiveOutput): Buffer {
  return x instanceof CapturedFrame ? x.bytes : x.frame.bytes;
}

/**
 * One frame's live result, the same in every mode: `outputs[0]` is its output. Its input is
 * decoded, and the diff of input and output made, when first read (see CapturedFrame). What a
 * strategy returns, so the bench can add the frame's instruction count to it.
 */
export class LiveResult implements LiveFrameResult {
  declare instructions?: number;
  declare freedByKernel?: true;
  #in: Buffer | Frame;
  #input: Frame | undefined;
  #changes: readonly FieldChange[] | undefined;

  constructor(
    readonly index: number,
    readonly program: string,
    readonly port: string,
    input: Buffer | Frame,
    readonly verdict: Verdict,
    readonly outputs: LiveOutput[],
    readonly redirect: RedirectTarget | undefined,
  ) {
    this.#in = input;
  }

  get input(): Frame {
    return (this.#input ??= Buffer.isBuffer(this.#in) ? parseFrame(this.#in) : this.#in);
  }

  get output(): Frame | undefined {
    return this.outputs[0]?.frame;
  }

  get changes(): readonly FieldChange[] {
    if (this.#changes) return this.#changes;
    const out = this.output;
    return (this.#changes = out ? diffFrames(this.input, out) : []);
  }

  toJSON(): Record<string, unknown> {
    return { ...(this as object), input: this.input, output: this.output, changes: this.changes };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
    return inspectAs('LiveFrameResult', this.toJSON(), options);
  }
}
showGetters(LiveResult, ['input', 'output', 'changes']);

/** One frame's result, the same in every mode: `outputs[0]` is its output. */
export function frameResult(
  port: string,
  program: string,
  index: number,
  input: Buffer | Frame,
  verdict: Verdict,
  outputs: LiveOutput[],
  redirect: RedirectTarget | undefined,
): LiveResult {
  return new LiveResult(index, program, port, input, verdict, outputs, redirect);
}

/** An ethtool statistic of veth's first queue. */
export const queueStat = (s: Record<string, number>, n: string): number => s[`rx_queue_0_${n}`] ?? 0;
