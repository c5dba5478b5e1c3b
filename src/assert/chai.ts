/// <reference types="chai" preserve="true" />
import * as chai from 'chai';
import { type Frame } from '../packet/index.js';
import { type Verdict } from '../harness/verdict.js';
import { type ChangeLabel } from '../harness/compare.js';
import type { RunTimeOptions } from '../harness/runtime.js';
import type { FrameSource } from '../harness/frames.js';
import { type Kit, frames } from './subjects.js';
import { verdictsPlugin } from './verdicts.js';
import { framesPlugin } from './frames.js';
import { changesPlugin, tablePlugin, runTimePlugin } from './changes.js';
import { executedPlugin } from './executed.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Chai {
    interface Assertion {
      /** The frame was passed on (XDP_PASS, TC_ACT_OK, ...). */
      passed: Assertion;
      dropped: Assertion;
      /** Sent back out of the port it came in on (XDP_TX). */
      tx: Assertion;
      redirected: Assertion;
      aborted: Assertion;
      stolen: Assertion;
      /** It has an output, byte for byte the input. */
      unchanged: Assertion;
      /** Its output (or the Frame itself) has every checksum (IPv4, TCP, UDP, ICMP...) right for its bytes. */
      validChecksums: Assertion;
      /** Redirected to this port (live), device name or ifindex. */
      redirectedTo(target: string | number): Assertion;
      /** Its output has these field values: `{ 'ipv4.ttl': 63, 'eth.dst': '02:00:00:00:00:0b' }`. */
      rewritten(fields: Record<string, unknown>): Assertion;
      /** A fixture table (`runTable`) matched on every row; a failure lists each row that did not. */
      everyRowMatched: Assertion;
      /** A run's verdict counts are exactly these (verdicts not named must be 0). */
      verdicts(counts: Partial<Record<Verdict, number>>): Assertion;
      /** Live runs: frames arrived that no injected frame caused; `not.to.have.otherFrames` asserts none did. */
      otherFrames: Assertion;
      /**
       * What `equalFrame` does not compare: fields (`ipv4.id`), whole layers (`payload`), or
       * ranges of the frame (`bytes 18-19`, `bits 116-119`, from its first byte or bit).
       */
      ignoring(...paths: string[]): Assertion;
      /** The output (of a frame result), or the frame itself, equals `expected` field by field. */
      equalFrame(expected: Uint8Array | { build(): Buffer } | Frame): Assertion;
      /**
       * A comparison of an old and a new object (`compareObjects`) changed exactly these frames,
       * each as labelled (`{ 3: 'passed->dropped', 7: 'rewrite changed' }`); `{}` asserts none changed.
       */
      onlyChanges(expected: Readonly<Record<number, ChangeLabel>>): Assertion;
      /**
       * A run's outputs equal its golden capture (a path, or a URL next to the spec); with
       * XDPSPEC_UPDATE_GOLDEN=1 the run is recorded as the golden capture instead.
       */
      matchGolden(file: string | URL): Assertion;
      /**
       * The performance gate: a program's kernel run time per frame, as a ratio to xdpspec's
       * reference program measured beside it, is at most `factor` times the ratio recorded in
       * `baseline` (XDPSPEC_UPDATE_BASELINE=1 records it). See `checkRunTime`.
       */
      /**
       * Each frame (of a result, or every frame of a run) executed at most `n` BPF instructions
       * of a program loaded with block counters (`count: true`): the exact work gate.
       */
      executedAtMost(n: number): Assertion;
      runTimeWithin(
        factor: number,
        options: RunTimeOptions & { baseline: string | URL; frames: FrameSource },
      ): Assertion;
    }
    // Chai types `.all` for `.all.keys`; xdpspec's assertions also read it on arrays of results:
    // `expect(frames).to.all.be.passed`, `expect(frames).to.all.have.validChecksums`.
    interface KeyFilter {
      be: Assertion;
      have: Assertion;
    }
  }
}

/**
 * The Chai plugin: `chai.use(xdpspecChai)` installs xdpspec's assertions into that Chai. It uses
 * only the `chai` and `utils` it is handed, so it serves whichever copy of Chai the caller has.
 */
export const xdpspecChai: Chai.ChaiPlugin = (c, u) => {
  const k: Kit = { u, AssertionError: c.AssertionError };
  verdictsPlugin(c, k);
  framesPlugin(c, k);
  changesPlugin(c, k);
  tablePlugin(c, k);
  runTimePlugin(c, k);
  executedPlugin(c, k);
};

let installed = false;

/**
 * Chai's `expect`, with xdpspec's assertions installed into Chai the first time it is called
 * (importing xdpspec changes nothing). `chai.use(xdpspecChai)` installs the same assertions for
 * Chai's own `expect`, `should` and `assert`.
 */
export const expect: Chai.ExpectStatic = new Proxy(chai.expect, {
  apply(target, thisArg, args: Parameters<Chai.ExpectStatic>) {
    if (!installed) {
      chai.use(xdpspecChai);
      installed = true;
    }
    return Reflect.apply(target, thisArg, args);
  },
});
