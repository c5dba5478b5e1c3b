import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { loadObject, runUnit } from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { trackedCli } from '../support/cli.js';
import { tempDir, tsharkFields } from '../support/tools.js';

const { cli, ours } = trackedCli();
const MIXED = 'fixtures/mixed-traffic.pcap';

describe('xdpspec diff', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  it('prints the changed frames with both verdicts, a summary and the verifier stats, and exits 1', async () => {
    const r = await cli('diff', OBJ.ipv6Filter, SPEC_OBJ.ipv6FilterV2, '--pcap', MIXED);
    expect(r.exitCode).to.equal(1);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 3)).to.deep.equal([
      '#0  eth 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff arp who-has 10.0.0.1 tell 10.0.0.2',
      '    old: XDP_DROP dropped',
      '    new: XDP_PASS passed',
    ]);
    expect(lines.filter((l) => l.startsWith('#')).map((l) => l.split(' ')[0])).to.deep.equal([
      '#0',
      '#1',
      '#14',
      '#15',
    ]);
    expect(lines).to.include('65 frames, 4 changed: 4 dropped->passed');
    expect(lines.find((l) => l.startsWith('verifier: '))).to.match(
      /^verifier: \d+ -> \d+ instructions processed \(\+\d+\.\d%\)$/,
    );
    expect(r.stderr).to.equal('');
  });

  it('--instructions adds what each frame executed, old -> new, as the unit engine counts it', async () => {
    const SEED = 'fixtures/ipv4-and-ipv6.pcap';
    const counts = async (path: string) => {
      const o = loadObject(path, {}, { count: true });
      try {
        return (await runUnit(o.program(), SEED)).instructions!;
      } finally {
        o.close();
      }
    };
    const [a, b] = [await counts(OBJ.ipv6Filter), await counts(SPEC_OBJ.ipv6FilterV2)];
    const r = await cli('diff', OBJ.ipv6Filter, SPEC_OBJ.ipv6FilterV2, '--pcap', SEED, '--instructions');
    expect(r.exitCode, r.stderr).to.equal(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('executed: '));
    expect(line).to.equal(
      `executed: median ${a.median} -> ${b.median} instructions per frame (min ${a.min} -> ${b.min}, max ${a.max} -> ${b.max}, all frames ${a.total} -> ${b.total} (+${(((b.total - a.total) / a.total) * 100).toFixed(1)}%)); 20 frames executed more, 0 fewer`,
    );
    const json = await cli('diff', OBJ.ipv6Filter, OBJ.ipv6Filter, '--pcap', SEED, '--instructions', '--json');
    expect((JSON.parse(json.stdout.trim().split('\n').pop()!) as { instructions: unknown }).instructions).to.deep.equal(
      {
        old: a,
        new: a,
        grew: 0,
        shrank: 0,
      },
    );
    const live = await cli('diff', OBJ.ipv6Filter, OBJ.ipv6Filter, '--pcap', SEED, '--instructions', '--live');
    expect(live.exitCode).to.equal(2);
    expect(live.stderr).to.match(/--instructions counts in unit runs only: use it without --live/);
  });

  it('exits 0 when nothing changed', async () => {
    const r = await cli('diff', OBJ.ipv6Filter, OBJ.ipv6Filter, '--pcap', MIXED);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.equal('65 frames, 0 changed');
  });

  it('fills maps from --maps for both sides and --old-maps / --new-maps for one, and prints JSON', async () => {
    writeFileSync(t.path('both.json'), JSON.stringify({ ipv4_src: { '10.0.0.10/32': 0 } }));
    writeFileSync(t.path('ssh.json'), JSON.stringify({ port_dst: [[{ proto: 6, port: 22 }, 0]] }));
    const r = await cli(
      'diff',
      OBJ.firewall,
      OBJ.firewall,
      '--pcap',
      MIXED,
      '--maps',
      t.path('both.json'),
      '--new-maps',
      t.path('ssh.json'),
      '--json',
    );
    expect(r.exitCode).to.equal(1);
    const objs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = objs.pop()!;
    expect(summary.summary).to.deep.equal({
      program: 'xdp_firewall',
      engine: 'unit',
      frames: 65,
      changed: 12,
      'passed->dropped': 12,
    });
    expect(objs).to.have.length(12);
    expect(objs[0]).to.deep.include({
      label: 'passed->dropped',
      old: { verdict: 'passed', action: 'XDP_PASS', to: 'up the stack', len: 74 },
      new: { verdict: 'dropped', action: 'XDP_DROP', to: 'nowhere' },
    });
    // The same rules on the old side instead: the change goes the other way.
    const back = await cli('diff', OBJ.firewall, OBJ.firewall, '--pcap', MIXED, '--old-maps', t.path('ssh.json'));
    expect(back.stdout).to.include('65 frames, 12 changed: 12 dropped->passed\n');
  });

  it('sets globals on one side, replays live with --live, and writes the artifacts', async () => {
    const r = await cli(
      'diff',
      OBJ.firewall,
      OBJ.firewall,
      '--pcap',
      MIXED,
      '--new-set-global',
      'mode=1',
      '--live',
      '--artifacts',
      t.path('art'),
    );
    expect(r.exitCode).to.equal(1);
    // Deny mode with no rules: all but ARP, which the firewall always lets through, is dropped.
    expect(r.stdout).to.include('65 frames, 61 changed: 61 passed->dropped\n');
    expect(r.stdout.trim().split('\n').pop()).to.equal(
      `artifacts: ${t.path('art')}/old.pcapng, new.pcapng, changed.pcap`,
    );
    expect(ours()).to.deep.equal([]);
    // tshark prints a comment's line breaks as \n
    const rows = (await tsharkFields(t.path('art/new.pcapng'), ['frame.interface_name', 'frame.comment'])).map(
      ([i, c]) => [i, c!.replaceAll('\\n', '\n')],
    );
    expect(rows).to.have.length(65);
    expect(rows[0]).to.deep.equal([
      'wan',
      '#0 passed\nthe output, on wan: eth 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff arp who-has 10.0.0.1 tell 10.0.0.2',
    ]);
    expect(rows[2]![1]).to.match(
      /^#2 dropped\nthe input \(nothing came out\), on wan: eth 02:00:00:00:00:02 > 02:00:00:00:00:01 ipv4 10.0.0.2 > 10.0.0.1 icmp echo request/,
    );
    expect(await tsharkFields(t.path('art/changed.pcap'), ['frame.number'])).to.have.length(61);
  });

  it('exits 2 with one line on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [[OBJ.ipv6Filter], /^xdpspec: diff takes two BPF objects, the old and the new, got 1\n/],
      [[OBJ.ipv6Filter, OBJ.ipv6Filter], /^xdpspec: diff needs --pcap FILE/],
      [
        [OBJ.ipv6Filter, 'nope.o', '--pcap', MIXED],
        /^xdpspec: BPF object nope.o does not exist; build it first \(make -C bpf\)$/,
      ],
      [
        [OBJ.firewall, OBJ.firewall, '--pcap', MIXED, '--maps', t.path('none.json')],
        /^xdpspec: --maps .*none.json: no such file$/,
      ],
      [
        [OBJ.firewall, OBJ.firewall, '--pcap', MIXED, '--maps', 'package.json'],
        /^xdpspec: --maps package.json should hold an object of maps, each an object \{"key": value\} or a list of \[key, value\] pairs; map name is "xdpspec"$/,
      ],
      [
        [OBJ.firewall, OBJ.firewall, '--pcap', MIXED, '--maps', MIXED],
        /^xdpspec: --maps fixtures\/mixed-traffic.pcap is not JSON: /,
      ],
    ];
    for (const [args, err] of cases) {
      const r = await cli('diff', ...args);
      expect(r.exitCode, args.join(' ')).to.equal(2);
      expect(r.stderr.trim(), args.join(' ')).to.match(err);
    }
    writeFileSync(t.path('typo.json'), JSON.stringify({ ipv4_sorce: { '10.0.0.10/32': 0 } }));
    const r = await cli('diff', OBJ.firewall, OBJ.firewall, '--pcap', MIXED, '--maps', t.path('typo.json'));
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(
      /^xdpspec: map "ipv4_sorce" does not exist in .*; maps there: mac_src, mac_dst, ipv4_src, /,
    );
  });
});
