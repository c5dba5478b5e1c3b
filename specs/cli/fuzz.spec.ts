import { expect } from 'chai';
import { readCapture } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { trackedCli } from '../support/cli.js';
import { tempDir } from '../support/tools.js';

const { cli } = trackedCli();
const PLANTED = 'specs/bpf/build/planted_tc_ttl_csum.bpf.o';

describe('xdpspec fuzz', () => {
  needsBpf();
  const t = tempDir();
  after(t.cleanup);

  it('exits 0 with a line of what ran when the property holds, the blocks reached with it', async () => {
    const r = await cli('fuzz', OBJ.firewall, '--property', 'never-aborts', '--runs', '300', '--seed', '9');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(
      /^never-aborts held over 300 runs of xdp_firewall \(300 frames, seed 9\); blocks reached: \d+\/\d+ \(\d+%\)$/,
    );
  });

  it('exits 1 with the shrunk counterexample, a spec and the fixture it wrote, the same for the same seed', async () => {
    const args = ['fuzz', PLANTED, '--property', 'valid-checksums', '--l3', 'ipv4', '--malformed', '0', '--seed', '1'];
    const r = await cli(...args, '--out', t.path('found'));
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(r.stdout).to.match(
      /^valid-checksums does not hold \(run \d+, seed 1, shrunk \d+ times\): frame #0's output has ipv4\.checksum/,
    );
    expect(r.stdout).to.include('as a spec:').and.include('frame.eth(');
    const fixture = /written: (\S+\.pcapng)/.exec(r.stdout)![1]!;
    expect((await readCapture(fixture)).records).to.have.length(1);
    const again = await cli(...args);
    expect(again.stdout.split('\n\n')[0]).to.equal(r.stdout.split('\n\n')[0]);
  });

  it('compares with an old object: same-as=OLD.o, over the ports asked for', async () => {
    const r = await cli(
      'fuzz',
      'specs/bpf/build/ipv6_filter_v2.bpf.o',
      '--property',
      `same-as=${OBJ.ipv6Filter}`,
      '--l3',
      'arp,ipv4',
      '--seed',
      '2',
    );
    // The next version passes ARP, which the first dropped.
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(r.stdout).to.match(
      /says dropped \(XDP_DROP\), specs\/bpf\/build\/ipv6_filter_v2\.bpf\.o \(xdp_ipv6_only\) says passed/,
    );
    expect(r.stdout).to.match(/arp/);
  });

  it('exits 2 with one line on bad usage', async () => {
    for (const [args, message] of [
      [
        ['fuzz', OBJ.firewall],
        /^xdpspec: fuzz needs --property: one of never-aborts, valid-checksums, engines-agree, same-as=OLD\.o/,
      ],
      [['fuzz', OBJ.firewall, '--property', 'fast'], /^xdpspec: no property "fast"; the properties are never-aborts/],
      [
        ['fuzz', OBJ.firewall, '--property', 'never-aborts', '--l3', 'ipx'],
        /^xdpspec: --l3 takes ipv4, ipv6, arp, other, got "ipx"/,
      ],
      [
        ['fuzz', OBJ.firewall, '--property', 'never-aborts', '--dst-port', '80-20'],
        /^xdpspec: --dst-port 80-20: a range is FROM-TO/,
      ],
      [
        ['fuzz', OBJ.firewall, '--property', 'never-aborts', '--malformed', '2'],
        /^xdpspec: --malformed takes a share from 0 to 1/,
      ],
      [['fuzz', OBJ.firewall, '--property', 'never-aborts', '--seed', 'x'], /^xdpspec: --seed takes a whole number/],
    ] as [string[], RegExp][]) {
      const r = await cli(...args);
      expect(r.exitCode, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
  });
});
