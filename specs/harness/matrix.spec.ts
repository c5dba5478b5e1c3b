// One report across kernels, from what each kernel's run reported.
import { expect } from 'chai';
import { compareKernels, formatMatrix, type KernelReport, type MatrixFrame } from '../../src/harness/matrix.js';

const f = (fate: string, output: string | null = 'aa', program = 'p'): MatrixFrame => ({
  program,
  fate,
  output,
  length: output ? 60 : 0,
});
const report = (label: string, over: Partial<KernelReport>): KernelReport => ({
  label,
  release: `${label}.0`,
  cases: [],
  runs: [],
  exitCode: 0,
  ...over,
});

describe('kernel matrix', () => {
  it('finds the frames whose fate or bytes differ from the first kernel, run by run, and says on which kernel', () => {
    const cases = [{ file: 's.ts', title: 'a case', state: 'passed' as const }];
    const host = report('host', {
      cases,
      runs: [{ case: 'a case', engine: 'unit', frames: [f('passed'), f('dropped', null), f('passed')] }],
    });
    const old = report('6.1', {
      cases,
      runs: [{ case: 'a case', engine: 'unit', frames: [f('dropped', null), f('dropped', null), f('passed', 'bb')] }],
    });
    const m = compareKernels([host, old]);
    expect(m.framesCompared).to.equal(3);
    expect(m.differences).to.deep.equal([
      { case: 'a case', run: 0, engine: 'unit', index: 0, program: 'p', fates: { host: 'passed', '6.1': 'dropped' } },
      {
        case: 'a case',
        run: 0,
        engine: 'unit',
        index: 2,
        program: 'p',
        fates: { host: 'passed', '6.1': 'passed (other bytes, 60)' },
      },
    ]);
    const text = formatMatrix([host, old], m);
    expect(text).to.include('Frames: 3 compared on every kernel that ran them, 2 with another fate or other bytes.');
    expect(text).to.include('a case › unit run 1, frame #0 (p): host passed, 6.1 dropped');
    expect(text).to.include('Cases: 1, 1 with the same state on every kernel.');
  });

  it("shows the cases whose state is not the same everywhere with each kernel's reason; a skipped kernel's missing runs are no difference", () => {
    const host = report('host', {
      cases: [
        { file: 's.ts', title: 'needs 6.6', state: 'passed' },
        { file: 's.ts', title: 'breaks', state: 'passed' },
      ],
      runs: [{ case: 'needs 6.6', engine: 'live', frames: [f('passed')] }],
    });
    const old = report('6.1', {
      cases: [
        { file: 's.ts', title: 'needs 6.6', state: 'skipped', detail: 'the kernel has no bpf_xdp_get_buff_len' },
        { file: 's.ts', title: 'breaks', state: 'failed', detail: 'expected dropped to be passed' },
      ],
      exitCode: 1,
    });
    const m = compareKernels([host, old]);
    expect(m.differences).to.deep.equal([]);
    expect(m.framesCompared).to.equal(0);
    const text = formatMatrix([host, old], m);
    expect(text).to.include('6.1        6.1.0: 0 passed, 1 failed, 1 skipped');
    expect(text).to.match(/pass +skip +needs 6\.6/);
    expect(text).to.include('6.1: the kernel has no bpf_xdp_get_buff_len');
    expect(text).to.match(/pass +FAIL +breaks/);
    expect(text).to.include('6.1: expected dropped to be passed');
  });

  it('compares the fields a program changed, not the bytes, where the inputs differ (new MAC addresses on every boot)', () => {
    const g = (input: string, output: string, changed: string[]): MatrixFrame => ({
      ...f('passed', output),
      input,
      changed,
    });
    const a = report('a', {
      runs: [{ case: 'c', engine: 'live', frames: [g('i1', 'o1', ['eth.dst']), g('i1', 'o1', ['eth.dst'])] }],
    });
    const b = report('b', {
      runs: [
        { case: 'c', engine: 'live', frames: [g('i2', 'o2', ['eth.dst']), g('i2', 'o3', ['eth.dst', 'ipv4.ttl'])] },
      ],
    });
    const m = compareKernels([a, b]);
    expect(m.framesCompared).to.equal(2);
    expect(m.differences.map((d) => [d.index, d.fates.b])).to.deep.equal([
      [1, 'passed (other rewrite: eth.dst, ipv4.ttl)'],
    ]);
    // The same inputs: the bytes decide, whatever the fields.
    const c = report('c', {
      runs: [{ case: 'c', engine: 'live', frames: [g('i1', 'o9', ['eth.dst']), g('i1', 'o1', ['eth.dst'])] }],
    });
    expect(compareKernels([a, c]).differences.map((d) => [d.index, d.fates.c])).to.deep.equal([
      [0, 'passed (other bytes, 60)'],
    ]);
  });

  it('does not pair frames of runs that do not line up, and says so', () => {
    const a = report('a', {
      runs: [
        { case: 'c', engine: 'unit', frames: [f('passed'), f('passed')] },
        { case: 'd', engine: 'unit', frames: [f('passed')] },
      ],
    });
    const b = report('b', {
      runs: [
        { case: 'c', engine: 'unit', frames: [f('dropped')] },
        { case: 'd', engine: 'unit', frames: [f('passed')] },
        { case: 'd', engine: 'unit', frames: [f('passed')] },
      ],
    });
    const m = compareKernels([a, b]);
    expect(m.differences).to.deep.equal([]);
    expect(m.unaligned).to.deep.equal(['c, run 1: 2 frames on a, 1 frames on b', 'd: 1 runs on a, 2 runs on b']);
  });

  it("says why a kernel has no report, and counts its cases as absent ('-')", () => {
    const host = report('host', { cases: [{ file: 's.ts', title: 'x', state: 'passed' }] });
    const dead = report('6.1', { exitCode: 2, error: 'killed after 60 s (--kernel-timeout)' });
    const text = formatMatrix([host, dead], compareKernels([host, dead]));
    expect(text).to.include('6.1        6.1.0: 0 passed, 0 failed, 0 skipped; killed after 60 s (--kernel-timeout)');
    expect(text).to.match(/pass +- +x/);
  });
});
