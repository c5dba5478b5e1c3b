// Mocha root hook plugin (loaded through .mocharc.json): xdpspec's own, as users load it with
// `"require": ["xdpspec/mocha"]`: assertions installed into Chai for the specs that use Chai's
// `expect`, and leftovers of killed runs swept before the first spec.
export { mochaHooks } from '../../src/mocha.js';
