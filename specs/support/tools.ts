// The reference tools specs compare against: tcpdump and tshark read and write captures
// independently of xdpspec, so agreement with them is evidence, not a tautology.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** Frame bytes as tshark reads them from `file`. */
export async function tsharkFrames(file: string): Promise<Buffer[]> {
  const { stdout } = await execa('tshark', ['-r', file, '-T', 'json', '-x']);
  const pkts = JSON.parse(stdout) as { _source: { layers: { frame_raw: [string] } } }[];
  return pkts.map((p) => Buffer.from(p._source.layers.frame_raw[0], 'hex'));
}

/** Frame bytes as tcpdump reads them from `file` (from its `-xx` hex dump). */
export async function tcpdumpFrames(file: string): Promise<Buffer[]> {
  const { stdout } = await execa('tcpdump', ['-r', file, '-n', '-xx']);
  const frames: Buffer[] = [];
  let cur: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (m) {
      cur!.push(m[1]!.replace(/\s+/g, ''));
    } else {
      if (cur) frames.push(Buffer.from(cur.join(''), 'hex'));
      cur = [];
    }
  }
  if (cur && cur.length) frames.push(Buffer.from(cur.join(''), 'hex'));
  return frames.filter((f) => f.length > 0);
}

/** tshark `-T fields` output: one row per frame, one string per field ('' when absent). */
export async function tsharkFields(file: string, fields: string[], prefs: string[] = []): Promise<string[][]> {
  const args = ['-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const p of prefs) args.push('-o', p);
  for (const f of fields) args.push('-e', f);
  const { stdout } = await execa('tshark', args);
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xdpspec-spec-'));
  left.add(dir);
  return {
    dir,
    path: (n) => join(dir, n),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      left.delete(dir);
    },
  };
}

// Suites make their directories as Mocha loads them, and a suite's after hook runs only when one
// of its cases does: under `mocha -g` most never do. What no hook removed goes at exit.
const left = new Set<string>();
process.on('exit', () => {
  for (const d of left) rmSync(d, { recursive: true, force: true });
});
