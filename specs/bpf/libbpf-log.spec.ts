import { expect } from 'chai';
import { indentLog, verifierLog } from '../../src/bpf/libbpf-log.js';

describe("libbpf's log", () => {
  it("cut the verifier's lines out of libbpf's framing, and indent a log under its message", () => {
    const log =
      'libbpf: prog x: BPF program load failed\n-- BEGIN PROG LOAD LOG --\n0: (b7) r0 = 0\nR0 !read_ok\n-- END PROG LOAD LOG --\nlibbpf: failed\n';
    expect(verifierLog(log)).to.equal('0: (b7) r0 = 0\nR0 !read_ok\n');
    expect(verifierLog('no framing')).to.equal('no framing');
    expect(indentLog('a\nb\n')).to.equal('  a\n  b');
  });
});
