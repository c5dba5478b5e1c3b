// `xdpspec replay` as one operation: a one-port bench, the program attached (xdpspec's own, or
// by another tool's command), the capture replayed, an artifact written, everything taken down.
import { loadObject, type LoadedObject, type ProgramTypes } from '../bpf/index.js';
import { PROG_TYPE } from '../bpf/kinds.js';
import { XdpspecError } from '../sys/errors.js';
import { writeArtifact } from './artifact.js';
import { LiveBench, type LiveRun, type StreamVia } from './live/index.js';

/** What to replay through what. Either `object` or `attachedBy`. */
export interface ReplayCaptureOptions {
  /** A BPF object to load and attach. */
  readonly object?: string;
  /** Its program (may be left out when it has one). */
  readonly program?: string;
  readonly globals?: Readonly<Record<string, unknown>>;
  readonly programType?: ProgramTypes;
  /** A TC program on the DUT end's egress instead of ingress. */
  readonly egress?: boolean;
  /** A command that attaches the program itself (see LiveBench.attachByCommand). */
  readonly attachedBy?: string;
  /** The frames: a capture file. */
  readonly pcap: string;
  /** How frames go in (see StreamVia): `auto` by default. */
  readonly via?: StreamVia;
  /** Writes DIR/replay.pcapng (see writeArtifact). */
  readonly artifacts?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

/** The port of the one-port bench a capture is replayed on. */
export const REPLAY_PORT = 'wan';

/**
 * Replays a capture live through a fresh one-port bench (namespaces dut and tester joined by a
 * veth pair named wan): XDP in native mode, TC on clsact ingress (or egress), every frame one at
 * a time. The bench and the object are gone when it returns, whatever happened.
 * @throws XdpspecError `WRONG_PROGRAM_TYPE` for `egress` with a program that is not TC; what
 *   loading, attaching and replaying throw.
 */
export async function replayCapture(o: ReplayCaptureOptions): Promise<{ run: LiveRun; artifact?: string }> {
  let obj: LoadedObject | undefined;
  if (o.object !== undefined)
    obj = loadObject(o.object, { ...o.globals }, o.programType === undefined ? {} : { programType: o.programType });
  let bench: LiveBench | undefined;
  try {
    bench = await LiveBench.create({ ports: [{ name: REPLAY_PORT }] });
    if (obj) {
      const program = obj.program(o.program);
      if (o.egress && program.typeId !== PROG_TYPE.sched_cls)
        throw new XdpspecError(
          'WRONG_PROGRAM_TYPE',
          `egress is for TC programs; ${program.name} is ${program.type === 'xdp' ? 'an' : 'a'} ${program.type} program, which runs on receive only`,
        );
      if (o.egress) bench.attachTc(program, REPLAY_PORT, 'egress');
      else bench.attach(program, REPLAY_PORT);
    } else if (o.attachedBy !== undefined) await bench.attachByCommand(REPLAY_PORT, o.attachedBy);
    else throw new XdpspecError('NO_PROGRAM', 'replayCapture needs a BPF object or an attaching command');
    const run = await bench.replay(o.pcap, {
      on: REPLAY_PORT,
      ...(o.via ? { via: o.via } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    if (o.artifacts === undefined) return { run };
    return { run, artifact: await writeArtifact(run, [REPLAY_PORT], `${o.artifacts}/replay.pcapng`) };
  } finally {
    bench?.close();
    obj?.close();
  }
}
