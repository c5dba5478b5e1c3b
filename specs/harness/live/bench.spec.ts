import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EngineDisagreement,
  LiveBench,
  XdpspecError,
  checkChecksums,
  expect as expectX,
  frame,
  loadObject,
  runBoth,
  runUnit,
} from '../../../src/index.js';
import { startChild } from '../../support/children.js';
import { OBJ, SPEC_OBJ, needsBpf, VERDICT_FATES, VERDICT_PORTS } from '../../support/kernel.js';
import { twoPortBench } from '../../support/benches.js';
import { rejection } from '../../support/thrown.js';

describe('live engine (native XDP, one frame at a time)', () => {
  needsBpf();
  const fx = twoPortBench();

  fx.it(
    "the IPv6 filter on the article's capture: 10 passed, 10 dropped, as the unit engine says",
    async ({ bench, load }) => {
      const prog = load(OBJ.ipv6Filter).program();
      bench.attach(prog, 'wan');
      const live = await bench.replay('fixtures/ipv4-and-ipv6.pcap', { on: 'wan' });
      expect(live.counts).to.include({ passed: 10, dropped: 10 });
      expect(live.others).to.deep.equal([]);
      const unit = await runUnit(prog, 'fixtures/ipv4-and-ipv6.pcap');
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(unit.frames.map((f) => f.verdict));
      for (const f of live.frames.filter((x) => x.verdict === 'passed')) {
        expect(f.output!.bytes.equals(f.input.bytes), `frame #${f.index} passed unchanged`).to.equal(true);
        expect(f.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['wan/dut']);
      }
    },
  );

  fx.it(
    'refuses to replay or stream into a program whose object was closed, instead of waiting on counters that will not move',
    async ({ bench }) => {
      const o = loadObject(OBJ.ipv6Filter);
      bench.attach(o.program(), 'lan');
      o.close(); // unloads and detaches the program
      const err = await rejection(bench.replay([frame.eth().ipv6().udp()], { on: 'lan' }));
      expect(err.code).to.equal('NO_PROGRAM');
      expect(err.message).to.equal(
        'the program on port lan (xdp_ipv6_only) went when its object was closed; attach a loaded one before replaying',
      );
      expect((await rejection(bench.stream([frame.eth().ipv6().udp().build()], { on: 'lan' }))).message).to.match(
        /went when its object was closed; attach a loaded one before streaming$/,
      );
      bench.detach('lan');
    },
  );

  fx.it(
    'every verdict: aborted, dropped, passed, tx back out, redirected out of the named port, rewritten',
    async ({ bench, load }) => {
      const v = load(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const run = await bench.replay(
        VERDICT_PORTS.map((dport) => frame.eth({ dst: mac, src: '02:00:00:00:00:99' }).ipv4().udp({ dport })),
        { on: 'wan' },
      );
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(VERDICT_FATES);
      const [aborted, dropped, passed, tx, redirected, rewritten] = run.frames;
      expect(aborted!.outputs).to.deep.equal([]);
      expect(dropped!.outputs).to.deep.equal([]);
      expect(passed!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['wan/dut']);
      expect(tx!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['wan/tester']);
      expect(tx!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).to.deep.equal([
        `eth.dst: ${mac} -> 02:00:00:00:00:99`,
        `eth.src: 02:00:00:00:00:99 -> ${mac}`,
      ]);
      expect(redirected!.redirect).to.deep.equal({
        known: true,
        port: 'lan',
        ifindex: bench.topology.port('lan').dutIfindex,
      });
      expect(redirected!.outputs.map((o) => `${o.port}/${o.side}`)).to.deep.equal(['lan/tester']);
      expect(rewritten!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
      expect(rewritten!.output!.get('ipv4.ttl')).to.equal(63);
      // and the unit engine agrees on every one of them
      const unit = await runUnit(
        v.program(),
        run.frames.map((f) => f.input.bytes),
      );
      expect(unit.frames.map((f) => f.verdict)).to.deep.equal(run.frames.map((f) => f.verdict));
    },
  );

  for (const mode of ['native', 'generic'] as const) {
    fx.it(`in ${mode} mode: every verdict kind, as the unit engine says`, async ({ bench, load }) => {
      const v = load(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
      bench.attach(v.program(), 'wan', mode);
      const mac = bench.topology.port('wan').dutMac;
      const run = await bench.replay(
        VERDICT_PORTS.map((dport) => frame.eth({ dst: mac }).ipv4().udp({ dport })),
        { on: 'wan' },
      );
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(VERDICT_FATES);
      expect(run.frames.map((f) => f.outputs.map((o) => `${o.port}/${o.side}`).join())).to.deep.equal([
        '',
        '',
        'wan/dut',
        'wan/tester',
        'lan/tester',
        'wan/dut',
      ]);
      expect(run.frames[5]!.changes.map((c) => c.path)).to.deep.equal(['ipv4.ttl', 'ipv4.checksum']);
      expect(run.others).to.deep.equal([]);
      const unit = await runUnit(
        v.program(),
        run.frames.map((x) => x.input.bytes),
        { locateRedirects: false },
      );
      expect(unit.frames.map((x) => x.verdict)).to.deep.equal(run.frames.map((x) => x.verdict));
      const f = load(OBJ.ipv6Filter);
      bench.attach(f.program(), 'wan', mode);
      expect((await bench.replay('fixtures/ipv4-and-ipv6.pcap', { on: 'wan' })).counts).to.include({
        passed: 10,
        dropped: 10,
      });
    });
  }

  fx.it(
    'tells a frame XDP passed and the kernel freed before any capture (a VLAN header cut short) from one whose output comes, without waiting for it',
    async ({ bench, load }) => {
      const v = load(SPEC_OBJ.verdicts);
      bench.attach(v.program(), 'wan');
      const cut = [frame.eth({ type: 0x88a8 }).build(), frame.eth({ type: 0x8100 }).build()]; // 14 bytes each
      // The same frames again in a row: each is told by a free of its own. The IPv4 frame is for
      // no address of the DUT's, so the IP layer frees it too, after the capture took it.
      const ipv4 = frame.eth().ipv4().udp({ dport: 9 });
      const run = await bench.replay([cut[0]!, frame.eth().ipv6().udp(), cut[1]!, ipv4, ipv4, cut[0]!, cut[0]!], {
        on: 'wan',
      });
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(Array(7).fill('passed'));
      expect(run.frames.map((f) => f.freedByKernel)).to.deep.equal([
        true,
        undefined,
        true,
        undefined,
        undefined,
        true,
        true,
      ]);
      expect(run.frames.map((f) => f.output?.length)).to.deep.equal([
        undefined,
        62,
        undefined,
        42,
        42,
        undefined,
        undefined,
      ]);
      expect(run.others).to.deep.equal([]);
      // The unit engine has the program's output: what the kernel did after XDP is the live engine's to say.
      const unit = await runUnit(v.program(), cut);
      expect(unit.frames.map((f) => f.output?.length)).to.deep.equal([14, 14]);
    },
  );

  fx.it(
    'redirects through a devmap to a named port, and rewrites ports with valid checksums',
    async ({ bench, load }) => {
      const v = load(SPEC_OBJ.verdicts);
      bench.setDeviceMap(v.map('ports'), 0, 'lan'); // inside the DUT namespace: see setDeviceMap
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const run = await bench.replay(
        [6, 9].map((dport) => frame.eth({ dst: mac }).ipv4().udp({ dport }).payload('x')),
        { on: 'wan' },
      );
      expectX(run.frames[0]).to.be.redirectedTo('lan');
      expectX(run.frames[1]).to.be.passed.and.rewritten({ 'udp.dport': 99 });
      expect(run.frames[1]!.changes.map((c) => c.path)).to.deep.equal(['udp.dport', 'udp.checksum']);
      expect(checkChecksums(run.frames[1]!.output!).map((c) => c.status)).to.deep.equal(['valid', 'valid']);
      const unit = await runUnit(
        v.program(),
        run.frames.map((x) => x.input.bytes),
      );
      expect(unit.frames[1]!.output!.bytes.equals(run.frames[1]!.output!.bytes)).to.equal(true);
    },
  );

  fx.it(
    "refuses to replay or stream through a devmap entry written from the test process's namespace, before sending anything",
    async ({ bench, load }) => {
      const v = load(SPEC_OBJ.verdicts);
      // ifindex 1 is this namespace's loopback: harmless here, but the kernel keeps that device,
      // and a number that is a port in the DUT's namespace may be the machine's real interface here.
      v.map('ports').set(0, 1);
      bench.attach(v.program(), 'wan');
      const sent = () => v.map('runs').get(0) as bigint;
      const before = sent();
      const f = frame
        .eth({ dst: bench.topology.port('wan').dutMac })
        .ipv4()
        .udp({ dport: 6 });
      for (const attempt of [bench.replay([f], { on: 'wan' }), bench.stream([f.build()], { on: 'wan' })]) {
        const err = await rejection(attempt);
        expect(err.code).to.equal('DEVICE_MAP_NAMESPACE');
        expect(err.message).to.include("ports[0] was written from the test process's own network namespace");
        expect(err.message).to.include('ifindex 1 is lo').and.include('bench.setDeviceMap(map, 0, port)');
      }
      expect(sent()).to.equal(before); // nothing reached the program
      bench.setDeviceMap(v.map('ports'), 0, 'lan');
      expectX((await bench.replay([f], { on: 'wan' })).frames[0]).to.be.redirectedTo('lan');
    },
  );

  fx.it(
    'says what is missing: an unknown port, a port with no program, an unsupported mode, a frame too short to send',
    async ({ bench, load }) => {
      expect((await rejection(bench.replay([frame.eth().ipv4()], { on: 'dmz' }))).message).to.include(
        'port "dmz" does not exist; ports: wan, lan',
      );
      expect((await rejection(bench.replay([frame.eth().ipv4()], { on: 'lan' }))).message).to.include(
        'no XDP program is attached to port lan',
      );
      expect(() => bench.attach(load(OBJ.ipv6Filter).program(), 'lan', 'auto' as never)).to.throw(
        XdpspecError,
        'live runs need to know the mode (native or generic)',
      );
      // A frame that cannot be sent is refused before any frame is: the first one never runs.
      const counted = load(SPEC_OBJ.ingressSeen);
      bench.attach(counted.program(), 'lan');
      expect(
        (
          await rejection(
            bench.replay(
              [
                frame
                  .eth({ dst: bench.topology.port('lan').dutMac })
                  .ipv4()
                  .udp(),
                Buffer.alloc(10),
              ],
              { on: 'lan' },
            ),
          )
        ).message,
      ).to.include('frame #1 is 10 bytes, shorter than an Ethernet header (14)');
      expect(counted.map('seen').get(0), 'ingress ifindex recorded by a frame that ran').to.equal(0);
    },
  );

  fx.it('leaves nothing behind when closed', async ({ load }) => {
    const b = await LiveBench.create({ ports: [{ name: 'wan' }] });
    b.attach(load(OBJ.ipv6Filter).program(), 'wan');
    const ns = [b.topology.dut, b.topology.tester];
    b.close();
    expect(readdirSync('/run/netns')).to.not.include.members(ns);
  });
});

describe('both engines on one case', () => {
  needsBpf();
  const fx = twoPortBench();

  fx.it(
    'agree on the IPv6 filter and on every verdict kind, a unit redirect agreeing with any live one',
    async ({ bench }) => {
      const f = loadObject(OBJ.ipv6Filter);
      const v = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
      try {
        const r = await runBoth(f.program(), bench, 'wan', 'fixtures/ipv4-and-ipv6.pcap');
        expect(r.live.counts).to.include({ passed: 10, dropped: 10 });
        const mac = bench.topology.port('wan').dutMac;
        const both = await runBoth(
          v.program(),
          bench,
          'wan',
          VERDICT_PORTS.map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d })),
        );
        expect(both.unit.frames.map((x) => x.verdict)).to.deep.equal(both.live.frames.map((x) => x.verdict));
      } finally {
        f.close();
        v.close();
      }
    },
  );

  fx.it('agree on VLAN-tagged and QinQ frames, outputs included', async ({ bench }) => {
    const f = loadObject(OBJ.ipv6Filter);
    try {
      const mac = bench.topology.port('wan').dutMac;
      const r = await runBoth(f.program(), bench, 'wan', [
        frame.eth({ dst: mac }).vlan({ vid: 10 }).ipv6().udp(),
        frame.eth({ dst: mac }).vlan({ vid: 10 }).ipv4().udp(),
        frame.eth({ dst: mac }).vlan({ vid: 10 }).vlan({ vid: 20 }).ipv6().udp(),
      ]);
      expect(r.live.frames.map((x) => x.verdict)).to.deep.equal(['passed', 'dropped', 'passed']);
      expect(r.live.frames[2]!.output!.layers.map((l) => l.name)).to.deep.equal(['eth', 'vlan', 'vlan', 'ipv6', 'udp']);
    } finally {
      f.close();
    }
  });

  fx.it(
    'fail when the two runs leave the maps in different states, and agree once the unit run has the same ingress device',
    async ({ bench }) => {
      const o = loadObject(SPEC_OBJ.ingressSeen);
      try {
        const f = frame
          .eth({ dst: bench.topology.port('wan').dutMac })
          .ipv4()
          .udp();
        const err = await runBoth(o.program(), bench, 'wan', [f]).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(EngineDisagreement);
        expect((err as EngineDisagreement).frames).to.deep.equal([]);
        expect((err as EngineDisagreement).maps).to.have.length(1);
        expect((err as Error).message).to.match(
          /^the unit and live engines agree on the one frame\n\nbut they left maps in different states:\n {2}ingress_seen\.bpf\.o\/seen: 1 entry differs, first key 00000000: live ([0-9a-f]{8}), unit (?!\1)[0-9a-f]{8}$/,
        );
        await runBoth(o.program(), bench, 'wan', [f], {
          unit: { ingressIfindex: bench.topology.port('wan').dutIfindex, netns: bench.topology.dut },
        });
        expect(o.map('seen').get(0)).to.equal(bench.topology.port('wan').dutIfindex);
      } finally {
        o.close();
      }
    },
  );

  fx.it('fail, naming the frames, when a program decides differently live', async ({ bench }) => {
    const v = loadObject(SPEC_OBJ.verdicts);
    try {
      const mac = bench.topology.port('wan').dutMac;
      const err = await runBoth(
        v.program(),
        bench,
        'wan',
        [3, 8].map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d })),
      ).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(EngineDisagreement);
      expect((err as EngineDisagreement).frames).to.deep.equal([1]);
      expect(String((err as Error).message)).to.match(
        /^the unit and live engines disagree on 1 of 2 frames\n\n {2}#1 {2}eth .* udp 12345 > 8 len 0\n {7}unit: passed \(XDP_PASS\) {3}live: dropped$/,
      );
    } finally {
      v.close();
    }
  });

  fx.it('fail on outputs that differ, saying in which fields', async ({ bench, load }) => {
    const o = load(SPEC_OBJ.ingressStamp);
    const port = bench.topology.port('wan');
    const f = frame.eth({ dst: port.dutMac, src: '02:00:00:00:00:99' }).ipv4().udp();
    const err = await rejection(runBoth(o.program(), bench, 'wan', [f]));
    expect(err).to.be.instanceOf(EngineDisagreement);
    // A test run with no ingress device given runs on the namespace's loopback (ifindex 1).
    const stamped = (port.dutIfindex & 0xff).toString(16).padStart(2, '0');
    expect(err.message).to.match(
      new RegExp(
        `\\n {7}unit: passed \\(XDP_PASS\\) {3}live: passed, outputs differ, unit -> live: eth\\.src 02:00:00:00:00:01 -> 02:00:00:00:00:${stamped}$`,
      ),
    );
  });

  fx.it(
    'agree on frames a program grows at the tail, which go in as XDP frames with the room a NIC driver gives',
    async ({ bench, load }) => {
      const g = load(SPEC_OBJ.grow, { tail: 200 });
      const mac = bench.topology.port('wan').dutMac;
      const frames = [4, 300, 1400].map((n) => frame.eth({ dst: mac }).ipv4().udp().payload(Buffer.alloc(n, 1)));
      expect(g.program().growsTail).to.equal(true);
      const { live } = await runBoth(g.program(), bench, 'wan', frames);
      expect(live.sent).to.deep.equal({ xdp: 3, socket: 0 });
      expect(live.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'passed', 'passed']);
      for (const f of live.frames) {
        expect(f.output!.bytes.length).to.equal(f.input.bytes.length + 200);
        expect(f.output!.bytes.subarray(f.input.bytes.length).equals(Buffer.alloc(200))).to.equal(true);
      }
      // By socket, veth copies a frame into a buffer whose size depends on the kernel (about the
      // frame's own on 6.18): the program aborts where that leaves less than 200 bytes to grow into.
      const bySocket = await bench.replay(frames, { on: 'wan', via: 'socket' });
      expect(bySocket.sent).to.deep.equal({ xdp: 0, socket: 3 });
      for (const f of bySocket.frames)
        if (f.verdict === 'passed') expect(f.output!.bytes.length).to.equal(f.input.bytes.length + 200);
        else expect(f.verdict).to.equal('aborted');
    },
  );
});

describe('live benches under stress', () => {
  needsBpf();

  it('leave nothing behind when their process is interrupted mid-replay', async () => {
    const { execa } = await import('execa');
    const links = async () => (await execa('ip', ['-br', 'link', 'show', 'type', 'veth'])).stdout;
    const vethsBefore = await links();
    const { proc: child, names } = startChild('replay-child.ts');
    const ns = await names;
    expect(readdirSync('/run/netns')).to.include.members(ns);
    child.kill('SIGINT');
    const r = await child;
    expect(r.signal).to.equal('SIGINT');
    expect(readdirSync('/run/netns')).to.not.include.members(ns);
    expect(await links()).to.equal(vethsBefore);
  });

  it('run in two processes at once without colliding', async () => {
    const { proc: child, names } = startChild('replay-child.ts');
    const ns = await names;
    try {
      // the child is replaying 20,000 frames meanwhile
      const mine = await LiveBench.create({ ports: [{ name: 'wan' }, { name: 'lan' }] });
      const f = loadObject(OBJ.ipv6Filter);
      try {
        expect([mine.topology.dut, mine.topology.tester]).to.not.include.members(ns);
        mine.attach(f.program(), 'wan');
        const run = await mine.replay('fixtures/ipv4-and-ipv6.pcap', { on: 'wan' });
        expect(run.counts).to.include({ passed: 10, dropped: 10 });
        expect(run.others).to.deep.equal([]);
      } finally {
        mine.close();
        f.close();
      }
    } finally {
      child.kill('SIGTERM');
      await child;
    }
    expect(readdirSync('/run/netns')).to.not.include.members(ns);
  });

  it('run side by side, each counting only its own frames', async () => {
    const [a, b] = await Promise.all([
      LiveBench.create({ ports: [{ name: 'wan' }] }),
      LiveBench.create({ ports: [{ name: 'wan' }] }),
    ]);
    const f = loadObject(OBJ.ipv6Filter);
    const v = loadObject(SPEC_OBJ.verdicts);
    try {
      a.attach(f.program(), 'wan');
      b.attach(v.program(), 'wan');
      const mb = b.topology.port('wan').dutMac;
      const [ra, rb] = await Promise.all([
        a.replay('fixtures/ipv4-and-ipv6.pcap', { on: 'wan' }),
        b.replay(
          Array.from({ length: 20 }, (_, i) =>
            frame
              .eth({ dst: mb })
              .ipv4()
              .udp({ dport: i % 2 ? 2 : 3 }),
          ),
          { on: 'wan' },
        ),
      ]);
      expect(ra.counts).to.include({ passed: 10, dropped: 10 });
      expect(rb.counts).to.include({ passed: 10, dropped: 10 });
      expect(ra.others).to.deep.equal([]);
      expect(rb.others).to.deep.equal([]);
    } finally {
      a.close();
      b.close();
      f.close();
      v.close();
    }
  });

  it('name the frame that cannot be sent', async () => {
    const c = await LiveBench.create({ ports: [{ name: 'wan', mtu: 1280 }] });
    const f = loadObject(OBJ.ipv6Filter);
    try {
      c.attach(f.program(), 'wan');
      const err = await c
        .replay([frame.eth().ipv6().udp(), frame.eth().ipv6().udp().payload(Buffer.alloc(1400))], { on: 'wan' })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(XdpspecError);
      expect(String(err)).to.match(
        /frame #1 \(eth .* udp 12345 > 53 len 1400\): send a frame on wan: EMSGSIZE \(90\): the frame of 1462 bytes is larger than wan's MTU allows/,
      );
    } finally {
      c.close();
      f.close();
    }
  });
});

describe('live streaming', () => {
  needsBpf();
  const fx = twoPortBench();

  fx.it('counts every frame exactly and attributes the unchanged outputs', async ({ bench }) => {
    const f = loadObject(OBJ.ipv6Filter);
    try {
      bench.attach(f.program(), 'wan');
      const { readCapture } = await import('../../../src/index.js');
      const fixture = (await readCapture('fixtures/ipv4-and-ipv6.pcap')).records.map((r) => r.data);
      const frames = Array.from({ length: 20_000 }, (_, i) => fixture[i % 20]!);
      const run = await bench.stream(frames, { on: 'wan' });
      expect(run.counts).to.deep.equal({
        passed: 10_000,
        dropped: 10_000,
        tx: 0,
        redirected: 0,
        aborted: 0,
        stolen: 0,
      });
      expect(run.unmatched).to.equal(0);
      expect(run.others).to.equal(0);
      // every IPv6 input was seen, unchanged, on the DUT side; no IPv4 one was
      run.seen.forEach((where, i) => expect(where, `frame ${i}`).to.equal(i % 2 ? 'wan/dut' : undefined));
    } finally {
      f.close();
    }
  });

  fx.it('streams a capture file batch by batch, with the same counts and attribution', async ({ bench }) => {
    const f = loadObject(OBJ.ipv6Filter);
    const dir = mkdtempSync(join(tmpdir(), 'xdpspec-stream-'));
    try {
      bench.attach(f.program(), 'wan');
      const { readCapture, writeCapture } = await import('../../../src/index.js');
      const fixture = (await readCapture('fixtures/ipv4-and-ipv6.pcap')).records.map((r) => r.data);
      const file = join(dir, 'big.pcapng');
      await writeCapture(
        file,
        (function* () {
          for (let i = 0; i < 30_000; i++) yield { data: fixture[i % 20]! };
        })(),
        { format: 'pcapng' },
      );
      const run = await bench.stream(file, { on: 'wan' });
      expect(run.frames).to.equal(30_000);
      expect(run.counts).to.include({ passed: 15_000, dropped: 15_000 });
      expect(run.unmatched).to.equal(0);
      run.seen.forEach((where, i) => expect(where, `frame ${i}`).to.equal(i % 2 ? 'wan/dut' : undefined));
      const err = await bench.stream(join(dir, 'missing.pcap'), { on: 'wan' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'FILE_OPEN');
    } finally {
      f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  fx.it('counts every verdict kind, and outputs it cannot attribute (rewritten ones) as such', async ({ bench }) => {
    const v = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
    try {
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const kinds = VERDICT_PORTS.map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d }).build());
      const frames = Array.from({ length: 6000 }, (_, i) => kinds[i % 6]!);
      const run = await bench.stream(frames, { on: 'wan' });
      expect(run.counts).to.deep.equal({
        aborted: 1000,
        dropped: 1000,
        passed: 2000,
        tx: 1000,
        redirected: 1000,
        stolen: 0,
      });
      // unchanged: passed (port 3) and redirected (5); rewritten: tx (MACs swapped) and TTL (7)
      expect(run.unmatched).to.equal(2000);
      expect(run.seen.filter((s) => s === 'wan/dut')).to.have.length(1000);
      expect(run.seen.filter((s) => s === 'lan/tester')).to.have.length(1000);
    } finally {
      v.close();
    }
  });

  fx.it('counts and attributes the same whether frames go in as XDP frames or by socket', async ({ bench }) => {
    const v = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
    try {
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const kinds = VERDICT_PORTS.map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d }).build());
      const frames = Array.from({ length: 3000 }, (_, i) => kinds[i % 6]!);
      const asXdp = await bench.stream(frames, { on: 'wan', via: 'xdp' });
      const bySocket = await bench.stream(frames, { on: 'wan', via: 'socket' });
      expect(asXdp.sent).to.deep.equal({ xdp: 3000, socket: 0 });
      expect(bySocket.sent).to.deep.equal({ xdp: 0, socket: 3000, why: 'the stream was asked to send by socket' });
      expect(asXdp.counts).to.deep.equal({
        aborted: 500,
        dropped: 500,
        passed: 1000,
        tx: 500,
        redirected: 500,
        stolen: 0,
      });
      expect(bySocket.counts).to.deep.equal(asXdp.counts);
      expect(bySocket.seen).to.deep.equal(asXdp.seen);
      expect([asXdp.unmatched, asXdp.others]).to.deep.equal([bySocket.unmatched, bySocket.others]);
      const bad = await rejection(bench.stream(frames, { on: 'wan', via: 'carrier pigeon' as 'xdp' }));
      expect(bad).to.be.instanceOf(XdpspecError).with.property('code', 'LIVE_OPTIONS');
    } finally {
      v.close();
    }
  });

  fx.it(
    'classifies every frame of a replay after a stream, and after one that failed half way, as before',
    async ({ bench }) => {
      const v = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
      try {
        bench.attach(v.program(), 'wan');
        const mac = bench.topology.port('wan').dutMac;
        const kinds = VERDICT_PORTS.map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d }).build());
        const fates = async () => {
          const run = await bench.replay(kinds, { on: 'wan' });
          return run.frames.map((f) => [f.verdict, f.outputs.map((o) => `${o.port}/${o.side}`).join()]);
        };
        const before = await fates();
        expect(before.map(([verdict]) => verdict)).to.deep.equal(VERDICT_FATES);
        // A stream that fails half way (a frame too short to send) puts them back too.
        const short = await rejection(bench.stream([...kinds, Buffer.alloc(10)], { on: 'wan', via: 'xdp' }));
        expect(short).to.be.instanceOf(XdpspecError).with.property('code', 'INJECT');
        const run = await bench.stream(
          Array.from({ length: 600 }, (_, i) => kinds[i % 6]!),
          { on: 'wan' },
        );
        expect(run.counts).to.include({ passed: 200, tx: 100, redirected: 100 });
        expect(await fates()).to.deep.equal(before);
      } finally {
        v.close();
      }
    },
  );

  fx.it(
    'replays by socket a program that grows no frame, as XDP frames or by socket when asked; TC by socket',
    async ({ bench, load }) => {
      const v = load(SPEC_OBJ.verdicts, { redirect_ifindex: bench.topology.port('lan').dutIfindex });
      expect(v.program().growsTail).to.equal(false);
      bench.attach(v.program(), 'wan');
      const mac = bench.topology.port('wan').dutMac;
      const kinds = VERDICT_PORTS.map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d }));
      const byDefault = await bench.replay(kinds, { on: 'wan' });
      expect(byDefault.sent).to.deep.equal({
        xdp: 0,
        socket: 6,
        why: "xdp_verdicts grows no frame at the tail (it calls no bpf_xdp_adjust_tail), so a socket's send gives the same for less",
      });
      const asXdp = await bench.replay(kinds, { on: 'wan', via: 'xdp' });
      const bySocket = await bench.replay(kinds, { on: 'wan', via: 'socket' });
      expect(asXdp.sent).to.deep.equal({ xdp: 6, socket: 0 });
      expect(bySocket.sent).to.deep.equal({ xdp: 0, socket: 6 });
      const fates = (r: typeof asXdp) => r.frames.map((f) => [f.verdict, f.outputs.map((o) => `${o.port}/${o.side}`)]);
      expect(fates(asXdp)).to.deep.equal(fates(bySocket));
      expect(asXdp.frames.map((f) => f.verdict)).to.deep.equal(VERDICT_FATES);
      const bad = await rejection(bench.replay(kinds, { on: 'wan', via: 'pigeon' as 'xdp' }));
      expect(bad).to.be.instanceOf(XdpspecError).with.property('code', 'LIVE_OPTIONS');
      bench.detach('wan');
      const tc = load(SPEC_OBJ.tcVerdicts);
      bench.attachTc(tc.program(), 'wan', 'ingress');
      try {
        const refused = await rejection(bench.replay(kinds, { on: 'wan', via: 'xdp' }));
        expect(refused).to.be.instanceOf(XdpspecError).with.property('code', 'LIVE_OPTIONS');
        expect(refused.message).to.match(/port wan has a TC program \(tc-ingress\), which gets its frames by socket/);
        const tcDefault = await bench.replay(kinds.slice(2, 3), { on: 'wan' });
        expect(tcDefault.sent).to.deep.equal({
          xdp: 0,
          socket: 1,
          why: 'generic-mode XDP and TC programs get their frames by socket',
        });
      } finally {
        bench.detach('wan');
      }
    },
  );

  it('sends by socket the frames too large to go in as XDP frames, and says so', async () => {
    // Over the 3,392 bytes an injected frame can have, within the port's MTU (veth takes native
    // XDP up to an MTU of about 3,500).
    const big = await LiveBench.create({ ports: [{ name: 'wan', mtu: 3500 }] });
    const f = loadObject(OBJ.ipv6Filter);
    try {
      big.attach(f.program(), 'wan');
      const small = frame.eth().ipv6().udp().payload(Buffer.alloc(100, 1)).build();
      const large = frame
        .eth()
        .ipv6()
        .udp()
        .payload(Buffer.alloc(3450 - 62, 2))
        .build();
      const frames = [...Array.from({ length: 600 }, () => small), large];
      const run = await big.stream(frames, { on: 'wan' });
      expect(run.counts.passed).to.equal(601);
      expect(run.seen.every((w) => w === 'wan/dut')).to.equal(true);
      // The chunk holding the large frame (the second: 512 frames a chunk) went by socket.
      expect(run.sent).to.deep.equal({
        xdp: 512,
        socket: 89,
        why: "frames over the DUT end's MTU or 3392 bytes go by socket",
      });
      const refused = await rejection(big.stream([large], { on: 'wan', via: 'xdp' }));
      expect(refused).to.be.instanceOf(XdpspecError).with.property('code', 'INJECT');
      expect(refused.message).to.match(/cannot go to port wan as an XDP frame/);
    } finally {
      f.close();
      big.close();
    }
  });
});
