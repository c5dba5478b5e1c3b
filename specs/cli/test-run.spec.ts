import { expect } from 'chai';
import { execa } from 'execa';
import { frame, readCapture, writeCapture } from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

const cli = (...args: string[]) => execa('node', ['dist/cli/main.js', ...args], { reject: false });

describe('xdpspec test-run', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  it('reports 10 passed and 10 dropped for the IPv6 filter on the fixture', async () => {
    const r = await cli('test-run', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(21);
    expect(lines[0]).to.equal(
      '0  eth 02:00:00:00:00:0a > 02:00:00:00:00:0b ipv4 10.0.0.10 > 10.0.0.1 icmp echo request id 7 seq 0 payload 12 bytes  XDP_DROP dropped',
    );
    expect(lines[1]).to.match(
      /^1 {2}eth .* ipv6 fd00::10 > fd00::1 icmpv6 echo request id 7 seq 0 payload 12 bytes {2}XDP_PASS passed$/,
    );
    expect(lines[20]).to.equal('20 frames: 10 passed, 10 dropped');
  });

  it('prints JSON per frame and a summary object, and writes the outputs', async () => {
    const out = t.path('out.pcapng');
    const r = await cli(
      'test-run',
      OBJ.ipv6Filter,
      '--program',
      'xdp_ipv6_only',
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
      '--json',
      '--out',
      out,
    );
    expect(r.exitCode).to.equal(0);
    const objs = r.stdout.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).to.have.length(21);
    expect(objs[0]).to.include({ index: 0, verdict: 'dropped', action: 'XDP_DROP' });
    expect(objs[20]).to.deep.equal({
      summary: { frames: 20, passed: 10, dropped: 10, tx: 0, redirected: 0, aborted: 0, stolen: 0 },
    });
    const written = await readCapture(out);
    expect(written.records).to.have.length(10);
    expect(written.records[0]!.comment).to.equal('#1 XDP_PASS passed');
  });

  it('names where redirected frames went', async () => {
    const file = t.path('verdicts.pcap');
    await writeCapture(
      file,
      [3, 5].map((d) => ({ data: frame.eth().ipv4().udp({ dport: d }).build() })),
      { format: 'pcap' },
    );
    let r = await cli('test-run', SPEC_OBJ.verdicts, '--pcap', file, '--set-global', 'redirect_ifindex=1');
    expect(r.stdout.split('\n')[1]).to.match(/ {2}XDP_REDIRECT redirected to ifindex 1 \(lo\)$/);
    r = await cli('test-run', SPEC_OBJ.verdicts, '--pcap', file, '--set-global', 'redirect_ifindex=4242');
    expect(r.stdout.split('\n')[1]).to.match(
      /XDP_REDIRECT redirected to ifindex 4242, failed: no device with ifindex 4242 in this network namespace$/,
    );
  });

  it('names the missing capabilities when run without them, with no stack trace', async () => {
    const args = ['dist/cli/main.js', 'test-run', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap'];
    let r = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', 'node', ...args],
      { reject: false },
    );
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.equal(
      `xdpspec: loading ${OBJ.ipv6Filter} needs CAP_BPF (or CAP_SYS_ADMIN), CAP_NET_ADMIN, which this process lacks: run xdpspec as root (or with CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)`,
    );
    r = await execa('capsh', ['--drop=cap_net_admin', '--', '-c', `node ${args.join(' ')}`], { reject: false });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/needs CAP_NET_ADMIN, which this process lacks/);
  });

  it('sets globals, shows rewrites, and fails clearly on bad input', async () => {
    let r = await cli(
      'test-run',
      OBJ.maps,
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
      '--set-global',
      'blocked_ip=10.0.0.10',
      '--set-global',
      'drop_action=1',
    );
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.split('\n').pop()).to.equal('20 frames: 10 passed, 10 dropped');
    r = await cli('test-run', OBJ.tcTtl, '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.stdout).to.include('TC_ACT_OK passed\n    ipv4.ttl: 64 -> 63\n    ipv4.checksum: ');
    r = await cli('test-run', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--program', 'nope');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.equal(
      'xdpspec: program "nope" does not exist in bpf/build/xdp_ipv6_filter.bpf.o; programs there: xdp_ipv6_only',
    );
    r = await cli('test-run', OBJ.maps, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--set-global', 'blocked_ip=nonsense');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/^xdpspec: global blocked_ip: "nonsense" is not an IPv4 address; expected __be32/);
    r = await cli('test-run', OBJ.ipv6Filter);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: test-run needs --pcap FILE/);
    r = await cli('test-run', OBJ.rejected, '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(
      /^xdpspec: load specs\/bpf\/build\/rejected\.bpf\.o: the verifier rejected program xdp_unchecked: R1 offset is outside of the packet/,
    );
  });

  it('runs a program whose legacy section name says no type once --type gives it, in test-run, replay and diff', async () => {
    const legacy = 'specs/bpf/build/legacy_section.bpf.o';
    for (const cmd of [
      ['test-run', legacy],
      ['replay', legacy],
      ['diff', legacy, legacy],
    ]) {
      const r = await cli(...cmd, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--type', 'xdp');
      expect(r.exitCode, `${cmd[0]}: ${r.stderr}`).to.equal(0);
      expect(r.stdout, cmd[0]).to.match(cmd[0] === 'diff' ? /20 frames, 0 changed/ : /20 frames: 20 passed$/);
    }
  });

  it('types the programs of an object mixing XDP and TC in legacy sections one by one: --type NAME=TYPE', async () => {
    const mixed = 'specs/bpf/build/legacy_mixed.bpf.o';
    const pcap = ['--pcap', 'fixtures/ipv4-and-ipv6.pcap'];
    // The XDP program passes IPv6 alone (half the capture), the TC one passes all.
    for (const [program, types, last] of [
      ['xdp_mixed', ['--type', 'xdp_mixed=xdp', '--type', 'tc_mixed=tc'], '20 frames: 10 passed, 10 dropped'],
      ['tc_mixed', ['--type', 'tc_mixed=tc', '--type', 'xdp'], '20 frames: 20 passed'],
    ] as const) {
      const r = await cli('test-run', mixed, '--program', program, ...types, ...pcap);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout.split('\n').pop()).to.equal(last);
    }
    let r = await cli('test-run', mixed, ...pcap);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('--type xdp_mixed=xdp --type tc_mixed=tc on the command line');
    r = await cli('test-run', mixed, '--type', 'xdp', '--type', 'tc', ...pcap);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: --type names the type of every other program twice/);
    r = await cli('test-run', mixed, '--type', 'tc_mixed=sched_cls', ...pcap);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: --type takes xdp, tc or NAME=xdp\|tc, got "tc_mixed=sched_cls"/);
  });
});
