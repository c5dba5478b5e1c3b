import { expect } from 'chai';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { OBJ, needsBpf } from '../support/kernel.js';
import { tempDir, tsharkFields } from '../support/tools.js';

const started: number[] = [];
const cli = (...args: string[]) => {
  const p = execa('node', ['dist/cli/main.js', ...args], { reject: false });
  if (p.pid !== undefined) started.push(p.pid);
  return p;
};
// Namespaces of the CLI processes these specs started: another run on the machine has its own.
const ours = () => readdirSync('/run/netns').filter((n) => started.some((pid) => n.startsWith(`xdpspec-${pid}-`)));

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
  });

  it('replays a program another tool attached, run in the DUT namespace with $PORT set', async () => {
    const bpffsBefore = readdirSync('/sys/fs/bpf').filter((n) => !n.endsWith('.debug'));
    const r = await cli('replay', '--attached-by', `ip link set dev $PORT xdp obj ${OBJ.ipv6Filter} sec xdp`, '--pcap', 'fixtures/ipv4-and-ipv6.pcap', '--json');
    expect(r.exitCode).to.equal(0);
    expect(JSON.parse(r.stdout.split('\n').pop()!)).to.deep.equal({ summary: { frames: 20, passed: 10, dropped: 10, tx: 0, redirected: 0, aborted: 0, stolen: 0, others: 0 } });
    expect(ours()).to.deep.equal([]);
    // iproute2's loader made its bpffs directories during the run; xdpspec removed them after
    expect(readdirSync('/sys/fs/bpf').filter((n) => !n.endsWith('.debug'))).to.deep.equal(bpffsBefore);
    expect(r.stderr).to.equal('');
  });

  it('fails clearly, leaving nothing behind', async () => {
    let r = await cli('replay', OBJ.ipv6Filter, '--attached-by', 'true', '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: replay takes a BPF object or --attached-by, not both/);
    r = await cli('replay', OBJ.ipv6Filter);
    expect(r.stderr).to.match(/^xdpspec: replay needs --pcap FILE/);
    r = await cli('replay', '--attached-by', 'echo no such tool >&2; exit 3', '--pcap', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.equal('xdpspec: the attaching command failed (exit 3): echo no such tool >&2; exit 3\nno such tool');
    expect(ours()).to.deep.equal([]);
  });
});
