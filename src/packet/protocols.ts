// Every protocol the builder writes, registered once: its codec says what may follow it, how long
// its header is, how it is written and finished. Adding a protocol is its module (fields, parse,
// emit, codec), a line here, its step in builder.ts's typed API, and its dispatch in parse.ts.
import * as arp from './arp.js';
import { toBytes } from './bytes.js';
import type { ProtocolCodec } from './codec.js';
import * as eth from './ethernet.js';
import * as geneve from './geneve.js';
import * as gre from './gre.js';
import * as icmp from './icmp.js';
import * as icmpv6 from './icmpv6.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import * as ext from './ipv6ext.js';
import * as tcp from './tcp.js';
import * as udp from './udp.js';
import * as vlan from './vlan.js';
import * as vxlan from './vxlan.js';

/** Layers that are bytes as given: a payload, trailing padding, a header cut short. */
const bytes = (
  name: 'payload' | 'padding' | 'raw',
  followers: readonly string[],
): ProtocolCodec<{ data?: unknown }> => ({
  name,
  followers,
  headerLength: (s) => toBytes(s.data, name, 'data').length,
  emit: (b, off, s) => void toBytes(s.data, name, 'data').copy(b, off),
});

const ALL: readonly ProtocolCodec<never>[] = [
  eth.codec,
  vlan.codec,
  arp.codec,
  ipv4.codec,
  ipv6.codec,
  ext.hopoptsCodec,
  ext.dstoptsCodec,
  ext.routingCodec,
  ext.fragmentCodec,
  tcp.codec,
  udp.codec,
  icmp.codec,
  icmpv6.codec,
  gre.codec,
  vxlan.codec,
  geneve.codec,
  bytes('payload', ['padding']),
  bytes('padding', []),
  bytes('raw', []),
] as readonly ProtocolCodec<never>[];

/** The codecs by layer name. */
export const PROTOCOLS: ReadonlyMap<string, ProtocolCodec<unknown>> = new Map(
  ALL.map((c) => [c.name, c as unknown as ProtocolCodec<unknown>]),
);
