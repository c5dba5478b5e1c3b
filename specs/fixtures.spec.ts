import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { generateFixtures } from '../fixtures/generate.js';
import { parseCapture, parseFrame } from '../src/index.js';

describe('fixtures', () => {
  it('are what fixtures/generate.ts produces, byte for byte (run `npm run fixtures` after changing it)', () => {
    for (const [name, bytes] of generateFixtures()) {
      expect(readFileSync(`fixtures/${name}`).equals(bytes), `fixtures/${name} is stale`).to.equal(true);
    }
  });

  it('ipv4-and-ipv6.pcap holds 20 frames, 10 IPv4 and 10 IPv6, interleaved', () => {
    const c = parseCapture(readFileSync('fixtures/ipv4-and-ipv6.pcap'));
    expect(c.format).to.equal('pcap');
    const kinds = c.records.map((r) => (parseFrame(r.data).has('ipv6') ? '6' : parseFrame(r.data).has('ipv4') ? '4' : '?'));
    expect(kinds.join('')).to.equal('46'.repeat(10));
  });
});
