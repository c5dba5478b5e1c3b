import { bench, bpfObject, expect, fixtures, frame, runUnit } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';

// The IPv6-filter article's program: IPv6 passes, everything else is dropped.
describe('xdp_ipv6_filter (unit)', () => {
  needsBpf();
  const fx = fixtures().suite('obj', bpfObject(OBJ.ipv6Filter));

  fx.it("passes the 10 IPv6 frames of the article's capture and drops the 10 IPv4 ones", async ({ obj }) => {
    const run = await runUnit(obj.program('xdp_ipv6_only'), 'fixtures/ipv4-and-ipv6.pcap');
    expect(run.counts).to.include({ passed: 10, dropped: 10 });
    for (const r of run.frames) {
      expect(r.verdict, `frame #${r.index}`).to.equal(r.input.has('ipv6') ? 'passed' : 'dropped');
      if (r.output) expect(r.changes, `frame #${r.index} is not rewritten`).to.deep.equal([]);
    }
  });

  fx.it(
    'looks through VLAN tags, drops ARP and unknown EtherTypes, passes frames too short for Ethernet',
    async ({ obj }) => {
      const run = await runUnit(obj.program(), [
        frame.eth().vlan({ vid: 10 }).ipv6().icmpv6(),
        frame.eth().vlan({ vid: 10 }).vlan({ vid: 20 }).ipv6().udp(),
        frame.eth().vlan({ vid: 10 }).ipv4().udp(),
        frame.eth().arp(),
        frame.eth({ type: 0x88cc }).payload('lldp'),
        // 14 bytes announcing IPv6 with nothing after: the filter decides on the EtherType alone
        frame.eth({ type: 0x86dd }),
      ]);
      expect(run.frames.map((r) => r.verdict)).to.deep.equal([
        'passed',
        'passed',
        'dropped',
        'dropped',
        'dropped',
        'passed',
      ]);
    },
  );

  fx.it('passes a VLAN tag cut short instead of reading past the frame', async ({ obj }) => {
    // The kernel will not run frames under 14 bytes, so the shortest case is a tag announced and missing.
    const run = await runUnit(obj.program(), [frame.eth({ type: 0x8100 }).build()]);
    expect(run.frames[0]!.verdict).to.equal('dropped'); // no EtherType could be read, so not IPv6
  });
});

// The same program the way a user writes a spec: one bench per describe, unit and live cases.
describe('xdp_ipv6_filter (bench fixture)', () => {
  needsBpf();
  const b = bench({ object: OBJ.ipv6Filter, program: 'xdp_ipv6_only', ports: ['wan'] });

  it('drops IPv4 (unit)', async () => {
    const r = await b.unit(frame.eth().ipv4({ dst: '10.0.0.2' }).udp({ dport: 53 }));
    expect(r).to.be.dropped;
  });

  it('passes only the IPv6 half of the capture (live)', async () => {
    const run = await b.live.replay('fixtures/ipv4-and-ipv6.pcap', { on: 'wan' });
    expect(run).to.have.verdicts({ passed: 10, dropped: 10 });
    expect(run.frames.filter((f) => f.input.has('ipv6'))).to.all.be.passed;
  });
});
