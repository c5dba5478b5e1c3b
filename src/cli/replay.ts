import { parseArgs } from 'node:util';
import { UsageError } from '../sys/errors.js';
import { formatCounts } from '../harness/index.js';
import { replayCapture } from '../harness/replay.js';
import { Output } from './output.js';
import { frameJson, frameLine } from './report.js';
import { parseGlobal, parseType } from './test-run.js';

export const REPLAY_USAGE = `usage: xdpspec replay OBJECT --pcap FILE [--program NAME] [--type [NAME=]xdp|tc]... [--egress] [--json]
                      [--artifacts DIR] [--set-global NAME=VALUE]... [--via auto|xdp|socket]
       xdpspec replay --attached-by COMMAND --pcap FILE [--json] [--artifacts DIR] [--via auto|xdp|socket]

Replays a capture live: a fresh one-port bench (namespaces dut and tester joined by a veth pair
named wan), the program attached to the DUT end (XDP in native mode, TC on clsact ingress), every
frame injected from the tester end one at a time and classified from the kernel's counters. Prints the same lines as
xdpspec test-run.
  --type [NAME=]xdp|tc   the program type, for sections whose name does not say it
                         (NAME=: for program NAME only, once each, for objects that mix XDP and TC)
  --egress               attach a TC program to the DUT end's egress instead: the DUT sends each
                         frame out of wan (a program another tool attached on egress is found
                         there without it)
  --attached-by COMMAND  let another tool attach the program: COMMAND runs in the DUT namespace
                         with a fresh bpffs of its own (what it pins is gone with it) and $PORT
                         set to the interface, e.g. "xdp-filter load \\$PORT" or
                         "ip link set dev \\$PORT xdp obj prog.o sec xdp"
  --artifacts DIR        write DIR/replay.pcapng: inputs and outputs, one interface per port
                         side, a comment per frame with its verdict
  --via auto|xdp|socket  how frames go in: as XDP frames from the tester end, in a page as a NIC
                         driver gives them, or by packet socket, which veth copies into a buffer
                         of the frame's size (no room to grow it at the tail); auto (default):
                         XDP frames for native XDP programs that may grow frames, else socket`;

export async function runReplay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      pcap: { type: 'string' },
      json: { type: 'boolean' },
      artifacts: { type: 'string' },
      'attached-by': { type: 'string' },
      'set-global': { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      egress: { type: 'boolean' },
      via: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(REPLAY_USAGE + '\n');
    return 0;
  }
  const external = values['attached-by'];
  if (external === undefined && positionals.length !== 1)
    throw new UsageError(
      `replay takes one BPF object (or --attached-by COMMAND), got ${positionals.length}\n${REPLAY_USAGE}`,
    );
  if (external !== undefined && positionals.length !== 0)
    throw new UsageError(`replay takes a BPF object or --attached-by, not both\n${REPLAY_USAGE}`);
  if (external !== undefined && values.egress)
    throw new UsageError(
      `--egress attaches xdpspec's own TC program; with --attached-by, the direction is read from what the command attached\n${REPLAY_USAGE}`,
    );
  if (!values.pcap) throw new UsageError(`replay needs --pcap FILE: the frames to replay\n${REPLAY_USAGE}`);
  const via = values.via;
  if (via !== undefined && via !== 'auto' && via !== 'xdp' && via !== 'socket')
    throw new UsageError(`--via takes auto, xdp or socket, got ${JSON.stringify(via)}\n${REPLAY_USAGE}`);
  // Progress only for people: on a terminal, and never mixed into --json.
  const tty = process.stderr.isTTY && !values.json;
  const started = performance.now();
  const { run, artifact } = await replayCapture({
    ...(external === undefined
      ? {
          object: positionals[0]!,
          globals: Object.fromEntries((values['set-global'] ?? []).map(parseGlobal)),
          ...parseType(values.type),
          ...(values.program === undefined ? {} : { program: values.program }),
          ...(values.egress ? { egress: true } : {}),
        }
      : { attachedBy: external }),
    pcap: values.pcap,
    ...(via === undefined ? {} : { via }),
    ...(values.artifacts === undefined ? {} : { artifacts: values.artifacts }),
    ...(tty
      ? {
          onProgress: (done: number, total: number) =>
            process.stderr.write(
              `\r${done} of ${total} frames, ${Math.round(done / ((performance.now() - started) / 1000) || 0)} frames/s${done === total ? '\n' : ''}`,
            ),
        }
      : {}),
  });
  const out = new Output();
  for (const r of run.frames) await out.write(values.json ? frameJson(r) : frameLine(r));
  if (values.json)
    await out.write(
      JSON.stringify({ summary: { frames: run.frames.length, ...run.counts, others: run.others.length } }) + '\n',
    );
  else
    await out.write(
      `${run.frames.length} frames: ${formatCounts(run.counts)}${run.others.length ? `; ${run.others.length} other frame(s) seen` : ''}\n`,
    );
  if (artifact && !values.json) await out.write(`artifact: ${artifact}\n`);
  return 0;
}
