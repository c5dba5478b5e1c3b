// Run by the kernel matrix's spec on each kernel (not by the suite: it is not a *.spec.ts):
// a program whose verdict for IPv4 depends on the running kernel, through both engines.
import { release } from 'node:os';
import {
  attachTc,
  bench,
  bpfObject,
  expect,
  fixtures,
  frame,
  loadObject,
  runUnit,
  skipIfNotSupported,
} from '../../../src/index.js';

const OBJ = 'specs/bpf/build/by_kernel.bpf.o';
const TC = 'specs/bpf/build/tc_ttl.bpf.o';
const ipv4 = frame.eth().ipv4().udp({ dport: 53 });
const ipv6 = frame.eth().ipv6().udp({ dport: 53 });
const [major, minor] = release().split('.').map(Number) as [number, number];
const old = major < 6 || (major === 6 && minor < 6);

describe('by_kernel', () => {
  const fx = fixtures().suite('obj', bpfObject(OBJ));
  fx.it('drops IPv4 before 6.6 and passes it after; IPv6 passes everywhere (unit)', async ({ obj }) => {
    const run = await runUnit(obj.program(), [ipv4, ipv6]);
    expect(run.frames.map((f) => f.verdict)).to.deep.equal([old ? 'dropped' : 'passed', 'passed']);
  });

  const b = bench({ object: OBJ, program: 'by_kernel', ports: ['wan'] });

  // A feature probed where the case runs: tcx links came with 6.6, so 6.1 skips, with the reason.
  it('attaches a TC program by tcx link (6.6+)', async function () {
    const tc = loadObject(TC);
    try {
      const a = await skipIfNotSupported(this, () =>
        attachTc(tc.program(), { interface: 'wan', netns: b.live.bench.topology.dut }, 'ingress', 'link'),
      );
      expect(a.mechanism).to.equal('link');
      a.detach();
    } finally {
      tc.close();
    }
  });
  it('the same through a live replay', async () => {
    const run = await b.live.replay([ipv4, ipv6], { on: 'wan' });
    expect(run.frames.map((f) => f.verdict)).to.deep.equal([old ? 'dropped' : 'passed', 'passed']);
  });
});
