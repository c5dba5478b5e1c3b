import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  BpfError,
  XdpspecError,
  frame,
  loadObject,
  type LoadedObject,
  type Program,
  type ProgramRun,
} from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';

describe('BPF_PROG_TEST_RUN', () => {
  needsBpf();
  let xdp: LoadedObject;
  let tc: LoadedObject;
  before(() => {
    xdp = loadObject(OBJ.ipv6Filter);
    tc = loadObject(OBJ.tcTtl);
  });
  after(() => {
    xdp?.close();
    tc?.close();
  });

  it('runs XDP programs: return code by name, output bytes, kernel run time', () => {
    const p = xdp.program('xdp_ipv6_only');
    const v6 = frame.eth().ipv6().udp().build();
    const r = p.testRun(v6);
    expect(r).to.include({ action: 'XDP_PASS', retval: 2 });
    expect(r.output.equals(v6)).to.equal(true);
    expect(r.durationNs).to.be.a('number');
    expect(p.testRun(frame.eth().ipv4().build()).action).to.equal('XDP_DROP');
    expect(p.testRun(frame.eth().vlan({ vid: 5 }).ipv6().build()).action).to.equal('XDP_PASS');
  });

  it('passes an xdp_md context when an ingress interface is named', () => {
    const p = xdp.program();
    expect(p.testRun(frame.eth().ipv6().build(), { ingressIfindex: 1, rxQueue: 0 }).action).to.equal('XDP_PASS');
    expect(() => p.testRun(frame.eth().ipv6().build(), { ingressIfindex: 999_999 })).to.throw(
      BpfError,
      /test run xdp_ipv6_only: .*is ifindex 999999 a device in this network namespace/,
    );
    // The batch helper makes the system call itself: the kernel's refusal comes back the same.
    const f = frame.eth().ipv6().build();
    expect(p.testRunMany([f, f], { ingressIfindex: 1 }).map((r) => r.action)).to.deep.equal(['XDP_PASS', 'XDP_PASS']);
    expect(() => p.testRunMany([f, f], { ingressIfindex: 999_999 })).to.throw(
      BpfError,
      /test run xdp_ipv6_only: .*is ifindex 999999 a device in this network namespace/,
    );
  });

  it('notices an options object changed between runs', () => {
    const p = xdp.program();
    const o: { ingressIfindex?: number } = { ingressIfindex: 1 };
    p.testRun(frame.eth().ipv6().build(), o);
    o.ingressIfindex = 999_999;
    expect(() => p.testRun(frame.eth().ipv6().build(), o)).to.throw(BpfError);
  });

  it('runs TC classifiers, with the rewrite in the output', () => {
    const p = tc.program();
    expect(p.type).to.equal('sched_cls');
    expect(p.testRun(frame.eth().ipv4().udp({ dport: 9 }).build()).action).to.equal('TC_ACT_SHOT');
    const r = p.testRun(frame.eth().ipv4({ ttl: 64 }).tcp().build(), { mark: 7 });
    expect(r.action).to.equal('TC_ACT_OK');
    const out = frame.parse(r.output);
    expect(out.get('ipv4.ttl')).to.equal(63);
  });

  it('refuses frames it cannot run, saying why', () => {
    const p = xdp.program();
    expect(() => p.testRun(Buffer.alloc(10))).to.throw(
      XdpspecError,
      'frame of 10 bytes is shorter than an Ethernet header (14)',
    );
    expect(() => p.testRun(Buffer.alloc(70_000))).to.throw(XdpspecError, 'frame of 70000 bytes is larger than 65536');
  });

  it('repeats a frame in the kernel for timing', () => {
    const r = xdp.program().testRun(frame.eth().ipv6().build(), { repeat: 1000 });
    expect(r.action).to.equal('XDP_PASS');
    expect(r.durationNs).to.be.greaterThan(0);
  });
});

describe('BPF_PROG_TEST_RUN outputs', () => {
  needsBpf();
  it('are copies that later runs do not overwrite', () => {
    const l = loadObject(OBJ.tcTtl);
    try {
      const p = l.program();
      const a = p.testRun(frame.eth().ipv4({ ttl: 10 }).tcp().build()).output;
      p.testRun(frame.eth().ipv4({ ttl: 200, src: '10.9.9.9' }).tcp().build());
      expect(frame.parse(a).get('ipv4.ttl')).to.equal(9);
      expect(frame.parse(a).get('ipv4.src')).to.equal('10.0.0.1');
    } finally {
      l.close();
    }
  });
});

describe('BPF_PROG_TEST_RUN on many frames', () => {
  needsBpf();
  it('gives the same results as one run per frame, across output-area refills, interleaved with single runs', () => {
    const l = loadObject(OBJ.tcTtl);
    try {
      const p = l.program();
      // ~300 frames of up to 3 KB (a TC test run takes less than a page): more than one 1 MiB output area's worth of outputs (each may take 68 KiB of room)
      const frames = Array.from({ length: 300 }, (_, i) =>
        frame
          .eth()
          .ipv4({ ttl: 1 + (i % 200), id: i })
          .udp({ dport: i % 7 === 0 ? 9 : 53 })
          .payload(Buffer.alloc((i * 13) % 3000, i))
          .build(),
      );
      const one = frames.map((f) => p.testRun(f));
      expectSameRuns('one batch', p.testRunMany(frames), one);
      const single = p.testRun(frames[5]!); // single runs still work after a batch
      expect(single.output.equals(one[5]!.output)).to.equal(true);
      expect(p.testRunMany([frames[1]!], { mark: 3 })[0]!.output.equals(one[1]!.output)).to.equal(true);
    } finally {
      l.close();
    }
  });
});

describe('testRunMany interrupted by a signal', () => {
  needsBpf();
  it('runs the interrupted frame again and keeps every result, in order', async () => {
    const l = loadObject(OBJ.ipv6Filter);
    let sender: ChildProcess | undefined;
    let signals = 0;
    const count = () => signals++;
    process.on('SIGUSR2', count);
    try {
      const p = l.program('xdp_ipv6_only');
      const frames = Array.from({ length: 100 }, (_, i) =>
        i % 2 ? frame.eth().ipv4().udp({ dport: i }).build() : frame.eth().ipv6().udp({ dport: i }).build(),
      );
      const plain = p.testRunMany(frames);
      // About 2 ms of kernel time a frame, a signal every 50 ms: a timing run (repeat > 1) checks
      // for signals between repeats, so a batch of 200 ms is interrupted about four times, and
      // each rerun (of 2 ms) is itself interrupted rarely enough for its retries.
      const perRepeat = Math.max(1, p.testRun(frames[0]!, { repeat: 1000 }).durationNs);
      const repeat = Math.min(1_000_000, Math.ceil(2e6 / perRepeat));
      sender = spawn('sh', ['-c', `while kill -USR2 ${process.pid} 2>/dev/null; do sleep 0.05; done`], {
        stdio: 'ignore',
      });
      await new Promise((r) => process.once('SIGUSR2', r)); // the shell is sending
      signals = 0;
      const t0 = performance.now();
      const timed = p.testRunMany(frames, { repeat });
      const ms = performance.now() - t0;
      sender.kill('SIGKILL');
      // The process's signals reach their listeners in the order they came: once a marker sent
      // after the batch is seen, every one that came during it has been counted.
      const marked = new Promise((r) => process.once('SIGWINCH', r));
      process.kill(process.pid, 'SIGWINCH');
      await marked;
      // Each one delivered during the batch interrupted a kernel call (where the batch spends its
      // time); one more may have come between its end and the sender's. Two: at least one did.
      expect(signals, `too few signals came during the ${ms.toFixed(0)} ms batch`).to.be.at.least(2);
      expect(timed.map((r) => r.action)).to.deep.equal(plain.map((r) => r.action));
      timed.forEach((r, i) => {
        if (!r.output.equals(plain[i]!.output)) expect.fail(`frame ${i}: output differs after the interruption`);
      });
    } finally {
      sender?.kill('SIGKILL');
      process.off('SIGUSR2', count);
      l.close();
    }
  });
});

describe('timing runs and the XDP dispatcher', () => {
  needsBpf();
  /** The XDP links this process holds, as the kernel describes them (program id, ifindex). */
  const xdpLinks = () =>
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:bpf_link') return [];
        const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
        if (!/link_type:\s+xdp/.test(info)) return [];
        return [
          { prog: Number(/prog_id:\s+(\d+)/.exec(info)![1]), ifindex: Number(/ifindex:\s+(\d+)/.exec(info)![1]) },
        ];
      } catch {
        return []; // the directory's own descriptor, closed by now
      }
    });

  it('keeps a program timed with repeats attached where no frame comes, until its object closes', () => {
    const before = xdpLinks();
    const l = loadObject(OBJ.ipv6Filter);
    const p = l.program();
    const f = frame.eth().ipv6().udp().build();
    p.testRun(f);
    expect(xdpLinks(), 'a single run changes nothing').to.deep.equal(before);
    const timed = p.testRun(f, { repeat: 50 });
    expect(timed.action).to.equal('XDP_PASS');
    // Attached by link to ifindex 1, the loopback of an empty private namespace (the caller's
    // namespace has none of it: no namespace is named for it).
    expect(xdpLinks()).to.deep.include({ prog: p.id, ifindex: 1 });
    expect(p.testRunMany([f, f], { repeat: 5 }).map((r) => r.action)).to.deep.equal(['XDP_PASS', 'XDP_PASS']);
    expect(xdpLinks().filter((x) => x.prog === p.id)).to.have.length(1);
    l.close();
    expect(xdpLinks()).to.deep.equal(before);
  });
});

describe('testRunMany over frames of one buffer and of many', () => {
  needsBpf();
  it('runs frames where they lie in one buffer, mixed batches and earlier results intact', () => {
    const l = loadObject(OBJ.tcTtl);
    try {
      const p = l.program();
      const built = Array.from({ length: 40 }, (_, i) =>
        frame
          .eth()
          .ipv4({ ttl: 2 + i, id: i })
          .udp({ dport: i % 3 === 0 ? 9 : 53 })
          .payload(Buffer.alloc(i * 7, i))
          .build(),
      );
      // As a capture file's frames are: views into one buffer, with a record header between them.
      const file = Buffer.alloc(
        built.reduce((n, f) => n + f.length + 16, 0),
        0xee,
      );
      const inFile: Buffer[] = [];
      let at = 0;
      for (const f of built) {
        f.copy(file, at + 16);
        inFile.push(file.subarray(at + 16, at + 16 + f.length));
        at += f.length + 16;
      }
      const one = built.map((f) => p.testRun(f));
      const shared = p.testRunMany(inFile);
      const mixed = p.testRunMany([...inFile.slice(0, 20), ...built.slice(20)]);
      expectSameRuns('one buffer', shared, one);
      expectSameRuns('mixed', mixed, one);
      // The one-buffer batch's outputs were compared after the mixed batch ran: not overwritten
      // by a later batch's. Some of them are rewritten, so they are not the inputs seen again.
      expect(shared.filter((r, i) => !r.output.equals(built[i]!)).length).to.be.greaterThan(10);
      expect(file.subarray(16, 16 + built[0]!.length).equals(built[0]!), 'the input is left as it was').to.equal(true);
    } finally {
      l.close();
    }
  });
});

describe('testRunMany on an array it has run before', () => {
  needsBpf();
  it('runs the frames the array holds now: an element replaced, bytes changed, a frame added', () => {
    const l = loadObject(OBJ.tcTtl);
    try {
      const p = l.program();
      const built = Array.from({ length: 24 }, (_, i) =>
        frame
          .eth()
          .ipv4({ ttl: 3 + i, id: i })
          .udp({ dport: i % 4 === 0 ? 9 : 53 })
          .build(),
      );
      // One buffer, the frames lying in it in the reverse of their order in the array.
      const file = Buffer.alloc(built.reduce((n, f) => n + f.length + 16, 0));
      const frames = new Array<Buffer>(built.length);
      let at = 0;
      for (let i = built.length - 1; i >= 0; i--) {
        built[i]!.copy(file, at + 16);
        frames[i] = file.subarray(at + 16, at + 16 + built[i]!.length);
        at += built[i]!.length + 16;
      }
      const expectLike = (what: string) => batchLikeSingleRuns(p, frames, what);
      for (let k = 0; k < 3; k++) expectLike(`run ${k + 1}`); // from the second run on, its places are kept
      const before = expectLike('again').map((r) => r.action);
      frames[5] = Buffer.from(frame.eth().ipv4().udp({ dport: 9 }).build()); // an element of its own
      expect(expectLike('an element replaced').map((r) => r.action)[5]).to.equal('TC_ACT_SHOT');
      frames[2]!.writeUInt16BE(9, 14 + 20 + 2); // dport 53 -> 9, in the shared buffer
      const changed = expectLike('bytes changed in place').map((r) => r.action);
      expect(changed[2]).to.equal('TC_ACT_SHOT');
      expect(before[2]).to.equal('TC_ACT_OK');
      frames.push(Buffer.from(built[0]!));
      expect(expectLike('a frame added')).to.have.length(built.length + 1);
      frames.length = 3;
      expect(expectLike('frames taken away')).to.have.length(3);
    } finally {
      l.close();
    }
  });
});

describe('testRunMany outputs the same as their frames', () => {
  needsBpf();
  it('are kept once for an array run again, and a frame changed after the run does not change them', () => {
    const l = loadObject(OBJ.ipv6Filter);
    try {
      const p = l.program();
      // Frames of their own (not one buffer's), IPv6 passed and IPv4 dropped, both unchanged.
      const frames = Array.from({ length: 20 }, (_, i) =>
        Buffer.from(
          (i % 3 ? frame.eth().ipv6() : frame.eth().ipv4())
            .udp({ dport: 1000 + i })
            .payload(Buffer.alloc(8, i))
            .build(),
        ),
      );
      const originals = frames.map((f) => Buffer.from(f));
      const runs = [1, 2, 3].map(() => p.testRunMany(frames));
      for (const [k, rs] of runs.entries())
        rs.forEach((r, i) => {
          if (!r.output.equals(originals[i]!)) expect.fail(`run ${k + 1}, frame ${i}: output is not the frame`);
        });
      expect(runs[0]!.map((r) => r.action)).to.include.members(['XDP_PASS', 'XDP_DROP']);
      // From the second run on, the frames' bytes are kept, and an output the same as them is a view of that copy.
      const where = (b: Buffer) => [b.buffer, b.byteOffset];
      expect(where(runs[2]![4]!.output)).to.deep.equal(where(runs[1]![4]!.output));
      const last = frames[4]!.length - 1;
      frames[4]![last] = frames[4]![last]! ^ 0xff;
      expect(runs[1]![4]!.output.equals(originals[4]!), 'an earlier output after its frame changed').to.equal(true);
      const after = p.testRunMany(frames);
      expect(after[4]!.output.equals(frames[4]!), 'the changed frame run again').to.equal(true);
      expect(after[4]!.output.buffer).to.not.equal(runs[1]![4]!.output.buffer);
      expect(where(after[5]!.output)).to.deep.equal(where(runs[1]![5]!.output));
      expect(runs[1]![4]!.output.equals(originals[4]!)).to.equal(true);
    } finally {
      l.close();
    }
  });
});

describe('testRunMany on frames of their own run again', () => {
  needsBpf();
  it("runs each from where it lies, small ones of V8's heap too, through collections that move objects", () => {
    const l = loadObject(OBJ.tcTtl);
    try {
      const p = l.program();
      // 62 bytes each, in typed arrays of their own small enough for V8 to make in its heap.
      const frames = Array.from({ length: 24 }, (_, i) => {
        const bytes = frame
          .eth()
          .ipv4({ ttl: 10 + i })
          .udp({ dport: i % 5 === 0 ? 9 : 53 })
          .payload(Buffer.alloc(62 - 42, i))
          .build();
        const f = new Uint8Array(bytes.length);
        f.set(bytes);
        return f;
      });
      expect(frames[0]!.length).to.equal(62);
      const gc = collector();
      const check = (what: string) => batchLikeSingleRuns(p, frames, what);
      check('first run');
      for (let k = 0; k < 3; k++) {
        gc();
        check(`run ${k + 2}, after a collection`);
      }
      frames[3]![14 + 8] = 1; // TTL 13 -> 1, changed in place
      const changed = check('a byte changed in place');
      expect(changed[3]!.output[14 + 8]).to.equal(0);
      expect(changed.map((r) => r.action).filter((a) => a === 'TC_ACT_SHOT')).to.have.length(5);
    } finally {
      l.close();
    }
  });
});

/** testRunMany on `frames`, checked frame by frame against testRun (see expectSameRuns). */
function batchLikeSingleRuns(p: Program, frames: readonly Uint8Array[], what: string): ProgramRun[] {
  const many = p.testRunMany(frames);
  expectSameRuns(
    what,
    many,
    frames.map((f) => p.testRun(f)),
  );
  return many;
}

/** Fails unless each result of a batch has the return code and the output bytes of its frame's run of its own. */
function expectSameRuns(what: string, many: readonly ProgramRun[], one: readonly ProgramRun[]): void {
  expect(
    many.map((r) => r.action),
    what,
  ).to.deep.equal(one.map((r) => r.action));
  many.forEach((r, i) => {
    if (!r.output.equals(one[i]!.output)) expect.fail(`${what}, frame ${i}: outputs differ`);
  });
}

/** A full collection, which moves what V8's heap holds (exposed for the spec through the flag). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('BPF_PROG_TEST_RUN with programs that grow the frame', () => {
  needsBpf();
  it('returns the whole grown frame (bpf_xdp_adjust_head and _tail)', () => {
    const l = loadObject('specs/bpf/build/grow.bpf.o', { head: 16, tail: 100 });
    try {
      const input = frame.eth().ipv4().udp().payload('abc').build();
      const r = l.program().testRun(input);
      expect(r.action).to.equal('XDP_PASS');
      expect(r.output.length).to.equal(input.length + 16 + 100);
      expect(r.output.subarray(0, 14).equals(input.subarray(0, 14))).to.equal(true);
      expect(
        r.output
          .subarray(16 + 14)
          .subarray(0, input.length - 14)
          .equals(input.subarray(14)),
      ).to.equal(true);
      expect(r.output.subarray(input.length + 16).equals(Buffer.alloc(100))).to.equal(true);
      // testRunMany lays grown outputs back to back without overlap
      const many = l.program().testRunMany([input, input]);
      expect(many.map((x) => x.output.length)).to.deep.equal([input.length + 116, input.length + 116]);
      expect(many[1]!.output.equals(r.output)).to.equal(true);
      // Grown by nearly the page behind it, many at a time: each output keeps its room in a batch.
      const far = loadObject('specs/bpf/build/grow.bpf.o', { head: 0, tail: 3300 });
      try {
        const batch = far.program().testRunMany(Array.from({ length: 40 }, () => input));
        expect(new Set(batch.map((x) => x.output.length))).to.deep.equal(new Set([input.length + 3300]));
        expect(batch.every((x) => x.output.subarray(0, input.length).equals(input))).to.equal(true);
      } finally {
        far.close();
      }
    } finally {
      l.close();
    }
  });
});

describe('BPF_PROG_TEST_RUN with the whole __sk_buff', () => {
  needsBpf();

  it('passes cb, tstamp, wire_len and gso fields in and gives the context back as the program left it', () => {
    const o = loadObject('specs/bpf/build/tc_context.bpf.o');
    try {
      const f = frame.eth().ipv4().udp().payload('0123456789').build();
      const r = o
        .program()
        .testRun(f, { skb: { cb: [41], wireLen: 100, gsoSegs: 3, gsoSize: 1400, tstamp: 123_456n } });
      expect(r.action).to.equal('TC_ACT_OK');
      expect(r.context).to.deep.include({
        mark: 42,
        priority: 3,
        wireLen: 100,
        gsoSegs: 3,
        gsoSize: 1400,
        tstamp: 123_456n,
      });
      expect(r.context!.cb).to.deep.equal([41, 100, 123_456, 0, 0]);
      const plain = o.program().testRun(f);
      expect(plain.context).to.equal(undefined); // no context given, none asked back
      expect(() => o.program().testRun(f, { skb: { cb: [1, 2, 3, 4, 5, 6] } })).to.throw(
        /skb\.cb takes at most 5 numbers \(cb\[0\.\.4\]\), got 6/,
      );
      expect(() => o.program().testRun(f, { skb: { wireLen: f.length - 1 } })).to.throw(
        /EINVAL.*the kernel refused the __sk_buff context \(wire_len must be at least the frame's \d+ bytes/,
      );
    } finally {
      o.close();
    }
  });
});

describe('BPF_PROG_TEST_RUN with XDP metadata', () => {
  needsBpf();

  it('puts metadata in front of the frame and gives back the metadata and the frame apart', () => {
    const o = loadObject('specs/bpf/build/xdp_meta.bpf.o');
    try {
      const f = frame.eth().ipv4().udp().build();
      const seven = o.program().testRun(f, { meta: Buffer.from([7, 0, 0, 0]) });
      expect(seven.action).to.equal('XDP_DROP');
      const other = o.program().testRun(f, { meta: Buffer.from([1, 0, 0, 0]) });
      expect(other.action).to.equal('XDP_PASS');
      expect(other.meta).to.deep.equal(Buffer.from([0xef, 0xbe, 0xed, 0xfe, 1, 0, 0, 0])); // grown by 4 in front
      expect(other.output).to.deep.equal(f);
      // Without metadata given, the 4 bytes the program made room for are metadata, not frame.
      const none = o.program().testRun(f);
      expect(none.meta).to.deep.equal(Buffer.from([0xef, 0xbe, 0xed, 0xfe]));
      expect(none.output).to.deep.equal(f);
      const many = o.program().testRunMany([f, f]);
      expect(many.map((r) => r.output)).to.deep.equal([f, f]);
      // After a run with metadata, a batch without starts the frame at byte 0 again.
      o.program().testRun(f, { meta: Buffer.from([1, 0, 0, 0]) });
      expect(
        o
          .program()
          .testRunMany([f])
          .map((r) => r.output),
      ).to.deep.equal([f]);
      // A context object changed between runs is noticed, not taken for the one before.
      const tc = loadObject('specs/bpf/build/tc_context.bpf.o');
      try {
        const skb = { cb: [1] };
        expect(tc.program().testRun(f, { skb }).context!.mark).to.equal(2);
        skb.cb[0] = 10;
        expect(tc.program().testRun(f, { skb }).context!.mark).to.equal(11);
      } finally {
        tc.close();
      }
      expect(() => o.program().testRun(f, { meta: Buffer.alloc(3) })).to.throw(
        /meta must be bytes, a multiple of 4 and at most 32 \(the kernel's limits\), got 3 bytes/,
      );
    } finally {
      o.close();
    }
  });
});
