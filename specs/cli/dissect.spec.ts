import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { tempDir } from '../support/tools.js';

// The CLI as users run it: the built dist/ (npm test builds it before the specs).
const cli = (...args: string[]) => execa('node', ['dist/cli/main.js', ...args], { reject: false });

describe('xdpspec dissect', () => {
  const t = tempDir();
  after(t.cleanup);

  it('prints one summary line per frame', async () => {
    const r = await cli('dissect', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(0);
    const lines = r.stdout.split('\n');
    expect(lines).to.have.length(20);
    expect(lines[0]).to.equal(
      '0  54 bytes  eth 02:00:00:00:00:0a > 02:00:00:00:00:0b ipv4 10.0.0.10 > 10.0.0.1 icmp echo request id 7 seq 0 payload 12 bytes',
    );
    expect(lines[3]).to.equal(
      '3  92 bytes  eth 02:00:00:00:00:0a > 02:00:00:00:00:0b ipv6 fd00::10 > fd00::1 udp 40001 > 53 len 30',
    );
  });

  it("says on stderr that a cooked capture's frames are shown with the Ethernet header they were given", async () => {
    const r = await cli('dissect', 'specs/pcap/data/any-sll.pcap');
    expect(r.exitCode).to.equal(0);
    expect(r.stderr).to.equal(
      'xdpspec: specs/pcap/data/any-sll.pcap: interface 0 captured link type 113 (LINUX_SLL (Linux cooked capture)); its frames are shown with the Ethernet header xdpspec gives them',
    );
    expect(r.stdout.split('\n')[2]).to.match(
      /^2 {2}45 bytes {2}eth 02:aa:00:00:00:01 > 02:00:00:00:00:02 ipv4 10\.5\.0\.1 > 10\.5\.0\.2 udp \d+ > 9 len 3$/,
    );
    expect((await cli('dissect', 'fixtures/ipv4-and-ipv6.pcap')).stderr).to.equal('');
  });

  it('prints one JSON object per line with the documented field names', async () => {
    const r = await cli('dissect', '--json', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(0);
    const objs = r.stdout
      .split('\n')
      .map((l) => JSON.parse(l) as { index: number; len: number; layers: Record<string, unknown>[] });
    expect(objs).to.have.length(20);
    expect(objs[4]!.index).to.equal(4);
    expect(objs[4]!.len).to.equal(58);
    expect(objs[4]!.layers.map((l) => l['name'])).to.deep.equal(['eth', 'ipv4', 'tcp']);
    expect(objs[4]!.layers[1]).to.include({ src: '10.0.0.10', dst: '10.0.0.1', ttl: 64, proto: 6 });
    expect(objs[4]!.layers[2]).to.deep.include({
      sport: 50002,
      dport: 80,
      seq: 2000,
      flags: 'S',
      options: [{ kind: 'mss', value: 1460 }],
    });
    expect(objs[0]!.layers[3]).to.deep.equal({ name: 'payload', data: Buffer.from('xdpspec echo').toString('hex') });
  });

  it('prints the full dissection with -v', async () => {
    const r = await cli('dissect', '-v', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.match(/^#0\nframe: 54 bytes\neth \(offset 0\)/);
    expect(r.stdout.match(/\(valid\)/g)).to.have.length(10 + 20); // 10 IPv4 header checksums, 20 ICMP/UDP/TCP/ICMPv6 ones
  });

  it('fails with a message on stderr and a non-zero exit for bad input', async () => {
    const bad = t.path('bad.pcap');
    writeFileSync(bad, Buffer.from('not a capture at all'));
    let r = await cli('dissect', bad);
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(`xdpspec: ${bad}: at byte 0: unknown magic number 0x6e6f7420: not a pcap or pcapng file`);
    r = await cli('dissect', t.path('missing.pcap'));
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/no such file/);
    r = await cli('dissect');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: dissect takes one capture file, got 0\nusage: xdpspec dissect FILE/);
    r = await cli('dissect', '--json', '-v', 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.exitCode).to.equal(2);
    r = await cli('frobnicate');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/^xdpspec: unknown command "frobnicate"/);
  });

  it('stops quietly when its reader goes away', async () => {
    const r = await execa('bash', ['-c', 'node dist/cli/main.js dissect fixtures/ipv4-and-ipv6.pcap | head -n 2'], {
      reject: false,
    });
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.split('\n')).to.have.length(2);
    expect(r.stderr).to.equal('');
  });
});
