// Mocha root hook plugin (loaded through .mocharc.json): installs xdpspec's assertions into Chai
// for the specs that use Chai's own `expect`, and once per run, before any spec, removes what
// killed runs of xdpspec left behind (namespaces whose owning process is dead).
import * as chai from 'chai';
import { sweepLeftovers, xdpspecChai } from '../../src/index.js';

chai.use(xdpspecChai);

export const mochaHooks = {
  beforeAll(): void {
    const swept = sweepLeftovers();
    if (swept.length) process.stdout.write(`xdpspec: removed ${swept.length} namespace(s) left by killed runs: ${swept.join(', ')}\n`);
  },
};
