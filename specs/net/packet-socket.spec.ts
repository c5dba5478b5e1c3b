import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { PacketSocket, Topology, XdpspecError, frame, until } from '../../src/index.js';
import { needsBpf } from '../support/kernel.js';

describe('packet sockets', () => {
  needsBpf();
  let t: Topology;
  let tester: PacketSocket;
  let dut: PacketSocket;
  before(async () => {
    t = await Topology.create({ ports: [{ name: 'wan', mtu: 1500 }] });
  });
  beforeEach(() => {
    tester = PacketSocket.open(t.tester, 'wan');
    dut = PacketSocket.open(t.dut, 'wan');
  });
  afterEach(() => {
    tester?.close();
    dut?.close();
  });
  after(() => t?.close());

  it('inject on the tester end, capture on the DUT end, byte for byte and in order', async () => {
    const frames = Array.from({ length: 50 }, (_, i) =>
      frame
        .eth({ dst: t.port('wan').dutMac })
        .ipv4({ id: i })
        .udp()
        .payload(Buffer.alloc(i))
        .build(),
    );
    for (const f of frames) tester.send(f);
    const got: Buffer[] = [];
    await until(() => (got.push(...dut.receive()), got.length >= frames.length), '50 frames reaching the DUT end');
    expect(got).to.deep.equal(frames);
    expect(tester.receive()).to.deep.equal([]); // its own outgoing frames are ignored
    expect(dut.statistics()).to.deep.equal({ received: 50, dropped: 0 });
  });

  it('captures VLAN-tagged frames with their tags where they were (802.1Q and QinQ)', async () => {
    const mac = t.port('wan').dutMac;
    const frames = [
      frame.eth({ dst: mac }).vlan({ vid: 10, pcp: 5 }).ipv4().udp().build(),
      frame.eth({ dst: mac }).vlan({ vid: 100 }).vlan({ vid: 200 }).ipv6().udp().build(), // 0x88a8 outer
      frame.eth({ dst: mac, type: 0x8100 }).vlan({ vid: 7 }).vlan({ vid: 8 }).ipv4().build(), // 0x8100 twice
    ];
    for (const f of frames) tester.send(f);
    const got: Buffer[] = [];
    await until(
      () => (got.push(...dut.receive()), got.length >= frames.length),
      'the tagged frames reaching the DUT end',
    );
    expect(got).to.deep.equal(frames);
  });

  it('sees outgoing frames only when asked to', async () => {
    const all = PacketSocket.open(t.tester, 'wan', { ignoreOutgoing: false });
    try {
      const f = frame.eth().ipv6().udp().build();
      tester.send(f);
      let seen: Buffer[] = [];
      await until(
        () => (seen = seen.concat(all.receive())).length > 0,
        'the outgoing frame on a socket that keeps them',
      );
      expect(seen[0]).to.deep.equal(f);
    } finally {
      all.close();
    }
  });

  it('refuses a frame larger than the MTU allows, saying so', () => {
    expect(() => tester.send(frame.eth().ipv4().udp().payload(Buffer.alloc(1600)).build())).to.throw(
      XdpspecError,
      /larger than wan's MTU allows/,
    );
  });

  /** A frame 200 of which overflow a socket (or ring) of 4096 bytes. */
  const FLOOD = frame.eth().ipv4().udp().payload(Buffer.alloc(1000)).build();

  /** Sends 200 FLOODs from the tester, and sums `s`'s counts until they account for all of them. */
  async function flood(s: PacketSocket, what: string) {
    for (let i = 0; i < 200; i++) tester.send(FLOOD);
    const stats = { received: 0, dropped: 0 };
    await until(() => {
      const c = s.statistics();
      stats.received += c.received;
      stats.dropped += c.dropped;
      return stats.received + stats.dropped >= 200;
    }, `all 200 frames counted by ${what}`);
    return stats;
  }

  it("reports capture loss from the kernel's counters, never hiding it", async () => {
    const small = PacketSocket.open(t.dut, 'wan', { receiveBuffer: 4096 });
    try {
      const stats = await flood(small, 'the small socket');
      expect(stats.dropped).to.be.greaterThan(0);
      expect(small.receive().length).to.equal(stats.received);
    } finally {
      small.close();
    }
  });

  /** What `s` holds now, copied out of its ring (or queue) frame by frame. */
  const taken = (s: PacketSocket, into: Buffer[]) =>
    s.receiveEach((bytes, start, end) => into.push(Buffer.from(bytes.subarray(start, end))));

  it('captures into a ring while asked, byte for byte with VLAN tags, then queues again', async () => {
    const mac = t.port('wan').dutMac;
    const frames = [
      ...Array.from({ length: 40 }, (_, i) =>
        frame.eth({ dst: mac }).ipv4({ id: i }).udp().payload(Buffer.alloc(i)).build(),
      ),
      frame.eth({ dst: mac }).vlan({ vid: 10, pcp: 5 }).ipv4().udp().build(),
      frame.eth({ dst: mac }).vlan({ vid: 100 }).vlan({ vid: 200 }).ipv6().udp().build(),
    ];
    expect(dut.captureByRing()).to.equal(true);
    for (const f of frames) tester.send(f);
    const got: Buffer[] = [];
    await until(() => (taken(dut, got), got.length >= frames.length), 'the frames reaching the ring');
    expect(got).to.deep.equal(frames);
    expect(dut.receive()).to.deep.equal([]);
    expect(dut.statistics()).to.deep.equal({ received: frames.length, dropped: 0 });

    dut.captureByQueue();
    for (const f of frames.slice(0, 3)) tester.send(f);
    const queued: Buffer[] = [];
    await until(() => (queued.push(...dut.receive()), queued.length >= 3), 'three frames queued again');
    expect(queued).to.deep.equal(frames.slice(0, 3));
    // The ring was shut meanwhile: nothing of those three is waiting in it.
    expect(dut.captureByRing()).to.equal(true);
    expect(taken(dut, [])).to.equal(0);
  });

  it('counts what a full ring lost, and what it kept is there to read', async () => {
    const small = PacketSocket.open(t.dut, 'wan', { receiveBuffer: 4096 }); // the ring's least: 64 slots
    try {
      expect(small.captureByRing()).to.equal(true);
      const stats = await flood(small, 'the small ring');
      expect(stats.dropped).to.be.greaterThan(0);
      const got: Buffer[] = [];
      expect(taken(small, got)).to.equal(stats.received);
      expect(got.every((g) => g.equals(FLOOD))).to.equal(true);
    } finally {
      small.close();
    }
  });

  it('says so when a frame is longer than its ring keeps (the MTU grew since), and a new ring keeps it', async () => {
    const mtu = (n: number) => {
      for (const ns of [t.dut, t.tester]) execFileSync('ip', ['-n', ns, 'link', 'set', 'wan', 'mtu', String(n)]);
    };
    expect(dut.captureByRing()).to.equal(true);
    mtu(9000);
    try {
      const big = frame
        .eth({ dst: t.port('wan').dutMac })
        .ipv4()
        .udp()
        .payload(Buffer.alloc(5000))
        .build();
      tester.send(big);
      let err: unknown;
      await until(() => {
        try {
          return taken(dut, []) > 0;
        } catch (e) {
          err = e;
          return true;
        }
      }, 'the long frame reaching the ring');
      expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'CAPTURE');
      expect((err as Error).message).to.match(
        /a frame of 5042 bytes on wan is longer than the 4030 bytes its capture ring keeps .*stream again/,
      );
      dut.captureByQueue();
      expect(dut.captureByRing()).to.equal(true); // made anew for the MTU of now
      tester.send(big);
      const got: Buffer[] = [];
      await until(() => (taken(dut, got), got.length > 0), 'the long frame in the new ring');
      expect(got).to.deep.equal([big]);
    } finally {
      mtu(1500);
    }
  });

  it('names the interface that does not exist', () => {
    expect(() => PacketSocket.open(t.dut, 'nope0')).to.throw(XdpspecError, `no interface nope0 in ${t.dut}`);
  });
});
