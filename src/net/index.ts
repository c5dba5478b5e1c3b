export { Topology, type Port, type PortSpec, type TopologySpec } from './topology.js';
export { sweepLeftovers, ownedNamespaces, releaseAll } from './registry.js';
