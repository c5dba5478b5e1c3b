// Run by specs/harness/fixture.spec.ts in a child Mocha: a live case that fails on purpose, so
// the spec can check the artifact it writes and the path in the failure message.
import { bench, expect } from '../../src/index.js';

describe('a failing live case', () => {
  const b = bench({
    object: 'bpf/build/xdp_ipv6_filter.bpf.o',
    ports: ['wan'],
    artifacts: process.env['XDPSPEC_ARTIFACTS'] ?? 'artifacts',
  });
  it('expects everything to pass', async () => {
    const run = await b.live.replay('fixtures/ipv4-and-ipv6.pcap');
    expect(run).to.have.verdicts({ passed: 20 });
  });
});
