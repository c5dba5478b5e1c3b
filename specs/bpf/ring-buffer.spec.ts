import { expect } from 'chai';
import { RingBuffer, XdpspecError, bench, frame, loadObject, runUnit, type LoadedObject } from '../../src/index.js';
import { SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { thrown } from '../support/thrown.js';

const udp = (src: string, dport: number) => frame.eth().ipv4({ src, dst: '10.0.0.2' }).udp({ dport }).payload('abc');

describe('ring buffers', () => {
  needsBpf();
  let o: LoadedObject;
  beforeEach(() => {
    o = loadObject(SPEC_OBJ.events);
  });
  afterEach(() => o?.close());

  it('drain the records a unit run wrote, decoded by their BTF type, each once, a discarded one never', async () => {
    const events = o.ringBuffer('events', { type: 'struct event' });
    expect(events).to.be.instanceOf(RingBuffer);
    expect(events.drain()).to.deep.equal([]);
    const run = await runUnit(o.program(), [
      udp('10.0.0.5', 53),
      udp('10.0.0.6', 9),
      udp('10.0.0.7', 7), // reserved, then discarded
      frame.eth().ipv6().udp({ dport: 53 }),
      frame.eth().ipv4({ src: '10.0.0.8' }).tcp({ dport: 53 }),
    ]);
    expect(run.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped', 'passed', 'passed', 'passed']);
    const len = udp('10.0.0.5', 53).build().length;
    expect(events.drain()).to.deep.equal([
      { saddr: '10.0.0.5', len, dport: 53, verdict: 2 },
      { saddr: '10.0.0.6', len, dport: 9, verdict: 1 },
    ]);
    expect(events.drain()).to.deep.equal([]);
    expect(o.ringBuffer('events', { type: 'struct event' })).to.equal(events);
  });

  it('give raw bytes when no type is named', () => {
    const events = o.ringBuffer('events');
    o.program().testRun(udp('10.1.2.3', 4242).build());
    const [r, ...rest] = events.drain() as Buffer[];
    expect(rest).to.deep.equal([]);
    expect(r).to.be.instanceOf(Buffer);
    expect(r!.subarray(0, 4).equals(Buffer.from([10, 1, 2, 3]))).to.equal(true);
    expect(r!.readUInt16LE(6)).to.equal(4242);
  });

  it('refuse what they cannot read, saying why', () => {
    const perf = thrown(() => o.ringBuffer('perf'));
    expect(perf).to.be.instanceOf(XdpspecError).with.property('code', 'EVENT_BUFFER');
    expect(perf.message).to.match(
      /^perf of .*events\.bpf\.o is a perf event array, not a ring buffer; read it with perfBuffer\("perf"\)$/,
    );
    expect(thrown(() => o.ringBuffer('events.bss')).message).to.match(
      /^events\.bss of .* is an array map, not a ring buffer; read it with map\("events\.bss"\)$/,
    );
    expect(thrown(() => o.ringBuffer('nope'))).to.have.property('code', 'NOT_FOUND');
    const unknown = thrown(() => o.ringBuffer('events', { type: 'struct nope' }));
    expect(unknown).to.have.property('code', 'EVENT_BUFFER');
    expect(unknown.message).to.match(
      /^struct nope is not in the BTF of .*events\.bpf\.o, .*declare one \(e\.g\. "struct nope \*unused_events_record __attribute__\(\(unused\)\);" at file scope\)/,
    );
    o.ringBuffer('events');
    expect(thrown(() => o.ringBuffer('events', { type: 'struct event' })).message).to.equal(
      'events is already read as raw bytes; one reader takes each record once, so ask for it the same way',
    );
    const events = o.ringBuffer('events');
    o.close();
    expect(thrown(() => events.drain())).to.have.property('code', 'OBJECT_CLOSED');
    expect(thrown(() => o.ringBuffer('events'))).to.have.property('code', 'OBJECT_CLOSED');
  });
});

describe('ring buffers in bench()', () => {
  needsBpf();
  const b = bench({ object: SPEC_OBJ.events, program: 'xdp_events', ports: ['wan'] });

  it('get records from live frames too (this case leaves its own undrained)', async () => {
    const events = b.object.ringBuffer('events', { type: 'struct event' });
    const mac = b.live.bench.topology.port('wan').dutMac;
    const run = await b.live.replay(
      [1, 9].map((d) => frame.eth({ dst: mac }).ipv4({ src: '10.9.9.9' }).udp({ dport: d })),
    );
    expect(run.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped']);
    expect((events.drain() as { dport: number }[]).map((e) => e.dport)).to.deep.equal([1, 9]);
    await b.unit(udp('10.0.0.1', 11));
  });

  it("starts with none of the last case's records", async () => {
    const events = b.object.ringBuffer('events', { type: 'struct event' });
    expect(events.drain()).to.deep.equal([]);
    await b.unit(udp('10.0.0.1', 12));
    expect((events.drain() as { dport: number }[]).map((e) => e.dport)).to.deep.equal([12]);
  });
});
