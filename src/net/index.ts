export { Topology, type Host, type HostSpec, type Port, type PortSpec, type TopologySpec } from './topology.js';
export { sweepLeftovers, sweepAndSay, ownedNamespaces, releaseAll } from './registry.js';
export { PacketSocket, type CaptureStats, type PacketSocketOptions } from './packet-socket.js';
export type { RingVisit } from './capture-ring.js';
export { until } from './wait.js';
export { DriverStats } from './ethtool.js';
export { egressLab, loadBalancerLab, type EgressLabOptions, type LoadBalancerLabOptions } from './labs.js';
