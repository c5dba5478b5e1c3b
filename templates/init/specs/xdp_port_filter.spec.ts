// Written by `xdpspec init`: the example program's spec, one unit case and one live case.
// Run it with `npm test` (as root: it loads BPF programs and creates network namespaces).
import { bench, expect, frame } from 'xdpspec';

describe('xdp_port_filter', () => {
  // Loads the object before the cases, makes a veth pair in namespaces with the program attached
  // to its "wan" end, and removes all of it after them, even when a case fails. Between cases the
  // maps are put back as they were after load.
  const b = bench({ object: 'bpf/build/xdp_port_filter.bpf.o', program: 'xdp_port_filter', ports: ['wan'] });

  it('drops UDP to the blocked port and passes DNS untouched (unit: BPF_PROG_TEST_RUN)', async () => {
    const blocked = await b.unit(frame.eth().ipv4({ dst: '10.0.0.2' }).udp({ dport: 9 }));
    expect(blocked).to.be.dropped;
    const dns = await b.unit(frame.eth().ipv4({ dst: '10.0.0.2' }).udp({ dport: 53 }));
    expect(dns).to.be.passed.and.unchanged;
    expect(b.object.map('counters').get(1)).to.equal(1); // COUNT_DROPPED: one frame so far
  });

  it('replays the fixture on a veth pair: the blocked port dropped, the rest passed (live)', async () => {
    const run = await b.live.replay('fixtures/example.pcap');
    expect(run).to.have.verdicts({ passed: 3, dropped: 2 });
    const toBlocked = run.frames.filter((f) => f.input.get('udp.dport') === 9 || f.input.get('tcp.dport') === 9);
    expect(toBlocked).to.have.length(2);
    expect(toBlocked).to.all.be.dropped;
  });
});
