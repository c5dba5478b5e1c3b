// Specs of golden captures: a run's outputs recorded as pcapng next to the spec, and later
// runs compared with them frame by frame. specs/harness/isn.golden.pcapng is such a file,
// recorded with XDPSPEC_UPDATE_GOLDEN=1 and committed.
import { expect } from 'chai';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import {
  GoldenMismatch,
  checkGolden,
  frame,
  loadObject,
  runUnit,
  runUnitSteps,
  type LoadedObject,
  type Step,
} from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { thrown } from '../support/thrown.js';
import { tempDir, tsharkFields } from '../support/tools.js';

const MIXED = 'fixtures/mixed-traffic.pcap';
const ISN_GOLDEN = new URL('./isn.golden.pcapng', import.meta.url);

/** A conversation through the egress-ISN pair: the app's SYN and data out, the far side's answers in. */
const APP = { mac: '02:00:00:00:0a:01', ip: '10.0.0.20' };
const FAR = { mac: '02:00:00:00:0a:02', ip: '10.0.0.30' };
const out = (flags: string, seq: number, ack: number, data = ''): Step => ({
  on: 'app',
  frame: frame
    .eth({ src: APP.mac, dst: FAR.mac })
    .ipv4({ src: APP.ip, dst: FAR.ip })
    .tcp({ sport: 40000, dport: 80, flags, seq, ack })
    .payload(data),
});
const back = (flags: string, seq: number, ack: number, data = ''): Step => ({
  on: 'uplink',
  frame: frame
    .eth({ src: FAR.mac, dst: APP.mac })
    .ipv4({ src: FAR.ip, dst: APP.ip })
    .tcp({ sport: 80, dport: 40000, flags, seq, ack })
    .payload(data),
});
const conversation = (offset: number) => [
  out('S', 1000, 0),
  back('SA', 9000, 1001 + offset),
  out('A', 1001, 9001),
  out('PA', 1001, 9001, 'hello'),
  back('A', 9001, 1006 + offset),
];

describe('golden captures', () => {
  needsBpf();
  const t = tempDir();
  let obj: LoadedObject | undefined;
  afterEach(() => obj?.close());
  after(t.cleanup);

  const isnRun = (offset: number) => {
    obj = loadObject(OBJ.egressIsn, { isn_offset: offset });
    return runUnitSteps({ app: obj.program('xdp_isn_out'), uplink: obj.program('xdp_isn_in') }, conversation(offset));
  };

  it('match the committed golden capture of a conversation across two ports (matchGolden with a URL next to the spec)', () => {
    expect(isnRun(0x10000000)).to.matchGolden(ISN_GOLDEN);
  });

  it('are pcapng Wireshark reads: one interface per port, a comment per frame with its verdict', async () => {
    const rows = await tsharkFields(ISN_GOLDEN.pathname, [
      'frame.interface_name',
      'frame.comment',
      'tcp.seq_raw',
      'tcp.ack_raw',
    ]);
    expect(rows.map((r) => [r[0], r[1]!.split('\\n')[0], r[2], r[3]])).to.deep.equal([
      ['app', '#0 passed', String(1000 + 0x10000000), '0'],
      ['uplink', '#1 passed', '9000', '1001'],
      ['app', '#2 passed', String(1001 + 0x10000000), '9001'],
      ['app', '#3 passed', String(1001 + 0x10000000), '9001'],
      ['uplink', '#4 passed', '9001', '1006'],
    ]);
    expect(rows[0]![1]).to.match(
      /^#0 passed\\nthe output, on app: eth 02:00:00:00:0a:01 > 02:00:00:00:0a:02 ipv4 10\.0\.0\.20 > 10\.0\.0\.30 tcp 40000 > 80 \[S\] seq 268436456 /,
    );
  });

  it('fail with each frame that differs, field by field', () => {
    const err = thrown(() => expect(isnRun(0x20000000)).to.matchGolden(ISN_GOLDEN));
    expect(err.message).to.match(
      /^3 of 5 frames differ from the golden capture .*isn\.golden\.pcapng \(XDPSPEC_UPDATE_GOLDEN=1 records the run as the new golden\)\n\n/,
    );
    expect(err.message).to.include(
      [
        '  #0  eth 02:00:00:00:0a:01 > 02:00:00:00:0a:02 ipv4 10.0.0.20 > 10.0.0.30 tcp 40000 > 80 [S] seq 536871912 win 65535 len 0',
        '      output differs, golden -> now:',
        `        tcp.seq: ${1000 + 0x10000000} -> ${1000 + 0x20000000}`,
        '        tcp.checksum: ',
      ].join('\n'),
    );
    // The far side's answers come out as before: their ACKs carry the new offset, taken off again.
    expect(err.message)
      .to.include('  #2  ')
      .and.to.include('  #3  ')
      .and.not.to.include('  #1  ')
      .and.not.to.include('  #4  ');
  });

  it('name a changed verdict with the port on both sides', async () => {
    const file = t.path('filter.golden.pcapng');
    obj = loadObject(OBJ.ipv6Filter);
    expect(checkGolden(await runUnit(obj.program(), MIXED), file, { update: true })).to.equal('recorded');
    obj.close();
    obj = loadObject(SPEC_OBJ.ipv6FilterV2);
    const now = await runUnit(obj.program(), MIXED);
    const err = thrown(() => checkGolden(now, file));
    expect(err).to.be.instanceOf(GoldenMismatch);
    expect((err as GoldenMismatch).frames).to.have.length(4);
    expect((err as GoldenMismatch).frames[0]).to.equal(
      '#0  eth 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff arp who-has 10.0.0.1 tell 10.0.0.2\n    golden: dropped on in   now: passed on in',
    );
  });

  it('are recorded when asked (XDPSPEC_UPDATE_GOLDEN=1), left untouched when equal, and missing ones say how to record them', async () => {
    const file = t.path('new.golden.pcapng');
    obj = loadObject(OBJ.ipv6Filter);
    const run = await runUnit(obj.program(), MIXED);
    const missing = thrown(() => checkGolden(run, file));
    expect(missing.code).to.equal('GOLDEN_MISSING');
    expect(missing.message).to.equal(
      `no golden capture at ${file} yet; run the spec once with XDPSPEC_UPDATE_GOLDEN=1 (or xdpspec run --update-golden) to record it, then commit it`,
    );
    const before = process.env.XDPSPEC_UPDATE_GOLDEN;
    process.env.XDPSPEC_UPDATE_GOLDEN = '1';
    try {
      expect(checkGolden(run, file)).to.equal('recorded');
      const first = statSync(file).mtimeMs;
      expect(checkGolden(run, file)).to.equal('matched');
      expect(statSync(file).mtimeMs).to.equal(first);
    } finally {
      if (before === undefined) delete process.env.XDPSPEC_UPDATE_GOLDEN;
      else process.env.XDPSPEC_UPDATE_GOLDEN = before;
    }
    expect(checkGolden(run, file)).to.equal('matched');
    // A capture xdpspec did not write is not a golden one.
    writeFileSync(t.path('plain.pcapng'), readFileSync(MIXED));
    expect(thrown(() => checkGolden(run, t.path('plain.pcapng'))).message).to.match(
      /plain\.pcapng: record 0 has no xdpspec comment \("#3 passed \.\.\."\); a golden capture is written by xdpspec/,
    );
  });
});
