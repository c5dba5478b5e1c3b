// A child process for the cleanup specs: creates a topology, prints its namespaces as one JSON
// line, then either throws (argv[2] === 'throw') or waits to be killed.
import { Topology } from '../../src/index.js';

const t = await Topology.create({ ports: [{ name: 'wan' }, { name: 'lan' }] });
process.stdout.write(JSON.stringify([t.dut, t.tester]) + '\n');
if (process.argv[2] === 'throw') throw new Error('a spec failed badly');
// Keep the event loop alive until a signal arrives; the parent acts on the line above.
setInterval(() => undefined, 1 << 30);
