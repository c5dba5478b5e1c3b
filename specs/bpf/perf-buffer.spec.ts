import { expect } from 'chai';
import { PerfBuffer, XdpspecError, bench, frame, loadObject, runUnit, type LoadedObject } from '../../src/index.js';
import { SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { thrown } from '../support/thrown.js';

const udp = (src: string, dport: number) => frame.eth().ipv4({ src, dst: '10.0.0.2' }).udp({ dport }).payload('abc');

describe('perf buffers', () => {
  needsBpf();
  let o: LoadedObject;
  beforeEach(() => {
    o = loadObject(SPEC_OBJ.events);
  });
  afterEach(() => o?.close());

  it("drain what bpf_perf_event_output wrote, with the CPU, the report decoded and the frame's bytes after it", async () => {
    const perf = o.perfBuffer('perf', { type: 'struct event' });
    expect(perf).to.be.instanceOf(PerfBuffer);
    expect(perf.drain()).to.deep.equal([]);
    const frames = [udp('10.0.0.5', 53), udp('10.0.0.6', 9), frame.eth().ipv6().udp()];
    await runUnit(o.program(), frames);
    const records = perf.drain();
    expect(records.map((r) => r.value)).to.deep.equal([
      { saddr: '10.0.0.5', len: 45, dport: 53, verdict: 2 },
      { saddr: '10.0.0.6', len: 45, dport: 9, verdict: 1 },
    ]);
    records.forEach((r, i) => {
      expect(r.cpu).to.be.a('number').within(0, 4095);
      // 12 bytes of report, then the frame, padded by the kernel
      expect(r.data.subarray(12, 12 + 45).equals(frames[i]!.build())).to.equal(true);
      expect(r.data.length).to.be.within(12 + 45, 12 + 45 + 7);
    });
    expect(perf.drain()).to.deep.equal([]);
  });

  it('say when the kernel lost records of a full buffer, instead of returning fewer', async () => {
    const perf = o.perfBuffer('perf', { pages: 1 });
    // 4 KiB a CPU, about 70 bytes a record: a few hundred of one CPU's test runs overflow it.
    await runUnit(
      o.program(),
      Array.from({ length: 300 }, (_, i) => udp('10.0.0.1', 1000 + i)),
    );
    // The kernel has not said so yet (it writes the count with its next record), but the
    // buffer is full.
    const full = thrown(() => perf.drain());
    expect(full).to.be.instanceOf(XdpspecError).with.property('code', 'EVENT_BUFFER');
    expect(full.message).to.match(
      /^perf buffer perf: its buffer on CPU \d+ filled up \(\d+ of 4096 bytes, \d+ record\(s\) read\), so the kernel may have lost records after these/,
    );
    expect(perf.drain()).to.deep.equal([]);
  });

  it('refuse what they cannot read, saying why', () => {
    expect(thrown(() => o.perfBuffer('events')).message).to.match(
      /^events of .* is a ring buffer, not a perf event array; read it with ringBuffer\("events"\)$/,
    );
    expect(thrown(() => o.perfBuffer('perf', { pages: 3 })).message).to.equal(
      "perf buffer perf: pages must be a power of two (the kernel maps each CPU's buffer so), got 3",
    );
    o.perfBuffer('perf');
    expect(thrown(() => o.perfBuffer('perf', { type: 'struct event' }))).to.have.property('code', 'EVENT_BUFFER');
  });
});

describe('perf buffers in bench()', () => {
  needsBpf();
  const b = bench({ object: SPEC_OBJ.events, program: 'xdp_events', ports: ['wan'] });

  it('get records from live frames too (this case leaves its own undrained)', async () => {
    const perf = b.object.perfBuffer('perf', { type: 'struct event' });
    const mac = b.live.bench.topology.port('wan').dutMac;
    await b.live.replay([1, 9].map((d) => frame.eth({ dst: mac }).ipv4({ src: '10.9.9.9' }).udp({ dport: d })));
    expect(perf.drain().map((r) => (r.value as { dport: number }).dport)).to.deep.equal([1, 9]);
    await b.unit(udp('10.0.0.1', 11));
  });

  it("starts with none of the last case's records", async () => {
    const perf = b.object.perfBuffer('perf', { type: 'struct event' });
    expect(perf.drain()).to.deep.equal([]);
    await b.unit(udp('10.0.0.1', 12));
    expect(perf.drain().map((r) => (r.value as { dport: number }).dport)).to.deep.equal([12]);
  });
});
