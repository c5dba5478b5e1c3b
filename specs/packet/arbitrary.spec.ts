import { expect } from 'chai';
import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import { frame, parseFrame, writeCapture } from '../../src/index.js';
import { flawText, frames, generatedCode, type GeneratedFrame } from '../../src/packet/arbitrary.js';
import { tempDir, tsharkFields } from '../support/tools.js';

const sample = (shape: Parameters<typeof frames>[0], n: number, seed: number) =>
  fc.sample(frames(shape), { numRuns: n, seed });
const names = (f: GeneratedFrame) => parseFrame(f.bytes).layers.map((l) => l.name);
/** The recipe's layers as a parser must see them: a non-first IPv4 fragment has no transport header. */
function expected(f: GeneratedFrame): string[] {
  const out: string[] = [];
  for (const l of f.layers) {
    out.push(l.name);
    if (l.name === 'ipv4' && ((l as { frag?: number }).frag ?? 0) > 0) break;
  }
  return out.filter((n) => n !== 'payload');
}

describe('frame generators (fast-check arbitraries)', () => {
  const t = tempDir();
  after(t.cleanup);

  it('build the layers of their recipe: our parser and tshark both read them back as generated', async () => {
    const xs = sample({ malformed: 0 }, 400, 11);
    for (const x of xs) {
      expect(
        names(x).filter((n) => n !== 'payload'),
        generatedCode(x),
      ).to.deep.equal(expected(x));
    }
    // tshark's protocol stack for each frame, against the recipe's (tshark's names).
    const tshark: Record<string, string> = { ipv4: 'ip', icmp: 'icmp', hopopts: 'ipv6.hopopts' };
    await writeCapture(
      t.path('generated.pcap'),
      xs.map((x) => ({ data: x.bytes })),
      { format: 'pcap' },
    );
    const rows = await tsharkFields(t.path('generated.pcap'), ['frame.protocols', '_ws.expert.severity']);
    rows.forEach(([protocols, severity], i) => {
      const layers = expected(xs[i]!);
      for (const l of layers.filter((n) => ['ipv4', 'ipv6', 'tcp', 'udp', 'arp', 'vlan'].includes(n)))
        expect(protocols!.split(':'), `#${i} ${generatedCode(xs[i]!)}`).to.include(tshark[l] ?? l);
      // Well-formed: tshark finds nothing malformed (an error); warnings such as "unknown option" may be.
      expect(severity ?? '', `#${i} ${protocols} ${generatedCode(xs[i]!)}`).to.not.match(/\b8388608\b/);
    });
  });

  it('follow the shape asked for: layers, ports, addresses, TTLs', () => {
    const xs = sample(
      {
        l2: ['vlan'],
        l3: ['ipv4'],
        l4: ['tcp'],
        dstPort: [22, 80],
        src: ['10.9.9.9'],
        ttl: { from: 0, to: 1 },
        fragments: false,
        malformed: 0,
      },
      200,
      5,
    );
    for (const x of xs) {
      const f = parseFrame(x.bytes);
      expect(f.layers.map((l) => l.name).slice(0, 4)).to.deep.equal(['eth', 'vlan', 'ipv4', 'tcp']);
      expect([22, 80]).to.include(f.get('tcp.dport'));
      expect(f.get('ipv4.src')).to.equal('10.9.9.9');
      expect(f.get('ipv4.ttl')).to.be.at.most(1);
    }
  });

  it('make about the share of malformed frames asked for, each flaw as it says', () => {
    const xs = sample({ malformed: 0.5 }, 1000, 3);
    const flawed = xs.filter((x) => x.flaw);
    expect(flawed.length).to.be.within(400, 600);
    const kinds = new Set(flawed.map((x) => x.flaw!.kind));
    expect([...kinds].sort()).to.deep.equal(['bad-checksum', 'cut', 'wrong-length']);
    for (const x of flawed) {
      const whole = x.layers.length;
      expect(whole).to.be.greaterThan(0);
      if (x.flaw!.kind === 'cut') expect(flawText(x)).to.equal(`cut short at byte ${x.bytes.length}`);
      if (x.flaw!.kind === 'bad-checksum') {
        const layer = x.layers[x.flaw!.layer]!.name;
        const f = parseFrame(x.bytes);
        // The checksum written is the flaw's value, whatever the right one would be (where the
        // layer is there to read: not behind a non-first fragment).
        const nth = x.layers.slice(0, x.flaw!.layer).filter((l) => l.name === layer).length;
        if (f.layer(layer, nth)) expect(f.get(`${layer}[${nth}].checksum`)).to.equal(x.flaw!.value);
      }
    }
    expect(sample({ malformed: 0 }, 300, 4).every((x) => !x.flaw)).to.equal(true);
  });

  it('print as builder code that makes the same bytes', () => {
    for (const x of sample({}, 300, 9)) {
      const code = generatedCode(x);
      const built = runInNewContext(code, { frame, Buffer }) as Buffer;
      expect(built.equals(x.bytes), code).to.equal(true);
    }
  });

  it('give the same frames for the same seed', () => {
    const a = sample({}, 50, 42).map((x) => x.bytes.toString('hex'));
    const b = sample({}, 50, 42).map((x) => x.bytes.toString('hex'));
    expect(a).to.deep.equal(b);
    expect(sample({}, 50, 43).map((x) => x.bytes.toString('hex'))).to.not.deep.equal(a);
  });
});
