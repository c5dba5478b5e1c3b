// The articles' topologies as topology specs, to hand to `LiveBench.create` or `bench()`. Their
// far sides are namespaces of the bench's own: nothing reaches the machine's real interfaces.
import ipaddr from 'ipaddr.js';
import type { TopologySpec } from './topology.js';

export interface EgressLabOptions {
  /** The application's address (the inner veth end, in a namespace of its own). */
  readonly appAddress?: string;
  /** The far host's address, on the other side of the bridge. */
  readonly farAddress?: string;
}

/**
 * The egress article's topology: an application namespace whose traffic leaves through a veth
 * pair; the pair's outer end (port `app`'s DUT end) is a port of a bridge in the DUT namespace,
 * and so is the uplink (port `uplink`'s DUT end), which leads to the far host (its tester end,
 * a namespace of its own: the article's real interface and the internet behind it).
 *
 *   app ns [app] ==veth== [app]--br0--[uplink] ==veth== [uplink] far host
 *                          (outer end)     (DUT namespace)
 *
 * An XDP program on the outer end (`attach(program, 'app')`) sees what the application sends;
 * one on the uplink sees what comes back. Both hosts are on one subnet, so the article's NAT is
 * not needed to reach the far side.
 */
export function egressLab(o: EgressLabOptions = {}): TopologySpec {
  return {
    ports: [
      { name: 'app', dutBridge: 'br0', testerAddresses: [o.appAddress ?? '10.0.0.2/24'], separateHost: true },
      { name: 'uplink', dutBridge: 'br0', testerAddresses: [o.farAddress ?? '10.0.0.3/24'], separateHost: true },
    ],
  };
}

export interface LoadBalancerLabOptions {
  /** The load balancer's address on the backends' subnet, and the gateway address clients use. */
  readonly lbAddresses?: readonly string[];
  readonly backends?: readonly { name: string; address: string }[];
  readonly client?: { name: string; address: string };
}

/**
 * The load-balancer lab of the XDP article (namespaces `lb`, `h2`, `h3` on a bridge), plus a
 * client: the DUT is `lb`, its port `lb` a veth whose other end is on the bridge `br0` in the
 * tester namespace, and every other host hangs off that bridge in a namespace of its own.
 * The client sits on a subnet of its own on the same wire and reaches the virtual IP through
 * lb; the backends route the client subnet through lb too, so their answers pass it again and
 * can be rewritten back to the virtual IP.
 *
 *   client 10.0.1.1 --+
 *   h2 10.0.0.2 ------+-- br0 --==veth==-- [lb] lb 10.0.0.10, 10.0.1.10
 *   h3 10.0.0.3 ------+
 */
export function loadBalancerLab(o: LoadBalancerLabOptions = {}): TopologySpec {
  const lb = o.lbAddresses ?? ['10.0.0.10/24', '10.0.1.10/24'];
  const backends = o.backends ?? [
    { name: 'h2', address: '10.0.0.2/24' },
    { name: 'h3', address: '10.0.0.3/24' },
  ];
  const client = o.client ?? { name: 'client', address: '10.0.1.1/24' };
  const host = (cidr: string) => cidr.slice(0, cidr.indexOf('/'));
  const lbOn = (subnetOf: string) => host(lb.find((a) => sameSubnet(a, subnetOf)) ?? lb[0]!);
  return {
    ports: [{ name: 'lb', dutAddresses: lb, testerBridge: 'br0' }],
    hosts: [
      ...backends.map((b) => ({
        name: b.name,
        bridge: 'br0',
        addresses: [b.address],
        routes: [`${subnet(client.address)} via ${lbOn(b.address)}`],
      })),
      {
        name: client.name,
        bridge: 'br0',
        addresses: [client.address],
        routes: [`default via ${lbOn(client.address)}`],
      },
    ],
  };
}

function subnet(cidr: string): string {
  return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${cidr.split('/')[1]}`;
}

function sameSubnet(a: string, b: string): boolean {
  return subnet(a) === subnet(`${b.split('/')[0]}/${a.split('/')[1]}`);
}
