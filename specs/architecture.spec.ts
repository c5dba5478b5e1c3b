// The layers of ARCHITECTURE.md, checked on the sources: no import crosses them the wrong way.
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const MAY_IMPORT: Record<string, readonly string[]> = {
  sys: [],
  pcap: ['sys'],
  packet: ['sys'],
  bpf: ['sys'],
  net: ['sys'],
  vm: ['sys'],
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

/**
 * Modules whose spec is the one of the module they are part of (the face users meet), or that
 * hold no logic of their own (types, re-exports, declarations). Every other module under src/
 * has a spec of its own at the mirrored path: specs/X/Y.spec.ts for src/X/Y.ts.
 */
const SPEC_OF_THE_WHOLE: Record<string, string> = {
  'assert/changes.ts': 'specs/assert/chai.spec.ts',
  'assert/executed.ts': 'specs/assert/chai.spec.ts',
  'assert/frames.ts': 'specs/assert/chai.spec.ts',
  'assert/subjects.ts': 'specs/assert/chai.spec.ts',
  'assert/verdicts.ts': 'specs/assert/chai.spec.ts',
  'bpf/btf.ts': 'specs/bpf/map.spec.ts',
  'bpf/codec.ts': 'specs/bpf/map.spec.ts',
  'bpf/device-writes.ts': 'specs/bpf/redirect-probe.spec.ts',
  'bpf/dispatcher.ts': 'specs/bpf/testrun.spec.ts',
  'bpf/event-records.ts': 'specs/bpf/ring-buffer.spec.ts',
  'bpf/ffi.ts': '(declarations)',
  'bpf/frame-places.ts': 'specs/bpf/testrun.spec.ts',
  'bpf/handles.ts': 'specs/bpf/object.spec.ts',
  'bpf/insns.ts': 'specs/bpf/instrument.spec.ts',
  'bpf/loaded.ts': 'specs/bpf/object.spec.ts',
  'bpf/program.ts': 'specs/bpf/testrun.spec.ts',
  'bpf/run-many.ts': 'specs/bpf/testrun.spec.ts', // and its build from source: specs/package.spec.ts
  'bpf/probe-objects.ts': 'specs/package.spec.ts',
  'bpf/testrun-options.ts': 'specs/bpf/testrun.spec.ts',
  'cli/junit.ts': 'specs/cli/run.spec.ts',
  'cli/matrix-report.ts': 'specs/cli/kernel-run.spec.ts',
  'cli/main.ts': 'specs/reliability/bad-input.spec.ts',
  'cli/output.ts': 'specs/cli/dissect.spec.ts',
  'cli/report.ts': 'specs/cli/test-run.spec.ts',
  'harness/artifact.ts': 'specs/cli/replay.spec.ts',
  'harness/bench-fixtures.ts': 'specs/harness/fixture.spec.ts',
  'harness/both.ts': 'specs/programs/xdp_firewall.spec.ts',
  'harness/diff.ts': 'specs/cli/diff.spec.ts',
  'harness/fuzz.ts': 'specs/cli/fuzz.spec.ts',
  'harness/env-flag.ts': 'specs/harness/golden.spec.ts', // XDPSPEC_UPDATE_GOLDEN read through it
  'harness/frames.ts': 'specs/harness/unit.spec.ts',
  'harness/replay.ts': 'specs/cli/replay.spec.ts',
  'harness/test-run.ts': 'specs/cli/test-run.spec.ts',
  'harness/live/external.ts': 'specs/cli/replay.spec.ts',
  'harness/live/generic.ts': 'specs/harness/live/bench.spec.ts',
  'harness/live/inject.ts': 'specs/harness/live/bench.spec.ts',
  'harness/live/native.ts': 'specs/harness/live/bench.spec.ts',
  'harness/live/port.ts': 'specs/harness/live/bench.spec.ts',
  'harness/live/probes.ts': 'specs/harness/live/bench.spec.ts',
  'harness/live/results.ts': '(types)',
  'harness/live/tc-egress.ts': 'specs/harness/live/tc.spec.ts',
  'harness/live/tc-ingress.ts': 'specs/harness/live/tc.spec.ts',
  'mocha.ts': 'specs/package.spec.ts',
  'one-instance.ts': 'specs/package.spec.ts',
  'net/capture-ring.ts': 'specs/net/packet-socket.spec.ts',
  'net/packet-abi.ts': 'specs/net/packet-socket.spec.ts',
  'net/link.ts': 'specs/net/topology.spec.ts',
  'net/registry.ts': 'specs/net/topology.spec.ts',
  'net/wait.ts': 'specs/harness/live/bench.spec.ts',
  'packet/checksums.ts': 'specs/packet/checksum.spec.ts',
  'packet/codec.ts': 'specs/packet/protocols.spec.ts',
  'packet/diff.ts': 'specs/packet/summary.spec.ts',
  'packet/fields.ts': 'specs/packet/parse.spec.ts',
  'packet/frame.ts': 'specs/packet/parse.spec.ts',
  'packet/layers.ts': '(types)',
  'packet/payload.ts': 'specs/packet/protocols.spec.ts',
  'packet/ipproto.ts': 'specs/packet/protocols.spec.ts',
  'pcap/classic.ts': 'specs/pcap/reader.spec.ts',
  'pcap/decoder.ts': 'specs/pcap/reader.spec.ts',
  'pcap/types.ts': '(types)',
  'sys/bpffs.ts': 'specs/bpf/pinning.spec.ts',
  'sys/errno.ts': 'specs/sys/text.spec.ts',
  'sys/errors.ts': 'specs/sys/error-codes.spec.ts',
  'sys/libc.ts': '(declarations)',
  'sys/native.ts': 'specs/bpf/testrun.spec.ts',
  'sys/netns.ts': 'specs/bpf/redirect-probe.spec.ts',
  'sys/privileges.ts': 'specs/bpf/object.spec.ts',
  'sys/process-wide.ts': 'specs/sys/owner.spec.ts',
};
/** Every protocol module is round-tripped in one table-driven spec. */
const PROTOCOL_SPEC = 'specs/packet/protocols.spec.ts';
const PROTOCOLS = [
  'arp',
  'ethernet',
  'geneve',
  'gre',
  'icmp',
  'icmpv6',
  'ipv4',
  'ipv6',
  'ipv6ext',
  'tcp',
  'udp',
  'vlan',
  'vxlan',
];

describe('the specs', () => {
  it('mirror src/: a module has its own spec, or the spec of the whole it is part of', () => {
    const unspecced: string[] = [];
    for (const f of files('src')) {
      const rel = relative('src', f);
      if (rel.endsWith('index.ts') || existsSync(`specs/${rel.replace(/\.ts$/, '.spec.ts')}`)) continue;
      if (rel.startsWith('pcap/pcapng/')) continue; // the pcapng blocks: specs/pcap/reader.spec.ts and writer.spec.ts
      const whole =
        SPEC_OF_THE_WHOLE[rel] ?? (PROTOCOLS.some((p) => rel === `packet/${p}.ts`) ? PROTOCOL_SPEC : undefined);
      if (whole === undefined) unspecced.push(rel);
      else if (!whole.startsWith('(')) expect(existsSync(whole), `${rel}: ${whole}`).to.equal(true);
    }
    expect(unspecced).to.deep.equal([]);
  });
});

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
