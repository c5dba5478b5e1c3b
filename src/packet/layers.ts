import type { Arp } from './arp.js';
import type { Ethernet } from './ethernet.js';
import type { Icmp } from './icmp.js';
import type { Icmpv6 } from './icmpv6.js';
import type { Ipv4 } from './ipv4.js';
import type { Ipv6 } from './ipv6.js';
import type { Fragment, Ipv6Options, Routing } from './ipv6ext.js';
import type { Geneve } from './geneve.js';
import type { Gre } from './gre.js';
import type { Vxlan } from './vxlan.js';
import type { Padding, Payload, Raw } from './payload.js';
import type { Tcp } from './tcp.js';
import type { Udp } from './udp.js';
import type { Vlan } from './vlan.js';

/** Any decoded layer; `name` tells which. */
export type Layer =
  | Ethernet
  | Vlan
  | Arp
  | Ipv4
  | Ipv6
  | Ipv6Options
  | Routing
  | Fragment
  | Icmp
  | Icmpv6
  | Tcp
  | Udp
  | Gre
  | Vxlan
  | Geneve
  | Payload
  | Padding
  | Raw;

export type LayerName = Layer['name'];

/**
 * The layer type for a name: `LayerOf<'tcp'>` is `Tcp`. (Distributive, so a layer type that
 * covers several names, like `Ipv6Options` for `hopopts` and `dstopts`, is found by each.)
 */
export type LayerOf<N extends LayerName> = Layer extends infer L
  ? L extends { name: infer M }
    ? N extends M
      ? L
      : never
    : never
  : never;

export type {
  Arp,
  Ethernet,
  Fragment,
  Geneve,
  Gre,
  Icmp,
  Icmpv6,
  Ipv4,
  Ipv6,
  Ipv6Options,
  Padding,
  Payload,
  Raw,
  Routing,
  Tcp,
  Udp,
  Vlan,
  Vxlan,
};
