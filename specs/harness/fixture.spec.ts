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
