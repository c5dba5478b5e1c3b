// The layers of ARCHITECTURE.md, checked on the sources: no import crosses them the wrong way.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const MAY_IMPORT: Record<string, readonly string[]> = {
  sys: [],
  pcap: ['sys'],
  packet: ['sys'],
  bpf: ['sys'],
  net: ['sys'],
  harness: ['sys', 'pcap', 'packet', 'bpf', 'net'],
  assert: ['sys', 'pcap', 'packet', 'bpf', 'net', 'harness'],
};

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

/** The layer of a file under src/ (its first folder), or undefined for the top-level entries. */
const layerOf = (file: string) => {
  const parts = relative('src', file).split('/');
  return parts.length > 1 ? parts[0] : undefined;
};

describe('the layers', () => {
  it('import only what ARCHITECTURE.md allows', () => {
    const wrong: string[] = [];
    for (const f of files('src')) {
      const from = layerOf(f);
      if (from === undefined || !(from in MAY_IMPORT)) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const to = layerOf(relative('.', resolve(dirname(f), m[1]!)));
        if (to !== undefined && to !== from && !MAY_IMPORT[from]!.includes(to)) wrong.push(`${f} imports ${m[1]}`);
        if (to === undefined && from !== undefined) wrong.push(`${f} imports the top level (${m[1]})`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('are the ones ARCHITECTURE.md draws', () => {
    const doc = readFileSync('ARCHITECTURE.md', 'utf8');
    for (const layer of Object.keys(MAY_IMPORT)) expect(doc, layer).to.include(`src/${layer}/`);
  });
});
