import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import {
  CaptureReader,
  PcapFormatError,
  PcapLinkTypeError,
  encodeCapture,
  frame,
  parseCapture,
  readCapture,
  writeCapture,
} from '../../src/index.js';
import * as craft from '../support/craft.js';
import { tempDir } from '../support/tools.js';

const f1 = frame.eth().ipv4().udp().payload('one').build();
const f2 = frame.eth().ipv6().tcp({ flags: 'SA' }).build();
const f3 = frame.eth().arp().build();

/** Runs `fn`, expecting a PcapFormatError; returns it for further checks. */
function formatError(fn: () => unknown): PcapFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(PcapFormatError);
    return e as PcapFormatError;
  }
  expect.fail('expected a PcapFormatError');
}

describe('pcap reader', () => {
  describe('classic pcap', () => {
    it('reads little-endian microsecond files with exact timestamps', () => {
      const bytes = craft.classicFile([
        { data: f1, sec: 1_700_000_000, frac: 123_456 },
        { data: f2, sec: 1_700_000_001, frac: 999_999 },
      ]);
      const c = parseCapture(bytes);
      expect(c.format).to.equal('pcap');
      expect(c.records.map((r) => r.data)).to.deep.equal([f1, f2]);
      expect(c.records[0]!.timestamp).to.equal(1_700_000_000_123_456_000n);
      expect(c.records[1]!.timestamp).to.equal(1_700_000_001_999_999_000n);
      expect(c.interfaces[0]).to.include({ linkType: 1, snapLength: 65535, timestampResolution: '10^-6' });
    });

    it('reads big-endian and nanosecond files', () => {
      const bytes = craft.classicFile(
        [
          { data: f1, sec: 5, frac: 7 },
          { data: f3, sec: 6, frac: 999_999_999 },
        ],
        { order: 'be', ns: true },
      );
      const c = parseCapture(bytes);
      expect(c.records.map((r) => r.data)).to.deep.equal([f1, f3]);
      expect(c.records.map((r) => r.timestamp)).to.deep.equal([5_000_000_007n, 6_999_999_999n]);
      expect(c.interfaces[0]!.timestampResolution).to.equal('10^-9');
    });

    it('keeps the original length of snapped records', () => {
      const c = parseCapture(craft.classicFile([{ data: f1.subarray(0, 20), orig: f1.length }], { snap: 20 }));
      expect(c.records[0]!.data.length).to.equal(20);
      expect(c.records[0]!.originalLength).to.equal(f1.length);
    });
  });

  describe('pcapng', () => {
    it('reads big-endian sections', () => {
      const bytes = Buffer.concat([
        craft.shb('be'),
        craft.idb({ order: 'be' }),
        craft.epb(f1, { order: 'be', tsLow: 1_500_000 }),
        craft.epb(f2, { order: 'be' }),
      ]);
      const c = parseCapture(bytes);
      expect(c.format).to.equal('pcapng');
      expect(c.records.map((r) => r.data)).to.deep.equal([f1, f2]);
      expect(c.records[0]!.timestamp).to.equal(1_500_000_000n); // default resolution: microseconds
    });

    it('converts if_tsresol in powers of ten and of two, and applies if_tsoffset', () => {
      const ms = craft.option(9, Buffer.from([3])); // 10^-3
      const bin = craft.option(9, Buffer.from([0x80 | 10])); // 2^-10
      const offset = Buffer.alloc(8);
      offset.writeBigInt64LE(100n);
      const bytes = Buffer.concat([
        craft.shb(),
        craft.idb({ options: [ms] }),
        craft.idb({ options: [bin, craft.option(14, offset)] }),
        craft.epb(f1, { iface: 0, tsLow: 2500 }),
        craft.epb(f2, { iface: 1, tsLow: 1536 }),
      ]);
      const c = parseCapture(bytes);
      expect(c.records[0]!.timestamp).to.equal(2_500_000_000n);
      expect(c.records[1]!.timestamp).to.equal(1_500_000_000n + 100_000_000_000n);
      expect(c.interfaces.map((i) => i.timestampResolution)).to.deep.equal(['10^-3', '2^-10']);
    });

    it('reads simple packet blocks, comments, interface names, and skips unknown blocks', () => {
      const bytes = Buffer.concat([
        craft.shb(),
        craft.idb({ snap: 1000, options: [craft.option(2, Buffer.from('wan0'))] }),
        craft.block(0x00000bad, Buffer.from('a custom block nobody knows')),
        craft.block(4, Buffer.alloc(8)), // name resolution block
        craft.spb(f1),
        craft.epb(f2, { options: [craft.option(1, Buffer.from('dropped by rule 3'))] }),
        craft.block(5, Buffer.alloc(12)), // interface statistics block
      ]);
      const c = parseCapture(bytes);
      expect(c.records.map((r) => r.data)).to.deep.equal([f1, f2]);
      expect(c.records[0]!.timestamp).to.equal(0n);
      expect(c.records[1]!.comment).to.equal('dropped by rule 3');
      expect(c.interfaces[0]!.name).to.equal('wan0');
    });

    it('starts over with the interfaces of a second section', () => {
      const bytes = Buffer.concat([
        craft.shb(),
        craft.idb(),
        craft.epb(f1),
        craft.shb('be'),
        craft.idb({ order: 'be' }),
        craft.epb(f2, { order: 'be' }),
      ]);
      expect(parseCapture(bytes).records.map((r) => [r.index, r.data])).to.deep.equal([
        [0, f1],
        [1, f2],
      ]);
    });
  });

  describe('streaming', () => {
    const t = tempDir();
    after(t.cleanup);

    it('streams a capture larger than its read buffer in order, in batches', async () => {
      // About 5 MiB: several 1 MiB chunks, so records straddle chunk boundaries.
      const n = 40_000;
      const distinct = Array.from({ length: 200 }, (_, i) =>
        frame.eth().ipv4({ id: i }).udp({ sport: i }).payload(Buffer.alloc(i)).build(),
      );
      const frames = Array.from({ length: n }, (_, i) => ({ data: distinct[i % 200]!, timestamp: BigInt(i) }));
      for (const format of ['pcap', 'pcapng'] as const) {
        const file = t.path(`big.${format}`);
        await writeCapture(file, frames, { format });
        const reader = await CaptureReader.open(file);
        let i = 0;
        let batches = 0;
        for await (const batch of reader.batches()) {
          batches++;
          for (const r of batch) {
            expect(r.index).to.equal(i);
            if (!r.data.equals(frames[i]!.data)) expect.fail(`${format} record ${i} differs`);
            i++;
          }
        }
        expect(i).to.equal(n);
        expect(batches).to.be.greaterThan(3);
      }
    });

    it('iterates record by record and reads a file whole', async () => {
      const file = t.path('small.pcapng');
      await writeCapture(file, [{ data: f1 }, { data: f2 }, { data: f3 }]);
      const seen: Buffer[] = [];
      for await (const r of await CaptureReader.open(file)) seen.push(r.data);
      expect(seen).to.deep.equal([f1, f2, f3]);
      expect((await readCapture(file)).records.map((r) => r.data)).to.deep.equal([f1, f2, f3]);
    });

    it('reports a file that is missing with a typed error', async () => {
      const err = await CaptureReader.open(t.path('nope.pcap')).catch((e: unknown) => e);
      expect(err).to.have.property('code', 'FILE_OPEN');
      expect(String(err)).to.include('nope.pcap: no such file');
    });

    it('reports a malformed record met while streaming, with file, offset and record', async () => {
      const file = t.path('cut.pcap');
      const whole = encodeCapture([{ data: f1 }, { data: f2 }], { format: 'pcap' });
      writeFileSync(file, whole.subarray(0, whole.length - 5));
      const reader = await CaptureReader.open(file);
      const seen: number[] = [];
      const err = await (async () => {
        for await (const r of reader) seen.push(r.index);
      })().catch((e: unknown) => e);
      expect(seen).to.deep.equal([0]);
      expect(err).to.be.instanceOf(PcapFormatError);
      expect(err).to.include({ file, offset: 24 + 16 + f1.length, record: 1 });
    });
  });

  describe('files written by tcpdump and tshark', () => {
    const t = tempDir();
    after(t.cleanup);
    const frames = [f1, f2, f3, frame.eth().vlan({ vid: 7 }).ipv4().icmp().payload('ping').build()];

    it('reads what tcpdump writes (pcap, micro- and nanosecond) with identical bytes and timestamps', async () => {
      const src = t.path('src.pcap');
      await writeCapture(
        src,
        frames.map((data, i) => ({ data, timestamp: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_123_000n })),
        { format: 'pcap' },
      );
      for (const precision of ['micro', 'nano']) {
        const out = t.path(`tcpdump-${precision}.pcap`);
        await execa('tcpdump', ['-r', src, '-w', out, `--time-stamp-precision=${precision}`]);
        const c = await readCapture(out);
        expect(c.format).to.equal('pcap');
        expect(c.interfaces[0]!.timestampResolution).to.equal(precision === 'nano' ? '10^-9' : '10^-6');
        expect(c.records.map((r) => r.data)).to.deep.equal(frames);
        expect(c.records[3]!.timestamp).to.equal(1_700_000_000_000_000_000n + 3n * 1_000_123_000n);
      }
    });

    it('reads what tshark writes (pcapng) with identical bytes, several interfaces and comments', async () => {
      const a = t.path('a.pcap');
      const b = t.path('b.pcap');
      await writeCapture(
        a,
        frames.slice(0, 2).map((data, i) => ({ data, timestamp: BigInt(i) * 1000n })),
        { format: 'pcap' },
      );
      await writeCapture(
        b,
        frames.slice(2).map((data, i) => ({ data, timestamp: 500n + BigInt(i) * 1000n })),
        { format: 'pcap', resolution: 'ns', snapLength: 9000 },
      );
      const merged = t.path('merged.pcapng');
      await execa('mergecap', ['-F', 'pcapng', '-w', merged, a, b]);
      const commented = t.path('commented.pcapng');
      await execa('editcap', ['-a', '2:second frame, from a.pcap', merged, commented]);
      const c = await readCapture(commented);
      expect(c.format).to.equal('pcapng');
      expect(c.interfaces.length).to.equal(2);
      // mergecap interleaves by timestamp: a0 (0), b0 (500), a1 (1000), b1 (1500)
      expect(c.records.map((r) => r.data)).to.deep.equal([frames[0], frames[2], frames[1], frames[3]]);
      expect(c.records.map((r) => r.interfaceId)).to.deep.equal([0, 1, 0, 1]);
      expect(c.records[1]!.comment).to.equal('second frame, from a.pcap');
      expect(c.records.map((r) => r.timestamp)).to.deep.equal([0n, 500n, 1000n, 1500n]);
    });
  });

  describe('malformed input', () => {
    const name = 'bad.pcap';
    const parse = (b: Buffer) => () => parseCapture(b, name);

    it('an empty file', () => {
      expect(formatError(parse(Buffer.alloc(0))).message).to.equal('bad.pcap: at byte 0: file is empty, not a capture');
    });

    it('an unknown magic number', () => {
      const e = formatError(parse(Buffer.from('GIF89a is not a capture')));
      expect(e.message).to.equal('bad.pcap: at byte 0: unknown magic number 0x47494638: not a pcap or pcapng file');
    });

    it('a truncated file header', () => {
      const e = formatError(parse(craft.classicHeader().subarray(0, 10)));
      expect(e).to.include({ offset: 0, record: undefined });
      expect(e.reason).to.equal('file header truncated: need 24 bytes, have 10');
    });

    it('a truncated record header and truncated record data', () => {
      const good = craft.classicFile([{ data: f1 }]);
      let e = formatError(parse(Buffer.concat([good, Buffer.alloc(7)])));
      expect(e).to.include({
        offset: good.length,
        record: 1,
        reason: 'record header truncated: need 16 bytes, have 7',
      });
      e = formatError(parse(craft.classicFile([{ data: f1 }, { data: f2 }]).subarray(0, good.length + 16 + 3)));
      expect(e).to.include({ offset: good.length, record: 1 });
      expect(e.reason).to.equal(
        `record truncated: need ${16 + f2.length} bytes (16-byte header and ${f2.length} captured bytes), have 19`,
      );
    });

    it('a captured length over the snap length, and over 256 KiB', () => {
      let e = formatError(parse(craft.classicFile([{ data: f1 }, { data: f2, incl: 70000 }])));
      expect(e.message).to.equal(
        `bad.pcap: record 1 at byte ${24 + 16 + f1.length}: captured length 70000 is larger than the snap length 65535`,
      );
      e = formatError(parse(craft.classicFile([{ data: f1, incl: 300_000 }], { snap: 0 })));
      expect(e.reason).to.match(/^captured length 300000 is larger than 262144 \(256 KiB\)/);
      e = formatError(parse(Buffer.concat([craft.shb(), craft.idb({ snap: 40 }), craft.epb(f1)])));
      expect(e.reason).to.equal(`captured length ${f1.length} is larger than the snap length 40 of interface 0`);
    });

    it('a link type other than Ethernet that it does not convert, named', () => {
      let e = formatError(parse(craft.classicFile([{ data: f1 }], { linkType: 105 })));
      expect(e).to.be.instanceOf(PcapLinkTypeError);
      expect(e.message).to.match(
        /^bad\.pcap: at byte 20: link type 105 \(IEEE802_11\) is not supported: xdpspec reads Ethernet captures \(link type 1\), and gives an Ethernet header to Linux cooked captures/,
      );
      e = formatError(parse(Buffer.concat([craft.shb(), craft.idb({ linkType: 127 }), craft.epb(f1)])));
      expect(e).to.be.instanceOf(PcapLinkTypeError);
      expect((e as PcapLinkTypeError).linkType).to.equal(127);
      expect(e.record).to.equal(0);
    });

    it('a record of a converted link type that cannot be an Ethernet frame, named', () => {
      let e = formatError(parse(craft.classicFile([{ data: f1 }, { data: Buffer.alloc(30) }], { linkType: 101 })));
      // f1 is an Ethernet frame: as raw IP its first nibble (of a MAC) is no IP version
      expect(e.message).to.equal(
        `bad.pcap: record 0 at byte 24: record cannot be read as an Ethernet frame: IP version ${f1[0]! >> 4} is neither 4 nor 6`,
      );
      e = formatError(parse(Buffer.concat([craft.shb(), craft.idb({ linkType: 113 }), craft.epb(Buffer.alloc(10))])));
      expect(e.reason).to.equal(
        'packet cannot be read as an Ethernet frame: it is shorter than the 16-byte cooked header',
      );
      expect(e.record).to.equal(0);
    });

    it('pcapng block lengths that are zero, not a multiple of four, or run past the file', () => {
      const head = Buffer.concat([craft.shb(), craft.idb()]);
      const at = head.length;
      let e = formatError(parse(Buffer.concat([head, craft.block(6, Buffer.alloc(20), { total: 0 })])));
      expect(e).to.include({
        offset: at,
        record: 0,
        reason: 'block length 0 of block type 0x6 is less than the minimum of 12',
      });
      e = formatError(parse(Buffer.concat([head, craft.block(6, Buffer.alloc(20), { total: 30 })])));
      expect(e.reason).to.equal('block length 30 of block type 0x6 is not a multiple of 4');
      e = formatError(parse(Buffer.concat([head, craft.block(6, Buffer.alloc(20), { total: 4096 })])));
      expect(e).to.include({ offset: at, reason: 'block length 4096 runs past the end of the file (32 bytes left)' });
      e = formatError(parse(Buffer.concat([head, craft.block(6, Buffer.alloc(20), { trailer: 36 })])));
      expect(e.reason).to.equal('block length 32 at the start of the block does not match 36 at its end');
      e = formatError(parse(Buffer.concat([head, Buffer.alloc(6)])));
      expect(e.reason).to.equal('block header truncated: need 12 bytes, have 6');
    });

    it('pcapng structure errors: no section header first, bad byte-order magic, unknown interface, bad options', () => {
      let e = formatError(parse(Buffer.concat([craft.shb(), craft.idb(), craft.epb(f1, { iface: 3 })])));
      expect(e.reason).to.equal('packet refers to interface 3, but the section describes 1 interface(s)');
      const noShb = Buffer.concat([Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), Buffer.alloc(24)]);
      noShb.writeUInt32LE(0xdeadbeef, 8);
      e = formatError(parse(noShb));
      expect(e.reason).to.match(/^section header block has no byte-order magic 0x1a2b3c4d \(found 0xefbeadde\)/);
      e = formatError(parse(craft.shb('le', 2)));
      expect(e.reason).to.equal('pcapng version 2.0 is not supported (only 1.x)');
      const badOpt = craft.epb(f1, { options: [craft.option(1, Buffer.from('abcd'))] });
      badOpt.writeUInt16LE(200, 8 + 20 + ((f1.length + 3) & ~3) + 2); // option length runs past the block
      e = formatError(parse(Buffer.concat([craft.shb(), craft.idb(), badOpt])));
      expect(e.reason).to.equal('an option of the packet block runs past the end of the block');
    });
  });
});
