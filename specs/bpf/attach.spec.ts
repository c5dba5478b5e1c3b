import { expect } from 'chai';
import { execa } from 'execa';
import {
  BpfError,
  XdpspecError,
  attachTc,
  attachXdp,
  loadObject,
  skipIfNotSupported,
  type LoadedObject,
} from '../../src/index.js';
import { startChild } from '../support/children.js';
import { OBJ, needsBpf } from '../support/kernel.js';

// A namespace and veth pair of this spec's own, named after the process so parallel runs never
// collide, removed afterwards whatever happened.
const ns = `xdpspec-attach-${process.pid}`;
const ip = (...a: string[]) => execa('ip', a);

describe('attaching programs', () => {
  needsBpf();
  let xdp: LoadedObject;
  let tc: LoadedObject;
  before(async () => {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'add', 'dut0', 'type', 'veth', 'peer', 'name', 'tst0');
    await ip('-n', ns, 'link', 'set', 'dut0', 'up');
    await ip('-n', ns, 'link', 'set', 'tst0', 'up');
    xdp = loadObject(OBJ.ipv6Filter);
    tc = loadObject(OBJ.tcTtl);
  });
  after(async () => {
    xdp?.close();
    tc?.close();
    await execa('ip', ['netns', 'del', ns], { reject: false });
  });

  const linkInfo = async () => (await ip('-n', ns, '-d', 'link', 'show', 'dut0')).stdout;

  for (const [mode, word] of [
    ['native', /\bxdp\b/],
    ['generic', /\bxdpgeneric\b/],
  ] as const) {
    it(`attaches XDP in ${mode} mode inside a namespace, and detaches`, async () => {
      const a = attachXdp(xdp.program(), { interface: 'dut0', netns: ns }, mode);
      expect(await linkInfo()).to.match(word);
      expect(a.description).to.equal(`xdp xdp_ipv6_only on dut0 (netns ${ns}) (${mode}), by BPF link`);
      expect(a.mechanism).to.equal('link');
      a.detach();
      a.detach(); // a second detach does nothing
      expect(await linkInfo()).to.not.match(/prog\/xdp/);
    });
  }

  it('refuses to replace an XDP program already attached, saying so', () => {
    const a = attachXdp(xdp.program(), { interface: 'dut0', netns: ns }, 'native');
    try {
      expect(() => attachXdp(xdp.program(), { interface: 'dut0', netns: ns }, 'native')).to.throw(
        BpfError,
        /an XDP program is already attached there/,
      );
    } finally {
      a.detach();
    }
  });

  it('attaches XDP through netlink when asked, as on kernels without XDP links', async () => {
    const a = attachXdp(xdp.program(), { interface: 'dut0', netns: ns }, 'native', 'netlink');
    expect([a.mechanism, a.description]).to.deep.equal([
      'netlink',
      `xdp xdp_ipv6_only on dut0 (netns ${ns}) (native), by netlink`,
    ]);
    expect(await linkInfo()).to.match(/prog\/xdp/);
    a.detach();
    expect(await linkInfo()).to.not.match(/prog\/xdp/);
  });

  it('attaches TC through a tcx link when asked, gone once detached', async function () {
    // tcx came with 6.6: an older kernel (the kernel matrix's 6.1) skips, saying so.
    const a = await skipIfNotSupported(this, () =>
      attachTc(tc.program(), { interface: 'dut0', netns: ns }, 'egress', 'link'),
    );
    const links = async () =>
      JSON.parse((await execa('bpftool', ['link', 'show', '-j'])).stdout) as {
        type: number | string;
        prog_id: number;
      }[];
    const id = tc.program().id;
    expect(a.mechanism).to.equal('link');
    expect((await links()).filter((l) => l.prog_id === id)).to.have.length(1);
    expect((await execa('tc', ['-n', ns, 'qdisc', 'show', 'dev', 'dut0'])).stdout).to.not.match(/clsact/); // tcx needs no qdisc
    a.detach();
    expect((await links()).filter((l) => l.prog_id === id)).to.deep.equal([]);
  });

  it('attaches TC programs on ingress and egress, and removes the clsact qdisc it made', async () => {
    const i = attachTc(tc.program(), { interface: 'dut0', netns: ns }, 'ingress');
    const e = attachTc(tc.program(), { interface: 'dut0', netns: ns }, 'egress');
    expect([i.mechanism, e.mechanism]).to.deep.equal(['tc-filter', 'tc-filter']); // the default, with cls_bpf's semantics
    expect((await ip('-n', ns, 'link', 'show', 'dut0')).stdout).to.be.a('string');
    expect((await execa('tc', ['-n', ns, 'filter', 'show', 'dev', 'dut0', 'ingress'])).stdout).to.match(/tc_ttl/);
    expect((await execa('tc', ['-n', ns, 'filter', 'show', 'dev', 'dut0', 'egress'])).stdout).to.match(/tc_ttl/);
    i.detach();
    expect((await execa('tc', ['-n', ns, 'filter', 'show', 'dev', 'dut0', 'ingress'])).stdout).to.not.match(/tc_ttl/);
    e.detach();
    expect((await execa('tc', ['-n', ns, 'qdisc', 'show', 'dev', 'dut0'])).stdout).to.not.match(/clsact/);
  });

  it('detaches what a program is attached to when its object is closed', async () => {
    const own = loadObject(OBJ.ipv6Filter);
    attachXdp(own.program(), { interface: 'dut0', netns: ns }, 'native');
    expect(await linkInfo()).to.match(/prog\/xdp/);
    own.close();
    expect(await linkInfo()).to.not.match(/prog\/xdp/);
  });

  it('leaves no XDP program attached after its process is SIGKILLed, when attached by link (netlink: it stays)', async () => {
    const left: Record<string, boolean> = {};
    for (const via of ['link', 'netlink']) {
      const { proc, names } = startChild('attach-child.ts', ns, via);
      await names;
      expect(await linkInfo(), via).to.match(/prog\/xdp/);
      proc.kill('SIGKILL');
      await proc;
      // No sweep ran: the namespace is the spec's, and still there.
      left[via] = /prog\/xdp/.test(await linkInfo());
      if (left[via]) await ip('-n', ns, 'link', 'set', 'dut0', 'xdp', 'off');
    }
    expect(left).to.deep.equal({ link: false, netlink: true });
  });

  it('leaves no TC program attached after its process is SIGKILLed, when attached by tcx link (a clsact filter stays)', async () => {
    // bpftool 7.1 names no tcx link in `net show`; its link list does, with the program's id.
    const tcxLinks = async () =>
      (JSON.parse((await execa('bpftool', ['-j', 'link', 'show'])).stdout) as { prog_id?: number }[]).map(
        (l) => l.prog_id,
      );
    const filters = async () => (await execa('tc', ['-n', ns, 'filter', 'show', 'dev', 'dut0', 'egress'])).stdout;
    const left: Record<string, boolean> = {};
    for (const via of ['link', 'netlink']) {
      const { proc, names } = startChild('attach-child.ts', ns, via, 'tc');
      const id = Number((await names)[1]);
      const attached = async () => (via === 'link' ? (await tcxLinks()).includes(id) : /tc_ttl/.test(await filters()));
      expect(await attached(), via).to.equal(true);
      proc.kill('SIGKILL');
      await proc;
      left[via] = await attached();
      if (left[via]) await execa('tc', ['-n', ns, 'qdisc', 'del', 'dev', 'dut0', 'clsact']);
    }
    expect(left).to.deep.equal({ link: false, netlink: true });
  });

  it('names what is wrong: a missing namespace or interface, a program of the wrong type', () => {
    expect(() => attachXdp(xdp.program(), { interface: 'dut0', netns: 'no-such-ns' })).to.throw(
      BpfError,
      'no namespace called no-such-ns',
    );
    expect(() => attachXdp(xdp.program(), { interface: 'nope0', netns: ns })).to.throw(
      XdpspecError,
      `no interface nope0 in namespace ${ns}`,
    );
    expect(() => attachTc(xdp.program(), { interface: 'dut0', netns: ns }, 'ingress')).to.throw(
      XdpspecError,
      'xdp_ipv6_only is a xdp program, not sched_cls',
    );
  });
});
