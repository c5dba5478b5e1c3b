import { expect } from 'chai';
import {
  XdpspecError,
  bpfObject,
  fixtures,
  frame,
  loadObject,
  runUnit,
  writeCapture,
  type LoadedObject,
} from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

describe('unit engine', () => {
  needsBpf();
  const t = tempDir();
  let tc: LoadedObject;
  before(() => {
    tc = loadObject(OBJ.tcTtl);
  });
  after(() => {
    tc?.close();
    t.cleanup();
  });

  it('classifies frames from builders, buffers and capture files alike', async () => {
    const frames = [frame.eth().ipv4().udp({ dport: 9 }), frame.eth().ipv4().tcp().build(), frame.eth().ipv6().udp()];
    const file = t.path('in.pcapng');
    await writeCapture(
      file,
      frames.map((f) => ({ data: Buffer.isBuffer(f) ? f : (f as { build(): Buffer }).build() })),
    );
    for (const src of [frames, file]) {
      const run = await runUnit(tc.program(), src);
      expect(run.frames.map((r) => [r.verdict, r.action])).to.deep.equal([
        ['dropped', 'TC_ACT_SHOT'],
        ['passed', 'TC_ACT_OK'],
        ['passed', 'TC_ACT_OK'],
      ]);
      expect(run.counts).to.include({ passed: 2, dropped: 1, tx: 0, redirected: 0, aborted: 0 });
    }
  });

  it('reports the rewrite of each output as a field diff, and no output for drops', async () => {
    const run = await runUnit(tc.program(), [frame.eth().ipv4({ ttl: 9 }).tcp(), frame.eth().ipv4().udp({ dport: 9 })]);
    const [ok, shot] = run.frames;
    expect(ok!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).to.deep.equal([
      'ipv4.ttl: 9 -> 8',
      `ipv4.checksum: ${ok!.changes[1]!.from} -> ${ok!.changes[1]!.to}`,
    ]);
    expect(ok!.output!.get('ipv4.ttl')).to.equal(8);
    expect(shot!.output).to.equal(undefined);
    expect(shot!.changes).to.deep.equal([]);
  });
});

describe('unit engine frames', () => {
  needsBpf();
  const fx = fixtures().suite('obj', bpfObject(OBJ.tcTtl));

  fx.it('are copies: a frame the spec changes after the run is still decoded as it was sent', async ({ obj }) => {
    // Frames of one buffer, as a capture's, and frames of their own: both are copied.
    const file = Buffer.concat([Buffer.alloc(16), frame.eth().ipv4({ ttl: 7 }).tcp().build(), Buffer.alloc(16)]);
    const inFile = file.subarray(16, file.length - 16);
    const own = frame.eth().ipv4({ ttl: 9 }).udp({ dport: 53 }).build();
    const run = await runUnit(obj.program(), [inFile, own]);
    inFile.fill(0);
    own.fill(0);
    expect(run.frames.map((r) => r.input.get('ipv4.ttl'))).to.deep.equal([7, 9]);
    expect(run.frames.map((r) => r.output?.get('ipv4.ttl'))).to.deep.equal([6, 8]);
    expect(run.frames.map((r) => r.changes.find((c) => c.path === 'ipv4.ttl'))).to.deep.equal([
      { path: 'ipv4.ttl', from: '7', to: '6' },
      { path: 'ipv4.ttl', from: '9', to: '8' },
    ]);
  });

  fx.it('of one buffer are copied whether they lie close together or far apart, in any order', async ({ obj }) => {
    const built = [3, 4, 5].map((ttl) => frame.eth().ipv4({ ttl }).tcp().build());
    for (const gap of [16, 4000]) {
      // Laid in the reverse of their order in the array, `gap` bytes apart.
      const buffer = Buffer.alloc(
        built.reduce((n, f) => n + f.length + gap, gap),
        0xee,
      );
      const views: Buffer[] = [];
      let at = gap;
      for (const f of [...built].reverse()) {
        f.copy(buffer, at);
        views.unshift(buffer.subarray(at, at + f.length));
        at += f.length + gap;
      }
      const run = await runUnit(obj.program(), views);
      buffer.fill(0);
      expect(
        run.frames.map((r) => r.input.get('ipv4.ttl')),
        `${gap} bytes apart`,
      ).to.deep.equal([3, 4, 5]);
      expect(run.frames.map((r) => r.output?.get('ipv4.ttl'))).to.deep.equal([2, 3, 4]);
    }
  });

  fx.it('that are not bytes or builders are refused, by their place in the array', async ({ obj }) => {
    const notAFrame: unknown = 'eth/ipv4';
    const err = await runUnit(obj.program(), [frame.eth().ipv4().tcp(), notAFrame as Uint8Array]).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(XdpspecError);
    expect((err as XdpspecError).code).to.equal('FRAME_SOURCE');
    expect((err as Error).message).to.match(/frame #1 of the array is string; expected a Buffer/);
  });
});

describe('unit engine batches', () => {
  needsBpf();
  const fx = fixtures().suite('obj', bpfObject('specs/bpf/build/redirect_by_port.bpf.o', { target: 4242 }));

  fx.it('locate the redirects of a program with no state after one batch, as frame by frame', async ({ obj }) => {
    const frames = [3, 5, 5, 9, 5].map((dport, i) =>
      frame
        .eth()
        .ipv4()
        .udp({ sport: 1000 + i, dport })
        .build(),
    );
    const batched = await runUnit(obj.program(), frames);
    const oneByOne = await runUnit(obj.program(), frames, { perFrame: () => undefined });
    const where = (r: typeof batched) =>
      r.frames.map((f) => [f.verdict, f.redirect && 'ifindex' in f.redirect ? f.redirect.ifindex : undefined]);
    expect(where(batched)).to.deep.equal(where(oneByOne));
    expect(where(batched)).to.deep.equal([
      ['passed', undefined],
      ['redirected', 4242],
      ['redirected', 4242],
      ['passed', undefined],
      ['redirected', 4242],
    ]);
  });
});

describe('unit engine outputs', () => {
  needsBpf();
  it("view the run's own copy of a frame the program left unchanged, and a rewritten frame has its own", async () => {
    const l = loadObject(OBJ.tcTtl);
    try {
      // IPv6 goes through unchanged, IPv4 has its TTL decremented, UDP port 9 is dropped.
      const frames = [
        frame.eth().ipv6().udp({ dport: 53 }).build(),
        frame.eth().ipv4({ ttl: 9 }).udp({ dport: 53 }).build(),
        frame.eth().ipv6().tcp({ dport: 80 }).build(),
        frame.eth().ipv4().udp({ dport: 9 }).build(),
      ];
      const originals = frames.map((f) => Buffer.from(f));
      const run = await runUnit(l.program(), frames);
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'passed', 'passed', 'dropped']);
      const [a, b, c, d] = run.frames.map((f) => f.buffer) as [Buffer, Buffer, Buffer, Buffer];
      expect(a.equals(originals[0]!) && c.equals(originals[2]!) && d.equals(originals[3]!)).to.equal(true);
      expect(run.frames[1]!.changes.map((ch) => ch.path)).to.include('ipv4.ttl');
      // Unchanged ones lie in the one block the run copied its frames to; the rewrite elsewhere.
      expect(c.buffer).to.equal(a.buffer);
      expect(d.buffer).to.equal(a.buffer);
      expect(b.buffer).to.not.equal(a.buffer);
      for (const f of frames) f.fill(0);
      expect(a.equals(originals[0]!), 'the spec changing its frames afterwards').to.equal(true);
      expect(run.frames[0]!.input.get('udp.dport')).to.equal(53);
    } finally {
      l.close();
    }
  });
});

describe('redirect descriptions', () => {
  it('say what is known and why the rest is not', async () => {
    const { describeRedirect } = await import('../../src/harness/index.js');
    expect(describeRedirect({ known: true, ifindex: 3, device: 'veth0' })).to.equal('to ifindex 3 (veth0)');
    expect(describeRedirect({ known: true, ifindex: 3, port: 'lan', device: 'veth0' })).to.equal(
      'to ifindex 3 (port lan)',
    );
    expect(
      describeRedirect({
        known: true,
        ifindex: 1,
        device: 'lo',
        map: { name: 'ports', type: 'devmap', id: 9, key: 0 },
      }),
    ).to.equal('to ifindex 1 (lo) via devmap ports[0]');
    expect(describeRedirect({ known: true, map: { name: 'cpus', type: 'cpumap', id: 9, key: 2 } })).to.equal(
      'to cpumap cpus[2]',
    );
    expect(describeRedirect({ known: true, ifindex: 7, error: 'no device' })).to.equal(
      'to ifindex 7, failed: no device',
    );
    expect(describeRedirect({ known: false, reason: 'TC' })).to.equal('to an unknown target (TC)');
  });

  it('keeps the buffer a program rewrote before dropping it, though nothing left', async () => {
    const o = loadObject('specs/bpf/build/rewrite_drop.bpf.o');
    try {
      const r = (await runUnit(o.program(), [frame.eth({ dst: '02:00:00:00:00:02' }).ipv4().udp()])).frames[0]!;
      expect(r.verdict).to.equal('dropped');
      expect(r.output).to.equal(undefined);
      expect(r.buffer!.subarray(0, 6).toString('hex')).to.equal('0200000000ee');
      expect(r.buffer!.subarray(6)).to.deep.equal(r.input.bytes.subarray(6));
    } finally {
      o.close();
    }
  });

  it("takes test-run options per frame over the run's own, as a list or a function of the index", async () => {
    const o = loadObject('specs/bpf/build/tc_mark.bpf.o');
    try {
      const frames = [0, 1, 2, 3].map(() => frame.eth().ipv4().udp());
      const listed = await runUnit(o.program(), frames, { mark: 1, perFrame: [{ mark: 0 }, undefined, { mark: 7 }] });
      expect(listed.frames.map((r) => r.verdict)).to.deep.equal(['passed', 'dropped', 'passed', 'dropped']);
      const computed = await runUnit(o.program(), frames, { perFrame: (i) => ({ mark: i % 2 }) });
      expect(computed.frames.map((r) => r.verdict)).to.deep.equal(['passed', 'dropped', 'passed', 'dropped']);
      expect(computed.frames.map((r) => r.context?.mark)).to.deep.equal([0, 1, 0, 1]); // the context, back out
    } finally {
      o.close();
    }
  });
});
