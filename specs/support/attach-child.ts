// A child for the attachment spec: attaches a program to dut0 of namespace argv[2] (made by the
// parent, so it outlives this process) by argv[3] ('link' or 'netlink'): the IPv6 filter as XDP,
// or with argv[4] 'tc' the TTL classifier on TC egress. It says so on one line with the
// program's kernel id, then waits to be killed.
import { attachTc, attachXdp, loadObject } from '../../src/index.js';

const via = process.argv[3] as 'link' | 'netlink';
const target = { interface: 'dut0', netns: process.argv[2]! };
const tc = process.argv[4] === 'tc';
const obj = loadObject(tc ? 'specs/bpf/build/tc_ttl.bpf.o' : 'bpf/build/xdp_ipv6_filter.bpf.o');
if (tc) attachTc(obj.program(), target, 'egress', via);
else attachXdp(obj.program(), target, 'native', via);
process.stdout.write(`${JSON.stringify(['attached', obj.program().id])}\n`);
setInterval(() => undefined, 1 << 30);
