import { expect } from 'chai';
import { execa } from 'execa';
import { loadObject } from '../../src/index.js';
import { probeObject } from '../../src/bpf/probe-objects.js';
import { TraceLink, closeAll } from '../../src/bpf/trace.js';
import { needsBpf } from '../support/kernel.js';

const rawTracepointLinks = async (progId: number) =>
  (JSON.parse((await execa('bpftool', ['-j', 'link', 'show'])).stdout) as { type?: string; prog_id?: number }[]).filter(
    (l) => l.prog_id === progId,
  ).length;

describe('raw tracepoint links', () => {
  needsBpf();

  it('attach a probe program as a BPF link, and are gone once closed (once)', async () => {
    const obj = loadObject(probeObject('watch'));
    try {
      const prog = obj.program('on_exception');
      const link = TraceLink.rawTracepoint(prog, 'xdp_exception');
      expect(link.description).to.equal('on_exception on raw tracepoint xdp_exception');
      expect(await rawTracepointLinks(prog.id)).to.equal(1);
      link.close();
      link.close();
      expect(link.isClosed).to.equal(true);
      expect(await rawTracepointLinks(prog.id)).to.equal(0);
    } finally {
      obj.close();
    }
  });

  it('say which tracepoint would not attach', () => {
    const obj = loadObject(probeObject('watch'));
    try {
      expect(() => TraceLink.rawTracepoint(obj.program('on_exception'), 'no_such_tracepoint')).to.throw(
        /attach on_exception to raw tracepoint no_such_tracepoint/,
      );
    } finally {
      obj.close();
    }
  });

  it('close together: every one, even when one of them throws, and the first error is rethrown', () => {
    const closed: string[] = [];
    const failing = {
      close: () => {
        closed.push('b');
        throw new Error('b failed');
      },
    };
    expect(() =>
      closeAll([{ close: () => void closed.push('a') }, failing, { close: () => void closed.push('c') }]),
    ).to.throw('b failed');
    expect(closed).to.deep.equal(['a', 'b', 'c']);
  });
});
