// The public API is what src/index.ts names, and the README documents each of it.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as api from '../src/index.js';

describe('the public API', () => {
  it('has every runtime export documented in the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    const undocumented = Object.keys(api).filter((n) => !new RegExp(`\\b${n}\\b`).test(readme));
    expect(undocumented).to.deep.equal([]);
  });

  it('keeps internals out: no barrel of a layer is re-exported whole', () => {
    const index = readFileSync('src/index.ts', 'utf8');
    expect(index.match(/^export \* from '\.\/(?!sys\/errors)/gm) ?? []).to.deep.equal([]);
    for (const internal of ['RedirectProbe', 'DriverStats', 'sweepLeftovers', 'inNetns', 'requirePrivileges'])
      expect(api, internal).to.not.have.property(internal);
  });
});
