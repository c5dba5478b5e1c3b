import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { XdpspecError } from '../errors.js';
import { ffi } from '../bpf/ffi.js';
import { inNetns } from '../bpf/netns.js';
import { linksUp } from './link.js';
import { namespaceName } from './names.js';
import { register, release } from './registry.js';

/** One port: a veth pair with its DUT end in the DUT namespace and its tester end in the tester's. */
export interface PortSpec {
  /** The interface name on both sides (each lives in its own namespace), e.g. `wan`. At most 15 characters. */
  readonly name: string;
  readonly dutMac?: string;
  readonly testerMac?: string;
  /** Address with prefix length on the DUT end, e.g. `10.0.0.1/24` or `fd00::1/64`; any number. */
  readonly dutAddresses?: readonly string[];
  readonly testerAddresses?: readonly string[];
  readonly mtu?: number;
  /** Routes on the DUT side through this port, as `ip route` takes them: `default via 10.0.0.2`. */
  readonly dutRoutes?: readonly string[];
  readonly testerRoutes?: readonly string[];
  /**
   * Keep IPv6 on for this port (with no address autoconfiguration or DAD, so nothing is sent
   * unasked). Default off: a capture then sees only what the bench sent.
   */
  readonly ipv6?: boolean;
  /**
   * Put the tester end in a namespace of its own (a separate host) instead of the one all
   * tester ends share. Needed when real sockets on two ports' hosts must talk to each other
   * through the DUT: in one namespace the kernel would deliver between them locally.
   */
  readonly separateHost?: boolean;
}

export interface TopologySpec {
  readonly ports: readonly PortSpec[];
  /**
   * Make the DUT a router: IPv4 (and IPv6) forwarding on in its namespace. Programs that call
   * bpf_fib_lookup need it, since the kernel answers "forwarding disabled" otherwise.
   */
  readonly forwarding?: boolean;
}

/** A port as created. */
export interface Port {
  readonly name: string;
  readonly dutIfindex: number;
  readonly testerIfindex: number;
  readonly dutMac: string;
  readonly testerMac: string;
  /** The namespace of the tester end: the shared tester namespace, or its own (`separateHost`). */
  readonly testerNetns: string;
}

let macSeq = 0;
/** Locally administered, unicast, and distinct per process and port. */
function mac(side: number): string {
  const n = (process.pid & 0xffff) * 256 + (macSeq++ & 0xff);
  const b = [0x02, side, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function check(spec: TopologySpec): void {
  const seen = new Set<string>();
  if (spec.ports.length === 0) throw new XdpspecError('TOPOLOGY', 'a topology needs at least one port');
  for (const p of spec.ports) {
    if (!/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/.test(p.name) || p.name === 'lo') throw new XdpspecError('TOPOLOGY', `port name ${JSON.stringify(p.name)} is not a usable interface name: 1-15 letters, digits, _ . -, starting with a letter, not lo`);
    if (seen.has(p.name)) throw new XdpspecError('TOPOLOGY', `port ${p.name} is given twice`);
    seen.add(p.name);
    for (const a of [...(p.dutAddresses ?? []), ...(p.testerAddresses ?? [])]) {
      try {
        ipaddr.parseCIDR(a);
      } catch {
        throw new XdpspecError('TOPOLOGY', `port ${p.name}: ${JSON.stringify(a)} is not an address with a prefix length, e.g. 10.0.0.1/24`);
      }
    }
    if (p.mtu !== undefined && (!Number.isInteger(p.mtu) || p.mtu < 68 || p.mtu > 65535)) throw new XdpspecError('TOPOLOGY', `port ${p.name}: MTU ${p.mtu} is outside 68-65535`);
  }
}

/** One `ip -batch` process (spawned directly: a wrapper's start-up shows in bench set-up time). */
function ipBatch(netns: string | undefined, lines: string[]): Promise<void> {
  if (lines.length === 0) return Promise.resolve();
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  return new Promise((resolve, reject) => {
    const p = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', (e) => reject(new XdpspecError('TOPOLOGY', `cannot run ip: ${e.message} (install iproute2)`)));
    p.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new XdpspecError('TOPOLOGY', `ip ${args.join(' ')} failed: ${stderr.trim()}\n  commands:\n${lines.map((l) => `    ${l}`).join('\n')}`));
    });
    p.stdin.end(lines.join('\n') + '\n');
  });
}

/** Writes a sysctl of the namespace `netns` (procfs shows the writing thread's namespace). */
function sysctl(netns: string, key: string, value: string): void {
  inNetns(netns, () => writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value));
}

/**
 * Two network namespaces, DUT and tester, joined by one veth pair per port. Created with one
 * `ip -batch` process (one more per namespace with addresses or routes); everything is registered for removal the moment it exists,
 * and `close()` (or the process exiting, or a signal) removes it.
 */
export class Topology {
  private closed = false;
  private constructor(
    readonly dut: string,
    readonly tester: string,
    readonly ports: ReadonlyMap<string, Port>,
    /** Every namespace made: DUT, tester, and the separate hosts. */
    readonly namespaces: readonly string[],
  ) {}

  /** @throws XdpspecError `TOPOLOGY` naming what is wrong with the spec or which `ip` command failed. */
  static async create(spec: TopologySpec): Promise<Topology> {
    check(spec);
    const dut = namespaceName('dut');
    const tester = namespaceName('tst');
    const all = [dut, tester];
    register(dut);
    register(tester);
    try {
      const ports = spec.ports.map((p) => {
        const ns = p.separateHost ? namespaceName('h') : tester;
        if (ns !== tester) (register(ns), all.push(ns));
        return { spec: p, dutMac: p.dutMac ?? mac(0xd0), testerMac: p.testerMac ?? mac(0x7e), ns };
      });
      await ipBatch(undefined, [
        ...all.map((ns) => `netns add ${ns}`),
        ...ports.map(({ spec: p, dutMac, testerMac, ns }) => {
          const mtu = p.mtu ? ` mtu ${p.mtu}` : '';
          return `link add ${p.name} netns ${dut} address ${dutMac}${mtu} type veth peer name ${p.name} netns ${ns} address ${testerMac}${mtu}`;
        }),
      ]);
      // Links are created down: switch IPv6 off (or its autoconfiguration and DAD) before
      // they come up, so they never send router or neighbour solicitations of their own.
      const portsIn = (ns: string) => (ns === dut ? ports : ports.filter((p) => p.ns === ns));
      for (const ns of all) {
        sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', '1');
        for (const { spec: p } of portsIn(ns)) {
          if (p.ipv6) {
            sysctl(ns, `net.ipv6.conf.${p.name}.addr_gen_mode`, '1');
            sysctl(ns, `net.ipv6.conf.${p.name}.accept_dad`, '0');
            sysctl(ns, `net.ipv6.conf.${p.name}.accept_ra`, '0');
            sysctl(ns, `net.ipv6.conf.${p.name}.router_solicitations`, '0');
          } else sysctl(ns, `net.ipv6.conf.${p.name}.disable_ipv6`, '1');
        }
      }
      if (spec.forwarding) {
        sysctl(dut, 'net.ipv4.conf.all.forwarding', '1');
        if (ports.some((p) => p.spec.ipv6)) sysctl(dut, 'net.ipv6.conf.all.forwarding', '1');
      }
      for (const ns of all) linksUp(ns, ['lo', ...portsIn(ns).map(({ spec: p }) => p.name)]);
      // Addresses and routes (after the links are up, as routes need) take an ip process per
      // namespace that has any.
      // Static neighbours both ways: ARP or neighbour discovery would put frames on the wire
      // that no one injected, and they would run through the program under test.
      const host = (cidr: string) => cidr.slice(0, cidr.indexOf('/'));
      const side = (which: 'dut' | 'tester', ns: string) =>
        portsIn(ns).flatMap(({ spec: p, dutMac, testerMac }) => [
          ...((which === 'dut' ? p.dutAddresses : p.testerAddresses) ?? []).map((a) => `address add ${a} dev ${p.name}${a.includes(':') ? ' nodad' : ''}`),
          ...((which === 'dut' ? p.testerAddresses : p.dutAddresses) ?? []).map((a) => `neigh replace ${host(a)} lladdr ${which === 'dut' ? testerMac : dutMac} dev ${p.name} nud permanent`),
          ...((which === 'dut' ? p.dutRoutes : p.testerRoutes) ?? []).map((r) => `route add ${r} dev ${p.name}`),
        ]);
      await Promise.all(all.map((ns) => ipBatch(ns, side(ns === dut ? 'dut' : 'tester', ns))));
      const ifindex = (ns: string, name: string) => inNetns(ns, () => ffi().if_nametoindex(name));
      const created = new Map(
        ports.map(({ spec: p, dutMac, testerMac, ns }) => [p.name, { name: p.name, dutIfindex: ifindex(dut, p.name), testerIfindex: ifindex(ns, p.name), dutMac, testerMac, testerNetns: ns }]),
      );
      return new Topology(dut, tester, created, all);
    } catch (err) {
      release(all);
      throw err;
    }
  }

  /** The port called `name`. @throws XdpspecError listing the ports. */
  port(name: string): Port {
    const p = this.ports.get(name);
    if (!p) throw new XdpspecError('NO_PORT', `port ${JSON.stringify(name)} does not exist; ports: ${[...this.ports.keys()].join(', ')}`);
    return p;
  }

  /** Removes the namespaces, and with them the veths and anything attached to them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    release([...this.namespaces]);
  }
}
