// Frame generators for property-based specs, on fast-check: each generated frame is a recipe
// (the builder's layer specs, and at most one flaw) from which its bytes are built, so that a
// failing frame shrinks field by field and prints as builder code. Valid stacks by default;
// malformed ones (cut short, wrong lengths, bad checksums, unknown types) at the rate asked.
import fc from 'fast-check';
import { buildLayers, type LayerSpec } from './builder.js';

/** Values to pick from: a list, or a range. */
type Choice<T> = readonly T[] | { readonly from: number; readonly to: number };

/** What frames to generate. Every list is a choice; what is left out is drawn at random. */
export interface FrameShape {
  /** Link layer: plain Ethernet, one VLAN tag, two (QinQ). Default all three. */
  readonly l2?: readonly ('eth' | 'vlan' | 'qinq')[];
  /** Network layer: IPv4, IPv6, ARP, or an EtherType nobody knows. Default all four. */
  readonly l3?: readonly ('ipv4' | 'ipv6' | 'arp' | 'other')[];
  /**
   * Transport over IP: TCP, UDP, ICMP (ICMPv6 over IPv6), a protocol nobody knows, or a tunnel
   * (VXLAN over UDP 4789 with an inner Ethernet frame, GRE with an inner IPv4 packet, each inner
   * frame carrying UDP). Default all six.
   */
  readonly l4?: readonly ('tcp' | 'udp' | 'icmp' | 'other' | 'vxlan' | 'gre')[];
  /** Ports to pick from: a list, or a range `{ from, to }`. Default any. */
  readonly srcPort?: Choice<number>;
  readonly dstPort?: Choice<number>;
  /** Addresses to pick from, IPv4 and IPv6 together (each frame takes those of its family). */
  readonly src?: readonly string[];
  readonly dst?: readonly string[];
  /** Ethernet addresses, when the program cares (a router's own MAC). */
  readonly eth?: { readonly src?: string; readonly dst?: string };
  /** TTL / hop limit values. Default any (0-255). */
  readonly ttl?: Choice<number>;
  /** IPv6 extension headers (hop-by-hop, routing, fragment, destination options), up to three. Default on. */
  readonly extensionHeaders?: boolean;
  /** IPv4 options and fragments. Default on. */
  readonly ipv4Options?: boolean;
  readonly fragments?: boolean;
  /** Payload bytes after the last header: at most this many. Default 64. */
  readonly maxPayload?: number;
  /** The share of frames given one flaw (0-1). Default 0.3; 0 for only well-formed frames. */
  readonly malformed?: number;
}

/** What is wrong with a frame on purpose. */
export type Flaw =
  | { readonly kind: 'cut'; readonly at: number }
  | { readonly kind: 'bad-checksum'; readonly layer: number; readonly value: number }
  | { readonly kind: 'wrong-length'; readonly layer: number; readonly value: number };

/** A generated frame: its recipe, its flaw if any, and its bytes. */
export interface GeneratedFrame {
  readonly layers: readonly LayerSpec[];
  readonly flaw?: Flaw;
  readonly bytes: Buffer;
}

const byte = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const choose = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const pick = (p: Choice<number> | undefined, whole: fc.Arbitrary<number>): fc.Arbitrary<number> =>
  p === undefined
    ? whole
    : Array.isArray(p)
      ? choose(p as readonly number[])
      : fc.integer({ min: (p as { from: number }).from, max: (p as { to: number }).to });
const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4Address = fc.tuple(byte, byte).map(([a, b]) => `10.0.${a}.${b}`);
const ipv6Address = fc.tuple(u16, u16).map(([a, b]) => `fd00::${a.toString(16)}:${b.toString(16)}`);

function addresses(given: readonly string[] | undefined, v6: boolean): fc.Arbitrary<string> {
  const mine = given?.filter((a) => a.includes(':') === v6) ?? [];
  return mine.length ? choose(mine) : v6 ? ipv6Address : ipv4Address;
}

const tcpOptions = fc.subarray([
  { kind: 'mss', value: 1460 },
  { kind: 'nop' },
  { kind: 'wscale', value: 7 },
  { kind: 'sackok' },
  { kind: 'ts', val: 1, ecr: 0 },
] as const);

function transport(s: FrameShape, v6: boolean): fc.Arbitrary<LayerSpec[]> {
  const ports = { sport: pick(s.srcPort, u16), dport: pick(s.dstPort, u16) };
  const payload = fc
    .uint8Array({ maxLength: s.maxPayload ?? 64 })
    .map((d): LayerSpec[] => (d.length ? [{ name: 'payload', data: d }] : []));
  const kinds = s.l4 ?? ['tcp', 'udp', 'icmp', 'other', 'vxlan', 'gre'];
  const inner = fc.record({
    src: ipv4Address,
    dst: ipv4Address,
    ttl: byte,
    sport: u16,
    dport: u16,
  });
  const arbs: fc.Arbitrary<LayerSpec[]>[] = kinds.map((k) => {
    switch (k) {
      case 'vxlan':
        return fc
          .tuple(fc.integer({ min: 0, max: 0xffffff }), mac, mac, inner, payload)
          .map(([vni, isrc, idst, i, p]): LayerSpec[] => [
            // An ephemeral source port, as a tunnel endpoint's flow hash picks it.
            { name: 'udp', sport: 49152 + (i.sport % 16384), dport: 4789 },
            { name: 'vxlan', vni },
            { name: 'eth', src: isrc, dst: idst },
            { name: 'ipv4', src: i.src, dst: i.dst, ttl: i.ttl },
            { name: 'udp', sport: i.sport, dport: i.dport },
            ...p,
          ]);
      case 'gre':
        return fc
          .tuple(inner, payload)
          .map(([i, p]): LayerSpec[] => [
            { name: 'gre' },
            { name: 'ipv4', src: i.src, dst: i.dst, ttl: i.ttl },
            { name: 'udp', sport: i.sport, dport: i.dport },
            ...p,
          ]);
      case 'tcp':
        return fc
          .tuple(
            fc.record({
              ...ports,
              seq: u32,
              ack: u32,
              flags: choose(['S', 'SA', 'A', 'PA', 'FA', 'R', 'RA', '']),
              win: u16,
              options: tcpOptions,
            }),
            payload,
          )
          .map(([t, p]): LayerSpec[] => [{ name: 'tcp', ...t, options: [...t.options] }, ...p]);
      case 'udp':
        return fc.tuple(fc.record(ports), payload).map(([u, p]): LayerSpec[] => [{ name: 'udp', ...u }, ...p]);
      case 'icmp':
        return (
          fc
            // Echo request and reply: an error message would have to quote a real header.
            .tuple(choose(v6 ? [128, 129] : [8, 0]), u16, u16, payload)
            .map(([type, id, seq, p]): LayerSpec[] => [{ name: v6 ? 'icmpv6' : 'icmp', type, code: 0, id, seq }, ...p])
        );
      default:
        return fc
          .uint8Array({ minLength: 1, maxLength: s.maxPayload ?? 64 })
          .map((d): LayerSpec[] => [{ name: 'payload', data: d }]);
    }
  });
  return fc.oneof(...arbs);
}

/** A segment routing header's body with one segment (fd00::1) and none left: valid as it stands. */
const SRH_ONE_SEGMENT = Uint8Array.from([0, 0, 0, 0, 0xfd, ...new Array<number>(14).fill(0), 1]);
const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };
// Numbers set aside for experiments (RFC 3692, IEEE 802 local experimental): no stack knows them.
const UNKNOWN_PROTOS = [253, 254];
const UNKNOWN_TYPES = [0x88b5, 0x88b6];

function network(s: FrameShape): fc.Arbitrary<LayerSpec[]> {
  const kinds = s.l3 ?? ['ipv4', 'ipv6', 'arp', 'other'];
  const ttl = pick(s.ttl, byte);
  const arbs = kinds.map((k): fc.Arbitrary<LayerSpec[]> => {
    switch (k) {
      case 'ipv4':
        return fc
          .tuple(
            fc.record({
              src: addresses(s.src, false),
              dst: addresses(s.dst, false),
              ttl,
              id: u16,
              tos: byte,
              df: fc.boolean(),
            }),
            s.ipv4Options === false
              ? fc.constant(undefined)
              : fc.option(fc.constantFrom([1, 1, 1, 0], [7, 7, 4, 0, 0, 0, 0, 0], [148, 4, 0, 0]), { freq: 3 }),
            s.fragments === false
              ? fc.constant(undefined)
              : fc.option(fc.record({ mf: fc.boolean(), frag: fc.integer({ min: 0, max: 0x1fff }) }), { freq: 4 }),
            transport(s, false),
            choose(UNKNOWN_PROTOS),
          )
          .map(([ip, options, frag, l4, unknown]): LayerSpec[] => [
            {
              name: 'ipv4',
              ...ip,
              ...(options ? { options: Uint8Array.from(options) } : {}),
              ...(frag ?? {}),
              ...(l4[0]?.name === 'payload' ? { proto: unknown } : {}),
            },
            ...l4,
          ]);
      case 'ipv6':
        return fc
          .tuple(
            fc.record({
              src: addresses(s.src, true),
              dst: addresses(s.dst, true),
              hlim: ttl,
              flow: fc.integer({ min: 0, max: 0xfffff }),
              tc: byte,
            }),
            s.extensionHeaders === false
              ? fc.constant([] as ('hopopts' | 'routing' | 'fragment' | 'dstopts')[])
              : // RFC 8200's order, each at most once: hop-by-hop first, destination options last.
                fc.subarray(
                  ['hopopts', 'routing', 'fragment', 'dstopts'] as ('hopopts' | 'routing' | 'fragment' | 'dstopts')[],
                  { maxLength: 3 },
                ),
            transport(s, true),
            choose(UNKNOWN_PROTOS),
          )
          .map(([ip, exts, l4, unknown]): LayerSpec[] => {
            const last = l4[0]?.name === 'payload' ? unknown : (PROTO[l4[0]!.name] ?? 0);
            const ext: LayerSpec[] = exts.map((name) =>
              name === 'fragment'
                ? { name, id: 1 }
                : name === 'routing'
                  ? { name, type: 4, segleft: 0, data: SRH_ONE_SEGMENT }
                  : { name },
            );
            return [
              { name: 'ipv6', ...ip, ...(ext.length === 0 && l4[0]?.name === 'payload' ? { nh: last } : {}) },
              ...ext.map((e, i) => (i === ext.length - 1 && l4[0]?.name === 'payload' ? { ...e, nh: last } : e)),
              ...l4,
            ] as LayerSpec[];
          });
      case 'arp':
        return fc
          .record({ op: choose([1, 2]), spa: addresses(s.src, false), tpa: addresses(s.dst, false) })
          .map((a): LayerSpec[] => [{ name: 'arp', ...a }]);
      default:
        return fc
          .uint8Array({ minLength: 1, maxLength: s.maxPayload ?? 64 })
          .map((d): LayerSpec[] => [{ name: 'payload', data: d }]);
    }
  });
  return fc.oneof(...arbs);
}

function link(s: FrameShape): fc.Arbitrary<LayerSpec[]> {
  const eth = fc.record({
    src: s.eth?.src ? fc.constant(s.eth.src) : mac,
    dst: s.eth?.dst ? fc.constant(s.eth.dst) : mac,
  });
  const tag = fc.record({ vid: fc.integer({ min: 0, max: 4095 }), pcp: fc.integer({ min: 0, max: 7 }) });
  // A tuple, not a chain: fast-check shrinks each part on its own and draws faster.
  return fc
    .tuple(eth, choose(s.l2 ?? (['eth', 'vlan', 'qinq'] as const)), tag, tag, choose(UNKNOWN_TYPES), network(s))
    .map(([e, kind, t1, t2, unknown, l3]): LayerSpec[] => {
      const tags = kind === 'eth' ? [] : kind === 'vlan' ? [t1] : [t1, t2];
      const other = l3[0]?.name === 'payload';
      return [
        { name: 'eth', ...e, ...(other && tags.length === 0 ? { type: unknown } : {}) },
        ...tags.map((t, i): LayerSpec => ({
          name: 'vlan',
          ...t,
          ...(other && i === tags.length - 1 ? { type: unknown } : {}),
        })),
        ...l3,
      ];
    });
}

const CHECKSUMMED = new Set(['ipv4', 'tcp', 'udp', 'icmp', 'icmpv6']);
const LENGTHS: Record<string, string> = { ipv4: 'len', ipv6: 'plen', udp: 'len' };

/**
 * A flaw drawn without knowing the frame (so that frame and flaw are drawn, and shrink, apart):
 * where to cut as a share of the frame, which checksummed or length-carrying layer as an index
 * into those the frame has (`resolve` turns both into a flaw of this frame).
 */
type DrawnFlaw = { kind: 'cut'; at: number } | { kind: 'bad-checksum' | 'wrong-length'; which: number; value: number };
const drawnFlaw: fc.Arbitrary<DrawnFlaw> = fc.oneof(
  fc.integer({ min: 0, max: 999 }).map((at): DrawnFlaw => ({ kind: 'cut', at })),
  fc.tuple(fc.nat(7), u16).map(([which, value]): DrawnFlaw => ({ kind: 'bad-checksum', which, value })),
  fc.tuple(fc.nat(7), u16).map(([which, value]): DrawnFlaw => ({ kind: 'wrong-length', which, value })),
);

function resolve(layers: readonly LayerSpec[], d: DrawnFlaw, size: number): Flaw {
  if (d.kind === 'cut') return { kind: 'cut', at: Math.floor((d.at / 1000) * size) };
  const set = d.kind === 'bad-checksum' ? CHECKSUMMED : new Set(Object.keys(LENGTHS));
  const candidates = layers.flatMap((l, i) => (set.has(l.name) ? [i] : []));
  // A frame with no such layer (ARP, an unknown EtherType) is cut instead: the share holds.
  if (candidates.length === 0) return { kind: 'cut', at: Math.floor(((d.value % 1000) / 1000) * size) };
  return { kind: d.kind, layer: candidates[d.which % candidates.length]!, value: d.value };
}

function withFlaw(layers: readonly LayerSpec[], flaw: Flaw | undefined): LayerSpec[] {
  if (!flaw || flaw.kind === 'cut') return [...layers];
  const field = flaw.kind === 'bad-checksum' ? 'checksum' : LENGTHS[layers[flaw.layer]!.name]!;
  return layers.map((l, i) => (i === flaw.layer ? { ...l, [field]: flaw.value } : l));
}

/** Builds a generated frame's bytes from its recipe. */
export function buildGenerated(layers: readonly LayerSpec[], flaw?: Flaw): GeneratedFrame {
  const full = buildLayers(withFlaw(layers, flaw));
  const bytes = flaw?.kind === 'cut' ? full.subarray(0, Math.max(14, Math.min(flaw.at, full.length))) : full;
  return { layers, ...(flaw ? { flaw } : {}), bytes: Buffer.from(bytes) };
}

/**
 * Frames shaped by `shape`, as a fast-check arbitrary: `fc.assert(fc.property(frames({ l3:
 * ['ipv4'] }), (f) => ...))`, or through forAllFrames. Shrinks towards plain Ethernet, no flaw,
 * short payloads and small field values.
 */
export function frames(shape: FrameShape = {}): fc.Arbitrary<GeneratedFrame> {
  const share = shape.malformed ?? 0.3;
  if (share <= 0) return link(shape).map((layers) => buildGenerated(layers));
  const clean = Math.max(1, Math.round((1 - share) * 100));
  const flawed = Math.max(1, Math.round(share * 100));
  const flaw = fc.oneof({ arbitrary: fc.constant(undefined), weight: clean }, { arbitrary: drawnFlaw, weight: flawed });
  return fc.tuple(link(shape), flaw).map(([layers, d]) => {
    if (!d) return buildGenerated(layers);
    const whole = buildLayers(layers);
    const f = resolve(layers, d, whole.length);
    return f.kind === 'cut'
      ? { layers, flaw: f, bytes: Buffer.from(whole.subarray(0, Math.max(14, f.at))) }
      : buildGenerated(layers, f);
  });
}

function literal(v: unknown): string {
  if (v instanceof Uint8Array) return `Buffer.from('${Buffer.from(v).toString('hex')}', 'hex')`;
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  if (v && typeof v === 'object')
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${/^[A-Za-z_]\w*$/.test(k) ? k : JSON.stringify(k)}: ${literal(x)}`)
      .join(', ')} }`;
  return JSON.stringify(v);
}

/** TypeScript that builds the same bytes with the builder (`frame.eth(...)...build()`). */
export function generatedCode(f: GeneratedFrame): string {
  const steps = withFlaw(f.layers, f.flaw).map((l) => {
    const { name, ...rest } = l as { name: string } & Record<string, unknown>;
    if (name === 'payload') return `.payload(${literal(rest.data)})`;
    return `.${name}(${Object.keys(rest).length ? literal(rest) : ''})`;
  });
  const cut = f.flaw?.kind === 'cut' && f.bytes.length < buildLayers(withFlaw(f.layers, undefined)).length;
  return `frame${steps.join('')}.build()${cut ? `.subarray(0, ${f.bytes.length})` : ''}`;
}

/** One line on what a frame's flaw is, for messages. */
export function flawText(f: GeneratedFrame): string {
  const fl = f.flaw;
  if (!fl) return 'well-formed';
  if (fl.kind === 'cut') return `cut short at byte ${f.bytes.length}`;
  const l = f.layers[fl.layer]!.name;
  return fl.kind === 'bad-checksum'
    ? `${l} checksum set to 0x${fl.value.toString(16)}`
    : `${l} length set to ${fl.value}`;
}
