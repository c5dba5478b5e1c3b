import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { frame, loadObject } from '../../src/index.js';
import { sweepLeftovers } from '../../src/net/index.js';
import { startChild } from '../support/children.js';
import { needsBpf } from '../support/kernel.js';

const OBJECT = 'specs/bpf/build/pinned.bpf.o';
const MAP = 'xdpspec_pinned_frames';
const privateRoot = `/run/xdpspec/bpffs-${process.pid}`;

describe('maps pinned by name', () => {
  needsBpf();
  const count = (o: ReturnType<typeof loadObject>, n: number) => {
    for (let i = 0; i < n; i++) o.program().testRun(frame.eth().ipv4().udp().build());
    return o.map(MAP).get(0);
  };

  it("pin into the run's private bpffs, never the host's, and start fresh with each object's life", () => {
    const first = loadObject(OBJECT);
    try {
      expect(count(first, 4)).to.equal(4);
      expect(existsSync(`/sys/fs/bpf/${MAP}`)).to.equal(false);
      expect(readdirSync(privateRoot)).to.include(MAP);
    } finally {
      first.close();
    }
    expect(readdirSync(privateRoot)).not.to.include(MAP);
    const second = loadObject(OBJECT);
    try {
      expect(count(second, 4)).to.equal(4); // was 8 when the pin outlived the run in /sys/fs/bpf
    } finally {
      second.close();
    }
  });

  it('are shared by objects of one run alive at the same time, as pinning means', () => {
    const a = loadObject(OBJECT);
    const b = loadObject(OBJECT);
    try {
      count(a, 2);
      expect(count(b, 3)).to.equal(5);
    } finally {
      b.close();
      a.close();
    }
  });

  it('leave nothing after a run killed outright: the next sweep unmounts its private bpffs', async () => {
    const { proc, names } = startChild('pinned-child.ts');
    const [root] = await names;
    expect(root).to.match(/^\/run\/xdpspec\/bpffs-\d+$/);
    expect(readdirSync(root!)).to.include(MAP);
    proc.kill('SIGKILL');
    await proc;
    expect(existsSync(root!)).to.equal(true); // no handler ran
    expect(sweepLeftovers()).to.include(root);
    expect(existsSync(root!)).to.equal(false);
  });
});
