import { expect } from 'chai';
import { execa } from 'execa';
import { XdpspecError, fixtures } from '../../src/index.js';

describe('fixtures', () => {
  const log: string[] = [];
  describe('a suite fixture, and case fixtures built on it', () => {
    const f = fixtures()
      .suite('a', async (_, use: (v: number) => Promise<void>) => {
        log.push('a up');
        await use(1);
        log.push('a down');
      })
      .case('b', async ({ a }, use: (v: number) => Promise<void>) => {
        log.push(`b up from ${a}`);
        await use(a + 1);
        log.push('b down');
      })
      .case('c', async ({ b }, use: (v: number) => Promise<void>, info) => {
        log.push(`c up from ${b} for "${info.title}"`);
        await use(b * 10);
        log.push('c down');
      });
    it('first', () => {
      expect(f.values.c).to.equal(20);
      log.push('first ran');
    });
    it('second', () => {
      expect(f.values.a).to.equal(1);
      log.push('second ran');
    });
  });

  // Mocha runs a describe's own cases before its nested describes: the check is a sibling after.
  describe('afterwards', () => {
    it('sets up in order and tears down in reverse, each case fixture around each case', () => {
      expect(log).to.deep.equal([
        'a up',
        'b up from 1',
        'c up from 2 for "first"',
        'first ran',
        'c down',
        'b down',
        'b up from 1',
        'c up from 2 for "second"',
        'second ran',
        'c down',
        'b down',
        'a down',
      ]);
    });
  });

  describe('its values', () => {
    const f = fixtures().suite('x', async (_, use: (v: string) => Promise<void>) => use('x'));
    it('name what is missing', () => {
      expect(() => (f.values as Record<string, unknown>)['y']).to.throw(XdpspecError, 'no fixture y; fixtures: x');
    });
  });

  it('tear down after a case that failed, knowing it failed, and attach files to it', async () => {
    const r = await execa(
      'node_modules/.bin/mocha',
      [
        '--no-config',
        '--node-option',
        'import=tsx/esm',
        '--reporter',
        'dot',
        'specs/support/failing-fixtures.fixture.ts',
      ],
      { reject: false },
    );
    expect(r.exitCode).to.equal(2); // the failing case, and the hook of the fixture that never hands over
    expect(r.stdout).to.include('deliberately');
    expect(r.stdout).to.include('fixture broken returned without calling use()');
    expect(r.stderr).to.include('torn down after "fails": failed=true');
    expect(r.stderr).to.include('torn down after "passes": failed=false');
    expect(r.stderr).to.include('attached to "fails": note /tmp/note.txt');
  });
});
