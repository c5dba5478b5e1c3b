import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { generateFixtures } from '../fixtures/generate.js';
import { checkChecksums, parseCapture, parseFrame, summarize } from '../src/index.js';

describe('fixtures', () => {
  it('are what fixtures/generate.ts produces, byte for byte (run `npm run fixtures` after changing it)', () => {
    for (const [name, bytes] of generateFixtures()) {
      expect(readFileSync(`fixtures/${name}`).equals(bytes), `fixtures/${name} is stale`).to.equal(true);
    }
  });

  it('ipv4-and-ipv6.pcap holds 20 frames, 10 IPv4 and 10 IPv6, interleaved', () => {
    const c = parseCapture(readFileSync('fixtures/ipv4-and-ipv6.pcap'));
    expect(c.format).to.equal('pcap');
    const kinds = c.records.map((r) =>
      parseFrame(r.data).has('ipv6') ? '6' : parseFrame(r.data).has('ipv4') ? '4' : '?',
    );
    expect(kinds.join('')).to.equal('46'.repeat(10));
  });

  it('mixed-traffic.pcap, recorded from real traffic in the lab (npm run fixtures:mixed), holds every kind of exchange the A/B specs rely on', () => {
    const frames = parseCapture(readFileSync('fixtures/mixed-traffic.pcap')).records.map((r) => parseFrame(r.data));
    const lines = frames.map(summarize);
    const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
    expect(count(/ arp who-has 10\.0\.0\.1 /), 'ARP requests').to.equal(2);
    expect(count(/ arp reply 10\.0\.0\.1 is-at /), 'ARP replies').to.equal(2);
    expect(count(/icmpv6 neighbor solicitation who-has fd00::1$/), 'neighbour solicitations').to.equal(2);
    expect(count(/icmpv6 neighbor advertisement tgt fd00::1 /), 'neighbour advertisements').to.equal(2);
    expect(count(/ icmp echo (request|reply) /), 'ICMP echo').to.equal(6);
    expect(count(/ icmpv6 echo (request|reply) /), 'ICMPv6 echo').to.equal(4);
    expect(count(/ udp \d+ > 53 /), 'DNS-like queries').to.equal(3);
    expect(count(/ udp 53 > \d+ /), 'DNS-like answers').to.equal(3);
    // Three TCP connections opened and closed both ways (HTTP, SSH-like over IPv4 and IPv6), and one refused.
    expect(count(/ tcp \d+ > \d+ \[S\] /), 'SYNs').to.equal(4);
    expect(count(/ tcp \d+ > \d+ \[SA\] /), 'SYN-ACKs').to.equal(3);
    expect(count(/ tcp \d+ > \d+ \[FA\] /), 'FINs').to.equal(6);
    expect(count(/ tcp \d+ > \d+ \[PA\] .* len [1-9]/), 'data segments').to.equal(6);
    expect(count(/ tcp 8080 > \d+ \[RA\] /), 'the refused connection').to.equal(1);
    expect(count(/ icmp unreachable code 3 /), 'port unreachable').to.equal(1);
    // Recorded with checksum offload off: every checksum is what a wire would carry.
    const bad = frames.flatMap((f, i) =>
      checkChecksums(f)
        .filter((c) => c.status !== 'valid')
        .map((c) => `#${i} ${c.path}`),
    );
    expect(bad).to.deep.equal([]);
  });
});
