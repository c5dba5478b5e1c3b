import { expect } from 'chai';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { Topology, XdpspecError, attachTc, attachXdp, loadObject, ownedNamespaces, sweepLeftovers } from '../../src/index.js';
import { startChild } from '../support/children.js';
import { OBJ, needsBpf } from '../support/kernel.js';

const namespaces = () => readdirSync('/run/netns').filter((n) => n.startsWith('xdpspec-'));
const ipIn = async (ns: string, ...a: string[]) => (await execa('ip', ['-n', ns, ...a])).stdout;

const child = (mode: 'wait' | 'throw') => startChild('topology-child.ts', mode);

describe('topology', () => {
  needsBpf();

  it('creates a DUT and a tester namespace joined by a veth pair per port, as specified', async () => {
    const t = await Topology.create({
      ports: [
        { name: 'wan', dutMac: '02:00:00:00:0a:01', testerMac: '02:00:00:00:0a:02', dutAddresses: ['10.0.0.1/24'], testerAddresses: ['10.0.0.2/24'], mtu: 1400, dutRoutes: ['default via 10.0.0.2'] },
        { name: 'lan', ipv6: true, dutAddresses: ['fd00:1::1/64'] },
      ],
    });
    try {
      expect(t.dut).to.match(new RegExp(`^xdpspec-${process.pid}-\\d+-dut$`));
      expect(namespaces()).to.include.members([t.dut, t.tester]);
      const wan = JSON.parse(await ipIn(t.dut, '-j', '-d', 'link', 'show', 'wan'))[0];
      expect(wan).to.include({ address: '02:00:00:00:0a:01', mtu: 1400, operstate: wan.operstate });
      expect(wan.linkinfo.info_kind).to.equal('veth');
      expect(t.port('wan')).to.include({ dutMac: '02:00:00:00:0a:01', testerMac: '02:00:00:00:0a:02' });
      expect(t.port('wan').dutIfindex).to.be.greaterThan(1);
      expect(await ipIn(t.dut, '-4', '-br', 'addr', 'show', 'wan')).to.include('10.0.0.1/24');
      expect(await ipIn(t.tester, '-4', '-br', 'addr', 'show', 'wan')).to.include('10.0.0.2/24');
      expect(await ipIn(t.dut, 'route', 'show', 'default')).to.include('default via 10.0.0.2 dev wan');
      // static neighbours both ways, so no ARP is ever sent
      expect((await ipIn(t.dut, 'neigh', 'show', 'dev', 'wan')).trim()).to.equal('10.0.0.2 lladdr 02:00:00:00:0a:02 PERMANENT');
      expect((await ipIn(t.tester, 'neigh', 'show', 'dev', 'wan')).trim()).to.equal('10.0.0.1 lladdr 02:00:00:00:0a:01 PERMANENT');
      // No IPv6 noise: ports without ipv6 have no IPv6 at all, the ipv6 port only its static address.
      expect(await ipIn(t.dut, '-6', 'addr', 'show', 'wan')).to.equal('');
      expect(await ipIn(t.tester, '-6', 'addr', 'show', 'lan')).to.equal('');
      const lan6 = await ipIn(t.dut, '-6', 'addr', 'show', 'lan');
      expect(lan6).to.include('fd00:1::1/64');
      expect(lan6).to.not.include('fe80');
    } finally {
      t.close();
    }
    expect(namespaces()).to.not.include(t.dut);
  });

  it('takes attached programs with it when closed, and their detach is then a no-op', async () => {
    const t = await Topology.create({ ports: [{ name: 'wan' }] });
    const xdp = loadObject(OBJ.ipv6Filter);
    const tc = loadObject(OBJ.tcTtl);
    const a = attachXdp(xdp.program(), { interface: 'wan', netns: t.dut }, 'native');
    attachTc(tc.program(), { interface: 'wan', netns: t.dut }, 'egress');
    expect(await ipIn(t.dut, '-d', 'link', 'show', 'wan')).to.match(/prog\/xdp/);
    t.close();
    expect(namespaces()).to.not.include(t.dut);
    expect(() => a.detach()).to.not.throw();
    expect(() => tc.close()).to.not.throw(); // detaches its TC attachment: already gone
    xdp.close();
  });

  it('lets two topologies exist at once, with distinct names', async () => {
    const [a, b] = await Promise.all([Topology.create({ ports: [{ name: 'wan' }] }), Topology.create({ ports: [{ name: 'wan' }] })]);
    try {
      expect(new Set([a.dut, a.tester, b.dut, b.tester]).size).to.equal(4);
      expect(ownedNamespaces()).to.include.members([a.dut, b.tester]);
    } finally {
      a.close();
      b.close();
      a.close(); // a second close does nothing
    }
    expect(namespaces()).to.not.include.members([a.dut, a.tester, b.dut, b.tester]);
  });

  it('refuses a bad spec before creating anything', async () => {
    const before = namespaces().length;
    const bad = [
      [{ ports: [] }, 'a topology needs at least one port'],
      [{ ports: [{ name: 'a-name-much-too-long' }] }, 'is not a usable interface name'],
      [{ ports: [{ name: 'wan' }, { name: 'wan' }] }, 'port wan is given twice'],
      [{ ports: [{ name: 'wan', dutAddresses: ['10.0.0.1'] }] }, 'is not an address with a prefix length, e.g. 10.0.0.1/24'],
      [{ ports: [{ name: 'wan', mtu: 20 }] }, 'MTU 20 is outside 68-65535'],
    ] as const;
    for (const [spec, msg] of bad) {
      const err = await Topology.create(spec as never).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(XdpspecError);
      expect(String(err)).to.include(msg);
    }
    expect(namespaces().length).to.equal(before);
  });

  it('removes what it made when ip fails half-way', async () => {
    const before = namespaces();
    const err = await Topology.create({ ports: [{ name: 'wan', dutRoutes: ['10.9.0.0/16 via 10.99.0.1'] }] }).catch((e: unknown) => e);
    expect(String(err)).to.match(/ip -n xdpspec-\d+-\d+-dut -batch - failed/);
    expect(namespaces()).to.deep.equal(before);
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`leaves nothing behind when its process gets ${sig}`, async () => {
      const { proc, names } = child('wait');
      const ns = await names;
      expect(namespaces()).to.include.members(ns);
      proc.kill(sig);
      const r = await proc;
      expect(r.signal).to.equal(sig); // it still dies of the signal
      expect(namespaces()).to.not.include.members(ns);
    });
  }

  it('leaves nothing behind after an uncaught exception', async () => {
    const { proc, names } = child('throw');
    const ns = await names;
    const r = await proc;
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.include('a spec failed badly');
    expect(namespaces()).to.not.include.members(ns);
  });

  it("sweeps a killed run's leftovers in the next run, and never a live run's", async () => {
    const { proc, names } = child('wait');
    const ns = await names;
    const live = await Topology.create({ ports: [{ name: 'wan' }] });
    try {
      proc.kill('SIGKILL');
      await proc;
      expect(namespaces()).to.include.members(ns); // SIGKILL gives no chance to clean up
      const swept = sweepLeftovers();
      expect(swept).to.include.members(ns);
      expect(namespaces()).to.not.include.members(ns);
      expect(namespaces()).to.include.members([live.dut, live.tester]);
    } finally {
      live.close();
    }
  });
});
