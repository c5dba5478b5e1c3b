// Specs of compareObjects and the onlyChanges assertion: the same frames through an old and a
// new object, and every frame whose fate changed, exactly. The capture is
// fixtures/mixed-traffic.pcap, recorded from real traffic in the firewall article's lab.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { LAB } from '../../fixtures/generate.js';
import {
  LiveBench,
  compareObjects,
  frame,
  parseCapture,
  parseFrame,
  type ChangeLabel,
  type Frame,
  type LoadedObject,
} from '../../src/index.js';
import { formatComparison } from '../../src/harness/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { rejection, thrown } from '../support/thrown.js';

const MIXED = 'fixtures/mixed-traffic.pcap';
const mixed: Frame[] = parseCapture(readFileSync(MIXED)).records.map((r) => parseFrame(r.data));
const indexes = (pick: (f: Frame) => boolean) => mixed.flatMap((f, i) => (pick(f) ? [i] : []));
const each = (list: number[], label: ChangeLabel) => Object.fromEntries(list.map((i) => [i, label]));

// The firewall's rule sets: the one deployed (the article's block on lb, and telnet) and the
// next one, which also blocks SSH to the host and everything IPv6 from h3.
const deployed = (fw: LoadedObject) => {
  fw.map('ipv4_src').set(`${LAB.lb.ip}/32`, 0);
  fw.map('port_dst').set({ proto: 6, port: 23 }, 0);
};
const next = (fw: LoadedObject) => {
  deployed(fw);
  fw.map('port_dst').set({ proto: 6, port: 22 }, 0);
  fw.map('ipv6_src').set(`${LAB.h3.ip6}/128`, 0);
};
/** What the next rule set should newly drop, read off the frames independently of the firewall. */
const newlyBlocked = indexes(
  (f) => (f.has('tcp') && f.get('tcp.dport') === 22) || (f.has('ipv6') && f.get('ipv6.src') === LAB.h3.ip6),
);

describe('compareObjects', () => {
  needsBpf();

  it('reports the frames a code change affects, and nothing else: the IPv6 filter that now lets ARP through', async () => {
    const cmp = await compareObjects(OBJ.ipv6Filter, SPEC_OBJ.ipv6FilterV2, { frames: MIXED });
    const arp = indexes((f) => f.has('arp'));
    expect(arp).to.have.length(4); // who-has and reply, for h2 and for h3
    expect(cmp).to.have.onlyChanges(each(arp, 'dropped->passed'));
    expect(cmp.frames).to.equal(mixed.length);
    expect(cmp.summary).to.deep.equal({ 'dropped->passed': 4 });
    expect(cmp.changed[0]!.old).to.include({ verdict: 'dropped', action: 'XDP_DROP', to: 'nowhere' });
    expect(cmp.changed[0]!.new).to.include({ verdict: 'passed', action: 'XDP_PASS', to: 'up the stack' });
    // One more comparison in the new program: the verifier walks more of it.
    expect(cmp.stats.new.verifiedInstructions).to.be.greaterThan(cmp.stats.old.verifiedInstructions!);
    expect(cmp.stats.new.xlatedBytes).to.be.greaterThan(cmp.stats.old.xlatedBytes);
    const text = formatComparison(cmp);
    expect(text).to.include(`${mixed.length} frames, 4 changed: 4 dropped->passed\n`);
    expect(text).to.match(/\nverifier: \d+ -> \d+ instructions processed \(\+\d+\.\d%\)\nxlated: \d+ -> \d+ bytes/);
  });

  it('reports a changed firewall rule set exactly, old rules on the old side and new ones on the new', async () => {
    expect(newlyBlocked).to.have.length(15); // 6 of h3's SSH segments over IPv4, 6 of h2's over IPv6, h3's solicitation and 2 echo requests
    const cmp = await compareObjects(
      { object: OBJ.firewall, setup: deployed },
      { object: OBJ.firewall, setup: next },
      { frames: MIXED },
    );
    expect(cmp).to.have.onlyChanges(each(newlyBlocked, 'passed->dropped'));
    // The same object on both sides: same verifier work, same size.
    expect(cmp.stats.new).to.deep.equal(cmp.stats.old);
  });

  it('fails onlyChanges with each frame that differs from the list, both ways', async () => {
    const cmp = await compareObjects(
      { object: OBJ.firewall, setup: deployed },
      { object: OBJ.firewall, setup: next },
      { frames: MIXED },
    );
    const [first, second, ...rest] = newlyBlocked;
    const expected = {
      ...each(rest, 'passed->dropped'),
      [first!]: 'dropped->passed' as const,
      3: 'passed->dropped' as const,
    };
    const err = thrown(() => expect(cmp).to.have.onlyChanges(expected)).message;
    expect(err).to.match(
      /^expected only the listed changes from the old object to the new \(xdp_firewall\), but 3 frame\(s\) differ from the list \(65 frames, 15 changed: 15 passed->dropped\)\n\n/,
    );
    expect(err).to.include(`  #3  eth `);
    expect(err).to.include('      expected passed->dropped, but it did not change');
    expect(err).to.include(`  #${first}  `);
    expect(err).to.include('      expected dropped->passed, but it was passed->dropped');
    expect(err).to.include(`  #${second}  `);
    expect(err).to.include('      expected no change, but it was passed->dropped');
    expect(() => expect({ frames: [] }).to.have.onlyChanges({})).to.throw(
      'expected a comparison (from compareObjects) for .onlyChanges',
    );
  });

  it('runs state in order through each object, each with fresh maps: a changed ISN offset rewrites only the flow the SYN opened', async () => {
    const tcp = (sport: number, flags: string, seq: number) =>
      frame.eth().ipv4({ src: '10.0.0.20', dst: '10.0.0.30' }).tcp({ sport, dport: 80, flags, seq });
    const frames = [tcp(40000, 'S', 1000), tcp(40000, 'PA', 1001), tcp(40001, 'PA', 5000), tcp(40000, 'PA', 1002)];
    const side = (offset: number) => ({ object: OBJ.egressIsn, globals: { isn_offset: offset } });
    const cmp = await compareObjects(side(0x1000), side(0x2000), { program: 'xdp_isn_out', frames });
    expect(cmp).to.have.onlyChanges({ 0: 'rewrite changed', 1: 'rewrite changed', 3: 'rewrite changed' });
    // The sequence number, and the checksum that covers it.
    expect(cmp.changed[1]!.outputDiff.map((d) => d.path)).to.deep.equal(['tcp.seq', 'tcp.checksum']);
    expect(cmp.changed[1]!.outputDiff[0]).to.include({ from: String(1001 + 0x1000), to: String(1001 + 0x2000) });
    // Had the new side seen the old side's flow table, the same object would not compare equal
    // to itself: its SYN would meet a flow already open.
    const same = await compareObjects(side(0x1000), side(0x1000), { program: 'xdp_isn_out', frames });
    expect(same).to.have.onlyChanges({});
  });

  it('names the program it could not find, a missing object, and programs of two types', async () => {
    const failure = async (p: Promise<unknown>) => {
      const e = await rejection(p);
      return `${e.code}: ${e.message}`;
    };
    expect(
      await failure(compareObjects(OBJ.ipv6Filter, OBJ.firewall, { program: 'xdp_firewall', frames: MIXED })),
    ).to.match(/^NOT_FOUND: program "xdp_firewall" /);
    expect(await failure(compareObjects(OBJ.ipv6Filter, 'bpf/build/nope.bpf.o', { frames: MIXED }))).to.equal(
      'OBJECT_MISSING: BPF object bpf/build/nope.bpf.o does not exist; build it first (make -C bpf)',
    );
    expect(await failure(compareObjects(OBJ.ipv6Filter, OBJ.tcTtl, { frames: MIXED }))).to.equal(
      `COMPARE_TYPES: the old program xdp_ipv6_only is xdp and the new one tc_ttl (${OBJ.tcTtl}) is sched_cls; compare programs of one type`,
    );
  });

  describe('live', () => {
    let bench: LiveBench;
    before(async () => {
      bench = await LiveBench.create({ ports: [{ name: 'veth0', dutMac: LAB.host.mac }] });
    });
    after(() => bench?.close());

    it('finds the same changed frames replaying on veths as the unit engine does', async () => {
      const cmp = await compareObjects(
        { object: OBJ.firewall, setup: deployed },
        { object: OBJ.firewall, setup: next },
        { frames: MIXED, live: { bench, port: 'veth0' } },
      );
      expect(cmp.engine).to.equal('live');
      expect(cmp).to.have.onlyChanges(each(newlyBlocked, 'passed->dropped'));
      // Both objects are closed, and the bench no longer counts on a program at the port.
      expect(
        (
          await rejection(
            bench.replay(
              mixed.slice(0, 1).map((f) => f.bytes),
              { on: 'veth0' },
            ),
          )
        ).code,
      ).to.equal('NO_PROGRAM');
    });
  });
});
