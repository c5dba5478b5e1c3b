import { checkChecksums } from './checksums.js';
import { ETHERTYPE } from './ethernet.js';
import { formatField, layerPrefixes } from './fields.js';
import { truncationText, type Frame } from './frame.js';
import { ICMP_TYPES } from './icmp.js';
import { ICMPV6_TYPES } from './icmpv6.js';
import { protoName } from './ipproto.js';
import type { Layer } from './layers.js';
import { formatOption } from './tcp.js';

const ETHERTYPE_NAMES: Readonly<Record<number, string>> = {
  [ETHERTYPE.ipv4]: 'ipv4',
  [ETHERTYPE.ipv6]: 'ipv6',
  [ETHERTYPE.arp]: 'arp',
  [ETHERTYPE.vlan]: '802.1q',
  [ETHERTYPE.qinq]: '802.1ad',
};

/** Length of the data carried after layer `i` (payload bytes, excluding padding). */
function dataLength(layers: readonly Layer[], i: number): number {
  const next = layers[i + 1];
  return next && next.name === 'payload' ? next.data.length : 0;
}

function segment(layers: readonly Layer[], i: number): string | undefined {
  const l = layers[i]!;
  const next = layers[i + 1];
  switch (l.name) {
    case 'eth': {
      const t =
        next && next.name !== 'padding' && next.name !== 'payload' ? '' : ` type ${formatField('eth', 'type', l.type)}`;
      return `eth ${l.src} > ${l.dst}${t}`;
    }
    case 'vlan':
      return `vlan ${l.vid}${l.pcp ? ` pcp ${l.pcp}` : ''}`;
    case 'arp':
      if (l.op === 1) return `arp who-has ${l.tpa} tell ${l.spa}`;
      if (l.op === 2) return `arp reply ${l.spa} is-at ${l.sha}`;
      return `arp op ${l.op} ${l.spa} > ${l.tpa}`;
    case 'ipv4': {
      let s = `ipv4 ${l.src} > ${l.dst}`;
      if (l.frag !== 0 || l.mf) s += ` frag ${l.frag * 8}${l.mf ? '+' : ''} id ${l.id}`;
      if (!next || next.name === 'payload' || next.name === 'padding')
        s += ` proto ${l.proto}${protoName(l.proto) ? ` (${protoName(l.proto)})` : ''}`;
      return s;
    }
    case 'ipv6': {
      let s = `ipv6 ${l.src} > ${l.dst}`;
      if (!next || next.name === 'payload' || next.name === 'padding')
        s += ` nh ${l.nh}${protoName(l.nh) ? ` (${protoName(l.nh)})` : ''}`;
      return s;
    }
    case 'hopopts':
    case 'dstopts':
      return l.name;
    case 'routing':
      return `routing type ${l.type} segleft ${l.segleft}`;
    case 'fragment':
      return `fragment ${l.offset * 8}${l.mf ? '+' : ''} id ${l.id}`;
    case 'tcp': {
      let s = `tcp ${l.sport} > ${l.dport} [${l.flags || 'none'}] seq ${l.seq}`;
      if (l.flags.includes('A')) s += ` ack ${l.ack}`;
      s += ` win ${l.win}`;
      const opts = l.options.filter((o) => o.kind !== 'eol' && o.kind !== 'nop');
      if (opts.length) s += ` <${opts.map(formatOption).join(',')}>`;
      return `${s} len ${dataLength(layers, i)}`;
    }
    case 'udp':
      // Before a tunnel header, the data is the tunnel: its length is the datagram's.
      return `udp ${l.sport} > ${l.dport} len ${next?.name === 'vxlan' || next?.name === 'geneve' ? l.len - 8 : dataLength(layers, i)}`;
    case 'icmp': {
      const t = ICMP_TYPES[l.type] ?? `type ${l.type}`;
      const idseq = l.id !== undefined ? ` id ${l.id} seq ${l.seq}` : '';
      return `icmp ${t}${l.code ? ` code ${l.code}` : ''}${idseq}`;
    }
    case 'icmpv6': {
      const t = ICMPV6_TYPES[l.type] ?? `type ${l.type}`;
      let s = `icmpv6 ${t}${l.code ? ` code ${l.code}` : ''}`;
      if (l.id !== undefined) s += ` id ${l.id} seq ${l.seq}`;
      if (l.target !== undefined) s += l.type === 135 ? ` who-has ${l.target}` : ` tgt ${l.target}`;
      if (l.flags) s += ` [${l.flags}]`;
      return s;
    }
    case 'gre': {
      const what = next && next.name !== 'payload' ? '' : ` proto ${formatField('gre', 'proto', l.proto)}`;
      return `gre${l.key !== undefined ? ` key ${l.key}` : ''}${l.seq !== undefined ? ` seq ${l.seq}` : ''}${what}`;
    }
    case 'vxlan':
      return `vxlan vni ${l.vni}`;
    case 'geneve':
      return `geneve vni ${l.vni}${l.options.length ? ` options ${l.options.length} bytes` : ''}`;
    case 'payload': {
      const prev = layers[i - 1];
      // tcp and udp already said how long their data is
      return prev && (prev.name === 'tcp' || prev.name === 'udp') ? undefined : `payload ${l.data.length} bytes`;
    }
    case 'padding':
      return undefined;
    case 'raw':
      return `[${l.of} truncated: need ${l.need} bytes, have ${l.have}]`;
  }
}

/**
 * One line in the spirit of `tcpdump -n`, layer by layer:
 * `eth 02:00:00:00:00:01 > 02:00:00:00:00:02 ipv4 10.0.0.1 > 10.0.0.2 udp 12345 > 53 len 4`.
 */
export function summarize(f: Frame): string {
  const parts: string[] = [];
  for (let i = 0; i < f.layers.length; i++) {
    const s = segment(f.layers, i);
    if (s !== undefined) parts.push(s);
  }
  const t = f.truncated;
  if (t && f.layers[f.layers.length - 1]?.name !== 'raw') parts.push(`[${truncationText(t)}]`);
  return parts.join(' ');
}

/** Multi-line dissection: every field of every layer, with offsets and checksum validity. */
export function dissect(f: Frame): string {
  const lines = [`frame: ${f.length} bytes${f.truncated ? `, ${truncationText(f.truncated)}` : ''}`];
  const prefixes = layerPrefixes(f.layers);
  const checks = new Map(checkChecksums(f).map((c) => [c.path, c]));
  f.layers.forEach((l, i) => {
    lines.push(`${prefixes[i]} (offset ${f.offsets[i]})`);
    const entries = Object.entries(l).filter(([k, v]) => k !== 'name' && v !== undefined);
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [k, v] of entries) {
      let text = formatField(l.name, k, v);
      if (k === 'type' && (l.name === 'eth' || l.name === 'vlan') && typeof v === 'number' && ETHERTYPE_NAMES[v])
        text += ` (${ETHERTYPE_NAMES[v]})`;
      if ((k === 'proto' || k === 'nh') && typeof v === 'number' && protoName(v)) text += ` (${protoName(v)})`;
      if (k === 'type' && l.name === 'icmp' && typeof v === 'number' && ICMP_TYPES[v]) text += ` (${ICMP_TYPES[v]})`;
      if (k === 'type' && l.name === 'icmpv6' && typeof v === 'number' && ICMPV6_TYPES[v])
        text += ` (${ICMPV6_TYPES[v]})`;
      const c = k === 'checksum' ? checks.get(`${prefixes[i]}.checksum`) : undefined;
      if (c)
        text +=
          c.status === 'invalid'
            ? ` (invalid, expected ${formatField(l.name, 'checksum', c.expected)})`
            : ` (${c.status})`;
      lines.push(`  ${k.padEnd(width)}  ${text}`);
    }
  });
  return lines.join('\n');
}
