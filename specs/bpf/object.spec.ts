import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import {
  NotFoundError,
  OpenedObject,
  PrivilegeError,
  VerifierError,
  XdpspecError,
  frame,
  loadObject,
  runUnit,
  type ProgramTypes,
} from '../../src/index.js';
import { requirePrivileges } from '../../src/bpf/index.js';
import { thrown } from '../support/thrown.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

describe('BPF objects', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  it('lists programs and maps before load, with sections and types', () => {
    const o = OpenedObject.open(OBJ.maps);
    try {
      expect(o.programs).to.deep.equal([{ name: 'xdp_count', section: 'xdp', type: 'xdp' }]);
      expect(o.maps.map((m) => [m.name, m.type])).to.deep.include.members([
        ['flows', 'hash'],
        ['counters', 'array'],
        ['totals', 'percpu_array'],
        ['per_proto', 'percpu_hash'],
        ['recent', 'lru_hash'],
        ['prefixes', 'lpm_trie'],
        ['ports', 'devmap'],
        ['jumps', 'prog_array'],
      ]);
      expect(o.maps.find((m) => m.name === 'flows')).to.include({ keySize: 16, valueSize: 16, maxEntries: 64 });
      expect(o.globals).to.have.members(['drop_action', 'blocked_ip', 'watched', 'seen', 'banner']);
    } finally {
      o.close();
    }
  });

  it("loads a CO-RE program built against the vmlinux.h the build made from this kernel's BTF", async () => {
    // bpf/rules.mk made specs/bpf/build/vmlinux.h, as it does in a user's project (no vmlinux.h beside the source).
    const o = loadObject('specs/bpf/build/core_vmlinux.bpf.o');
    try {
      const run = await runUnit(o.program(), [frame.eth().ipv6().udp(), frame.eth().ipv4().udp()]);
      expect(run.frames.map((f) => f.verdict)).to.deep.equal(['passed', 'dropped']);
    } finally {
      o.close();
    }
  });

  it('types the programs of an object that mixes XDP and TC in legacy sections one by one', async () => {
    const path = 'specs/bpf/build/legacy_mixed.bpf.o';
    const err = thrown(() => loadObject(path));
    expect(err.code).to.equal('PROGRAM_TYPE_UNKNOWN');
    expect(err.message).to.include("one per program, programType: { xdp_mixed: 'xdp', tc_mixed: 'tc' }");
    // One type for all cannot load it: the TC program's store to skb->mark is no XDP access.
    expect(() => loadObject(path, {}, { programType: 'xdp' })).to.throw(VerifierError);
    const each: ProgramTypes[] = [
      { xdp_mixed: 'xdp', tc_mixed: 'tc' },
      { tc_mixed: 'tc', '*': 'xdp' },
    ];
    for (const programType of each) {
      const o = loadObject(path, {}, { programType });
      try {
        expect(o.programs.map((p) => [p.name, p.type])).to.deep.equal([
          ['xdp_mixed', 'xdp'],
          ['tc_mixed', 'sched_cls'],
        ]);
        const v4 = frame.eth().ipv4().udp();
        const v6 = frame.eth().ipv6().udp();
        const verdicts = async (name: string) =>
          (await runUnit(o.program(name), [v4, v6])).frames.map((f) => f.verdict);
        expect(await verdicts('xdp_mixed')).to.deep.equal(['dropped', 'passed']);
        expect(await verdicts('tc_mixed')).to.deep.equal(['passed', 'passed']);
      } finally {
        o.close();
      }
    }
    expect(() => loadObject(path, {}, { programType: { nosuch: 'tc', '*': 'xdp' } })).to.throw(NotFoundError);
  });

  it('sets .rodata globals before load from plain values, and reads and writes .data/.bss after', () => {
    const l = loadObject(OBJ.maps, {
      blocked_ip: '10.0.0.99',
      drop_action: 3,
      watched: { saddr: '1.2.3.4', dport: 80 },
    });
    try {
      expect(l.global('blocked_ip')).to.equal('10.0.0.99');
      expect(l.global('watched')).to.deep.include({ saddr: '1.2.3.4', dport: 80, sport: 0 });
      expect(l.global('banner')).to.equal('xdpspec');
      const p = l.program();
      expect(p.testRun(frame.eth().ipv4({ src: '10.0.0.99' }).udp().build()).action).to.equal('XDP_TX'); // drop_action 3
      expect(p.testRun(frame.eth().ipv4({ src: '10.0.0.98' }).udp().build()).action).to.equal('XDP_PASS');
      expect(l.global('seen')).to.equal(2);
      l.setGlobal('seen', 40);
      p.testRun(frame.eth().ipv6().build());
      expect(l.global('seen')).to.equal(41);
      expect(() => l.setGlobal('blocked_ip', '1.1.1.1')).to.throw(
        XdpspecError,
        'global blocked_ip is read-only after load',
      );
    } finally {
      l.close();
    }
  });

  it("reports each program's verifier work and sizes, larger for a larger program", () => {
    const small = loadObject(OBJ.ipv6Filter);
    const large = loadObject(OBJ.router);
    try {
      const a = small.program().stats();
      const b = large.program('xdp_router_lan').stats();
      for (const st of [a, b]) {
        expect(st.verifiedInstructions).to.be.a('number').and.greaterThan(0);
        expect(st.xlatedBytes % 8, 'whole instructions').to.equal(0);
        expect(st.jitedBytes).to.be.greaterThan(0);
      }
      expect(b.verifiedInstructions!).to.be.greaterThan(a.verifiedInstructions!);
      expect(b.xlatedBytes).to.be.greaterThan(a.xlatedBytes);
    } finally {
      small.close();
      large.close();
    }
  });

  it('names what exists when a program, map or global does not', () => {
    const l = loadObject(OBJ.maps);
    try {
      expect(() => l.program('xdp_nope')).to.throw(
        NotFoundError,
        'program "xdp_nope" does not exist in specs/bpf/build/maps.bpf.o; programs there: xdp_count',
      );
      expect(() => l.map('flow')).to.throw(NotFoundError, /map "flow" does not exist .*; maps there: .*flows/);
      expect(() => l.global('seenn')).to.throw(
        NotFoundError,
        /global "seenn" does not exist .*; globals there: drop_action, blocked_ip, watched, banner, seen/,
      );
    } finally {
      l.close();
    }
    const o = OpenedObject.open(OBJ.maps);
    expect(() => o.setGlobal('nope', 1)).to.throw(NotFoundError);
    o.close();
  });

  it('refuses a value of the wrong shape for a global, showing the layout', () => {
    const o = OpenedObject.open(OBJ.maps);
    try {
      expect(() => o.setGlobal('watched', { saddr: '1.2.3.4', nope: 1 })).to.throw(
        XdpspecError,
        /global watched: struct flow_key has no member "nope" \(members: saddr, daddr, sport, dport, proto, pad\); expected struct flow_key \{\n {2}saddr: __be32 \(4 bytes\)/,
      );
      expect(() => o.setGlobal('drop_action', -1)).to.throw(
        XdpspecError,
        'global drop_action: -1 does not fit in __u32',
      );
    } finally {
      o.close();
    }
  });

  it('throws VerifierError with the log, the failing instruction and the reason', () => {
    const err = thrown(() => loadObject(OBJ.rejected)) as VerifierError;
    expect(err).to.be.instanceOf(VerifierError);
    expect(err.program).to.equal('xdp_unchecked');
    expect(err.code).to.equal('BPF_VERIFIER');
    expect(err.message).to.match(
      /^load specs\/bpf\/build\/rejected\.bpf\.o: the verifier rejected program xdp_unchecked: R1 offset is outside of the packet\n/,
    );
    expect(err.message).to.include('invalid access to packet, off=12 size=1');
    expect(err.log).to.include('processed 2 insns');
  });

  it('says what is wrong with a file that is missing or not an object', () => {
    expect(() => OpenedObject.open('bpf/build/missing.bpf.o')).to.throw(
      XdpspecError,
      'BPF object bpf/build/missing.bpf.o does not exist; build it first (make -C bpf)',
    );
    const notElf = t.path('x.o');
    writeFileSync(notElf, 'int main() {}');
    expect(() => OpenedObject.open(notElf)).to.throw(
      XdpspecError,
      `${notElf} is not an ELF object file; compile the program with clang`,
    );
  });

  it('names the missing capabilities for an unprivileged process', () => {
    expect(() => requirePrivileges('loading x.o', new Set())).to.throw(
      PrivilegeError,
      'loading x.o needs CAP_BPF (or CAP_SYS_ADMIN), CAP_NET_ADMIN, which this process lacks: run xdpspec as root',
    );
    expect(() => requirePrivileges('loading x.o', new Set(['CAP_BPF']))).to.throw(
      PrivilegeError,
      'needs CAP_NET_ADMIN,',
    );
    expect(() => requirePrivileges('x', new Set(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']))).to.not.throw();
  });
});
