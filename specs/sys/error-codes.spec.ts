import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, XdpspecError } from '../../src/index.js';
import { errorTable } from '../../src/sys/error-codes.js';

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('error-codes.ts') ? [p] : [];
  });

describe('the error catalogue', () => {
  it("is the README's error table, row for row (npm run errors:readme writes it)", () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = /<!-- errors:begin -->\n([\s\S]*?)\n<!-- errors:end -->/.exec(readme)?.[1];
    expect(table, 'the README has an errors:begin ... errors:end section').to.be.a('string');
    expect(table).to.equal(errorTable());
  });

  it('lists only codes the sources raise, each with a meaning and what to do', () => {
    const text = sources('src')
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(ERROR_CODES).filter((c) => !text.includes(`'${c}'`));
    expect(unused).to.deep.equal([]);
    for (const [code, e] of Object.entries(ERROR_CODES)) {
      expect(e.meaning, code).to.match(/\w{3}/);
      expect(e.todo, code).to.match(/\w{3}/);
    }
  });

  it('is what an error carries: its code is a key of the catalogue', () => {
    const err = new XdpspecError('NO_PORT', 'port "x" does not exist');
    expect(ERROR_CODES[err.code].area).to.equal('live');
  });
});
