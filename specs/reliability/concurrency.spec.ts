// Two runs of the suite at once on one machine: each counts, creates and sweeps only its own.
import { expect } from 'chai';
import { execa } from 'execa';
import { needsBpf } from '../support/kernel.js';

describe('two runs at once', function () {
  needsBpf();
  this.timeout(120_000);

  it('pass side by side: the specs that count namespaces, create topologies and sweep', async () => {
    // The spec files that once counted every xdpspec namespace on the machine, and a program's.
    const specs = [
      'specs/cli/replay.spec.ts',
      'specs/cli/diff.spec.ts',
      'specs/net/topology.spec.ts',
      'specs/programs/xdp_ipv6_filter.spec.ts',
    ];
    const run = () =>
      execa('node', ['dist/cli/main.js', 'run', ...specs, '--reporter', 'dot'], {
        reject: false,
        all: true,
        // Either run's sweep may take the other's killed children's leftovers first (topology spec).
        env: { XDPSPEC_SIDE_BY_SIDE: '1' },
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.exitCode, a.all).to.equal(0);
    expect(b.exitCode, b.all).to.equal(0);
    expect(a.all)
      .to.match(/\d+ passing/)
      .and.not.match(/failing/);
    expect(b.all)
      .to.match(/\d+ passing/)
      .and.not.match(/failing/);
  });
});
