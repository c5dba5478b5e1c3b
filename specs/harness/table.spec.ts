import { expect } from 'chai';
import { AssertionError } from 'chai';
import { formatTable, frame, loadObject, parseFrame, runTable, type LoadedObject } from '../../src/index.js';
import { formatField } from '../../src/packet/index.js';
import { SPEC_OBJ, needsBpf } from '../support/kernel.js';

const failure = (fn: () => void): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AssertionError) return e.message;
    throw e;
  }
  throw new Error('the assertion did not fail');
};

describe('fixture tables', () => {
  needsBpf();
  let v: LoadedObject;
  before(() => {
    v = loadObject(SPEC_OBJ.verdicts);
  });
  after(() => v?.close());
  const sum = (b: Buffer) => formatField('ipv4', 'checksum', parseFrame(b).get('ipv4.checksum'));
  const udp = (dport: number, ttl = 64) => frame.eth().ipv4({ dst: '10.0.0.1', ttl }).udp({ dport });

  it('runs rows of hex, bytes or builders in order and checks return codes and output bytes', async () => {
    const table = await runTable(v.program(), [
      { name: 'pass', input: udp(3).build().toString('hex'), expect: 'XDP_PASS', output: udp(3) },
      { name: 'drop', input: udp(2), expect: 'dropped' },
      { name: 'ttl', input: udp(7), expect: 'XDP_PASS', output: udp(7, 63).build().toString('hex') },
    ]);
    expect(table).to.have.everyRowMatched;
    expect(table).to.include({ passed: 3, failed: 0 });
  });

  it('reports each row that did not match, its return code and its output field by field', async () => {
    const table = await runTable(v.program(), [
      { name: 'fine', input: udp(3), expect: 'XDP_PASS' },
      { name: 'wrong code', input: udp(2), expect: 'XDP_TX' },
      { name: 'wrong ttl', input: udp(7), output: udp(7, 62) },
    ]);
    expect(table).to.include({ passed: 1, failed: 2 });
    expect(formatTable(table)).to.equal(
      [
        'wrong code  eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.1 udp 12345 > 2 len 0',
        '    returned XDP_DROP (dropped), expected XDP_TX',
        'wrong ttl  eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.1 udp 12345 > 7 len 0',
        '    ipv4.ttl: expected 62, got 63',
        `    ipv4.checksum: expected ${sum(udp(7, 62).build())}, got ${sum(udp(7, 63).build())}`,
        '3 rows: 1 matched, 2 did not (xdp_verdicts)',
      ].join('\n'),
    );
    expect(failure(() => expect(table).to.have.everyRowMatched)).to.match(
      /^expected every row of the table to match xdp_verdicts, but 2 of 3 did not\n\n {2}wrong code /,
    );
  });

  it('checks the bytes a program left before dropping, and takes options per row', async () => {
    const rd = loadObject('specs/bpf/build/rewrite_drop.bpf.o');
    const mark = loadObject('specs/bpf/build/tc_mark.bpf.o');
    try {
      const dropped = await runTable(rd.program(), [
        {
          input: udp(9),
          expect: 'XDP_DROP',
          output: frame.eth({ dst: '02:00:00:00:00:ee' }).ipv4({ dst: '10.0.0.1' }).udp({ dport: 9 }),
        },
      ]);
      expect(dropped).to.have.everyRowMatched;
      const marked = await runTable(mark.program(), [
        { input: udp(1), options: { mark: 1 }, expect: 'TC_ACT_SHOT' },
        { input: udp(1), expect: 'TC_ACT_OK' },
      ]);
      expect(marked).to.have.everyRowMatched;
    } finally {
      rd.close();
      mark.close();
    }
  });

  it('refuses a row without input or with bad hex, and assertions take a raw test-run result', async () => {
    const err = await runTable(v.program(), [{ input: 'zz' }]).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'TABLE_ROW');
    expect((err as Error).message).to.equal('row #0 input is not hex bytes: "zz"');
    const raw = v.program().testRun(udp(2).build());
    expect(raw).to.be.dropped;
    expect(failure(() => expect(raw).to.be.passed)).to.equal(
      'expected frame #0 to be passed by the program, but it was dropped (XDP_DROP)\n\n  injected  (not known: a raw test-run result)\n  output    none',
    );
  });
});
