import { expect } from 'chai';
import { namespaceName, ownerPid } from '../../src/net/names.js';

describe('namespace names', () => {
  it('carry the owning process and never repeat', () => {
    const a = namespaceName('dut');
    const b = namespaceName('dut');
    expect(a).to.match(new RegExp(`^xdpspec-${process.pid}-\\d+-dut$`));
    expect(a).to.not.equal(b);
    expect(ownerPid(a)).to.equal(process.pid);
  });

  it("tell xdpspec's names from any other", () => {
    expect(ownerPid('xdpspec-42-3-tester')).to.equal(42);
    expect(ownerPid('netns_1')).to.equal(undefined);
    expect(ownerPid('xdpspec-x-3-dut')).to.equal(undefined);
    expect(() => namespaceName('Not-A-Role')).to.throw(/must be 1-12 lower-case letters or digits/);
  });
});
