import { expect } from 'chai';
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { OBJ, needsBpf } from '../support/kernel.js';
import { trackedCli } from '../support/cli.js';
import { tempDir, tsharkFields } from '../support/tools.js';

const { cli, ours } = trackedCli();

describe('xdpspec replay', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  it("replays the article's capture live: 10 passed, 10 dropped, in test-run's format", async () => {
    const r = await cli('replay', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(21);
    expect(lines[0]).to.match(/^0 {2}eth .* icmp echo request id 7 seq 0 payload 12 bytes {2}dropped$/);
    expect(lines[1]).to.match(/^1 {2}eth .* icmpv6 echo request id 7 seq 0 payload 12 bytes {2}passed$/);
    expect(lines[20]).to.equal('20 frames: 10 passed, 10 dropped');
    expect(r.stderr).to.equal(''); // no progress when not on a terminal
    expect(ours()).to.deep.equal([]);
  });

  it('writes an artifact Wireshark reads: inputs and outputs per port side, a comment per frame', async () => {
    const r = await cli('replay', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--artifacts', t.dir);
    expect(r.stdout.split('\n').pop()).to.equal(`artifact: ${t.dir}/replay.pcapng`);
    const rows = await tsharkFields(`${t.dir}/replay.pcapng`, ['frame.interface_name', 'frame.comment']);
    expect(rows).to.have.length(30); // 20 inputs, 10 passed outputs
    expect(rows[0]).to.deep.equal(['wan tester', '#0 injected on wan: dropped']);
    expect(rows[1]).to.deep.equal(['wan tester', '#1 injected on wan: passed']);
    expect(rows[2]).to.deep.equal(['wan dut', '#1 passed, seen on wan (dut side), unchanged']);
    // How the program was attached, as the DUT side's interface description says.
    const dut = (
      await tsharkFields(`${t.dir}/replay.pcapng`, ['frame.interface_name', 'frame.interface_description'])
    ).find((r) => r[0] === 'wan dut');
    expect(dut?.[1]).to.match(/^xdp xdp_ipv6_only on wan \(netns xdpspec-\d+-\d+-dut\) \(native\), by BPF link$/);
  });

  it('replays a program another tool attached, run in the DUT namespace with $PORT set', async () => {
    // iproute2's loader makes these in the bpffs it sees: its own, private one, not the host's.
    const skeleton = () => readdirSync('/sys/fs/bpf').filter((n) => ['tc', 'ip', 'xdp'].includes(n));
    const bpffsBefore = skeleton();
    const r = await cli(
      'replay',
      '--attached-by',
      `ip link set dev $PORT xdp obj ${OBJ.ipv6Filter} sec xdp`,
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
      '--json',
    );
    expect(r.exitCode).to.equal(0);
    expect(JSON.parse(r.stdout.split('\n').pop()!)).to.deep.equal({
      summary: { frames: 20, passed: 10, dropped: 10, tx: 0, redirected: 0, aborted: 0, stolen: 0, others: 0 },
    });
    expect(ours()).to.deep.equal([]);
    expect(skeleton()).to.deep.equal(bpffsBefore);
    expect(r.stderr).to.equal('');
  });

  it('gives the attaching command a bpffs of its own: it sees no pin of the host, and what it pins stays with it', async () => {
    const hostPin = `/sys/fs/bpf/xdpspec-host-${process.pid}`;
    const toolPin = `/sys/fs/bpf/xdpspec-tool-${process.pid}`;
    // The host as systemd leaves it, a bpffs at /sys/fs/bpf holding a pin, made in a mount
    // namespace of the spec's own: the machine's mounts stay as they were (a fresh machine has no
    // bpffs there, and this spec does not give it one). The replay runs in that namespace, and
    // after it the shell checks that the tool's pin did not reach the "host's" bpffs.
    // Pins are files in bpffs; a directory stands for one here (xdp-filter pins its maps so).
    const cmd = `test ! -e ${hostPin} && mkdir ${toolPin} && test -d ${toolPin} && ip link set dev $PORT xdp obj ${OBJ.ipv6Filter} sec xdp`;
    const script =
      `mount -t bpf bpf /sys/fs/bpf && mkdir ${hostPin} && ` +
      `node dist/cli/main.js replay --attached-by "$CMD" --pcap fixtures/ipv4-and-ipv6.pcap; rc=$?; ` +
      `test -d ${hostPin} || { echo "the host's pin went" >&2; exit 98; }; ` +
      `test ! -e ${toolPin} || { echo "the tool's pin reached the host's bpffs" >&2; exit 99; }; exit $rc`;
    // Only bpffs at /sys/fs/bpf: a run beside this one mounts and unmounts namespaces of its own.
    const hostBpffs = () =>
      readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[1] === '/sys/fs/bpf');
    const mountsBefore = hostBpffs();
    const r = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      env: { CMD: cmd },
      reject: false,
    });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout.split('\n').pop()).to.equal('20 frames: 10 passed, 10 dropped');
    expect(r.stderr).to.equal('');
    expect(hostBpffs()).to.deep.equal(mountsBefore);
  });

  it('reads how another tool attached: XDP in generic (skb) mode and TC on ingress, each observed its own way', async () => {
    const generic = await cli(
      'replay',
      '--attached-by',
      `ip link set dev $PORT xdpgeneric obj ${OBJ.ipv6Filter} sec xdp`,
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
    );
    expect(generic.exitCode, generic.stderr).to.equal(0);
    expect(generic.stdout.split('\n').pop()).to.equal('20 frames: 10 passed, 10 dropped');
    const tc = await cli(
      'replay',
      '--attached-by',
      `tc qdisc add dev $PORT clsact && tc filter add dev $PORT ingress bpf da obj ${OBJ.tcTtl} sec tc`,
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
    );
    expect(tc.exitCode, tc.stderr).to.equal(0);
    expect(tc.stdout.split('\n').pop()).to.match(/^20 frames: /);
    const none = await cli('replay', '--attached-by', 'true', '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(none.exitCode).to.equal(1);
    expect(none.stderr).to.match(
      /^xdpspec: true exited without attaching anything to wan: no XDP program on it and no TC filter on its ingress/,
    );
    expect(ours()).to.deep.equal([]);
  });

  it('replays through a TC program on the egress (--egress), ours or one another tool attached there', async () => {
    const own = await cli('replay', OBJ.tcTtl, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--egress', '--json');
    expect(own.exitCode, own.stderr).to.equal(0);
    const lines = own.stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { verdict?: string; summary?: Record<string, number> });
    expect(lines.pop()!.summary).to.include({ frames: 20, passed: 20 });
    const other = await cli(
      'replay',
      '--attached-by',
      `tc qdisc add dev $PORT clsact && tc filter add dev $PORT egress bpf da obj ${OBJ.tcTtl} sec tc`,
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
    );
    expect(other.exitCode, other.stderr).to.equal(0);
    expect(other.stdout.split('\n').pop()).to.equal('20 frames: 20 passed');
    const xdp = await cli('replay', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--egress');
    expect(xdp.exitCode).to.equal(1);
    expect(xdp.stderr).to.match(/^xdpspec: egress is for TC programs; xdp_ipv6_only is an xdp program/);
    expect(ours()).to.deep.equal([]);
  });

  it('sends a program that grows frames XDP frames, with room to (--via says how)', async () => {
    const grow = [
      'replay',
      'specs/bpf/build/grow.bpf.o',
      '--set-global',
      'tail=200',
      '--pcap',
      'fixtures/ipv4-and-ipv6.pcap',
    ];
    for (const via of [[], ['--via', 'xdp']]) {
      const r = await cli(...grow, ...via, '--json');
      expect(r.exitCode).to.equal(0);
      const rows = r.stdout.split('\n').map((l) => JSON.parse(l) as { summary?: Record<string, number> });
      expect(rows.pop()!.summary).to.include({ frames: 20, passed: 20 });
    }
    const bad = await cli(...grow, '--via', 'carrier');
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.match(/^xdpspec: --via takes auto, xdp or socket, got "carrier"/);
    expect(ours()).to.deep.equal([]);
  });

  it('fails clearly, leaving nothing behind', async () => {
    let r = await cli('replay', OBJ.ipv6Filter, '--attached-by', 'true', '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: replay takes a BPF object or --attached-by, not both/);
    r = await cli('replay', OBJ.ipv6Filter);
    expect(r.stderr).to.match(/^xdpspec: replay needs --pcap FILE/);
    r = await cli('replay', '--attached-by', 'echo no such tool >&2; exit 3', '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.equal(
      'xdpspec: the attaching command failed (exit 3): echo no such tool >&2; exit 3\nno such tool',
    );
    expect(ours()).to.deep.equal([]);
  });
});
