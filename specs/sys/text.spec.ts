import { expect } from 'chai';
import { ENOTSUPP, errnoName } from '../../src/sys/errno.js';
import { valueText } from '../../src/sys/text.js';

describe('values and errno in messages', () => {
  it('puts any value in a message: scalars as String() does, objects by their tag, functions by name', () => {
    expect([1, 2n, true, 'x', null, undefined].map(valueText)).to.deep.equal([
      '1',
      '2',
      'true',
      'x',
      'null',
      'undefined',
    ]);
    expect(valueText(new Map())).to.equal('[object Map]');
    expect(valueText(function named() {})).to.equal('function named');
    expect(valueText(Symbol('s'))).to.equal('Symbol(s)');
  });

  it("names errno values, the kernel's ENOTSUPP among them", () => {
    expect(errnoName(2)).to.equal('ENOENT (2)');
    expect(errnoName(ENOTSUPP)).to.equal('ENOTSUPP (524)');
    expect(errnoName(4001)).to.equal('errno 4001');
  });
});
