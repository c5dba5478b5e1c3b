// Wrong or late verdicts: what the live engine must tell apart from a frame's fate, at once.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { LiveBench, XdpspecError, frame, loadObject, runUnit, type LoadedObject } from '../../src/index.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { rejection } from '../support/thrown.js';

describe('live verdicts that used to be wrong or late', () => {
  needsBpf();
  const objects: LoadedObject[] = [];
  const benches: LiveBench[] = [];
  afterEach(() => {
    for (const b of benches.splice(0)) b.close();
    for (const o of objects.splice(0)) o.close();
  });

  it('reports capture loss as CAPTURE_LOSS as soon as it is counted, not as a time-out', async () => {
    // A capture queue too small for a stream: the kernel drops what the sockets cannot hold.
    const b = await LiveBench.create({ ports: [{ name: 'wan' }] }, { captureBuffer: 2048 });
    benches.push(b);
    const f = loadObject(OBJ.ipv6Filter);
    objects.push(f);
    b.attach(f.program(), 'wan');
    const passed = frame
      .eth({ dst: b.topology.port('wan').dutMac })
      .ipv6()
      .udp({ dport: 9 })
      .build();
    const err = await b
      .stream(
        Array.from({ length: 20_000 }, () => passed),
        { on: 'wan' },
      )
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'CAPTURE_LOSS');
    expect((err as Error).message).to.match(
      /^the capture lost \d+ frame\(s\) \(the kernel dropped them from a full socket queue or capture ring\); nothing was counted as a drop\. Give the capture deeper queues \(LiveBench\.create\(spec, \{ captureBuffer \}\)\) or stream fewer frames at a time$/,
    );
  });

  it('counts a failed XDP_REDIRECT in native mode as redirected to an unknown target, one frame or streamed, naming the ifindex as the unit engine does', async () => {
    const b = await LiveBench.create({ ports: [{ name: 'wan' }] });
    benches.push(b);
    const v = loadObject(SPEC_OBJ.verdicts, { redirect_ifindex: 9999 }); // no such device
    objects.push(v);
    b.attach(v.program(), 'wan');
    const mac = b.topology.port('wan').dutMac;
    const frames = [5, 3].map((d) => frame.eth({ dst: mac }).ipv4().udp({ dport: d }));
    const live = await b.replay(frames, { on: 'wan' });
    expect(live.frames.map((r) => r.verdict)).to.deep.equal(['redirected', 'passed']);
    expect(live.frames[0]!.redirect).to.deep.equal({
      known: true,
      ifindex: 9999,
      error:
        "the redirect failed with EINVAL (22): no device with ifindex 9999 in the DUT's network namespace, or it cannot take frames; the frame was freed",
    });
    expect(live.frames[0]!.outputs).to.deep.equal([]);
    const unit = await runUnit(v.program(), frames);
    expect(unit.frames.map((r) => r.verdict)).to.deep.equal(['redirected', 'passed']);
    expect(unit.frames[0]!.redirect).to.deep.include({ known: true, ifindex: 9999 });
    const streamed = await b.stream(
      Array.from({ length: 2000 }, (_, i) =>
        frame
          .eth({ dst: mac })
          .ipv4()
          .udp({ dport: i % 2 ? 5 : 3 })
          .build(),
      ),
      { on: 'wan' },
    );
    expect(streamed.counts).to.deep.equal({ passed: 1000, dropped: 0, tx: 0, redirected: 1000, aborted: 0, stolen: 0 });
  });

  it("says what to check when a program was detached behind the bench's back, instead of only that a count did not move", async () => {
    const b = await LiveBench.create({ ports: [{ name: 'wan' }] });
    benches.push(b);
    const f = loadObject(OBJ.ipv6Filter);
    objects.push(f);
    // Through netlink, as older kernels attach: a BPF link refuses `ip link set ... xdp off`.
    process.env.XDPSPEC_ATTACH = 'netlink';
    try {
      b.attach(f.program(), 'wan');
    } finally {
      delete process.env.XDPSPEC_ATTACH;
    }
    execFileSync('ip', ['-n', b.topology.dut, 'link', 'set', 'dev', 'wan', 'xdp', 'off']);
    const frames = [
      frame
        .eth({ dst: b.topology.port('wan').dutMac })
        .ipv6()
        .udp(),
    ];
    // As an XDP frame, veth refuses it at once: it hands such frames only to an end with XDP.
    const refused = await rejection(b.replay(frames, { on: 'wan', via: 'xdp' }));
    expect(refused).to.be.instanceOf(XdpspecError).with.property('code', 'LIVE_LOST');
    expect(refused.message).to.match(
      /^veth refused frame #0 as an XDP frame into the DUT end of port wan; .* Check that the program is still attached to wan in native mode .*ip -n xdpspec-\d+-\d+-dut link show dev wan\)$/,
    );
    // By socket (the filter grows no frame), veth takes it and no XDP runs: the counter's wait
    // runs out, and says the same.
    const err = await rejection(b.replay(frames, { on: 'wan' }));
    expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'TIMEOUT');
    expect(err.message).to.match(
      /^XDP on port wan running on frame #0 did not happen within 2000 ms: the driver counted no XDP run for it\. Check that the program is still attached to wan in native mode .*ip -n xdpspec-\d+-\d+-dut link show dev wan/,
    );
  });
});
