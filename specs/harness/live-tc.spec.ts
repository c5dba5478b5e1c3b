import { expect } from 'chai';
import { LiveBench, XdpspecError, frame, runBoth, runUnit, type LiveFrameResult } from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { objects } from '../support/objects.js';

const where = (f: LiveFrameResult) => f.outputs.map((o) => `${o.port}/${o.side}`).join();

describe('live engine (TC ingress, one frame at a time)', () => {
  needsBpf();
  let bench: LiveBench;
  const { load, closeAll } = objects();
  before(async () => {
    bench = await LiveBench.create({ ports: [{ name: 'wan' }, { name: 'lan' }] });
  });
  after(() => {
    bench?.close();
    closeAll();
  });

  it('tells every TC fate apart: shot, ok, stolen, redirected to egress and to ingress, a failed redirect', async () => {
    const lan = bench.topology.port('lan').dutIfindex;
    const v = load(SPEC_OBJ.tcVerdicts, { redirect_ifindex: lan });
    bench.attach(v.program(), 'wan');
    const mac = bench.topology.port('wan').dutMac;
    const run = await bench.replay([2, 3, 4, 5, 6, 7, 8, 3].map((dport) => frame.eth({ dst: mac }).ipv4().udp({ dport })), { on: 'wan' });
    expect(run.frames.map((f) => f.verdict)).to.deep.equal(['dropped', 'passed', 'stolen', 'redirected', 'redirected', 'passed', 'redirected', 'passed']);
    expect(run.frames.map(where)).to.deep.equal(['', 'wan/dut', '', 'lan/tester', 'lan/dut', 'wan/dut', '', 'wan/dut']);
    expect(run.frames[3]!.redirect).to.deep.equal({ known: true, port: 'lan', ifindex: lan, direction: 'egress' });
    expect(run.frames[4]!.redirect).to.deep.equal({ known: true, port: 'lan', ifindex: lan, direction: 'ingress' });
    expect(run.frames[6]!.redirect).to.include({ known: false });
    // the output of a passed frame is the frame after TC, not the copy the tap saw before it
    expect(run.frames[5]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
    expect(run.frames[5]!.output!.get('ipv4.ttl')).to.equal(63);
    expect(run.frames[1]!.changes).to.deep.equal([]);
    expect(run.others).to.deep.equal([]);
    const unit = await runUnit(v.program(), run.frames.map((f) => f.input.bytes));
    expect(unit.frames.map((f) => f.verdict)).to.deep.equal(run.frames.map((f) => f.verdict));
  });

  it("the article's capture through a TTL-decrementing classifier, in both engines", async () => {
    const prog = load(OBJ.tcTtl).program();
    const { unit, live } = await runBoth(prog, bench, 'wan', 'fixtures/ipv4-and-ipv6.pcap');
    expect(live.counts).to.include({ passed: 20 });
    expect(unit.counts).to.include({ passed: 20 });
    for (const f of live.frames) {
      const v4 = f.input.layers.some((l) => l.name === 'ipv4');
      expect(f.changes.map((c) => c.path), `frame #${f.index}`).to.deep.equal(v4 ? ['ipv4.ttl', 'ipv4.checksum'] : []);
    }
  });

  it('keeps VLAN tags on passed frames, though the kernel strips them before protocol handlers', async () => {
    const prog = load(OBJ.tcTtl).program();
    bench.attach(prog, 'wan');
    const run = await bench.replay([frame.eth().vlan({ vid: 7 }).ipv4({ ttl: 9 }).udp({ dport: 53 }), frame.eth().vlan({ vid: 7 }).ipv4().udp({ dport: 9 })], { on: 'wan' });
    expect(run.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped']);
    expect(run.frames[0]!.output!.get('vlan.vid')).to.equal(7);
    expect(run.frames[0]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
  });

  it('says what it cannot do: TC on egress, streaming through TC', async () => {
    const prog = load(OBJ.tcTtl).program();
    expect(() => bench.attachTc(prog, 'wan', 'egress')).to.throw(XdpspecError, /ingress only/);
    bench.attach(prog, 'wan');
    const err = await bench.stream([frame.eth().ipv4().udp().build()], { on: 'wan' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'LIVE_MODE');
  });
});
