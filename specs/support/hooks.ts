// Mocha root hook plugin (loaded through .mocharc.json): once per run, before any spec,
// remove what killed runs of xdpspec left behind (namespaces whose owning process is dead).
import { sweepLeftovers } from '../../src/index.js';

export const mochaHooks = {
  beforeAll(): void {
    const swept = sweepLeftovers();
    if (swept.length) process.stdout.write(`xdpspec: removed ${swept.length} namespace(s) left by killed runs: ${swept.join(', ')}\n`);
  },
};
