import { parseArgs } from 'node:util';
import { UsageError } from '../sys/errors.js';
import { fuzzObject, PROPERTIES } from '../harness/fuzz.js';
import { PropertyFailure } from '../harness/properties.js';
import type { FrameShape } from '../packet/index.js';
import { readMaps } from './diff.js';
import { Output } from './output.js';
import { parseGlobal, parseType } from './test-run.js';

export const FUZZ_USAGE = `usage: xdpspec fuzz OBJECT --property NAME [--program NAME] [--type [NAME=]xdp|tc]... [--runs N]
                    [--seed S] [--out DIR] [--l2 LIST] [--l3 LIST] [--l4 LIST]
                    [--src-port P] [--dst-port P] [--malformed SHARE] [--sequence N]
                    [--reset all|none|MAP,...] [--set-global NAME=VALUE]... [--maps FILE]

Generates frames, runs each through the program with BPF_PROG_TEST_RUN from the same starting
state, and checks a property of every result. A failure is shrunk to a minimal frame (or
sequence), printed as a dissection and a spec to paste, and written to DIR as a pcapng fixture.
The same seed gives the same frames: --seed reproduces a run exactly.
Exit status: 0 when the property held on every run, 1 when it did not, 2 on an error.
  --property NAME       never-aborts       no frame is aborted
                        valid-checksums    outputs have right checksums wherever inputs had
                        engines-agree      unit and live engines agree (a one-port bench)
                        same-as=OLD.o      every frame is treated as OLD.o treats it
  --runs N              generated frames (or sequences); default 200
  --seed S              the seed; default random (printed, to reproduce)
  --out DIR             write the counterexample there as a pcapng fixture
  --l2 LIST             eth,vlan,qinq (default all)
  --l3 LIST             ipv4,ipv6,arp,other (default all)
  --l4 LIST             tcp,udp,icmp,other,vxlan,gre (default all)
  --src-port P, --dst-port P
                        ports to pick from: 22,80,443 or a range 8000-8199
  --malformed SHARE     the share of frames given one flaw (cut short, a wrong length or
                        checksum), 0 to 1; default 0.3
  --sequence N          runs of up to N frames, for programs that keep state
  --reset WHICH         maps put back as they were before each run: all state maps (default,
                        each run then depends on the seed alone), none (faster), or the
                        maps named (those the program writes and decides by)
  --set-global NAME=VALUE, --maps FILE
                        as in xdpspec diff (both objects, for same-as)`;

function list<T extends string>(v: string | undefined, allowed: readonly T[], option: string): T[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(',').map((x) => x.trim());
  for (const x of xs)
    if (!allowed.includes(x as T))
      throw new UsageError(`${option} takes ${allowed.join(', ')}, got ${JSON.stringify(x)}`);
  return xs as T[];
}

function ports(v: string | undefined, option: string): number[] | { from: number; to: number } | undefined {
  if (v === undefined) return undefined;
  const range = /^(\d+)-(\d+)$/.exec(v);
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (!ok(from) || !ok(to) || from > to) throw new UsageError(`${option} ${v}: a range is FROM-TO, 0-65535`);
    return { from, to };
  }
  const xs = v.split(',').map(Number);
  if (!xs.every(ok))
    throw new UsageError(`${option} takes ports (22,80) or a range (8000-8199), got ${JSON.stringify(v)}`);
  return xs;
}

function count(v: string | undefined, option: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${option} takes a whole number of at least ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export async function runFuzz(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      property: { type: 'string' },
      program: { type: 'string' },
      type: { type: 'string', multiple: true },
      runs: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      l2: { type: 'string' },
      l3: { type: 'string' },
      l4: { type: 'string' },
      'src-port': { type: 'string' },
      'dst-port': { type: 'string' },
      malformed: { type: 'string' },
      sequence: { type: 'string' },
      reset: { type: 'string' },
      'set-global': { type: 'string', multiple: true },
      maps: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(FUZZ_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`fuzz takes one BPF object, got ${positionals.length}\n${FUZZ_USAGE}`);
  if (!values.property) throw new UsageError(`fuzz needs --property: one of ${PROPERTIES.join(', ')}\n${FUZZ_USAGE}`);
  const malformed = values.malformed === undefined ? undefined : Number(values.malformed);
  if (malformed !== undefined && !(malformed >= 0 && malformed <= 1))
    throw new UsageError(`--malformed takes a share from 0 to 1, got ${JSON.stringify(values.malformed)}`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed))
    throw new UsageError(`--seed takes a whole number, got ${JSON.stringify(values.seed)}`);
  const shape: FrameShape = {
    ...(values.l2 ? { l2: list(values.l2, ['eth', 'vlan', 'qinq'] as const, '--l2')! } : {}),
    ...(values.l3 ? { l3: list(values.l3, ['ipv4', 'ipv6', 'arp', 'other'] as const, '--l3')! } : {}),
    ...(values.l4 ? { l4: list(values.l4, ['tcp', 'udp', 'icmp', 'other', 'vxlan', 'gre'] as const, '--l4')! } : {}),
    ...(values['src-port'] ? { srcPort: ports(values['src-port'], '--src-port')! } : {}),
    ...(values['dst-port'] ? { dstPort: ports(values['dst-port'], '--dst-port')! } : {}),
    ...(malformed === undefined ? {} : { malformed }),
  };
  const runs = count(values.runs, '--runs', 1);
  const sequence = count(values.sequence, '--sequence', 1);
  const out = new Output();
  try {
    const r = await fuzzObject({
      object: positionals[0]!,
      ...(values.program === undefined ? {} : { program: values.program }),
      ...parseType(values.type),
      property: values.property,
      ...(runs === undefined ? {} : { runs }),
      ...(seed === undefined ? {} : { seed }),
      frames: shape,
      ...(sequence === undefined ? {} : { sequence }),
      globals: Object.fromEntries((values['set-global'] ?? []).map(parseGlobal)),
      maps: await readMaps(values.maps, '--maps'),
      ...(values.out === undefined ? {} : { out: values.out }),
      ...(values.reset === undefined
        ? {}
        : { reset: values.reset === 'all' || values.reset === 'none' ? values.reset : values.reset.split(',') }),
    });
    const blocks = r.blocks
      ? `; blocks reached: ${r.blocks.reached}/${r.blocks.total} (${((100 * r.blocks.reached) / Math.max(1, r.blocks.total)).toFixed(0)}%)`
      : '';
    await out.write(
      `${r.property} held over ${r.runs} runs of ${r.program} (${r.frames} frames, seed ${r.seed})${blocks}\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof PropertyFailure)) throw err;
    await out.write(`${err.message}\n`);
    return 1;
  }
}
