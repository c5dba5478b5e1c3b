// The public API of xdpspec: re-exports only.
export * from './sys/errors.js';
export * from './pcap/index.js';
export * from './packet/index.js';
export * from './bpf/index.js';
export * from './harness/index.js';
export * from './net/index.js';
export { xdpspecChai, expect } from './assert/chai.js';
