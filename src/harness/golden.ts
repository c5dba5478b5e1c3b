import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XdpspecError } from '../sys/errors.js';
import { envFlag } from './env-flag.js';
import { diffFrames, formatChanges, parseFrame, summarize, type Frame } from '../packet/index.js';
import { encodeCapture, parseCapture } from '../pcap/index.js';
import { VERDICTS, type RedirectTarget, type Verdict } from './verdict.js';

/** What a golden capture needs of a run; unit and live runs both have it. */
export interface GoldenRun {
  readonly port?: string;
  readonly frames: readonly {
    readonly index: number;
    readonly port?: string;
    readonly input: Frame;
    readonly verdict: Verdict;
    readonly output: Frame | undefined;
    readonly redirect: RedirectTarget | undefined;
  }[];
}

/**
 * One frame's fate as a golden capture holds it: the output on the port it left by, or, for
 * a frame that produced none (dropped, aborted, stolen), the input on the port it came in on.
 */
export interface GoldenEntry {
  readonly index: number;
  readonly verdict: Verdict;
  readonly port: string;
  /** The output's bytes, or the input's when `output` is false. */
  readonly frame: Frame;
  readonly output: boolean;
}

/** The port name unit runs of one program use: they have no ports of their own. */
export const UNIT_PORT = 'in';

function targetPort(r: RedirectTarget | undefined): string {
  if (!r?.known) return 'unknown target';
  if (r.port) return r.port;
  if (r.ifindex !== undefined) return `ifindex ${r.ifindex}`;
  return r.map ? `${r.map.name}[${r.map.key}]` : 'unknown target';
}

/** The entries of a run, frame by frame. */
export function goldenEntries(run: GoldenRun): GoldenEntry[] {
  return run.frames.map((f) => {
    const inPort = f.port ?? run.port ?? UNIT_PORT;
    if (!f.output) return { index: f.index, verdict: f.verdict, port: inPort, frame: f.input, output: false };
    return {
      index: f.index,
      verdict: f.verdict,
      port: f.verdict === 'redirected' ? targetPort(f.redirect) : inPort,
      frame: f.output,
      output: true,
    };
  });
}

/**
 * A run as a golden pcapng: one interface per port, one record per input frame, each with a
 * comment `#3 passed` (then, for people reading it in Wireshark, what the record is).
 * Timestamps count frames (1 µs apart from the epoch), so the same run gives the same bytes.
 */
export function encodeGolden(run: GoldenRun): Buffer {
  const entries = goldenEntries(run);
  const ports = [...new Set(entries.map((e) => e.port))];
  return encodeCapture(
    entries.map((e) => ({
      data: e.frame.bytes,
      interfaceId: ports.indexOf(e.port),
      timestamp: BigInt(e.index) * 1000n,
      comment: `#${e.index} ${e.verdict}\n${e.output ? `the output, on ${e.port}` : `the input (nothing came out), on ${e.port}`}: ${summarize(e.frame)}`,
    })),
    { interfaces: ports.map((name) => ({ name })) },
  );
}

/** Reads a golden capture back into entries. @throws XdpspecError when it is not one. */
export function decodeGolden(bytes: Buffer, file: string): GoldenEntry[] {
  const cap = parseCapture(bytes, file);
  return cap.records.map((r) => {
    const m = /^#(\d+) (\w+)\n(the output|the input)/.exec(r.comment ?? '');
    if (!m || !VERDICTS.includes(m[2] as Verdict)) {
      throw new XdpspecError(
        'GOLDEN_FORMAT',
        `${file}: record ${r.index} has no xdpspec comment ("#3 passed ..."); a golden capture is written by xdpspec (XDPSPEC_UPDATE_GOLDEN=1), not edited by hand`,
      );
    }
    return {
      index: Number(m[1]),
      verdict: m[2] as Verdict,
      port: cap.interfaces[r.interfaceId]?.name ?? `interface ${r.interfaceId}`,
      frame: parseFrame(r.data),
      output: m[3] === 'the output',
    };
  });
}

/** Per frame, how a run differs from the golden entries: empty when it matches. */
export function goldenDiff(golden: readonly GoldenEntry[], now: readonly GoldenEntry[]): string[] {
  const out: string[] = [];
  const n = Math.max(golden.length, now.length);
  for (let i = 0; i < n; i++) {
    const g = golden[i];
    const c = now[i];
    if (!g) {
      out.push(`#${c!.index}  ${summarize(c!.frame)}\n    golden: (no such frame)   now: ${c!.verdict} on ${c!.port}`);
      continue;
    }
    if (!c) {
      out.push(
        `#${g.index}  (golden: ${g.verdict} on ${g.port}, ${summarize(g.frame)})\n    now: the run has only ${now.length} frames`,
      );
      continue;
    }
    const head = `#${c.index}  ${summarize(c.output ? c.frame : g.frame)}`;
    if (g.verdict !== c.verdict || g.port !== c.port)
      out.push(`${head}\n    golden: ${g.verdict} on ${g.port}   now: ${c.verdict} on ${c.port}`);
    else if (!g.frame.bytes.equals(c.frame.bytes)) {
      const fields = formatChanges(diffFrames(g.frame, c.frame));
      out.push(
        `${head}\n    ${c.output ? 'output' : 'input'} differs, golden -> now:\n${(fields || `${g.frame.length} -> ${c.frame.length} bytes`).replace(/^/gm, '      ')}`,
      );
    }
  }
  return out;
}

/** A run's outputs differ from its golden capture. */
export class GoldenMismatch extends XdpspecError {
  constructor(
    readonly file: string,
    /** One entry per differing frame, as printed. */
    readonly frames: readonly string[],
    total: number,
  ) {
    const shown = frames.slice(0, 20).join('\n');
    const more = frames.length > 20 ? `\n  ... and ${frames.length - 20} more` : '';
    super(
      'GOLDEN_MISMATCH',
      `${frames.length} of ${total} frames differ from the golden capture ${file} (XDPSPEC_UPDATE_GOLDEN=1 records the run as the new golden)\n\n${shown.replace(/^/gm, '  ')}${more}`,
    );
  }
}

/** True when golden captures are to be (re)written rather than checked: `XDPSPEC_UPDATE_GOLDEN=1`, or `xdpspec run --update-golden`. */
export function updatingGolden(): boolean {
  return envFlag('XDPSPEC_UPDATE_GOLDEN');
}

/**
 * Compares a run with its golden capture `file` (a path, or a URL such as
 * `new URL('./ping.golden.pcapng', import.meta.url)` for one next to the spec), or records it
 * when updating (see `updatingGolden`); an unchanged file is left untouched.
 * Returns `recorded` when it wrote the file, `matched` otherwise.
 * @throws GoldenMismatch naming every frame that differs; XdpspecError `GOLDEN_MISSING` when
 * there is no golden capture yet.
 */
export function checkGolden(
  run: GoldenRun,
  file: string | URL,
  options: { update?: boolean } = {},
): 'recorded' | 'matched' {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  if (options.update ?? updatingGolden()) {
    const bytes = encodeGolden(run);
    if (existsSync(path) && readFileSync(path).equals(bytes)) return 'matched';
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    return 'recorded';
  }
  if (!existsSync(path))
    throw new XdpspecError(
      'GOLDEN_MISSING',
      `no golden capture at ${path} yet; run the spec once with XDPSPEC_UPDATE_GOLDEN=1 (or xdpspec run --update-golden) to record it, then commit it`,
    );
  const differ = goldenDiff(decodeGolden(readFileSync(path), path), goldenEntries(run));
  if (differ.length) throw new GoldenMismatch(path, differ, run.frames.length);
  return 'matched';
}
