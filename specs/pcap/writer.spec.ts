import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CaptureWriter, XdpspecError, encodeCapture, frame, parseCapture, writeCapture } from '../../src/index.js';
import { tcpdumpFrames, tempDir, tsharkFields, tsharkFrames } from '../support/tools.js';

const frames = [
  frame.eth().ipv4().udp().payload('a').build(),
  frame.eth().vlan({ vid: 100 }).ipv6().tcp({ flags: 'PA', seq: 7, ack: 9 }).payload('bb').build(),
  frame.eth().arp({ op: 2 }).padding(18).build(),
  frame
    .eth()
    .ipv6()
    .icmpv6({ type: 135, target: 'fd00::2', options: [{ type: 1, lladdr: '02:00:00:00:00:01' }] })
    .build(),
  // odd lengths exercise pcapng's 4-byte padding
  frame
    .eth()
    .ipv4()
    .payload(Buffer.from([1, 2, 3]))
    .build(),
];

describe('pcap writer', () => {
  const t = tempDir();
  after(t.cleanup);

  it('writes classic pcap that tcpdump and tshark read with identical bytes', async () => {
    const file = t.path('out.pcap');
    await writeCapture(
      file,
      frames.map((data) => ({ data })),
      { format: 'pcap' },
    );
    expect(await tcpdumpFrames(file)).to.deep.equal(frames);
    expect(await tsharkFrames(file)).to.deep.equal(frames);
  });

  it('writes pcapng that tshark and tcpdump read with identical bytes, interface names and comments', async () => {
    const file = t.path('out.pcapng');
    const w = await CaptureWriter.create(file, {
      interfaces: [{ name: 'wan' }, { name: 'lan', description: 'the inside' }],
    });
    for (const [i, data] of frames.entries()) {
      await w.write({
        data,
        interfaceId: i % 2,
        comment: `verdict of #${i}`,
        timestamp: 1_700_000_000_123_456_789n + BigInt(i),
      });
    }
    await w.close();
    expect(w.count).to.equal(frames.length);
    expect(await tsharkFrames(file)).to.deep.equal(frames);
    expect(await tcpdumpFrames(file)).to.deep.equal(frames);
    const rows = await tsharkFields(file, ['frame.interface_name', 'frame.comment', 'frame.time_epoch']);
    expect(rows.map((r) => r[0])).to.deep.equal(['wan', 'lan', 'wan', 'lan', 'wan']);
    expect(rows.map((r) => r[1])).to.deep.equal(frames.map((_, i) => `verdict of #${i}`));
    expect(rows[0]![2]).to.equal('1700000000.123456789'); // nanosecond resolution kept
  });

  it('round-trips records through its own reader in both formats', () => {
    const records = frames.map((data, i) => ({
      data,
      timestamp: 1_000_000_000n * BigInt(i) + 1000n * BigInt(i),
      originalLength: data.length + i,
    }));
    for (const format of ['pcap', 'pcapng'] as const) {
      const c = parseCapture(encodeCapture(records, { format }));
      expect(c.records.map((r) => [r.data, r.timestamp, r.originalLength])).to.deep.equal(
        records.map((r) => [r.data, r.timestamp, r.originalLength]),
      );
    }
  });

  it('writes microseconds when asked, truncating the nanoseconds as tcpdump does', () => {
    const c = parseCapture(
      encodeCapture([{ data: frames[0]!, timestamp: 1_999_999_999n }], { format: 'pcapng', resolution: 'us' }),
    );
    expect(c.records[0]!.timestamp).to.equal(1_999_999_000n);
    expect(c.interfaces[0]!.timestampResolution).to.equal('10^-6');
  });

  it('refuses records that the file could not hold, naming why', async () => {
    expect(() => encodeCapture([{ data: frames[0]!, interfaceId: 2 }])).to.throw(
      XdpspecError,
      'interface 2 does not exist: the writer describes 1 interface(s)',
    );
    expect(() => encodeCapture([{ data: Buffer.alloc(100) }], { snapLength: 64 })).to.throw(
      XdpspecError,
      'frame of 100 bytes is larger than the snap length 64',
    );
    expect(() => encodeCapture([], { format: 'pcap', interfaces: [{}, {}] })).to.throw(
      XdpspecError,
      'a classic pcap file has one interface; 2 were given',
    );
    const w = await CaptureWriter.create(t.path('closed.pcapng'));
    await w.close();
    const err = await w.write({ data: frames[0]! }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'WRITER_CLOSED');
  });

  it('writes an empty capture that readers accept', async () => {
    const file = t.path('empty.pcapng');
    await writeCapture(file, []);
    expect(parseCapture(readFileSync(file)).records).to.deep.equal([]);
    expect(await tsharkFrames(file)).to.deep.equal([]);
  });
});
