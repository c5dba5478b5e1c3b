// Streaming's capture bookkeeping, without a kernel: taps are stand-ins that hand over frames.
import { expect } from 'chai';
import type { PacketSocket } from '../../../src/index.js';
import { STREAM_WINDOW, StreamCapture, chunksOf } from '../../../src/harness/live/stream.js';

/** A capture socket stand-in: `arrive` queues frames, `lose` counts a kernel drop. */
function tap() {
  let queue: Buffer[] = [];
  let dropped = 0;
  const mode = { ring: false };
  const socket = {
    receiveEach: (visit: (b: Buffer, start: number, end: number) => void) => {
      const got = queue.splice(0);
      for (const g of got) visit(g, 0, g.length);
      return got.length;
    },
    captureByRing: () => (mode.ring = true),
    captureByQueue: () => {
      mode.ring = false;
    },
    drain: () => queue.splice(0).length,
    statistics: () => {
      const s = { received: 0, dropped };
      dropped = 0;
      return s;
    },
  };
  return {
    socket: socket as unknown as PacketSocket,
    mode,
    arrive: (...f: Buffer[]) => (queue = queue.concat(f)),
    lose: (n: number) => (dropped += n),
  };
}

const f = (n: number) => Buffer.from([n, n, n, n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

describe('streaming capture', () => {
  it('attributes each captured frame to the earliest input it is a copy of, and counts the rest as unmatched', () => {
    const out = tap();
    const cap = new StreamCapture([{ socket: out.socket, where: 'wan/tester' }]);
    for (const x of [f(1), f(2), f(1)]) cap.register(x);
    out.arrive(f(1), f(1), f(9));
    cap.take();
    expect(cap.seen).to.deep.equal(['wan/tester', undefined, 'wan/tester']);
    expect(cap.unmatched).to.equal(1);
    expect(cap.total((w) => w === 'wan/tester')).to.equal(3);
  });

  it('tells apart frames that agree in their first 64 bytes (the key) by the rest', () => {
    const out = tap();
    const cap = new StreamCapture([{ socket: out.socket, where: 'wan/dut' }]);
    const long = (tail: number) => Buffer.concat([Buffer.alloc(64, 0x45), Buffer.from([tail, tail])]);
    for (const x of [long(1), long(2), long(1), long(3)]) cap.register(x);
    out.arrive(long(2), long(1), long(4));
    cap.take();
    expect(cap.seen).to.deep.equal(['wan/dut', 'wan/dut', undefined, undefined]);
    expect(cap.unmatched).to.equal(1);
    out.arrive(long(3), long(1));
    cap.take();
    expect(cap.seen).to.deep.equal(['wan/dut', 'wan/dut', 'wan/dut', 'wan/dut']);
  });

  it('reads ignored taps without counting what they hold (a tap before TC holds the inputs)', () => {
    const before = tap();
    const after = tap();
    const cap = new StreamCapture([
      { socket: before.socket, where: 'wan/dut', ignore: true },
      { socket: after.socket, where: 'wan/dut' },
    ]);
    cap.register(f(1));
    before.arrive(f(1));
    after.arrive(f(1));
    cap.take();
    expect(cap.total(() => true)).to.equal(1);
    expect(cap.seen).to.deep.equal(['wan/dut']);
  });

  it('captures by ring from its start to its close, but the taps asked to stay on their queues', () => {
    const ring = tap();
    const queued = tap();
    const cap = new StreamCapture([
      { socket: ring.socket, where: 'wan/dut' },
      { socket: queued.socket, where: 'wan/dut', queued: true },
    ]);
    expect([ring.mode.ring, queued.mode.ring]).to.deep.equal([true, false]);
    const late = tap();
    cap.add({ socket: late.socket, where: 'lan/tester' });
    expect(late.mode.ring).to.equal(true);
    cap.close();
    expect([ring.mode.ring, queued.mode.ring, late.mode.ring]).to.deep.equal([false, false, false]);
  });

  it(`forgets inputs older than the last ${STREAM_WINDOW} sent: their late copies are unmatched`, () => {
    const out = tap();
    const cap = new StreamCapture([{ socket: out.socket, where: 'wan/tester' }]);
    cap.register(f(7));
    for (let i = 0; i < STREAM_WINDOW; i++)
      cap.register(Buffer.from([0xaa, i & 0xff, i >> 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    cap.forget();
    out.arrive(f(7));
    cap.take();
    expect(cap.seen[0]).to.equal(undefined);
    expect(cap.unmatched).to.equal(1);
  });

  it('says the capture lost frames as soon as a tap counted a drop, never as a verdict', () => {
    const out = tap();
    const cap = new StreamCapture([{ socket: out.socket, where: 'wan/tester' }]);
    cap.checkLoss();
    out.lose(3);
    expect(() => cap.checkLoss()).to.throw(/the capture lost 3 frame\(s\)/);
  });

  it('sends in chunks of at most 512, registering each frame before its chunk goes', async () => {
    const cap = new StreamCapture([]);
    const sizes: number[] = [];
    const frames = Array.from({ length: 1100 }, (_, i) =>
      Buffer.from([i & 0xff, i >> 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    );
    const n = await cap.pump(chunksOf(frames), (chunk) => {
      sizes.push(chunk.length);
      expect(cap.seen.length).to.be.at.least(sizes.reduce((a, b) => a + b, 0));
    });
    expect(n).to.equal(1100);
    expect(sizes).to.deep.equal([512, 512, 76]);
  });
});
