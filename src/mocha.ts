// `xdpspec/mocha`: a Mocha root hook plugin for projects that run Mocha themselves
// (`"require": ["xdpspec/mocha"]` in .mocharc.json). `xdpspec run` does the same on its own.
import * as chai from 'chai';
import { xdpspecChai } from './assert/chai.js';
import { sweepAndSay } from './net/index.js';
import * as self from './mocha.js';
import { shareThisInstance } from './one-instance.js';
import { coverageFromEnvironment } from './harness/coverage.js';

export { skipIfNotSupported, type SkippableContext } from './harness/skip.js';

/** Installs xdpspec's assertions into the project's Chai, for specs that use Chai's own `expect`. */
export function installAssertions(): void {
  chai.use(xdpspecChai);
}

/** The root hooks: assertions installed when Mocha loads this file, leftovers swept before the first spec. */
export const mochaHooks = {
  beforeAll(): void {
    // Removes what killed runs left (namespaces of dead processes), and says so.
    sweepAndSay();
  },
};

installAssertions();
shareThisInstance(self);
// XDPSPEC_COVERAGE=DIR: BPF source coverage of the run, written to DIR/lcov.info at exit.
coverageFromEnvironment();
