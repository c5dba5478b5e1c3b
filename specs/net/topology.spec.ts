import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import {
  Topology,
  XdpspecError,
  attachTc,
  attachXdp,
  egressLab,
  loadBalancerLab,
  loadObject,
  until,
} from '../../src/index.js';
import { ownedNamespaces, sweepLeftovers } from '../../src/net/index.js';
import { startChild } from '../support/children.js';
import { tempDir } from '../support/tools.js';
import { OBJ, needsBpf } from '../support/kernel.js';

const namespaces = () => readdirSync('/run/netns').filter((n) => n.startsWith('xdpspec-'));
// This process's own: a concurrent run on the machine makes and removes its own meanwhile.
const mine = () => namespaces().filter((n) => n.startsWith(`xdpspec-${process.pid}-`));
const ipIn = async (ns: string, ...a: string[]) => (await execa('ip', ['-n', ns, ...a])).stdout;

/**
 * This sweep took the killed run's namespaces. When the suite runs side by side with another run
 * (the concurrency spec sets XDPSPEC_SIDE_BY_SIDE), that run's sweep may take them first, which is
 * what it should do with a dead run's leftovers; then only their being gone is this spec's to check.
 */
function expectSwept(swept: string[], ns: string[]): void {
  const elsewhere = ns.filter((n) => !swept.includes(n));
  if (elsewhere.length && process.env.XDPSPEC_SIDE_BY_SIDE === '1') return;
  expect(swept).to.include.members(ns);
}
const child = (mode: 'wait' | 'throw') => startChild('topology-child.ts', mode);

/** What `ip -j -d link show` says of a link, as far as these specs read it. */
interface IpLink {
  readonly address: string;
  readonly mtu: number;
  readonly operstate: string;
  readonly linkinfo: { readonly info_kind: string; readonly info_data?: Record<string, unknown> };
}

describe('topology', () => {
  needsBpf();

  it('creates a DUT and a tester namespace joined by a veth pair per port, as specified', async () => {
    const t = await Topology.create({
      ports: [
        {
          name: 'wan',
          dutMac: '02:00:00:00:0a:01',
          testerMac: '02:00:00:00:0a:02',
          dutAddresses: ['10.0.0.1/24'],
          testerAddresses: ['10.0.0.2/24'],
          mtu: 1400,
          dutRoutes: ['default via 10.0.0.2'],
        },
        { name: 'lan', ipv6: true, dutAddresses: ['fd00:1::1/64'] },
      ],
    });
    try {
      expect(t.dut).to.match(new RegExp(`^xdpspec-${process.pid}-\\d+-dut$`));
      expect(namespaces()).to.include.members([t.dut, t.tester]);
      const wan = (JSON.parse(await ipIn(t.dut, '-j', '-d', 'link', 'show', 'wan')) as IpLink[])[0]!;
      expect(wan).to.include({ address: '02:00:00:00:0a:01', mtu: 1400, operstate: wan.operstate });
      expect(wan.linkinfo.info_kind).to.equal('veth');
      expect(t.port('wan')).to.include({ dutMac: '02:00:00:00:0a:01', testerMac: '02:00:00:00:0a:02' });
      expect(t.port('wan').dutIfindex).to.be.greaterThan(1);
      expect(await ipIn(t.dut, '-4', '-br', 'addr', 'show', 'wan')).to.include('10.0.0.1/24');
      expect(await ipIn(t.tester, '-4', '-br', 'addr', 'show', 'wan')).to.include('10.0.0.2/24');
      expect(await ipIn(t.dut, 'route', 'show', 'default')).to.include('default via 10.0.0.2 dev wan');
      // static neighbours both ways, so no ARP is ever sent
      expect((await ipIn(t.dut, 'neigh', 'show', 'dev', 'wan')).trim()).to.equal(
        '10.0.0.2 lladdr 02:00:00:00:0a:02 PERMANENT',
      );
      expect((await ipIn(t.tester, 'neigh', 'show', 'dev', 'wan')).trim()).to.equal(
        '10.0.0.1 lladdr 02:00:00:00:0a:01 PERMANENT',
      );
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

  it('takes port and bridge names that ip would read as its keywords (xdp-tutorial names its ports a and b)', async () => {
    // Before `name` was spelled out, `ip link add a ...` failed: ip took "a" for `address`.
    const t = await Topology.create({
      ports: [
        { name: 'a', dutAddresses: ['10.0.1.1/24'], testerAddresses: ['10.0.1.2/24'] },
        { name: 'type' },
        { name: 'mtu', dutBridge: 'dev' },
      ],
    });
    try {
      for (const [ns, name, kind] of [
        [t.dut, 'a', 'veth'],
        [t.tester, 'a', 'veth'],
        [t.dut, 'type', 'veth'],
        [t.tester, 'mtu', 'veth'],
        [t.dut, 'dev', 'bridge'],
      ] as const) {
        const link = (JSON.parse(await ipIn(ns, '-j', '-d', 'link', 'show', 'dev', name)) as IpLink[])[0]!;
        expect(link.linkinfo.info_kind, `${name} in ${ns}`).to.equal(kind);
      }
      expect(await ipIn(t.dut, '-4', '-br', 'addr', 'show', 'dev', 'a')).to.include('10.0.1.1/24');
      expect(t.port('a').dutIfindex).to.be.greaterThan(1);
    } finally {
      t.close();
    }
    expect(namespaces()).to.not.include(t.dut);
  });

  it('puts ends on bridges and hosts of their own on a tester-side bridge, with static neighbours across each bridge', async () => {
    const t = await Topology.create(loadBalancerLab());
    const e = await Topology.create(egressLab());
    try {
      const h2 = t.host('h2');
      expect(namespaces()).to.include(h2.netns);
      expect(await ipIn(h2.netns, '-4', '-br', 'addr', 'show', 'h2')).to.include('10.0.0.2/24');
      const br = (JSON.parse(await ipIn(t.tester, '-j', '-d', 'link', 'show', 'br0')) as IpLink[])[0]!;
      expect(br.linkinfo.info_kind).to.equal('bridge');
      expect(br.linkinfo.info_data).to.include({ stp_state: 0, forward_delay: 0, mcast_snooping: 0 });
      for (const port of ['lb', 'h2', 'h3', 'client'])
        expect(await ipIn(t.tester, '-br', 'link', 'show', 'master', 'br0')).to.include(port);
      // Every address on the bridge's segment, and only those, is a static neighbour.
      const neigh = async (ns: string, dev: string) =>
        (await ipIn(ns, 'neigh', 'show', 'dev', dev))
          .trim()
          .split('\n')
          .map((l) => l.trim())
          .sort();
      const lb = t.port('lb').dutMac;
      expect(await neigh(h2.netns, 'h2')).to.deep.equal([
        `10.0.0.10 lladdr ${lb} PERMANENT`,
        `10.0.0.3 lladdr ${t.host('h3').mac} PERMANENT`,
        `10.0.1.1 lladdr ${t.host('client').mac} PERMANENT`,
        `10.0.1.10 lladdr ${lb} PERMANENT`,
      ]);
      expect(await neigh(t.dut, 'lb')).to.have.length(3);
      expect(await ipIn(h2.netns, 'route', 'show', '10.0.1.0/24')).to.include('via 10.0.0.10');
      expect(() => t.host('h9')).to.throw(XdpspecError, 'hosts: h2, h3, client');
      // The egress lab: both DUT ends are ports of one bridge; its hosts know each other.
      expect(await ipIn(e.dut, '-br', 'link', 'show', 'master', 'br0')).to.match(/app[\s\S]*uplink/);
      expect((await ipIn(e.port('app').testerNetns, 'neigh', 'show', 'dev', 'app')).trim()).to.equal(
        `10.0.0.3 lladdr ${e.port('uplink').testerMac} PERMANENT`,
      );
    } finally {
      t.close();
      e.close();
    }
    expect(namespaces()).to.not.include.members([...t.namespaces, ...e.namespaces]);
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
    const [a, b] = await Promise.all([
      Topology.create({ ports: [{ name: 'wan' }] }),
      Topology.create({ ports: [{ name: 'wan' }] }),
    ]);
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
    const before = mine().length;
    const bad = [
      [{ ports: [] }, 'a topology needs at least one port'],
      [{ ports: [{ name: 'a-name-much-too-long' }] }, 'is not a usable interface name'],
      [{ ports: [{ name: 'wan' }, { name: 'wan' }] }, 'port wan is given twice'],
      [
        { ports: [{ name: 'wan', dutAddresses: ['10.0.0.1'] }] },
        'is not an address with a prefix length, e.g. 10.0.0.1/24',
      ],
      [{ ports: [{ name: 'wan', mtu: 20 }] }, 'MTU 20 is outside 68-65535'],
      [{ ports: [{ name: 'lb', testerBridge: 'br0', separateHost: true }] }, 'drop separateHost or testerBridge'],
      [
        { ports: [{ name: 'lb', testerBridge: 'br0' }], hosts: [{ name: 'lb', bridge: 'br0' }] },
        'lb names two ports or hosts',
      ],
      [
        { ports: [{ name: 'lb', testerBridge: 'h2' }], hosts: [{ name: 'h2', bridge: 'h2' }] },
        'h2 names both a bridge and a port or host',
      ],
      [
        { ports: [{ name: 'lb' }], hosts: [{ name: 'h2', bridge: 'br0', addresses: ['10.0.0.2'] }] },
        'host h2: "10.0.0.2" is not an address with a prefix length',
      ],
    ] as const;
    for (const [spec, msg] of bad) {
      const err = await Topology.create(spec as never).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(XdpspecError);
      expect(String(err)).to.include(msg);
    }
    expect(mine().length).to.equal(before);
  });

  it('removes what it made when ip fails half-way', async () => {
    const before = mine();
    const err = await Topology.create({ ports: [{ name: 'wan', dutRoutes: ['10.9.0.0/16 via 10.99.0.1'] }] }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).to.match(/ip -n xdpspec-\d+-\d+-dut -batch - failed/);
    expect(mine()).to.deep.equal(before);
  });

  it('reports an ip that exits before reading its commands as a failure, not an uncaught EPIPE', async () => {
    // An ip on PATH that leaves at once, with more commands than a pipe holds waiting for it.
    const t = tempDir();
    const path = process.env.PATH;
    writeFileSync(t.path('ip'), '#!/bin/sh\necho "ip: quits at once" >&2\nexit 1\n', { mode: 0o755 });
    process.env.PATH = `${t.dir}:${path}`;
    try {
      const ports = Array.from({ length: 400 }, (_, i) => ({
        name: `p${i}`,
        dutAddresses: [`10.${i >> 8}.${i & 255}.1/30`],
      }));
      const err = await Topology.create({ ports }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(XdpspecError);
      expect(String(err)).to.match(/ip -batch - failed: ip: quits at once/);
    } finally {
      process.env.PATH = path;
      t.cleanup();
    }
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
      expectSwept(sweepLeftovers(), ns);
      expect(namespaces()).to.not.include.members(ns);
      expect(namespaces()).to.include.members([live.dut, live.tester]);
    } finally {
      live.close();
    }
  });

  it('sweeps the leftovers of a killed run whose process is a zombie, which kill(pid, 0) calls alive', async () => {
    // The run's parent is a shell that exec'd sleep: it never reaps, so the killed run stays a zombie.
    const holder = execa('sh', ['-c', 'node --import tsx/esm specs/support/topology-child.ts wait & exec sleep 600'], {
      reject: false,
    });
    try {
      const ns = await new Promise<string[]>((resolve, reject) => {
        holder.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as string[]));
        void holder.then((r) => reject(new Error(`the child ended first: ${String(r.stderr)}`)));
      });
      const pid = Number(/^xdpspec-(\d+)-/.exec(ns[0]!)![1]);
      process.kill(pid, 'SIGKILL');
      await until(
        () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'),
        `process ${pid} becoming a zombie`,
      );
      expect(() => process.kill(pid, 0)).not.to.throw(); // what the sweep used to ask
      expectSwept(sweepLeftovers(), ns);
      expect(namespaces()).to.not.include.members(ns);
    } finally {
      holder.kill('SIGKILL');
      await holder;
    }
  });
});
