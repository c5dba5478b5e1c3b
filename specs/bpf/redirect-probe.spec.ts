import { expect } from 'chai';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { LiveBench, frame, loadObject, runUnit, type LoadedObject } from '../../src/index.js';
import { BpfMap, RedirectProbe } from '../../src/bpf/index.js';
import { SPEC_OBJ, needsBpf, VERDICT_FATES, VERDICT_PORTS } from '../support/kernel.js';

const udp = (dport: number) => frame.eth().ipv4().udp({ dport });
const FALLBACK = 'specs/bpf/build/redirect_fallback.bpf.o';

describe('unit engine: every XDP verdict, and where redirects go', () => {
  needsBpf();
  let l: LoadedObject;
  afterEach(() => l?.close());

  it('classifies aborted, dropped, passed, tx and redirected, with rewrites as diffs', async () => {
    l = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 1 });
    const run = await runUnit(l.program(), VERDICT_PORTS.map(udp));
    expect(run.frames.map((r) => r.verdict)).to.deep.equal(VERDICT_FATES);
    expect(run.frames.map((r) => r.action)).to.deep.equal([
      'XDP_ABORTED',
      'XDP_DROP',
      'XDP_PASS',
      'XDP_TX',
      'XDP_REDIRECT',
      'XDP_PASS',
    ]);
    expect(run.frames[3]!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).to.deep.equal([
      'eth.dst: 02:00:00:00:00:02 -> 02:00:00:00:00:01',
      'eth.src: 02:00:00:00:00:01 -> 02:00:00:00:00:02',
    ]);
    expect(run.frames[5]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
    expect(run.frames[5]!.output!.get('ipv4.ttl')).to.equal(63);
    expect(run.counts).to.include({ aborted: 1, dropped: 1, passed: 2, tx: 1, redirected: 1 });
  });

  it('names the ifindex and device of a bpf_redirect, from the kernel tracepoint', async () => {
    l = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 1 });
    const r = (await runUnit(l.program(), [udp(5)])).frames[0]!;
    expect(r.redirect).to.deep.equal({ known: true, ifindex: 1, device: 'lo' });
  });

  it('says when the target ifindex does not exist, never guessing', async () => {
    l = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 7777 });
    const r = (await runUnit(l.program(), [udp(5)])).frames[0]!;
    expect(r.redirect).to.deep.equal({
      known: true,
      ifindex: 7777,
      error: 'no device with ifindex 7777 in this network namespace',
    });
  });

  it('names the devmap, key and target of a bpf_redirect_map', async () => {
    l = loadObject(SPEC_OBJ.verdicts);
    l.map('ports').set(0, 1);
    const r = (await runUnit(l.program(), [udp(6)])).frames[0]!;
    expect(r.redirect).to.deep.include({ known: true, ifindex: 1, device: 'lo' });
    expect((r.redirect as { map: object }).map).to.deep.include({ name: 'ports', type: 'devmap', key: 0 });
  });

  it('resolves a devmap entry in the namespace it was written from, and never sends the rerun through it', async () => {
    const bench = await LiveBench.create({ ports: [{ name: 'wan' }, { name: 'lan' }] });
    try {
      l = loadObject(SPEC_OBJ.verdicts);
      bench.setDeviceMap(l.map('ports'), 0, 'lan');
      const lan = bench.topology.port('lan');
      const packets = () => {
        const read = (ns: string, dir: 'rx' | 'tx') => {
          const out = execFileSync('ip', ['-j', '-s', '-n', ns, 'link', 'show', 'dev', 'lan'], { encoding: 'utf8' });
          return (JSON.parse(out) as { stats64: Record<string, { packets: number }> }[])[0]!.stats64[dir]!.packets;
        };
        return [read(bench.topology.dut, 'tx'), read(lan.testerNetns, 'rx')];
      };
      const before = packets();
      const r = (await runUnit(l.program(), [udp(6), udp(6)])).frames[0]!;
      // The DUT's lan, by its name there and the bench's port: not whatever the caller's
      // namespace has at that ifindex.
      expect(r.redirect).to.deep.include({ known: true, ifindex: lan.dutIfindex, device: 'lan', port: 'lan' });
      expect(r).to.be.redirectedTo('lan');
      expect(packets(), 'frames sent on the bench by the unit run').to.deep.equal(before);
    } finally {
      bench.close();
    }
  });

  it('keeps map state exact: a rerun to locate a redirect is undone', async () => {
    l = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 1 });
    await runUnit(l.program(), [udp(5), udp(5), udp(3)]);
    expect(l.map('runs').get(0)).to.equal(3);
    await runUnit(l.program(), [udp(5)], { locateRedirects: false });
    expect(l.map('runs').get(0)).to.equal(4);
  });

  it('locates at the devmap key the program used as the map is now, entries deleted included', async () => {
    l = loadObject(FALLBACK);
    const p = l.program('redirect_fallback');
    const ports = l.map('ports');
    const keyOf = async () => {
      const r = (await runUnit(p, [udp(9)])).frames[0]!;
      expect(r.verdict).to.equal('redirected');
      return (r.redirect as { map?: { key: number } }).map?.key;
    };
    ports.set(0, 1);
    expect(await keyOf()).to.equal(0);
    // The program falls back to key 1 once key 0 holds nothing: a rerun whose copy of the map
    // still held key 0 would name it.
    ports.delete(0);
    ports.set(1, 1);
    expect(await keyOf()).to.equal(1);
    ports.set(0, 1);
    expect(await keyOf()).to.equal(0);
  });

  it('puts back only the maps the located program uses, and its copy goes with the object', async () => {
    const progFds = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-prog';
        } catch {
          return false; // the directory's own descriptor, closed by now
        }
      }).length;
    const before = progFds();
    l = loadObject(FALLBACK);
    l.map('ports').set(0, 1);
    l.map('other_seen').set(0, 7);
    // Kept to call with its map as `this` (putBack.call below), and put back after.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const putBack = BpfMap.prototype.putBack;
    const putBackTo: string[] = [];
    BpfMap.prototype.putBack = function (this: BpfMap, state) {
      putBackTo.push(this.name);
      return putBack.call(this, state);
    };
    try {
      const run = await runUnit(l.program('redirect_fallback'), [udp(9), udp(9)]);
      expect(run.counts.redirected).to.equal(2);
    } finally {
      BpfMap.prototype.putBack = putBack;
    }
    expect(putBackTo).to.deep.equal(['seen', 'seen']);
    expect(l.map('seen').get(0)).to.equal(2);
    expect(l.map('other_seen').get(0)).to.equal(7);
    expect(progFds(), 'the two programs and the rerun copy').to.equal(before + 3);
    l.close();
    expect(progFds(), 'after close').to.equal(before);
  });

  it('reports unknown, with the reason, when asked not to locate', async () => {
    l = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 1 });
    const r = (await runUnit(l.program(), [udp(5)], { locateRedirects: false })).frames[0]!;
    expect(r.redirect).to.deep.equal({
      known: false,
      reason: 'redirect targets were not asked for (locateRedirects: false)',
    });
  });

  it('leaves no namespace behind and keeps the caller in its own namespace', async () => {
    const before = (await execa('readlink', ['/proc/self/ns/net'])).stdout;
    const own = (await execa('readlink', [`/proc/${process.pid}/task/${process.pid}/ns/net`])).stdout;
    l = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 1 });
    const probe = RedirectProbe.open();
    try {
      for (let i = 0; i < 3; i++) await runUnit(l.program(), [udp(5)], { redirectProbe: probe });
    } finally {
      probe.close();
    }
    expect((await execa('readlink', [`/proc/${process.pid}/task/${process.pid}/ns/net`])).stdout).to.equal(own);
    expect((await execa('readlink', ['/proc/self/ns/net'])).stdout).to.equal(before);
    expect((await execa('ip', ['netns', 'list'])).stdout).to.not.include(`xdpspec-${process.pid}-`); // other runs may have theirs
  });
});
