// A child for the attachment spec: attaches the IPv6 filter to dut0 of namespace argv[2] (made
// by the parent, so it outlives this process) by argv[3] ('link' or 'netlink'), says so on one
// line, then waits to be killed.
import { attachXdp, loadObject } from '../../src/index.js';

const obj = loadObject('bpf/build/xdp_ipv6_filter.bpf.o');
attachXdp(obj.program(), { interface: 'dut0', netns: process.argv[2]! }, 'native', process.argv[3] as 'link' | 'netlink');
process.stdout.write('["attached"]\n');
setInterval(() => undefined, 1 << 30);
