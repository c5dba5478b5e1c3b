import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { bench, expect as expectX, frame, readCapture } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

describe('bench fixture', () => {
  needsBpf();

  describe('a router bench (forwarding)', () => {
    // Ports named a and b, as xdp-tutorial's router lesson has them.
    const b = bench({
      object: OBJ.xdpRedirect,
      forwarding: true,
      ports: [
        { name: 'a', dutAddresses: ['10.0.1.1/24'], testerAddresses: ['10.0.1.2/24'] },
        { name: 'b', dutAddresses: ['10.0.2.1/24'], testerAddresses: ['10.0.2.2/24'] },
      ],
    });
    it('lets bpf_fib_lookup route: out of b to its neighbour, TTL one lower', async () => {
      const live = b.live.bench;
      for (const port of ['a', 'b'])
        live.setDeviceMap(b.object.map('tx_ports'), live.topology.port(port).dutIfindex, port);
      const a = live.topology.port('a');
      const run = await b.live.replay([
        frame.eth({ src: a.testerMac, dst: a.dutMac }).ipv4({ src: '10.0.1.2', dst: '10.0.2.2', ttl: 64 }).udp(),
      ]);
      expectX(run.frames[0]).to.be.redirectedTo('b');
      expectX(run.frames[0]).to.be.rewritten({
        'ipv4.ttl': 63,
        'eth.dst': live.topology.port('b').testerMac,
        'eth.src': live.topology.port('b').dutMac,
      });
    });
  });

  describe('queue and stack maps between cases', () => {
    const b = bench({ object: 'specs/bpf/build/queues.bpf.o' });
    // What capture() holds: the values in the order that rebuilds the map (oldest first).
    const held = (name: string) => {
      const s = b.object.map(name).capture();
      return Array.from({ length: s.count }, (_, i) => s.values.readUInt32LE(4 * i));
    };
    const sized = (n: number) =>
      frame
        .eth()
        .ipv4()
        .udp()
        .payload(Buffer.alloc(n - 42));
    it('a case pushes, and reading the state leaves it as it was, in order', async () => {
      await b.unit([sized(60), sized(70), sized(80)]);
      expect(held('lengths')).to.deep.equal([60, 70, 80]);
      expect(held('pile')).to.deep.equal([60, 70, 80]);
      expect(held('lengths')).to.deep.equal([60, 70, 80]); // read twice: popped and pushed back
      await b.unit([sized(90)]);
      expect(held('pile')).to.deep.equal([60, 70, 80, 90]);
    });
    it('the next case starts from the state after load', () => {
      expect(held('lengths')).to.deep.equal([]);
      expect(held('pile')).to.deep.equal([]);
    });
    it('says a queue has no keys to list, and where its values are read', () => {
      expect(() => [...b.object.map('lengths').keys()]).to.throw(
        /map lengths is a queue: its values have no keys to list; use push\(value\), pop\(\) and peek\(\), or capture\(\) to read them all in order/,
      );
    });
    it('putBack rebuilds a queue and a stack in their order', async () => {
      await b.unit([sized(61), sized(62)]);
      const q = b.object.map('lengths').capture();
      const st = b.object.map('pile').capture();
      await b.unit([sized(63), sized(64)]);
      b.object.map('lengths').putBack(q);
      b.object.map('pile').putBack(st);
      expect(held('lengths')).to.deep.equal([61, 62]);
      expect(held('pile')).to.deep.equal([61, 62]);
    });
  });

  describe('maps between cases', () => {
    const b = bench({ object: OBJ.maps });
    it('a case changes state', async () => {
      await b.unit([frame.eth().ipv4().udp(), frame.eth().ipv4().udp()]);
      expect(b.object.global('seen')).to.equal(2);
      expect([...b.object.map('flows').keys()]).to.have.length(1);
    });
    it('the next case starts from the state after load', () => {
      expect(b.object.global('seen')).to.equal(0);
      expect([...b.object.map('flows').keys()]).to.deep.equal([]);
    });
  });

  it('attaches the capture a failed live case wrote to the case, its message left as the assertion wrote it', async () => {
    const t = tempDir();
    try {
      const r = await execa(
        'node_modules/.bin/mocha',
        [
          '--no-config',
          '--node-option',
          'import=tsx/esm',
          '--reporter',
          'spec',
          '--timeout',
          '20000',
          'specs/support/failing-bench.fixture.ts',
        ],
        {
          reject: false,
          env: { XDPSPEC_ARTIFACTS: t.dir },
        },
      );
      expect(r.exitCode).to.equal(1);
      const file = `${t.dir}/failing-bench-fixture-ts/expects-everything-to-pass.pcapng`;
      expect(r.stdout).to.include('expected 20 frames to be 20 passed, but they were 10 passed, 10 dropped');
      expect(r.stdout).to.not.include(file);
      expect(r.stderr).to.include(`attached to "expects everything to pass": capture ${file}`);
      expect(existsSync(file)).to.equal(true);
      expect((await readCapture(file)).records).to.have.length(30);
    } finally {
      t.cleanup();
    }
  });

  describe('artifacts for every case, on request', () => {
    const t = tempDir();
    after(t.cleanup);
    const b = bench({ object: OBJ.ipv6Filter, ports: ['wan'], artifacts: t.dir, writeArtifacts: 'always' });
    it('a passing live case', async () => {
      await b.live.replay('fixtures/ipv4-and-ipv6.pcap');
    });
    it('has written its capture', () => {
      expect(existsSync(`${t.dir}/fixture-spec-ts/a-passing-live-case.pcapng`)).to.equal(true);
    });
  });

  it('says where it may be used', () => {
    const saved = (globalThis as Record<string, unknown>)['before'];
    (globalThis as Record<string, unknown>)['before'] = undefined;
    try {
      expect(() => bench({ object: OBJ.ipv6Filter })).to.throw(
        'fixtures declare Mocha hooks: call it inside a describe() of a spec that Mocha runs',
      );
    } finally {
      (globalThis as Record<string, unknown>)['before'] = saved;
    }
  });
});
