// A child process for the live cleanup spec: starts a long live replay and prints its bench's
// namespaces as one JSON line once frames are flowing; the parent then interrupts it.
import { LiveBench, frame, loadObject } from '../../src/index.js';

const bench = await LiveBench.create({ ports: [{ name: 'wan' }, { name: 'lan' }] });
const obj = loadObject('bpf/build/xdp_ipv6_filter.bpf.o');
bench.attach(obj.program(), 'wan');
const frames = Array.from({ length: 20_000 }, (_, i) =>
  frame
    .eth({ dst: bench.topology.port('wan').dutMac })
    .ipv6({ flow: i & 0xfffff })
    .udp()
    .build(),
);
let told = false;
await bench.replay(frames, {
  on: 'wan',
  onProgress: (done) => {
    if (done > 0 && !told) {
      told = true;
      process.stdout.write(JSON.stringify([bench.topology.dut, bench.topology.tester]) + '\n');
    }
  },
});
