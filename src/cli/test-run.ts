import { parseArgs } from 'node:util';
import { UsageError } from '../sys/errors.js';
import type { ProgramTypeName, ProgramTypes } from '../bpf/index.js';
import { formatCounts } from '../harness/index.js';
import { testRunCapture } from '../harness/test-run.js';
import { frameJson, frameLine } from './report.js';
import { Output } from './output.js';

export const TEST_RUN_USAGE = `usage: xdpspec test-run OBJECT --pcap FILE [--program NAME] [--type [NAME=]xdp|tc]... [--json]
                        [--out OUT.pcap] [--set-global NAME=VALUE]...

Runs every frame of a capture through a program with BPF_PROG_TEST_RUN, in order, and prints
one line per frame (index, summary, verdict, rewritten fields) and a summary of counts.
  --program NAME           the program to run (may be left out when the object has one)
  --pcap FILE              the frames (pcap or pcapng)
  --type [NAME=]xdp|tc     the program type, for sections whose name does not say it
                           (legacy names such as SEC("prog") or SEC("xdp_icmp_echo")); NAME=: for
                           program NAME only, once each, for objects that mix XDP and TC
  --set-global NAME=VALUE  set a global before load; VALUE is JSON (42, "x", {"a":1}) or text (10.0.0.1)
  --json                   one JSON object per frame, then {"summary":{...}}
  --out FILE               write the output frames (.pcap: classic pcap; otherwise pcapng with
                           a comment per frame naming its verdict)`;

/**
 * `--type`'s values: `xdp` or `tc` for every program whose section says no type, `NAME=xdp|tc`
 * for program NAME alone (an object that mixes XDP and TC programs in legacy sections).
 * @throws UsageError for a type that is not xdp or tc, or the plain form given twice.
 */
export function parseType(vs: readonly string[] | undefined): { programType?: ProgramTypes } {
  if (!vs?.length) return {};
  const types: Record<string, ProgramTypeName> = {};
  for (const v of vs) {
    const i = v.indexOf('=');
    const [name, type] = i < 0 ? ['*', v] : [v.slice(0, i), v.slice(i + 1)];
    if (type !== 'xdp' && type !== 'tc')
      throw new UsageError(`--type takes xdp, tc or NAME=xdp|tc, got ${JSON.stringify(v)}`);
    if (name === '' || types[name] !== undefined)
      throw new UsageError(
        name === ''
          ? `--type ${v}: name the program before =`
          : `--type names ${name === '*' ? 'the type of every other program' : `program ${name}`} twice`,
      );
    types[name] = type;
  }
  const names = Object.keys(types);
  return { programType: names.length === 1 && names[0] === '*' ? types['*']! : types };
}

/** `NAME=VALUE`, where VALUE is JSON when it parses as JSON and plain text otherwise. */
export function parseGlobal(arg: string): [string, unknown] {
  const i = arg.indexOf('=');
  if (i <= 0) throw new UsageError(`--set-global takes NAME=VALUE, got ${JSON.stringify(arg)}`);
  const text = arg.slice(i + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // not JSON: an address, a MAC or a bare word, used as text
  }
  return [arg.slice(0, i), value];
}

export async function runTestRun(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      pcap: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      'set-global': { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(TEST_RUN_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`test-run takes one BPF object, got ${positionals.length}\n${TEST_RUN_USAGE}`);
  if (!values.pcap) throw new UsageError(`test-run needs --pcap FILE: the frames to run\n${TEST_RUN_USAGE}`);
  const run = await testRunCapture({
    object: positionals[0]!,
    globals: Object.fromEntries((values['set-global'] ?? []).map(parseGlobal)),
    ...parseType(values.type),
    ...(values.program === undefined ? {} : { program: values.program }),
    pcap: values.pcap,
    ...(values.out === undefined ? {} : { out: values.out }),
  });
  const out = new Output();
  for (const r of run.frames) await out.write(values.json ? frameJson(r) : frameLine(r));
  if (values.json) await out.write(JSON.stringify({ summary: { frames: run.frames.length, ...run.counts } }) + '\n');
  else await out.write(`${run.frames.length} frames: ${formatCounts(run.counts)}\n`);
  return 0;
}
