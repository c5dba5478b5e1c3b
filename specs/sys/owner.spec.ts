import { expect } from 'chai';
import { ownerAlive } from '../../src/sys/owner.js';
import { processWide } from '../../src/sys/process-wide.js';

describe('owners and process-wide state', () => {
  it('calls an owner alive while its process runs, and not for a pid that was reused since', () => {
    const now = Date.now() / 1000;
    expect(ownerAlive(process.pid, now)).to.equal(true);
    // made long before this process started: the pid belongs to someone else now
    expect(ownerAlive(process.pid, 1_000_000)).to.equal(false);
    expect(ownerAlive(2 ** 22 + 1, now)).to.equal(false); // above the kernel's pid_max
  });

  it('keeps one value per name for the whole process, made once', () => {
    let made = 0;
    const a = processWide('spec-owner-test', () => ({ n: ++made }));
    const b = processWide('spec-owner-test', () => ({ n: ++made }));
    expect(a).to.equal(b);
    expect(made).to.equal(1);
  });
});
