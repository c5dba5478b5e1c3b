// A child for the pinning spec: loads an object that pins a map, prints its private bpffs as one
// JSON line, then waits to be killed.
import { readdirSync } from 'node:fs';
import { loadObject } from '../../src/index.js';

loadObject('specs/bpf/build/pinned.bpf.o');
process.stdout.write(
  JSON.stringify(
    readdirSync('/run/xdpspec')
      .filter((n) => n === `bpffs-${process.pid}`)
      .map((n) => `/run/xdpspec/${n}`),
  ) + '\n',
);
setInterval(() => undefined, 1 << 30);
