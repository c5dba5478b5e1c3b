// Run by specs/harness/fixtures.spec.ts in a child Mocha: a case fixture around a case that
// fails and one that passes, and a fixture that never calls use().
import { fixtures } from '../../src/index.js';

describe('fixtures around failures', () => {
  fixtures().case('watch', async (_, use: (v: null) => Promise<void>, info) => {
    await use(null);
    process.stderr.write(`torn down after "${info.title}": failed=${String(info.failed)}\n`);
    if (info.failed) info.attach('note', '/tmp/note.txt');
  });
  it('fails', () => {
    throw new Error('deliberately');
  });
  it('passes', () => undefined);
});

describe('a fixture that never hands over', () => {
  fixtures().suite('broken', () => Promise.resolve());
  it('never runs', () => undefined);
});
