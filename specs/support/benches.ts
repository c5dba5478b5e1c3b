// The live bench most engine specs share: two ports, wan and lan, made once for the describe,
// and the objects its cases load (`load(path, globals)`), closed when the describe ends.
import { bpfObjects, fixtures, liveBench } from '../../src/index.js';

export const twoPortBench = () =>
  fixtures()
    .suite('bench', liveBench({ ports: [{ name: 'wan' }, { name: 'lan' }] }))
    .suite('load', bpfObjects());

/**
 * The redirect article's two subnets (10.0.1.0/24 on veth1, 10.0.2.0/24 on veth2), each tester
 * end a host of its own with a route to the other through the DUT; `forwarding` makes the DUT a
 * router, so that bpf_fib_lookup answers there.
 */
export const routedPorts = (forwarding = false) =>
  liveBench({
    ...(forwarding ? { forwarding: true } : {}),
    ports: [
      {
        name: 'veth1',
        dutAddresses: ['10.0.1.11/24'],
        testerAddresses: ['10.0.1.10/24'],
        testerRoutes: ['10.0.2.0/24 via 10.0.1.11'],
        separateHost: true,
      },
      {
        name: 'veth2',
        dutAddresses: ['10.0.2.10/24'],
        testerAddresses: ['10.0.2.11/24'],
        testerRoutes: ['10.0.1.0/24 via 10.0.2.10'],
        separateHost: true,
      },
    ],
  });
