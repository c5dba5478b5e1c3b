// Specs of the run-time gate (measureRunTime, checkRunTime, runTimeWithin). They test the
// mechanism against baselines they write themselves, and with a program whose work per frame
// they set (specs/bpf/busy.bpf.c: `rounds` rounds of mixing), never against this machine's speed.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import {
  RunTimeRegression,
  bpfObjects,
  checkRunTime,
  fixtures,
  frame,
  measureRunTime,
  type ObjectLoader,
} from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { thrown } from '../support/thrown.js';
import { tempDir } from '../support/tools.js';

const FRAMES = [frame.eth().ipv4().udp({ dport: 53 })];
// One frame and three samples: each XDP measurement costs the kernel's fixed ~16 ms dispatcher swap.
const QUICK = { samples: 3 } as const;

describe('run-time gate', () => {
  needsBpf();
  const t = tempDir();
  const fx = fixtures().case('load', bpfObjects());
  const load: ObjectLoader = (...a) => fx.values.load(...a);
  const busy = (rounds: number) => load(SPEC_OBJ.busy, { rounds }).program();
  after(t.cleanup);

  /** A baseline file as a user's earlier run would have recorded it, with the ratio the spec chooses. */
  const baseline = (name: string, ratio: number) => {
    const file = t.path(name);
    writeFileSync(
      file,
      JSON.stringify({
        program: 'xdp_busy',
        ratio,
        nsPerFrame: ratio * 80,
        referenceNsPerFrame: 80,
        frames: 1,
        repeat: 10000,
        kernel: release(),
      }),
    );
    return file;
  };

  it('measures a program beside the reference program, and more work per frame shows in the ratio', () => {
    const light = measureRunTime(busy(1), FRAMES, QUICK);
    expect(light).to.include({ program: 'xdp_busy', frames: 1, repeat: 10000, samples: 3 });
    expect(light.nsPerFrame).to.be.greaterThan(0);
    expect(light.referenceNsPerFrame).to.be.greaterThan(0);
    // 2000 rounds against 1: far more than any noise, on any machine.
    const heavy = measureRunTime(busy(2000), FRAMES, QUICK);
    expect(heavy.ratio).to.be.greaterThan(light.ratio * 5);
  });

  it('passes while the ratio stays within the factor of a recorded one, and fails beyond it saying by how much', () => {
    const program = busy(1);
    const ok = checkRunTime(program, FRAMES, { ...QUICK, baseline: baseline('generous.json', 1000), factor: 1.5 });
    expect(ok.recorded).to.equal(false);
    expect(ok.growth).to.be.lessThan(0.1);
    const err = thrown(() =>
      checkRunTime(program, FRAMES, { ...QUICK, baseline: baseline('strict.json', 0.001), factor: 1.5 }),
    );
    expect(err).to.be.instanceOf(RunTimeRegression);
    expect(err.message).to.match(
      /^xdp_busy does \d+\.\d\dx the work per frame of its baseline \(allowed 1\.5x\)\n\n {2}now {7}\d+\.\d ns per frame, \d+\.\d\dx the reference program \(\d+\.\d ns\)\n {2}baseline {2}0\.1 ns per frame, 0\.00x the reference program \(80\.0 ns\), kernel /,
    );
    expect(err.message).to.include(
      'strict.json; if the cost is intended, record it again with XDPSPEC_UPDATE_BASELINE=1 (or xdpspec run --update-baseline)',
    );
  });

  it('records a baseline, which the same program then meets and a heavier one does not', () => {
    const file = t.path('recorded.json');
    const rec = checkRunTime(busy(10), FRAMES, { ...QUICK, baseline: file, update: true });
    expect(rec.recorded).to.equal(true);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(saved).to.have.keys('program', 'ratio', 'nsPerFrame', 'referenceNsPerFrame', 'frames', 'repeat', 'kernel');
    expect(saved).to.include({ program: 'xdp_busy', frames: 1, repeat: 10000, kernel: release() });
    expect(busy(10)).to.have.runTimeWithin(1.5, { ...QUICK, baseline: file, frames: FRAMES });
    expect(() => expect(busy(2000)).to.have.runTimeWithin(1.5, { ...QUICK, baseline: file, frames: FRAMES })).to.throw(
      /^xdp_busy does \d+\.\d\dx the work per frame of its baseline \(allowed 1\.5x\)/,
    );
  });

  it('records when XDPSPEC_UPDATE_BASELINE=1, and says how to record a missing baseline', () => {
    const file = t.path('env.json');
    expect(thrown(() => checkRunTime(busy(1), FRAMES, { ...QUICK, baseline: file })).message).to.equal(
      `no run-time baseline at ${file} yet; run the spec once with XDPSPEC_UPDATE_BASELINE=1 (or xdpspec run --update-baseline) to record it, then commit it`,
    );
    process.env.XDPSPEC_UPDATE_BASELINE = '1';
    try {
      expect(checkRunTime(busy(1), FRAMES, { ...QUICK, baseline: file }).recorded).to.equal(true);
    } finally {
      delete process.env.XDPSPEC_UPDATE_BASELINE;
    }
    expect(checkRunTime(busy(1), FRAMES, { ...QUICK, baseline: file, factor: 3 }).recorded).to.equal(false);
  });

  it('refuses a factor below 1, a baseline that is not one, and programs other than XDP and TC', () => {
    expect(thrown(() => checkRunTime(busy(1), FRAMES, { baseline: baseline('b.json', 1), factor: 0.5 })).code).to.equal(
      'RUNTIME_FACTOR',
    );
    writeFileSync(t.path('junk.json'), '{"ratio": "fast"}');
    expect(thrown(() => checkRunTime(busy(1), FRAMES, { ...QUICK, baseline: t.path('junk.json') })).message).to.equal(
      `${t.path('junk.json')} is not a run-time baseline: it has no positive "ratio"; record it with XDPSPEC_UPDATE_BASELINE=1`,
    );
    // Short of a number the regression message would print: refused up front, not a crash later.
    writeFileSync(t.path('short.json'), '{"ratio": 0.001}');
    expect(thrown(() => checkRunTime(busy(1), FRAMES, { ...QUICK, baseline: t.path('short.json') })).message).to.equal(
      `${t.path('short.json')} is not a run-time baseline: it has no positive "nsPerFrame"; record it with XDPSPEC_UPDATE_BASELINE=1`,
    );
    const probe = load('src/bpf/probes/build/watch.bpf.o');
    const tracer = probe.programs.find((p) => p.type !== 'xdp' && p.type !== 'sched_cls')!;
    expect(thrown(() => measureRunTime(probe.program(tracer.name), FRAMES)).message).to.equal(
      `run-time baselines are for XDP and TC programs; ${tracer.name} is ${tracer.type}`,
    );
    // A TC program measures against the reference's TC twin.
    const tc = load(OBJ.tcTtl);
    expect(measureRunTime(tc.program(), FRAMES, QUICK).ratio).to.be.greaterThan(0);
  });
});
