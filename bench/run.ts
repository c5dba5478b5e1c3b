// npm run bench: every benchmark runs xdpspec and its named baseline in the same run and
// prints the ratio; absolute numbers on a shared machine mean little. Not a test: nothing
// here asserts a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBench } from './pcap-decode.js';
import { testRunBench } from './test-run.js';
import { topologyBench } from './topology.js';
import { liveCaseBench } from './live-case.js';
import { streamingBench } from './streaming.js';
import { egressBench } from './egress.js';
import { mapsBench } from './maps.js';
import { mapStateBench } from './map-state.js';
import { redirectsBench } from './redirects.js';
import { coverageBench } from './coverage.js';
import { fuzzBench } from './fuzz.js';
import { kernelsBench } from './kernels.js';
import type { Bench } from './report.js';

const benches: Bench[] = [
  testRunBench,
  mapsBench,
  mapStateBench,
  redirectsBench,
  coverageBench,
  fuzzBench,
  topologyBench,
  liveCaseBench,
  streamingBench,
  decodeBench,
  egressBench,
  kernelsBench,
];
const only = process.argv[2];
const tmp = mkdtempSync(join(tmpdir(), 'xdpspec-bench-'));
try {
  for (const b of benches) {
    if (only && !b.name.includes(only)) continue;
    console.log(`\n== ${b.name}`);
    for (const line of await b.run(tmp)) console.log(line);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
