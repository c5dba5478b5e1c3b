import { expect } from 'chai';
import { XdpspecError, expect as expectX, frame, runBoth, runUnit, type LiveFrameResult } from '../../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../../support/kernel.js';
import { twoPortBench } from '../../support/benches.js';
import { receivedProtocol } from '../../../src/harness/live/tc.js';

// tc_verdicts.bpf.c's answer to UDP ports 2-8, then 3 again: shot, ok, stolen, redirect to
// egress, to ingress, TTL lowered and ok, a redirect to a port that does not exist, ok. The same
// on both hooks.
const FATES_BY_PORT = ['dropped', 'passed', 'stolen', 'redirected', 'redirected', 'passed', 'redirected', 'passed'];

const where = (f: LiveFrameResult) => f.outputs.map((o) => `${o.port}/${o.side}`).join();

describe('live engine (TC ingress, one frame at a time)', () => {
  needsBpf();
  const fx = twoPortBench();

  fx.it(
    'tells every TC fate apart: shot, ok, stolen, redirected to egress and to ingress, a failed redirect',
    async ({ bench, load }) => {
      const lan = bench.topology.port('lan').dutIfindex;
      const v = load(SPEC_OBJ.tcVerdicts, { redirect_ifindex: lan });
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const run = await bench.replay(
        [2, 3, 4, 5, 6, 7, 8, 3].map((dport) => frame.eth({ dst: mac }).ipv4().udp({ dport })),
        { on: 'wan' },
      );
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(FATES_BY_PORT);
      expect(run.frames.map(where)).to.deep.equal([
        '',
        'wan/dut',
        '',
        'lan/tester',
        'lan/dut',
        'wan/dut',
        '',
        'wan/dut',
      ]);
      expect(run.frames[3]!.redirect).to.deep.equal({ known: true, port: 'lan', ifindex: lan, direction: 'egress' });
      expect(run.frames[4]!.redirect).to.deep.equal({ known: true, port: 'lan', ifindex: lan, direction: 'ingress' });
      expect(run.frames[6]!.redirect).to.include({ known: false });
      // the output of a passed frame is the frame after TC, not the copy the tap saw before it
      expect(run.frames[5]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
      expect(run.frames[5]!.output!.get('ipv4.ttl')).to.equal(63);
      expect(run.frames[1]!.changes).to.deep.equal([]);
      expect(run.others).to.deep.equal([]);
      const unit = await runUnit(
        v.program(),
        run.frames.map((f) => f.input.bytes),
      );
      expect(unit.frames.map((f) => f.verdict)).to.deep.equal(run.frames.map((f) => f.verdict));
    },
  );

  fx.it("the article's capture through a TTL-decrementing classifier, in both engines", async ({ bench, load }) => {
    const prog = load(OBJ.tcTtl).program();
    const { unit, live } = await runBoth(prog, bench, 'wan', 'fixtures/ipv4-and-ipv6.pcap');
    expect(live.counts).to.include({ passed: 20 });
    expect(unit.counts).to.include({ passed: 20 });
    for (const f of live.frames) {
      const v4 = f.input.layers.some((l) => l.name === 'ipv4');
      expect(
        f.changes.map((c) => c.path),
        `frame #${f.index}`,
      ).to.deep.equal(v4 ? ['ipv4.ttl', 'ipv4.checksum'] : []);
    }
  });

  fx.it(
    'keeps VLAN tags on passed frames, though the kernel strips them before protocol handlers',
    async ({ bench, load }) => {
      const prog = load(OBJ.tcTtl).program();
      bench.attach(prog, 'wan');
      const run = await bench.replay(
        [
          frame.eth().vlan({ vid: 7 }).ipv4({ ttl: 9 }).udp({ dport: 53 }),
          frame.eth().vlan({ vid: 7 }).ipv4().udp({ dport: 9 }),
        ],
        { on: 'wan' },
      );
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped']);
      expect(run.frames[0]!.output!.get('vlan.vid')).to.equal(7);
      expect(run.frames[0]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
    },
  );

  fx.it(
    'streams through TC ingress with exact counts from the probe following each frame, every output captured',
    async ({ bench, load }) => {
      const lan = bench.topology.port('lan').dutIfindex;
      const v = load(SPEC_OBJ.tcVerdicts, { redirect_ifindex: lan });
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      // 3 of each fate but the failed redirect's, and frames of two EtherTypes passed up
      const ports = [2, 3, 4, 5, 6, 7, 8].flatMap((p) => [p, p, p]);
      const frames = [
        ...ports.map((dport) => frame.eth({ dst: mac }).ipv4().udp({ dport }).build()),
        frame.eth({ dst: mac }).ipv6().udp({ dport: 2 }).build(),
      ];
      const run = await bench.stream(frames, { on: 'wan' });
      expect(run.frames).to.equal(22);
      expect(run.counts).to.deep.equal({ passed: 3 + 3 + 1, dropped: 3, tx: 0, redirected: 9, aborted: 0, stolen: 3 });
      // passed unchanged (dport 3, and the IPv6 frame) are seen above TC, byte for byte
      expect(run.seen.filter((w) => w === 'wan/dut')).to.have.length(4);
      expect(run.seen.filter((w) => w === 'lan/tester')).to.have.length(3);
      expect(run.seen.filter((w) => w === 'lan/dut')).to.have.length(3);
      expect(run.unmatched).to.equal(3); // the TTL-rewritten ones
      const unit = await runUnit(v.program(), frames);
      expect(unit.counts).to.deep.equal(run.counts);
    },
  );

  fx.it(
    'passes what cls_bpf passes: TC_ACT_QUEUED and unknown codes, in both engines alike',
    async ({ bench, load }) => {
      const q = load('specs/bpf/build/tc_queued.bpf.o');
      const mac = bench.topology.port('wan').dutMac;
      const frames = [
        frame.eth({ dst: mac }).ipv4().udp(),
        frame.eth({ dst: mac }).ipv4().udp().payload(Buffer.alloc(200)),
      ];
      const { unit, live } = await runBoth(q.program(), bench, 'wan', frames);
      expect(unit.frames.map((f) => f.action)).to.deep.equal(['TC_ACT_QUEUED', 'TC_RETURN_9']);
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'passed']);
    },
  );

  fx.it('will not stream into a port whose program went with its object', async ({ bench, load }) => {
    const prog = load(OBJ.tcTtl).program();
    bench.attach(prog, 'wan');
    prog.object.close();
    const err = await bench.stream([frame.eth().ipv4().udp().build()], { on: 'wan' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'NO_PROGRAM');
  });
});

describe('live engine (TC egress: frames the DUT sends)', () => {
  needsBpf();
  const fx = twoPortBench();
  const toTester = (dport: number, port = 'wan') =>
    frame
      .eth({ src: fx.values.bench.topology.port(port).dutMac, dst: fx.values.bench.topology.port(port).testerMac })
      .ipv4()
      .udp({ dport });

  fx.it(
    'tells every fate apart on egress, as the unit engine does: shot, ok, stolen, redirected to egress and to ingress, a failed redirect',
    async ({ bench, load }) => {
      const lan = bench.topology.port('lan').dutIfindex;
      const v = load(SPEC_OBJ.tcVerdicts, { redirect_ifindex: lan });
      const a = bench.attachTc(v.program(), 'wan', 'egress');
      expect(a.description).to.match(/tc_verdicts on wan .* egress/);
      const run = await bench.replay(
        [2, 3, 4, 5, 6, 7, 8, 3].map((d) => toTester(d)),
        { on: 'wan' },
      );
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(FATES_BY_PORT);
      expect(run.frames.map(where)).to.deep.equal([
        '',
        'wan/tester',
        '',
        'lan/tester',
        'lan/dut',
        'wan/tester',
        '',
        'wan/tester',
      ]);
      expect(run.frames[3]!.redirect).to.deep.equal({ known: true, port: 'lan', ifindex: lan, direction: 'egress' });
      expect(run.frames[4]!.redirect).to.deep.equal({ known: true, port: 'lan', ifindex: lan, direction: 'ingress' });
      expect(run.frames[6]!.redirect).to.include({ known: false });
      expect(run.frames[5]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
      expect(run.frames[1]!.changes).to.deep.equal([]);
      expect(run.others).to.deep.equal([]);
      expect(run.attachments.wan).to.match(/egress/);
      const unit = await runUnit(
        v.program(),
        run.frames.map((f) => f.input.bytes),
      );
      expect(unit.frames.map((f) => f.verdict)).to.deep.equal(run.frames.map((f) => f.verdict));
      for (const f of run.frames)
        if (f.output)
          expect(f.output.bytes.equals(unit.frames[f.index]!.output!.bytes), `frame #${f.index}`).to.equal(true);
    },
  );

  fx.it(
    'shows a tag bpf_skb_vlan_push put in the metadata live; the unit engine, which cannot, says so once',
    async ({ bench, load }) => {
      const v = load(SPEC_OBJ.tcVlanPush);
      bench.attachTc(v.program(), 'wan', 'egress');
      const f = toTester(9);
      const live = await bench.replay([f], { on: 'wan' });
      expectX(live.frames[0]).to.be.passed.and.rewritten({ 'vlan.vid': 4011 });
      const warnings: string[] = [];
      const on = (w: Error & { code?: string }) => warnings.push(`${w.code}: ${w.message}`);
      process.on('warning', on);
      try {
        const unit = await runUnit(v.program(), [f, f]);
        await runUnit(v.program(), [f]);
        await new Promise((r) => setImmediate(r)); // warnings arrive on a later tick
        expect(unit.frames[0]!.changes).to.deep.equal([]); // the test run's output: the bytes alone
      } finally {
        process.off('warning', on);
      }
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(
        /^XDPSPEC_VLAN_PUSH: program tc_vlan_push calls bpf_skb_vlan_push: .*BPF_PROG_TEST_RUN does not return/,
      );
    },
  );

  fx.it('streams through TC egress with exact counts', async ({ bench, load }) => {
    const lan = bench.topology.port('lan').dutIfindex;
    const v = load(SPEC_OBJ.tcVerdicts, { redirect_ifindex: lan });
    bench.attachTc(v.program(), 'wan', 'egress');
    const frames = [2, 3, 4, 5, 6, 7, 8, 3, 3].flatMap((d) => Array.from({ length: 50 }, () => toTester(d).build()));
    const run = await bench.stream(frames, { on: 'wan' });
    expect(run.counts).to.deep.equal({ passed: 150 + 50, dropped: 50, tx: 0, redirected: 150, aborted: 0, stolen: 50 });
    expect(run.seen.filter((w) => w === 'wan/tester')).to.have.length(150);
    expect(run.unmatched).to.equal(50);
    expect((await runUnit(v.program(), frames)).counts).to.deep.equal(run.counts);
  });

  fx.it('replacing an ingress program with the same one on egress moves it', async ({ bench, load }) => {
    const prog = load(OBJ.tcTtl).program();
    bench.attach(prog, 'wan');
    bench.attachTc(prog, 'wan', 'egress');
    const run = await bench.replay([toTester(53).build()], { on: 'wan' });
    expect(run.attachments.wan).to.match(/egress/);
    expect(run.frames[0]!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['wan/tester']);
  });

  fx.it('says what is wrong: a direction TC does not have', ({ bench, load }) => {
    const prog = load(OBJ.tcTtl).program();
    expect(() => bench.attachTc(prog, 'wan', 'sideways' as 'egress')).to.throw(XdpspecError, /ingress or egress/);
  });
});

describe('the EtherType a protocol handler gets a frame under', () => {
  it("is the frame's, or the one inside an outer VLAN tag, or 802.3/802.2 for length fields", () => {
    const head = (...b: number[]) => Uint8Array.from([...Array<number>(12).fill(0), ...b, 0, 0, 0, 0]);
    expect(receivedProtocol(head(0x08, 0x00))).to.equal(0x0800);
    expect(receivedProtocol(head(0x81, 0x00, 0x00, 0x07, 0x86, 0xdd))).to.equal(0x86dd);
    expect(receivedProtocol(head(0x88, 0xa8, 0x00, 0x07, 0x81, 0x00))).to.equal(0x8100); // QinQ: the inner tag stays
    expect(receivedProtocol(head(0x00, 0x40, 0xff, 0xff))).to.equal(0x0001); // raw 802.3 (Novell)
    expect(receivedProtocol(head(0x00, 0x40, 0xaa, 0xaa))).to.equal(0x0004); // 802.2 LLC
  });
});
