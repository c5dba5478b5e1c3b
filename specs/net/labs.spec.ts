import { expect } from 'chai';
import { egressLab, loadBalancerLab } from '../../src/index.js';

describe("the articles' labs", () => {
  it("egress: an application namespace behind a veth pair, bridged to the uplink's far host", () => {
    const spec = egressLab();
    expect(spec.ports.map((p) => p.name)).to.deep.equal(['app', 'uplink']);
  });

  it('load balancer: lb, h2, h3 and a client on one bridge', () => {
    const spec = loadBalancerLab();
    expect(spec.ports.map((p) => p.name)).to.include('lb');
    expect((spec.hosts ?? []).map((h) => h.name)).to.include.members(['h2', 'h3', 'client']);
  });
});
