import { expect } from 'chai';
import { returnCodeName } from '../../src/bpf/kinds.js';

describe('kernel numbers', () => {
  it('name return codes by program type, and say the number of one the kernel does not know', () => {
    expect([0, 1, 2, 3, 4, 9].map((c) => returnCodeName(6, c))).to.deep.equal([
      'XDP_ABORTED',
      'XDP_DROP',
      'XDP_PASS',
      'XDP_TX',
      'XDP_REDIRECT',
      'XDP_RETURN_9',
    ]);
    expect([0, 2, 4, 7, 0xffffffff, 42].map((c) => returnCodeName(3, c))).to.deep.equal([
      'TC_ACT_OK',
      'TC_ACT_SHOT',
      'TC_ACT_STOLEN',
      'TC_ACT_REDIRECT',
      'TC_ACT_UNSPEC',
      'TC_RETURN_42',
    ]);
  });
});
