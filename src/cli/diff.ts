import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { regularFile } from '../sys/files.js';
import { UsageError } from '../sys/errors.js';
import { formatChange, formatInstructions, formatStats, formatSummary, type Comparison } from '../harness/index.js';
import { diffCapture } from '../harness/diff.js';
import { Output } from './output.js';
import { parseGlobal, parseType } from './test-run.js';

export const DIFF_USAGE = `usage: xdpspec diff OLD.o NEW.o --pcap FILE [--program NAME] [--type [NAME=]xdp|tc]... [--live] [--json]
                    [--set-global NAME=VALUE]... [--maps FILE] [--artifacts DIR] [--instructions]

Runs every frame of a capture, in order, through the program of an old and of a new object,
each loaded fresh with the same globals and map entries, and prints the frames whose verdict,
output target or output bytes changed (both verdicts, then the output's fields old -> new), a
summary, and the verifier's work and program sizes old -> new.
Exit status: 0 when no frame changed, 1 when some did, 2 on an error.
  --program NAME             the program in both objects (may be left out when each has one)
  --type [NAME=]xdp|tc       the program type, for sections whose name does not say it
                             (NAME=: for program NAME only, once each, for objects that mix XDP and TC)
  --pcap FILE                the frames (pcap or pcapng)
  --live                     replay on a fresh veth bench instead of BPF_PROG_TEST_RUN
  --set-global NAME=VALUE    a global for both objects (VALUE as in test-run); --old-set-global
                             and --new-set-global set one side only
  --maps FILE                JSON map entries for both objects, loaded before the first frame:
                             {"ipv4_src": {"10.0.0.10/32": 0}, "port_dst": [[{"proto": 6, "port": 22}, 0]]}
                             (an object for keys that are text, a list of [key, value] for any);
                             --old-maps and --new-maps fill one side only, e.g. the rule set
                             deployed now and the one about to be
  --instructions             also the BPF instructions each frame executed, old -> new (both
                             loaded with block counters, in memory): median, least, most, all
                             frames together, and how many frames executed more or fewer; exact,
                             so a gate on work that timing noise cannot blur (unit engine only)
  --json                     one JSON object per changed frame, then {"summary":{...}}
  --artifacts DIR            write DIR/old.pcapng and DIR/new.pcapng (each run's outputs, one
                             interface per port, a comment per frame with its verdict, as golden
                             captures are) and DIR/changed.pcap (the inputs of changed frames)`;

type Entries = Record<string, [unknown, unknown][]>;

/** Reads a --maps file into entries per map. @throws UsageError when it is not such JSON. */
export async function readMaps(file: string | undefined, option: string): Promise<Entries> {
  if (file === undefined) return {};
  regularFile(file, `${option} file`, () => {
    throw new UsageError(`${option} ${file}: no such file`);
  });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `${option} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${option} ${file} is not JSON: ${(err as Error).message}`);
  }
  const shape = `${option} ${file} should hold an object of maps, each an object {"key": value} or a list of [key, value] pairs`;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(shape);
  const out: Entries = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (Array.isArray(v)) {
      if (!v.every((p) => Array.isArray(p) && p.length === 2))
        throw new UsageError(`${shape}; map ${name} has a list whose items are not all [key, value]`);
      out[name] = v as [unknown, unknown][];
    } else if (v && typeof v === 'object') out[name] = Object.entries(v);
    else throw new UsageError(`${shape}; map ${name} is ${JSON.stringify(v)}`);
  }
  return out;
}

function changeJson(c: Comparison['changed'][number]): string {
  const side = (f: Comparison['changed'][number]['old']) => ({
    verdict: f.verdict,
    ...(f.action ? { action: f.action } : {}),
    to: f.to,
    ...(f.output ? { len: f.output.length } : {}),
  });
  return (
    JSON.stringify({ index: c.index, label: c.label, old: side(c.old), new: side(c.new), outputDiff: c.outputDiff }) +
    '\n'
  );
}

export async function runDiff(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      program: { type: 'string' },
      type: { type: 'string', multiple: true },
      pcap: { type: 'string' },
      live: { type: 'boolean' },
      json: { type: 'boolean' },
      instructions: { type: 'boolean' },
      artifacts: { type: 'string' },
      maps: { type: 'string' },
      'old-maps': { type: 'string' },
      'new-maps': { type: 'string' },
      'set-global': { type: 'string', multiple: true },
      'old-set-global': { type: 'string', multiple: true },
      'new-set-global': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(DIFF_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 2)
    throw new UsageError(`diff takes two BPF objects, the old and the new, got ${positionals.length}\n${DIFF_USAGE}`);
  if (!values.pcap) throw new UsageError(`diff needs --pcap FILE: the frames to compare on\n${DIFF_USAGE}`);
  if (values.instructions && values.live)
    throw new UsageError('--instructions counts in unit runs only: use it without --live');
  const globals = (list: string[] | undefined) => Object.fromEntries((list ?? []).map(parseGlobal));
  const type = parseType(values.type);
  const [both, oldMaps, newMaps] = await Promise.all([
    readMaps(values.maps, '--maps'),
    readMaps(values['old-maps'], '--old-maps'),
    readMaps(values['new-maps'], '--new-maps'),
  ]);
  const cmp = await diffCapture({
    old: { object: positionals[0]!, globals: globals(values['old-set-global']), maps: oldMaps },
    new: { object: positionals[1]!, globals: globals(values['new-set-global']), maps: newMaps },
    ...(values.program === undefined ? {} : { program: values.program }),
    ...type,
    pcap: values.pcap,
    globals: globals(values['set-global']),
    maps: both,
    ...(values.live ? { live: true } : {}),
    ...(values.instructions ? { instructions: true } : {}),
    ...(values.artifacts === undefined ? {} : { artifacts: values.artifacts }),
  });
  const out = new Output();
  if (values.json) {
    for (const c of cmp.changed) await out.write(changeJson(c));
    await out.write(
      JSON.stringify({
        summary: {
          program: cmp.program,
          engine: cmp.engine,
          frames: cmp.frames,
          changed: cmp.changed.length,
          ...cmp.summary,
        },
        stats: cmp.stats,
        ...(cmp.instructions
          ? {
              instructions: {
                old: cmp.instructions.old,
                new: cmp.instructions.new,
                grew: cmp.instructions.grew,
                shrank: cmp.instructions.shrank,
              },
            }
          : {}),
      }) + '\n',
    );
  } else {
    for (const c of cmp.changed) await out.write(formatChange(c) + '\n');
    await out.write(`${cmp.changed.length ? '\n' : ''}${formatSummary(cmp)}\n${formatStats(cmp.stats)}\n`);
    if (cmp.instructions) await out.write(`${formatInstructions(cmp.instructions)}\n`);
  }
  if (values.artifacts && !values.json)
    await out.write(`artifacts: ${values.artifacts}/old.pcapng, new.pcapng, changed.pcap\n`);
  return cmp.changed.length ? 1 : 0;
}
