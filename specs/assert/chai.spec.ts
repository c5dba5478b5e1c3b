import { AssertionError } from 'chai';
import { execa } from 'execa';
import {
  LiveBench,
  XdpspecError,
  expect,
  frame,
  loadObject,
  parseFrame,
  runUnit,
  type LoadedObject,
  type UnitRun,
} from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { thrown as thrownError } from '../support/thrown.js';

/** The message of the AssertionError `fn` throws. */
function failure(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AssertionError)) throw e;
    return e.message;
  }
  throw new Error('the assertion did not fail');
}

describe('Chai assertions', () => {
  needsBpf();
  let verdicts: LoadedObject;
  let filter: LoadedObject;
  let run: UnitRun;
  const udp = (dport: number) => frame.eth().ipv4({ dst: '10.0.0.1' }).udp({ dport });
  before(async () => {
    verdicts = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 1 });
    filter = loadObject(OBJ.ipv6Filter);
    run = await runUnit(verdicts.program(), [1, 2, 3, 4, 5, 7].map(udp));
  });
  after(() => {
    verdicts?.close();
    filter?.close();
  });

  it('verdict properties pass, negate, and fail with the frame, the verdicts and what came out', () => {
    const [aborted, dropped, passed, tx, redirected, rewritten] = run.frames;
    expect(aborted).to.be.aborted;
    expect(dropped).to.be.dropped.and.not.be.passed;
    expect(passed).to.be.passed.and.be.unchanged;
    expect(tx).to.be.tx;
    expect(redirected).to.be.redirected.and.redirectedTo('lo');
    expect(redirected).to.be.redirectedTo(1);
    expect(rewritten).to.be.passed.and.not.be.unchanged;
    expect(failure(() => expect(passed).to.be.dropped)).to.equal(
      'expected frame #2 to be dropped by xdp_verdicts, but it was passed (XDP_PASS)\n\n' +
        '  injected  #2  eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.1 udp 12345 > 3 len 0\n' +
        '  output    unchanged',
    );
    expect(failure(() => expect(dropped).not.to.be.dropped)).to.match(
      /^expected frame #1 not to be dropped by xdp_verdicts, but it was \(XDP_DROP\)\n\n {2}injected {2}#1 .*\n {2}output {4}none$/,
    );
    expect(failure(() => expect(redirected).to.be.redirectedTo('lan'))).to.match(
      /^expected frame #4 to be redirected to lan by xdp_verdicts, but it was redirected to ifindex 1 \(lo\) \(XDP_REDIRECT\)/,
    );
  });

  it('rewritten() names each field that differs, marks checksums, and states the verdict', () => {
    const r = run.frames[5]!;
    expect(r).to.be.rewritten({ 'ipv4.ttl': 63, 'ipv4.dst': '10.0.0.1' });
    const msg = failure(() =>
      expect(r).to.be.rewritten({ 'ipv4.ttl': 62, 'eth.dst': '02:00:00:00:00:0b', 'udp.dport': 7 }),
    );
    expect(msg).to.match(/^expected frame #5 to be rewritten as specified, but 2 field\(s\) differ\n\n/);
    expect(msg).to.include('  ipv4.ttl       expected 62                  actual 63\n');
    expect(msg).to.include('  eth.dst        expected 02:00:00:00:00:0b   actual 02:00:00:00:00:02\n');
    expect(msg).to.match(/\n {2}ipv4\.checksum {2}actual 0x[0-9a-f]{4} \(valid for the actual header\)\n/);
    expect(msg).to.match(/\n {2}verdict {8}passed \(XDP_PASS\)$/);
    expect(failure(() => expect(run.frames[1]).to.be.rewritten({ 'ipv4.ttl': 63 }))).to.match(
      /^expected frame #1 to be rewritten as specified, but it has no output: it was dropped \(XDP_DROP\)/,
    );
  });

  it('rewritten() refuses a field its layer does not have, which would read as absent (and pass under .not)', () => {
    const r = run.frames[5]!;
    for (const assertion of [
      () => expect(r).to.be.rewritten({ 'ipv4.tll': 63 }),
      () => expect(r).not.to.be.rewritten({ 'ipv4.tll': 63 }),
    ]) {
      const err = thrownError(assertion);
      expect(err).to.be.instanceOf(XdpspecError).and.include({ code: 'FIELD_PATH' });
      expect(err.message).to.match(/^rewritten: ipv4 has no field tll; its fields are .*\bttl\b/);
    }
    expect(thrownError(() => expect(r).to.be.rewritten({ ttl: 63 }))).to.include({ code: 'FIELD_PATH' });
    // A layer the frame lacks is a value that is absent: the assertion's to report, not an error.
    expect(failure(() => expect(r).to.be.rewritten({ 'vlan.vid': 5 }))).to.match(
      /vlan\.vid +expected 5 +actual \(absent\)/,
    );
    expect(r).not.to.be.rewritten({ 'vlan.vid': 5 });
  });

  it('validChecksums checks every checksum of an output, saying which is wrong and what it should be', () => {
    const r = run.frames[5]!;
    expect(r).to.have.validChecksums;
    const bad = Buffer.from(r.output!.bytes);
    bad[24] = bad[24]! ^ 0xff; // the IPv4 header checksum's first byte
    // A unit result's input, output and changes are getters of its class, which a spread leaves out.
    const corrupt = { ...r, input: r.input, output: parseFrame(bad), changes: r.changes };
    expect(failure(() => expect(corrupt).to.have.validChecksums)).to.match(
      /^expected frame #5's output to have valid checksums, but ipv4\.checksum is 0x[0-9a-f]{4}, expected 0x[0-9a-f]{4}\n\n {2}injected/,
    );
    expect(corrupt).not.to.have.validChecksums;
    expect(failure(() => expect(run.frames[1]).to.have.validChecksums)).to.match(
      /^expected frame #1's output to have valid checksums, but it has no output: it was dropped \(XDP_DROP\)/,
    );
    expect(failure(() => expect(run.frames).to.all.have.validChecksums)).to.match(/^expected frame #0's output/);
    expect(r.output).to.have.validChecksums;
    expect(failure(() => expect(corrupt.output).to.have.validChecksums)).to.match(
      /^expected the frame to have valid checksums, but ipv4\.checksum is 0x[0-9a-f]{4}, expected 0x[0-9a-f]{4}\n\n {2}eth /,
    );
  });

  it('verdicts() checks a whole run and lists the surprising frames', async () => {
    const r = await runUnit(filter.program(), 'fixtures/ipv4-and-ipv6.pcap');
    expect(r).to.have.verdicts({ passed: 10, dropped: 10 });
    expect(r).not.to.have.verdicts({ passed: 20 });
    const msg = failure(() => expect(r).to.have.verdicts({ passed: 12, dropped: 8 }));
    expect(msg).to.match(
      /^expected 20 frames to be 12 passed, 8 dropped, but they were 10 passed, 10 dropped\n\n {2}dropped \(10, expected 8\):\n {4}#0 {2}eth .* icmp echo request id 7 seq 0 payload 12 bytes\n/,
    );
    expect(msg).to.include('    ... and 5 more');
    expect(failure(() => expect(r).to.have.verdicts({ passd: 10 } as never))).to.equal(
      '.verdicts: "passd" is not a verdict; verdicts are passed, dropped, tx, redirected, aborted, stolen',
    );
  });

  it('.all checks every frame of an array, naming the first that fails', async () => {
    const r = await runUnit(filter.program(), 'fixtures/ipv4-and-ipv6.pcap');
    expect(r.frames.filter((f) => f.input.has('ipv6'))).to.all.be.passed;
    expect(failure(() => expect(r.frames).to.all.be.passed)).to.match(
      /^expected frame #0 to be passed by xdp_ipv6_only, but it was dropped \(XDP_DROP\)/,
    );
  });

  it('check their subject first', () => {
    expect(failure(() => expect(42).to.be.passed)).to.equal(
      'expected a frame result (from runUnit or a live replay) for .passed, got number 42',
    );
    expect(failure(() => expect(run.frames).to.be.passed)).to.equal(
      'expected a frame result (from runUnit or a live replay) for .passed, got an array of 6 (use .all for arrays)',
    );
    expect(failure(() => expect(run.frames[0]).to.have.verdicts({ passed: 1 }))).to.match(
      /^expected a run \(from runUnit or a live replay\) for \.verdicts, got an object with /,
    );
  });

  it('work on live results too, naming the port a frame was seen on', async () => {
    const bench = await LiveBench.create({ ports: [{ name: 'wan' }, { name: 'lan' }] });
    const v = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
    try {
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const live = await bench.replay(
        [3, 5].map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d })),
        { on: 'wan' },
      );
      expect(live).to.have.verdicts({ passed: 1, redirected: 1 });
      expect(live.frames[1]).to.be.redirectedTo('lan');
      expect(failure(() => expect(live.frames[0]).to.be.dropped)).to.match(
        /^expected frame #0 to be dropped by xdp_verdicts, but it was passed\n\n {2}injected {2}#0 on wan {2}eth .*\n {2}seen on {3}wan \(dut side\), unchanged$/,
      );
      expect(failure(() => expect(live.frames[1]).to.be.redirectedTo('wan'))).to.match(
        /but it was redirected to ifindex \d+ \(port lan\)\n/,
      );
    } finally {
      bench.close();
      v.close();
    }
  });
});

describe('Chai assertions on whole frames and runs', () => {
  needsBpf();

  it('equalFrame compares outputs field by field, ignoring what a spec does not care about', async () => {
    const v = loadObject(SPEC_OBJ.verdicts);
    try {
      const r = (await runUnit(v.program(), [frame.eth().ipv4({ id: 7 }).udp({ dport: 7 })])).frames[0]!;
      expect(r).to.equalFrame(frame.eth().ipv4({ id: 7, ttl: 63 }).udp({ dport: 7 }));
      expect(r)
        .ignoring('ipv4.id', 'ipv4.checksum')
        .to.equalFrame(frame.eth().ipv4({ id: 99, ttl: 63 }).udp({ dport: 7 }));
      expect(r).not.to.equalFrame(frame.eth().ipv4({ id: 7, ttl: 64 }).udp({ dport: 7 }));
      // masks by byte and bit range: the IPv4 id is bytes 18-19, the checksum 24-25; the TTL is byte 22
      expect(r)
        .ignoring('bytes 18-19', 'bytes 24-25')
        .to.equalFrame(frame.eth().ipv4({ id: 99, ttl: 63 }).udp({ dport: 7 }));
      expect(r)
        .ignoring('bits 176-183', 'bytes 24-25')
        .to.equalFrame(frame.eth().ipv4({ id: 7, ttl: 1 }).udp({ dport: 7 }));
      expect(r)
        .ignoring('bits 177-183', 'bytes 24-25')
        .not.to.equalFrame(frame.eth().ipv4({ id: 7, ttl: 191 }).udp({ dport: 7 })); // 63 vs 191 differ in bit 176
      const msg = failure(() =>
        expect(r)
          .ignoring('udp')
          .to.equalFrame(frame.eth().ipv4({ id: 8, ttl: 63 }).udp({ dport: 9 })),
      );
      expect(msg).to.equal(
        "expected frame #0's output to equal the expected frame (ignoring udp), but 2 field(s) differ\n\n" +
          '  ipv4.id        expected 8        actual 7\n' +
          '  ipv4.checksum  expected 0x67c7   actual 0x67c8\n\n' +
          '  expected  eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 udp 12345 > 9 len 0\n' +
          '  actual    eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 udp 12345 > 7 len 0',
      );
    } finally {
      v.close();
    }
  });

  it('otherFrames: what arrived that no injected frame was, e.g. the DUT answering a ping', async () => {
    const bench = await LiveBench.create({
      ports: [{ name: 'wan', dutAddresses: ['10.9.0.1/24'], testerAddresses: ['10.9.0.2/24'] }],
    });
    const f = loadObject(OBJ.ipv6Filter);
    const v = loadObject(SPEC_OBJ.verdicts);
    try {
      const p = bench.topology.port('wan');
      const ping = frame
        .eth({ src: p.testerMac, dst: p.dutMac })
        .ipv4({ src: '10.9.0.2', dst: '10.9.0.1' })
        .icmp({ id: 1, seq: 1 });
      bench.attach(v.program(), 'wan'); // passes ICMP to the DUT's stack, which answers
      const answered = await bench.replay([ping], { on: 'wan', settleMs: 200 });
      expect(answered.frames[0]).to.be.passed;
      expect(answered.frames[0]!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['wan/dut']);
      expect(answered).to.have.otherFrames;
      expect(failure(() => expect(answered).not.to.have.otherFrames)).to.match(
        /^expected no frames other than the outputs of injected frames, but 1 arrived\n\n {2}wan \(tester side\) {5}eth .* ipv4 10\.9\.0\.1 > 10\.9\.0\.2 icmp echo reply id 1 seq 1/,
      );
      bench.attach(f.program(), 'wan'); // the IPv6 filter drops it: nothing comes back
      const silent = await bench.replay([ping], { on: 'wan', settleMs: 200 });
      expect(silent).not.to.have.otherFrames;
    } finally {
      bench.close();
      f.close();
      v.close();
    }
  });
});

describe('the Chai plugin as a plugin', () => {
  needsBpf();

  it('fails through Chai: expected and actual for reporters, .not applied by Chai, a message given to expect() in front', async () => {
    const v = loadObject(SPEC_OBJ.verdicts);
    try {
      const run = await runUnit(
        v.program(),
        [3, 7].map((d) => frame.eth().ipv4({ dst: '10.0.0.1' }).udp({ dport: d })),
      );
      const [passed, rewritten] = run.frames;
      const err = thrown(() => expect(passed).to.be.dropped);
      expect(err).to.include({ expected: 'dropped', actual: 'passed (XDP_PASS)', showDiff: true });
      const fields = thrown(() => expect(rewritten).to.be.rewritten({ 'ipv4.ttl': 62 }));
      expect(fields).to.deep.include({ expected: { 'ipv4.ttl': '62' }, actual: { 'ipv4.ttl': '63' } });
      const counts = thrown(() => expect(run).to.have.verdicts({ dropped: 2 }));
      expect(counts).to.deep.include({ expected: { dropped: 2 }, actual: { passed: 2 } });
      expect(thrown(() => expect(passed, 'the DNS rule').to.be.dropped).message).to.match(
        /^the DNS rule: expected frame #0 to be dropped/,
      );
    } finally {
      v.close();
    }
  });

  it('uses only the Chai it is given, and importing xdpspec installs nothing', async () => {
    // A process of its own, so that nothing this suite installed is there: chai alone, then
    // xdpspec imported (no assertion yet), then chai.use, then xdpspec's own expect.
    const script = [
      "import * as chai from 'chai';",
      "const has = () => Object.getOwnPropertyNames(chai.Assertion.prototype).includes('dropped');",
      "const x = await import('./src/index.ts');",
      'const afterImport = has();',
      'chai.use(x.xdpspecChai);',
      'console.log(JSON.stringify([afterImport, has()]));',
    ].join('\n');
    const r = await execa('node', ['--import', 'tsx/esm', '--input-type=module', '-e', script]);
    expect(JSON.parse(r.stdout)).to.deep.equal([false, true]);
  });
});

/** The AssertionError `fn` throws, with its data. */
function thrown(fn: () => void): Error & { expected?: unknown; actual?: unknown; showDiff?: boolean } {
  try {
    fn();
  } catch (e) {
    if (e instanceof AssertionError) return e as Error & { expected?: unknown; actual?: unknown };
    throw e;
  }
  throw new Error('the assertion did not fail');
}

describe('Chai assertions on the work per frame', () => {
  needsBpf();
  let counted: LoadedObject;
  let plain: LoadedObject;
  before(() => {
    counted = loadObject(OBJ.ipv6Filter, {}, { count: true });
    plain = loadObject(OBJ.ipv6Filter, {}, { count: false });
  });
  after(() => {
    counted?.close();
    plain?.close();
  });
  const v6 = frame.eth().ipv6().udp().payload('x').build();

  it('executedAtMost passes at or above the frame’s count, and fails below it naming both', async () => {
    const run = await runUnit(counted.program(), [v6, v6]);
    const n = run.frames[0]!.instructions!;
    expect(n).to.be.greaterThan(5);
    expect(run.frames[0]).to.have.executedAtMost(n);
    expect(run).to.have.executedAtMost(n);
    expect(run.frames).to.all.have.executedAtMost(n + 1);
    expect(failure(() => expect(run.frames[1]).to.have.executedAtMost(n - 1))).to.match(
      new RegExp(
        `^expected frame #1 to take at most ${n - 1} instructions of xdp_ipv6_only, but it took ${n}\\n\\n  injected`,
      ),
    );
    expect(failure(() => expect(run.frames[0]).to.not.have.executedAtMost(n))).to.match(
      new RegExp(`^expected frame #0 to take more than ${n} instructions of xdp_ipv6_only, but it took ${n}`),
    );
  });

  it('says how to count, for a program loaded without block counters', async () => {
    const run = await runUnit(plain.program(), [v6]);
    expect(run.frames[0]!.instructions).to.equal(undefined);
    expect(run.instructions).to.equal(undefined);
    expect(failure(() => expect(run).to.have.executedAtMost(100))).to.equal(
      'frame #0: xdp_ipv6_only was loaded without block counters, so what it executed is not known; load its object with { count: true } (or run with --coverage / XDPSPEC_COVERAGE)',
    );
  });
});
