import { expect } from 'chai';
import { execa } from 'execa';

// In a child: releasing everything in this process would take this run's own namespaces with it.
const CHILD = `
import { atRelease, releaseEverything } from './src/sys/release.ts';
atRelease(() => console.log('first'));
const undo = atRelease(() => console.log('taken back'));
atRelease(() => { throw new Error('a releaser that fails'); });
atRelease(() => console.log('last'));
undo();
releaseEverything();
releaseEverything();
`;

describe('release at exit', () => {
  it('runs each releaser once, the latest first, past one that throws, and not one taken back', async () => {
    const r = await execa('node', ['--import', 'tsx/esm', '--input-type=module', '-e', CHILD]);
    expect(r.stdout.split('\n')).to.deep.equal(['last', 'first']);
  });
});
