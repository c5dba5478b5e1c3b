import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XdpspecError } from '../../src/index.js';
import { tempDir } from '../support/tools.js';
import { regularFile } from '../../src/sys/files.js';

describe('regular files', () => {
  const t = tempDir();
  after(t.cleanup);
  const dir = t.dir;
  const missing = (): never => {
    throw new Error('missing');
  };

  it("gives the size of a regular file, and says in the caller's words when there is none", () => {
    writeFileSync(join(dir, 'f'), 'abc');
    expect(regularFile(join(dir, 'f'), 'capture', missing)).to.equal(3);
    expect(() => regularFile(join(dir, 'nope'), 'capture', missing)).to.throw('missing');
  });

  it('refuses a directory or a FIFO before anything opens it (a FIFO would block forever)', () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    for (const [p, kind] of [
      [dir, 'a directory'],
      [join(dir, 'fifo'), 'a FIFO'],
    ] as const) {
      const err = (() => {
        try {
          regularFile(p, 'capture', missing);
        } catch (e) {
          return e;
        }
      })();
      expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'FILE_NOT_REGULAR');
      expect((err as Error).message).to.include(kind);
    }
  });
});
