import { expect } from 'chai';
import { parseFrame, readCapture, writeCapture } from '../../src/index.js';
import { tempDir, tsharkFields } from '../support/tools.js';

// Captured by tcpdump -i any (-y LINUX_SLL and the default LINUX_SLL2) in a namespace: UDP over
// lo to 127.0.0.1 and ::1, and to 10.5.0.2 out of a veth with MAC 02:aa:00:00:00:01, seen going
// out of it and coming in at its peer; the pcapng is editcap's copy of the SLL2 file; the raw IP
// and BSD loopback (NULL, IPv6 as macOS's family 30) files hold the same packets.
const DATA = 'specs/pcap/data';
const FILES: [file: string, linkType: number][] = [
  ['any-sll.pcap', 113],
  ['any-sll2.pcap', 276],
  ['any-sll2.pcapng', 276],
  ['raw-ip.pcap', 101],
  ['null.pcap', 0],
];
const PACKET_FIELDS = [
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'data.data',
];

describe('captures of other link layers, read as Ethernet frames', () => {
  const t = tempDir();
  after(t.cleanup);

  for (const [file, linkType] of FILES)
    it(`${file}: the same packets behind an Ethernet header, as tshark reads them in the original`, async () => {
      const c = await readCapture(`${DATA}/${file}`);
      expect(c.interfaces[0]).to.include({ linkType: 1, capturedLinkType: linkType });
      expect(c.records).to.have.length(4);
      for (const r of c.records) expect(r.originalLength).to.equal(r.data.length);
      // Written back as Ethernet, tshark must find what it finds in the file as captured.
      const out = t.path(`${file}.eth.pcap`);
      await writeCapture(
        out,
        c.records.map((r) => ({ data: r.data, timestamp: r.timestamp })),
        { format: 'pcap' },
      );
      const ours = await tsharkFields(out, PACKET_FIELDS);
      expect(ours).to.deep.equal(await tsharkFields(`${DATA}/${file}`, PACKET_FIELDS));
      expect(ours.map((row) => row[5])).to.deep.equal(['5353', '5354', '9', '9']);
      expect((await tsharkFields(out, ['eth.type'])).flat()).to.deep.equal(['0x0800', '0x86dd', '0x0800', '0x0800']);
    });

  it("takes the sender's MAC where a cooked capture kept one, the builder's default addresses otherwise", async () => {
    const sources = async (file: string) =>
      (await readCapture(`${DATA}/${file}`)).records.map((r) => {
        const eth = parseFrame(r.data);
        return `${String(eth.get('eth.src'))} > ${String(eth.get('eth.dst'))}`;
      });
    // lo has no link-layer address (ARPHRD_LOOPBACK); the veth's packets carry its MAC.
    const cooked = [
      '02:00:00:00:00:01 > 02:00:00:00:00:02',
      '02:00:00:00:00:01 > 02:00:00:00:00:02',
      '02:aa:00:00:00:01 > 02:00:00:00:00:02',
      '02:aa:00:00:00:01 > 02:00:00:00:00:02',
    ];
    expect(await sources('any-sll.pcap')).to.deep.equal(cooked);
    expect(await sources('any-sll2.pcapng')).to.deep.equal(cooked);
    expect(new Set(await sources('raw-ip.pcap'))).to.deep.equal(new Set(['02:00:00:00:00:01 > 02:00:00:00:00:02']));
    const tsharkSll = (await tsharkFields(`${DATA}/any-sll2.pcap`, ['sll.src.eth'])).flat();
    expect(tsharkSll.slice(2)).to.deep.equal(['02:aa:00:00:00:01', '02:aa:00:00:00:01']);
  });
});
