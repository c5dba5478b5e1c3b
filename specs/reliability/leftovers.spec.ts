// Nothing left behind by a run killed outright: `xdpspec replay` gets SIGKILL at several points
// (no handler runs), then one ordinary command runs, and nothing of the killed run remains:
// no namespace, no link, no attached program, no bpffs entry, no process it started.
import { expect } from 'chai';
import { execa, type ResultPromise } from 'execa';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { encodeCapture, frame, until } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

const namespacesOf = (pid: number) => readdirSync('/run/netns').filter((n) => n.startsWith(`xdpspec-${pid}-`));
const hostLinks = () =>
  spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(/\s+/)[0])
    .filter(Boolean)
    .sort();
const bpffs = () => readdirSync('/sys/fs/bpf').sort();
/** `sleep` processes whose command line holds `text` (one a killed run started is re-parented, so found by that). */
const processesWith = (text: string) =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        return cmd.startsWith('sleep\0') && cmd.includes(text);
      } catch {
        return false;
      }
    });
/** The DUT namespace of a run, once it exists. */
const dutOf = (pid: number) => namespacesOf(pid).find((n) => n.endsWith('-dut'));
const xdpOn = (ns: string) =>
  spawnSync('ip', ['-j', '-n', ns, 'link', 'show', 'dev', 'wan'], { encoding: 'utf8' }).stdout.includes('"xdp"');
const rxPackets = (ns: string) => {
  const out = spawnSync('ip', ['-j', '-s', '-n', ns, 'link', 'show', 'dev', 'wan'], { encoding: 'utf8' }).stdout;
  return (JSON.parse(out || '[]') as { stats64?: { rx?: { packets?: number } } }[])[0]?.stats64?.rx?.packets ?? 0;
};

describe('leftovers after SIGKILL', function () {
  needsBpf();
  this.timeout(60_000);
  const t = tempDir();
  after(t.cleanup);
  const big = t.path('big.pcap');
  // A sleep this spec can find by its command line: the fraction is this process's pid.
  const marker = `29.${process.pid}`;

  before(() => {
    // Enough frames that the replay is still running when it is killed mid-way.
    const f = frame.eth().ipv6().udp({ dport: 9 }).build();
    writeFileSync(
      big,
      encodeCapture(
        Array.from({ length: 20_000 }, () => ({ data: f })),
        { format: 'pcap' },
      ),
    );
  });

  const points: { name: string; args: string[]; ready: (pid: number) => boolean }[] = [
    {
      name: 'while it creates its namespaces',
      args: ['replay', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap'],
      ready: (pid) => namespacesOf(pid).length > 0,
    },
    {
      name: 'once its program is attached',
      args: ['replay', OBJ.ipv6Filter, '--pcap', big],
      ready: (pid) => !!dutOf(pid) && xdpOn(dutOf(pid)!),
    },
    {
      name: 'in the middle of the replay',
      args: ['replay', OBJ.ipv6Filter, '--pcap', big],
      ready: (pid) => !!dutOf(pid) && rxPackets(dutOf(pid)!) > 100,
    },
    {
      name: 'while the attaching command of --attached-by runs (it pins in bpffs, then waits)',
      args: [
        'replay',
        '--attached-by',
        `ip link set dev $PORT xdp obj ${OBJ.ipv6Filter} sec xdp && exec sleep ${marker}`,
        '--pcap',
        'fixtures/ipv4-and-ipv6.pcap',
      ],
      ready: () => processesWith(marker).length > 0,
    },
  ];

  for (const point of points) {
    it(`leaves nothing once the next command has run, killed ${point.name}`, async () => {
      const links = hostLinks();
      const pins = bpffs();
      const run: ResultPromise<{ reject: false }> = execa('node', ['dist/cli/main.js', ...point.args], {
        reject: false,
      });
      const pid = run.pid!;
      let ended = false;
      void run.then(() => (ended = true));
      try {
        await until(
          () => {
            if (ended) throw new Error(`the replay ended before the point (${point.name})`);
            return point.ready(pid);
          },
          `the replay reaching the point (${point.name})`,
          20_000,
        );
      } finally {
        run.kill('SIGKILL');
      }
      const r = await run;
      expect(r.signal).to.equal('SIGKILL');
      // What a kill leaves, for the next command to find (the namespaces: no handler ran).
      expect(namespacesOf(pid), 'left by the kill').not.to.deep.equal([]);

      const nextRun = execa(
        'node',
        ['dist/cli/main.js', 'replay', OBJ.ipv6Filter, '--pcap', 'fixtures/ipv4-and-ipv6.pcap'],
        { reject: false },
      );
      const nextPid = nextRun.pid!;
      const next = await nextRun;
      expect(next.exitCode, next.stderr).to.equal(0);
      expect(next.stderr).to.match(new RegExp(`^xdpspec: removed what killed runs left: .*xdpspec-${pid}-`));
      expect(namespacesOf(pid)).to.deep.equal([]);
      expect(namespacesOf(nextPid)).to.deep.equal([]);
      expect(hostLinks()).to.deep.equal(links);
      await until(() => processesWith(marker).length === 0, 'the attaching command dying with the replay', 2000);
      // iproute2's loader may have mounted bpffs and made its skeleton: none of it may stay beyond
      // the kernel's own files, which appear with any mount.
      expect(bpffs().filter((e) => !pins.includes(e) && !e.endsWith('.debug'))).to.deep.equal([]);
    });
  }
});
