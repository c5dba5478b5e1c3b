import { expect } from 'chai';
import { countVerdicts, describeRedirect, formatCounts, verdictOf } from '../../src/harness/index.js';
import { onVerdictCounts } from '../../src/index.js';

describe('verdicts', () => {
  it('name every return code as the kernel carries it out: unknown XDP codes abort, unknown TC codes pass', () => {
    const xdp = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT', 'XDP_RETURN_9'];
    expect(xdp.map(verdictOf)).to.deep.equal(['aborted', 'dropped', 'passed', 'tx', 'redirected', 'aborted']);
    const tc = [
      'TC_ACT_OK',
      'TC_ACT_UNSPEC',
      'TC_ACT_SHOT',
      'TC_ACT_STOLEN',
      'TC_ACT_QUEUED',
      'TC_ACT_TRAP',
      'TC_ACT_REDIRECT',
      'TC_ACT_PIPE',
      'TC_RETURN_9',
    ];
    // as cls_bpf carries them out: QUEUED and unknown codes become UNSPEC, and the frame passes
    expect(tc.map(verdictOf)).to.deep.equal([
      'passed',
      'passed',
      'dropped',
      'stolen',
      'passed',
      'stolen',
      'redirected',
      'passed',
      'passed',
    ]);
  });

  it('count and format runs, telling listeners of every count', () => {
    const heard: number[] = [];
    const stop = onVerdictCounts((c) => heard.push(c.passed));
    const c = countVerdicts([{ verdict: 'passed' }, { verdict: 'dropped' }, { verdict: 'passed' }]);
    stop();
    countVerdicts([{ verdict: 'passed' }]);
    expect(c).to.deep.equal({ passed: 2, dropped: 1, tx: 0, redirected: 0, aborted: 0, stolen: 0 });
    expect(formatCounts(c)).to.equal('2 passed, 1 dropped');
    expect(formatCounts(countVerdicts([]))).to.equal('no frames');
    expect(heard).to.deep.equal([2]);
  });

  it('describe a redirect target by what is known of it, never a guess', () => {
    expect(describeRedirect({ known: false, reason: 'TC programs have no redirect tracepoint' })).to.equal(
      'to an unknown target (TC programs have no redirect tracepoint)',
    );
  });
});
