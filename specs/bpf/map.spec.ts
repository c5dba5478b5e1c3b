import { expect } from 'chai';
import { execa } from 'execa';
import { BpfError, XdpspecError, createMap, frame, loadObject, runUnit, type LoadedObject } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';

describe('BPF maps', () => {
  needsBpf();
  let l: LoadedObject;
  beforeEach(() => {
    l = loadObject(OBJ.maps);
  });
  afterEach(() => l?.close());

  it('capture and put back every kind of state map exactly: keys added since go, changed values return', () => {
    const flows = l.map('flows');
    const counters = l.map('counters');
    const perProto = l.map('per_proto');
    const totals = l.map('totals');
    const recent = l.map('recent');
    const prefixes = l.map('prefixes');
    flows.set({ saddr: '10.0.0.1', sport: 1 }, { packets: 1, bytes: 10 });
    counters.set(3, 33);
    perProto.set(17, 5);
    totals.set(0, { packets: 2, bytes: 20 });
    recent.set(1, { action: 1, name: 'one', ports: [1, 2] });
    prefixes.set({ prefixlen: 24, addr: '10.0.0.0' }, 7);
    const maps = [flows, counters, perProto, totals, recent, prefixes];
    const before = maps.map((m) =>
      JSON.stringify([...m.entries()], (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    const states = maps.map((m) => m.capture());
    expect(states.map((st) => st.count)).to.deep.equal([1, 8, 1, 1, 1, 1]);
    flows.set({ saddr: '10.0.0.9', sport: 9 }, { packets: 9, bytes: 90 });
    flows.set({ saddr: '10.0.0.1', sport: 1 }, { packets: 5, bytes: 50 });
    counters.set(3, 0);
    perProto.delete(17);
    perProto.set(6, 1);
    totals.set(0, { packets: 0, bytes: 0 });
    recent.set(2, { action: 2, name: 'two', ports: [3, 4] });
    prefixes.set({ prefixlen: 16, addr: '10.1.0.0' }, 8);
    maps.forEach((m, k) => m.putBack(states[k]!));
    const after = maps.map((m) =>
      JSON.stringify([...m.entries()], (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    expect(after).to.deep.equal(before);
  });

  it("makes the object's plain arrays memory-mapped, their state read and put back as memory, or leaves them as they are", async () => {
    const flags = async (o: LoadedObject, name: string) =>
      (
        JSON.parse((await execa('bpftool', ['map', 'show', 'id', String(o.map(name).id), '-j'])).stdout) as {
          flags: number;
        }
      ).flags;
    expect((await flags(l, 'counters')) & 1024, 'BPF_F_MMAPABLE').to.equal(1024);
    expect(await flags(l, 'flows'), 'a hash map keeps its flags').to.equal(0);
    const counters = l.map('counters');
    const st = counters.capture();
    // What the kernel writes (an update through the bpf() call, as a program's store would be)
    // is in the mapped memory; putBack writes the memory, and the kernel's lookups see it.
    counters.set(5, 55);
    const changed = counters.capture();
    expect(Number(changed.values.readBigUInt64LE(5 * 8))).to.equal(55);
    expect(changed.values.equals(st.values)).to.equal(false);
    counters.putBack(st);
    expect(counters.capture().values.equals(st.values)).to.equal(true);
    expect([...counters.entries()].map(([, v]) => v)).to.deep.equal(
      Array.from({ length: 8 }, (_, i) => Number(st.values.readBigUInt64LE(i * 8))),
    );
    const plain = loadObject(OBJ.maps, {}, { mappedArrays: false });
    try {
      expect(await flags(plain, 'counters')).to.equal(0);
    } finally {
      plain.close();
    }
  });

  it('capture a map of several batches (200,000 entries) as two buffers, and put it back exactly', () => {
    const big = createMap({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 200_000, name: 'big' });
    try {
      const entries = Array.from({ length: 200_000 }, (_, i): [Buffer, Buffer] => {
        const k = Buffer.alloc(4);
        k.writeUInt32LE(i);
        const v = Buffer.alloc(8);
        v.writeBigUInt64LE(BigInt(i) * 3n);
        return [k, v];
      });
      big.setMany(entries);
      const st = big.capture();
      expect(st.count).to.equal(200_000);
      expect(st.keys.length).to.equal(200_000 * 4);
      big.delete(entries[7]![0]);
      big.set(entries[8]![0], Buffer.alloc(8));
      big.putBack(st);
      const again = big.capture();
      expect(again.count).to.equal(200_000);
      const sorted = (x: typeof st) =>
        Array.from(
          { length: x.count },
          (_, i) => x.keys.readUInt32LE(4 * i) * 1e6 + Number(x.values.readBigUInt64LE(8 * i) % 1000000n),
        ).sort((p, q) => p - q);
      expect(sorted(again)).to.deep.equal(sorted(st));
      expect(big.get(entries[7]![0])).to.equal(21); // deleted since the capture, and back
      // Only values changed (the keys, and their order, are the same): just those are written.
      big.set(entries[100]![0], Buffer.alloc(8, 0xff));
      big.set(entries[199_999]![0], Buffer.alloc(8, 0xee));
      big.putBack(st);
      expect(sorted(big.capture())).to.deep.equal(sorted(st));
      expect(big.get(entries[100]![0])).to.equal(300);
    } finally {
      big.close();
    }
  });

  it('hash: struct keys and values by field name, network byte order and addresses converted', () => {
    const flows = l.map('flows');
    const key = { saddr: '10.0.0.5', daddr: '10.0.0.2', sport: 1000, dport: 53, proto: 17 };
    const p = l.program();
    for (let i = 0; i < 3; i++)
      p.testRun(frame.eth().ipv4({ src: '10.0.0.5' }).udp({ sport: 1000, dport: 53 }).payload('abc').build());
    expect(flows.get(key)).to.deep.equal({ packets: 3, bytes: 3 * 45 });
    expect([...flows.keys()]).to.deep.equal([{ ...key, pad: [0, 0, 0] }]);
    flows.set({ ...key, sport: 2000 }, { packets: 7, bytes: 700 });
    expect(flows.has({ ...key, sport: 2000 })).to.equal(true);
    // The program sees what we wrote, in network byte order: its next packet of that flow adds to it.
    p.testRun(frame.eth().ipv4({ src: '10.0.0.5' }).udp({ sport: 2000, dport: 53 }).payload('abc').build());
    expect(flows.get({ ...key, sport: 2000 })).to.deep.equal({ packets: 8, bytes: 745 });
    expect(flows.delete({ ...key, sport: 2000 })).to.equal(true);
    expect(flows.delete({ ...key, sport: 2000 })).to.equal(false);
    expect(flows.get({ ...key, sport: 2000 })).to.equal(undefined);
    flows.clear();
    expect([...flows.entries()]).to.deep.equal([]);
  });

  it('hash: raw Buffers work as keys and values too', () => {
    const flows = l.map('flows');
    const k = Buffer.alloc(16);
    k.writeUInt32BE(0x0a000001, 0);
    flows.set(k, Buffer.alloc(16, 1));
    expect(flows.get({ saddr: '10.0.0.1' })).to.deep.equal({
      packets: 0x0101010101010101n,
      bytes: 0x0101010101010101n,
    });
    expect(() => flows.set(Buffer.alloc(3), Buffer.alloc(16))).to.throw(
      XdpspecError,
      'key of map flows: got 3 bytes; expected struct flow_key',
    );
  });

  it('array: every index exists, 64-bit values, clear zeroes, delete is refused', () => {
    const c = l.map('counters');
    expect(c.get(5)).to.equal(0);
    c.set(3, 42);
    c.set(4, 2n ** 60n);
    expect(c.get(3)).to.equal(42);
    expect(c.get(4)).to.equal(2n ** 60n);
    expect([...c.keys()]).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(() => c.delete(3)).to.throw(XdpspecError, 'an array map cannot delete entries');
    c.clear();
    expect(c.get(3)).to.equal(0);
    expect(() => c.set(8, 1)).to.throw(BpfError, /update map counters: E2BIG|EINVAL/);
  });

  it('per-CPU array and hash: a value per CPU, and their sum', () => {
    const p = l.program();
    for (let i = 0; i < 4; i++) p.testRun(frame.eth().ipv4().udp().build());
    const per = l.map('totals').get(0) as { packets: number }[];
    expect(per).to.be.an('array').with.length.greaterThan(0);
    expect(l.map('totals').sum(0)).to.deep.equal({ packets: 4, bytes: 4 * 42 });
    expect(l.map('per_proto').sum(17)).to.equal(4);
    l.map('per_proto').set(6, 5);
    expect(l.map('per_proto').get(6)).to.deep.equal(Array(per.length).fill(5));
    expect(l.map('totals').sum(0)).to.deep.equal({ packets: 4, bytes: 168 });
  });

  it('LRU hash: struct values with char arrays and arrays; the oldest entry goes when full', () => {
    const r = l.map('recent');
    r.set(1, { action: 2, name: 'web', ports: [80, 443] });
    expect(r.get(1)).to.deep.equal({ action: 2, name: 'web', ports: [80, 443] });
    for (let k = 2; k <= 40; k++) r.set(k, { action: k });
    expect([...r.keys()].length).to.be.at.most(4 * 2); // LRU keeps about max_entries (per-CPU free lists may hold a few more)
    expect(r.has(1)).to.equal(false);
    expect(() => r.set(1, { ports: [1, 2, 3] })).to.throw(
      XdpspecError,
      'ports: expected an array of 2 for __u16[2], got an array of 3',
    );
  });

  it('LPM trie: prefix keys as CIDR strings or objects, longest prefix wins in the program', () => {
    const t = l.map('prefixes');
    t.set('10.1.0.0/16', 1); // XDP_DROP
    t.set({ prefixlen: 24, addr: '10.1.2.0' }, 3); // XDP_TX
    const p = l.program();
    expect(p.testRun(frame.eth().ipv4({ src: '10.1.2.3' }).udp().build()).action).to.equal('XDP_TX');
    expect(p.testRun(frame.eth().ipv4({ src: '10.1.9.9' }).udp().build()).action).to.equal('XDP_DROP');
    expect(p.testRun(frame.eth().ipv4({ src: '10.2.0.1' }).udp().build()).action).to.equal('XDP_PASS');
    expect(t.get('10.1.0.0/16')).to.equal(1);
    expect([...t.keys()]).to.have.deep.members([
      { prefixlen: 16, addr: '10.1.0.0' },
      { prefixlen: 24, addr: '10.1.2.0' },
    ]);
  });

  it('devmap takes ifindexes; prog array takes program fds', () => {
    const d = l.map('ports');
    d.set(0, 1); // lo always exists
    expect(d.get(0)).to.equal(1);
    expect(() => d.set(1, 999_999)).to.throw(BpfError, /update map ports: (ENODEV|EINVAL)/);
    const j = l.map('jumps');
    j.set(0, l.program().fd);
    expect(j.has(0)).to.equal(true);
    expect(j.delete(0)).to.equal(true);
  });
});

describe('map layouts as real programs write them', () => {
  needsBpf();

  it('reads anonymous unions and structs by their members, and IPv6 addresses kept as __u32[4]', () => {
    const o = loadObject('specs/bpf/build/codec_shapes.bpf.o');
    try {
      const m = o.map('flows');
      m.set({ src: '10.0.0.1', dst: '10.0.0.2', port16: [80, 1234], proto: 6 }, { addrv6: 'fd00::1', weight: 3 });
      const [key, value] = [...m.entries()][0] as [Record<string, unknown>, Record<string, unknown>];
      // A union shows every view of its bytes, as C lets the program read any of them.
      expect(key).to.include({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 });
      expect(key.port16).to.deep.equal([80, 1234]);
      expect(value).to.deep.equal({ addrv6: 'fd00::1', weight: 3, flags: 0 });
      m.clear();
      m.set({ srcv6: 'fd00::1', dstv6: 'fd00::2', proto: 17 }, { addrv6: [1, 2, 3, 4], flags: 1 });
      expect(m.get({ srcv6: 'fd00::1', dstv6: 'fd00::2', proto: 17 })).to.deep.equal({
        addrv6: '100:0:200:0:300:0:400:0',
        weight: 0,
        flags: 1,
      });
      expect(() => m.set({ srcv6: '10.0.0.1' }, {})).to.throw(
        /srcv6: "10\.0\.0\.1" is not an IPv6 address \(__be32\[4\] named srcv6 holds one\)/,
      );
      expect(() => m.set({ nosuch: 1 }, {})).to.throw(
        /struct flow_key has no member "nosuch" \(members: src, srcv6, dst, dstv6, ports, port16, proto\)/,
      );
      // A __u16 the program keeps in network order, declared so: host-order numbers both ways.
      m.clear();
      m.networkOrder('weight').set({ proto: 1 }, { weight: 0x0102 });
      const raw = m.snapshot()[0]?.[1];
      expect([...raw!.subarray(16, 18)]).to.deep.equal([0x01, 0x02]);
      expect(m.get({ proto: 1 })).to.deep.include({ weight: 0x0102 });
    } finally {
      o.close();
    }
  });
});

describe('queue and stack maps', () => {
  needsBpf();
  it('take values by push, pop and peek in the order programs see them, and refuse lookups by key with what to use', async () => {
    const l = loadObject('specs/bpf/build/queues.bpf.o');
    try {
      const queue = l.map('lengths');
      const stack = l.map('pile');
      for (const v of [7, 8, 9]) {
        queue.push(v);
        stack.push(v);
      }
      expect(queue.peek()).to.equal(7);
      expect(stack.peek()).to.equal(9);
      expect([queue.pop(), queue.pop()]).to.deep.equal([7, 8]);
      expect([stack.pop(), stack.pop()]).to.deep.equal([9, 8]);
      // The program pushes each frame's length behind what is left.
      await runUnit(l.program(), [frame.eth().ipv4().udp().payload(Buffer.alloc(20)).build()]);
      expect([queue.pop(), queue.pop(), queue.pop()]).to.deep.equal([9, 62, undefined]);
      expect([stack.pop(), stack.pop(), stack.pop()]).to.deep.equal([62, 7, undefined]);
      for (let i = 0; i < 16; i++) queue.push(i);
      expect(() => queue.push(16)).to.throw(
        BpfError,
        /push to map lengths: E2BIG \(7\) \(the map is full: max_entries 16\)/,
      );
      queue.clear();
      expect(queue.peek()).to.equal(undefined);
      for (const op of [() => queue.get(0), () => queue.set(0, 1), () => queue.delete(0), () => stack.has(0)])
        expect(op)
          .to.throw(
            XdpspecError,
            /is a (queue|stack): its values have no keys to (get|set|delete) by; use push\(value\), pop\(\) and peek\(\)/,
          )
          .with.property('code', 'MAP_NO_KEYS');
    } finally {
      l.close();
    }
  });

  it('refuse push, pop and peek on maps with keys', () => {
    const l = loadObject(OBJ.maps);
    try {
      expect(() => l.map('flows').pop())
        .to.throw(
          XdpspecError,
          /map flows is a hash map: pop\(\) is for queue and stack maps; use get, set and delete by key/,
        )
        .with.property('code', 'BPF_MAP_OP');
    } finally {
      l.close();
    }
  });
});
