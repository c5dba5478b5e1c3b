// Topologies: namespaces, veth ports, bridges, hosts, and taking them down. Over 350 lines
// because creation and removal are written together (what is made is undone in the same
// place), which is the point of the module.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { PrivilegeError, XdpspecError } from '../sys/errors.js';
import { effectiveCapabilities } from '../sys/privileges.js';
import { libc } from '../sys/libc.js';
import { inNetns } from '../sys/netns.js';
import { linksUp } from './link.js';
import { namespaceName } from './names.js';
import { register, release, sweepOnce } from './registry.js';

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
  /**
   * Enslave the DUT end to a bridge of this name in the DUT namespace (made when first named):
   * the DUT then switches between its bridged ports, as the egress article's host does between
   * the outer veth end and the uplink. The DUT end's own addresses are then unused.
   */
  readonly dutBridge?: string;
  /**
   * Enslave the tester end to a bridge of this name in the shared tester namespace, where
   * `hosts` can join it: the load-balancer lab's switch. Not with `separateHost`.
   */
  readonly testerBridge?: string;
}

/** A host of its own (a namespace) on a tester-side bridge: a client or a backend of a lab. */
export interface HostSpec {
  /** Its interface's name, also the name of the bridge port in the tester namespace. At most 15 characters. */
  readonly name: string;
  /** The tester-side bridge it hangs off (one a port names in `testerBridge`, or one of its own). */
  readonly bridge: string;
  readonly mac?: string;
  readonly addresses?: readonly string[];
  readonly routes?: readonly string[];
}

export interface TopologySpec {
  readonly ports: readonly PortSpec[];
  /**
   * Make the DUT a router: IPv4 (and IPv6) forwarding on in its namespace. Programs that call
   * bpf_fib_lookup need it, since the kernel answers "forwarding disabled" otherwise.
   */
  readonly forwarding?: boolean;
  readonly hosts?: readonly HostSpec[];
}

/** A host as created. */
export interface Host {
  readonly name: string;
  readonly netns: string;
  readonly ifindex: number;
  readonly mac: string;
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

/** Throws unless `name` can name an interface (every port, host and bridge is one). */
function checkIfname(what: string, name: string): void {
  if (!/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/.test(name) || name === 'lo')
    throw new XdpspecError(
      'TOPOLOGY',
      `${what} name ${JSON.stringify(name)} is not a usable interface name: 1-15 letters, digits, _ . -, starting with a letter, not lo`,
    );
}

function checkAddresses(what: string, addresses: readonly string[]): void {
  for (const a of addresses) {
    try {
      ipaddr.parseCIDR(a);
    } catch {
      throw new XdpspecError(
        'TOPOLOGY',
        `${what}: ${JSON.stringify(a)} is not an address with a prefix length, e.g. 10.0.0.1/24`,
      );
    }
  }
}

function check(spec: TopologySpec): void {
  const seen = new Set<string>();
  if (spec.ports.length === 0) throw new XdpspecError('TOPOLOGY', 'a topology needs at least one port');
  for (const p of spec.ports) {
    checkIfname('port', p.name);
    if (seen.has(p.name)) throw new XdpspecError('TOPOLOGY', `port ${p.name} is given twice`);
    seen.add(p.name);
    checkAddresses(`port ${p.name}`, [...(p.dutAddresses ?? []), ...(p.testerAddresses ?? [])]);
    if (p.mtu !== undefined && (!Number.isInteger(p.mtu) || p.mtu < 68 || p.mtu > 65535))
      throw new XdpspecError('TOPOLOGY', `port ${p.name}: MTU ${p.mtu} is outside 68-65535`);
    if (p.testerBridge && p.separateHost)
      throw new XdpspecError(
        'TOPOLOGY',
        `port ${p.name}: a tester end on a bridge lives in the shared tester namespace; drop separateHost or testerBridge`,
      );
  }
  for (const h of spec.hosts ?? []) {
    checkIfname('host', h.name);
    if (seen.has(h.name)) throw new XdpspecError('TOPOLOGY', `${h.name} names two ports or hosts`);
    seen.add(h.name);
    checkAddresses(`host ${h.name}`, h.addresses ?? []);
  }
  const bridges = new Set(
    [...spec.ports.flatMap((p) => [p.dutBridge, p.testerBridge]), ...(spec.hosts ?? []).map((h) => h.bridge)].filter(
      (b): b is string => !!b,
    ),
  );
  for (const b of bridges) {
    checkIfname('bridge', b);
    if (seen.has(b)) throw new XdpspecError('TOPOLOGY', `${b} names both a bridge and a port or host`);
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
    // An ip that exits early (a bad line) closes its stdin: the write fails with EPIPE, which
    // must not surface as an uncaught error; 'close' reports the exit status and stderr.
    p.stdin.on('error', () => undefined);
    p.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new XdpspecError(
            'TOPOLOGY',
            `ip ${args.join(' ')} failed: ${stderr.trim()}\n  commands:\n${lines.map((l) => `    ${l}`).join('\n')}`,
          ),
        );
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
    readonly hosts: ReadonlyMap<string, Host> = new Map(),
  ) {}

  /** @throws XdpspecError `TOPOLOGY` naming what is wrong with the spec or which `ip` command failed. */
  static async create(spec: TopologySpec): Promise<Topology> {
    check(spec);
    // Namespaces need both: without them ip fails half-way with a mount error that says neither.
    const caps = effectiveCapabilities();
    const missing = ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'].filter((c) => !caps.has(c));
    if (missing.length) throw new PrivilegeError('creating network namespaces and veths', missing);
    sweepOnce();
    const dut = namespaceName('dut');
    const tester = namespaceName('tst');
    const all = [dut, tester];
    register(dut);
    register(tester);
    try {
      const ports = spec.ports.map((p) => {
        const ns = p.separateHost ? namespaceName('h') : tester;
        if (ns !== tester) {
          register(ns);
          all.push(ns);
        }
        return { spec: p, dutMac: p.dutMac ?? mac(0xd0), testerMac: p.testerMac ?? mac(0x7e), ns };
      });
      const hosts = (spec.hosts ?? []).map((h) => {
        const ns = namespaceName('h');
        register(ns);
        all.push(ns);
        return { spec: h, mac: h.mac ?? mac(0x5e), ns };
      });
      // Bridges per namespace, and which of its links each enslaves.
      const bridges = new Map<string, Map<string, string[]>>();
      const enslave = (ns: string, bridge: string, link: string) => {
        const inNs = bridges.get(ns) ?? bridges.set(ns, new Map()).get(ns)!;
        (inNs.get(bridge) ?? inNs.set(bridge, []).get(bridge)!).push(link);
      };
      for (const { spec: p } of ports) {
        if (p.dutBridge) enslave(dut, p.dutBridge, p.name);
        if (p.testerBridge) enslave(tester, p.testerBridge, p.name);
      }
      for (const { spec: h } of hosts) enslave(tester, h.bridge, h.name);
      await ipBatch(undefined, [
        ...all.map((ns) => `netns add ${ns}`),
        ...ports.map(({ spec: p, dutMac, testerMac, ns }) => {
          const mtu = p.mtu ? ` mtu ${p.mtu}` : '';
          // `name` spelled out: ip reads a bare first word as a keyword when it is one's
          // abbreviation, so a port called "a" would be taken for `address`.
          return `link add name ${p.name} netns ${dut} address ${dutMac}${mtu} type veth peer name ${p.name} netns ${ns} address ${testerMac}${mtu}`;
        }),
        ...hosts.map(
          ({ spec: h, mac: m, ns }) =>
            `link add name ${h.name} netns ${tester} type veth peer name ${h.name} netns ${ns} address ${m}`,
        ),
        // No spanning tree, no forwarding delay, no multicast snooping: a bridge that sends
        // nothing of its own and forwards from the first frame.
        ...[...bridges].flatMap(([ns, inNs]) =>
          [...inNs.keys()].map(
            (b) => `link add name ${b} netns ${ns} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
          ),
        ),
      ]);
      // Links are created down: switch IPv6 off (or its autoconfiguration and DAD) before
      // they come up, so they never send router or neighbour solicitations of their own.
      const portsIn = (ns: string) => (ns === dut ? ports : ports.filter((p) => p.ns === ns));
      const linksIn = (ns: string) => [
        ...portsIn(ns).map(({ spec: p }) => p.name),
        ...(ns === tester
          ? hosts.map(({ spec: h }) => h.name)
          : hosts.filter((h) => h.ns === ns).map(({ spec: h }) => h.name)),
        ...(bridges.get(ns)?.keys() ?? []),
      ];
      for (const ns of all) {
        sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', '1');
        const v6 = new Set(
          portsIn(ns)
            .filter(({ spec: p }) => p.ipv6)
            .map(({ spec: p }) => p.name),
        );
        for (const link of linksIn(ns)) {
          if (v6.has(link)) {
            sysctl(ns, `net.ipv6.conf.${link}.addr_gen_mode`, '1');
            sysctl(ns, `net.ipv6.conf.${link}.accept_dad`, '0');
            sysctl(ns, `net.ipv6.conf.${link}.accept_ra`, '0');
            sysctl(ns, `net.ipv6.conf.${link}.router_solicitations`, '0');
          } else sysctl(ns, `net.ipv6.conf.${link}.disable_ipv6`, '1');
        }
      }
      if (spec.forwarding) {
        sysctl(dut, 'net.ipv4.conf.all.forwarding', '1');
        if (ports.some((p) => p.spec.ipv6)) sysctl(dut, 'net.ipv6.conf.all.forwarding', '1');
      }
      for (const ns of all) linksUp(ns, ['lo', ...linksIn(ns)]);

      // Static neighbours: ARP or neighbour discovery would put frames on the wire that no one
      // injected, and they would run through the program under test. Every interface with
      // addresses is an end on an L2 segment (a veth pair, or a bridge and everything on it),
      // and knows the MAC of every address on its segment.
      interface End {
        ns: string;
        link: string;
        mac: string;
        addresses: readonly string[];
        segment: string;
      }
      const ends: End[] = [];
      for (const { spec: p, dutMac, testerMac, ns } of ports) {
        // A bridged end is a switch port, not an end: its peer is on the bridge's segment.
        const dutSide = p.dutBridge ? `br:${dut}:${p.dutBridge}` : undefined;
        const testerSide = p.testerBridge ? `br:${tester}:${p.testerBridge}` : undefined;
        if (!dutSide)
          ends.push({
            ns: dut,
            link: p.name,
            mac: dutMac,
            addresses: p.dutAddresses ?? [],
            segment: testerSide ?? `pair:${p.name}`,
          });
        if (!testerSide)
          ends.push({
            ns,
            link: p.name,
            mac: testerMac,
            addresses: p.testerAddresses ?? [],
            segment: dutSide ?? `pair:${p.name}`,
          });
      }
      for (const { spec: h, mac: m, ns } of hosts)
        ends.push({ ns, link: h.name, mac: m, addresses: h.addresses ?? [], segment: `br:${tester}:${h.bridge}` });
      const host = (cidr: string) => cidr.slice(0, cidr.indexOf('/'));
      const family = (a: string) => (a.includes(':') ? 6 : 4);
      const routesOf = (e: End) => {
        const p = spec.ports.find((x) => x.name === e.link);
        if (p) return (e.ns === dut ? p.dutRoutes : p.testerRoutes) ?? [];
        return spec.hosts?.find((x) => x.name === e.link)?.routes ?? [];
      };
      const lines = new Map<string, string[]>(all.map((ns) => [ns, []]));
      for (const [ns, inNs] of bridges)
        for (const [b, links] of inNs) lines.get(ns)!.push(...links.map((l) => `link set dev ${l} master ${b}`));
      for (const e of ends) {
        const out = lines.get(e.ns)!;
        out.push(...e.addresses.map((a) => `address add ${a} dev ${e.link}${a.includes(':') ? ' nodad' : ''}`));
        for (const o of ends) {
          if (o === e || o.segment !== e.segment) continue;
          for (const a of o.addresses)
            if (e.addresses.some((x) => family(x) === family(a)))
              out.push(`neigh replace ${host(a)} lladdr ${o.mac} dev ${e.link} nud permanent`);
        }
        out.push(...routesOf(e).map((r) => `route add ${r} dev ${e.link}`));
      }
      await Promise.all(all.map((ns) => ipBatch(ns, lines.get(ns)!)));
      const ifindex = (ns: string, name: string) => inNetns(ns, () => libc().if_nametoindex(name));
      const created = new Map(
        ports.map(({ spec: p, dutMac, testerMac, ns }) => [
          p.name,
          {
            name: p.name,
            dutIfindex: ifindex(dut, p.name),
            testerIfindex: ifindex(ns, p.name),
            dutMac,
            testerMac,
            testerNetns: ns,
          },
        ]),
      );
      const madeHosts = new Map(
        hosts.map(({ spec: h, mac: m, ns }) => [
          h.name,
          { name: h.name, netns: ns, ifindex: ifindex(ns, h.name), mac: m },
        ]),
      );
      return new Topology(dut, tester, created, all, madeHosts);
    } catch (err) {
      release(all);
      throw err;
    }
  }

  /** The host called `name`. @throws XdpspecError listing the hosts. */
  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h)
      throw new XdpspecError(
        'NO_HOST',
        `host ${JSON.stringify(name)} does not exist; hosts: ${[...this.hosts.keys()].join(', ') || '(none)'}`,
      );
    return h;
  }

  /** The port called `name`. @throws XdpspecError listing the ports. */
  port(name: string): Port {
    const p = this.ports.get(name);
    if (!p)
      throw new XdpspecError(
        'NO_PORT',
        `port ${JSON.stringify(name)} does not exist; ports: ${[...this.ports.keys()].join(', ')}`,
      );
    return p;
  }

  /** Removes the namespaces, and with them the veths and anything attached to them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    release([...this.namespaces]);
  }
}
