import { expect } from 'chai';
import ipaddr from 'ipaddr.js';
import { ipv6ToString, macToString, parseIpv6, parseMac } from '../../src/packet/bytes.js';

describe('address text forms', () => {
  it('format IPv6 addresses as RFC 5952 says, agreeing with ipaddr.js on random addresses', () => {
    expect(ipv6ToString(parseIpv6('fd00:0:0:1:0:0:0:1', 'x', 'y'), 0)).to.equal('fd00:0:0:1::1'); // longest run wins
    expect(ipv6ToString(parseIpv6('2001:db8:0:0:1:0:0:1', 'x', 'y'), 0)).to.equal('2001:db8::1:0:0:1'); // first of equal runs
    expect(ipv6ToString(parseIpv6('2001:db8:0:1:1:1:1:1', 'x', 'y'), 0)).to.equal('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(ipv6ToString(Buffer.alloc(16), 0)).to.equal('::');
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let k = 0; k < 20_000; k++) {
      const b = Buffer.from(Array.from({ length: 16 }, () => (rnd() < 140 ? 0 : rnd())));
      const ref = (ipaddr.fromByteArray([...b]) as ipaddr.IPv6).toRFC5952String();
      if (ref.includes('.')) continue; // ipaddr.js writes IPv4-mapped addresses in mixed notation
      if (ipv6ToString(b, 0) !== ref) expect.fail(`${b.toString('hex')}: ${ipv6ToString(b, 0)} != ${ref}`);
    }
  });

  it('format and parse MACs in lower case with colons', () => {
    expect(macToString(parseMac('AA-BB-CC-00-11-22', 'eth', 'src'), 0)).to.equal('aa:bb:cc:00:11:22');
  });
});
