// The bad-input corpus: files, arguments and values a user can get wrong, through the CLI and
// the library. Every case must end in a typed error (the CLI: exit 1 or 2 with one "xdpspec:"
// message, never exit 70 and a stack) whose message names the problem and what to do, within a
// time bound (a hang fails the case), and never pass silently. Generated here, not committed.
import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  CaptureReader,
  LiveBench,
  XdpspecError,
  frame,
  loadObject,
  parseCapture,
  runUnit,
  writeCapture,
  type LoadedObject,
} from '../../src/index.js';
import { classicFile, classicHeader, classicRecord, epb, idb, shb, block } from '../support/craft.js';
import { OBJ, SPEC_OBJ, needsBpf } from '../support/kernel.js';
import { tempDir } from '../support/tools.js';

const CLI_BOUND_MS = 15_000; // a case not answered in this time hangs, which is a failure

interface CliCase {
  readonly args: readonly string[];
  /** The problem, and usually the fix, as the message must say them. */
  readonly says: RegExp;
  readonly status?: 1 | 2;
}

interface LibCase {
  readonly name: string;
  readonly run: () => unknown;
  readonly code: string;
  readonly says: RegExp;
}

describe('bad input: a corpus through the CLI and the library', function () {
  needsBpf();
  this.timeout(120_000);
  const t = tempDir();
  after(t.cleanup);
  const f = (name: string) => t.path(name);
  const PCAP = 'fixtures/ipv4-and-ipv6.pcap';
  const V6 = OBJ.ipv6Filter;
  const FW = OBJ.firewall;

  before(() => {
    mkdirSync(f('a-directory'));
    execFileSync('mkfifo', [f('a-fifo')]);
    writeFileSync(f('empty'), '');
    writeFileSync(f('text'), 'not a capture, not an object\n');
    // Captures
    writeFileSync(f('short-header.pcap'), classicHeader().subarray(0, 10));
    writeFileSync(
      f('lying-length.pcap'),
      Buffer.concat([classicHeader({ snap: 100 }), classicRecord({ data: Buffer.alloc(60), incl: 5000 })]),
    );
    writeFileSync(f('cut-record.pcap'), classicFile([{ data: Buffer.alloc(60) }]).subarray(0, 24 + 16 + 20));
    writeFileSync(f('not-ethernet.pcap'), classicFile([{ data: Buffer.alloc(60) }], { linkType: 105 }));
    writeFileSync(f('bad-block.pcapng'), Buffer.concat([shb(), block(1, Buffer.alloc(8), { total: 7 })]));
    writeFileSync(f('cut.pcapng'), Buffer.concat([shb(), idb(), epb(Buffer.alloc(60))]).subarray(0, 60));
    // Map entries
    writeFileSync(f('list.json'), '[1, 2]');
    writeFileSync(f('number.json'), '{"ipv4_src": 5}');
    writeFileSync(f('nosuch-map.json'), '{"nosuch": {"1": 1}}');
    writeFileSync(f('bad-key.json'), '{"ipv4_src": {"notanip/32": 0}}');
    writeFileSync(f('bad-value.json'), '{"ipv4_src": {"10.0.0.1/32": "x"}}');
    // Objects
    copyFileSync('/bin/true', f('x86.elf'));
    const good = execFileSync('cat', [V6]);
    writeFileSync(f('cut.bpf.o'), good.subarray(0, 200));
    writeFileSync(f('header-only.bpf.o'), good.subarray(0, 40));
  });

  const files = {
    capture: [
      ['missing.pcap', /cannot open capture .*missing\.pcap: no such file/, 'FILE_OPEN'],
      [
        'a-directory',
        /capture .*a-directory is a directory, not a file; name a regular file inside it/,
        'FILE_NOT_REGULAR',
      ],
      ['a-fifo', /capture .*a-fifo is a FIFO \(named pipe\), not a file; name a regular file/, 'FILE_NOT_REGULAR'],
      ['empty', /empty|truncated|need \d+ bytes/, 'PCAP_FORMAT'],
      ['text', /unknown magic number 0x[0-9a-f]+: not a pcap or pcapng file/, 'PCAP_FORMAT'],
      ['short-header.pcap', /file header truncated: need 24 bytes, have 10/, 'PCAP_FORMAT'],
      [
        'lying-length.pcap',
        /record 0 at byte 24: captured length 5000 is larger than the snap length 100/,
        'PCAP_FORMAT',
      ],
      ['cut-record.pcap', /record 0 .*truncated|need \d+ bytes/, 'PCAP_FORMAT'],
      ['not-ethernet.pcap', /link type 105|not Ethernet|LINKTYPE/i, 'PCAP_LINK_TYPE'],
      ['bad-block.pcapng', /block length 7|not a multiple of 4|block/, 'PCAP_FORMAT'],
      [
        'cut.pcapng',
        /record 0 at byte 48: block length 92 runs past the end of the file \(12 bytes left\)/,
        'PCAP_FORMAT',
      ],
    ] as [string, RegExp, string][],
    object: [
      ['missing.bpf.o', /BPF object .*missing\.bpf\.o does not exist; build it first/, 'OBJECT_MISSING'],
      [
        'a-directory',
        /BPF object .*a-directory is a directory, not a file; name a regular file inside it/,
        'FILE_NOT_REGULAR',
      ],
      ['a-fifo', /BPF object .*a-fifo is a FIFO \(named pipe\), not a file/, 'FILE_NOT_REGULAR'],
      [
        'empty',
        /is not an ELF object file \(it is empty\); compile the program with clang .* -target bpf/,
        'OBJECT_NOT_ELF',
      ],
      ['text', /is not an ELF object file; compile the program with clang/, 'OBJECT_NOT_ELF'],
      [
        'x86.elf',
        /is a shared library or executable for x86-64 \(ELF e_machine 62\), not a BPF object \(e_machine 247\); compile the program with clang/,
        'OBJECT_NOT_BPF',
      ],
      ['cut.bpf.o', /is cut short at byte 200: its section headers end at byte \d+; rebuild it/, 'OBJECT_NOT_BPF'],
      ['header-only.bpf.o', /is cut short: 40 bytes, less than an ELF header; compile/, 'OBJECT_NOT_BPF'],
      [
        'specs/bpf/build/no_programs.bpf.o',
        /has no programs, only maps or data; a program is a function in a section such as SEC\("xdp"\)/,
        'NO_PROGRAMS',
      ],
      [
        'specs/bpf/build/legacy_section.bpf.o',
        /cannot tell the type of program xdp_legacy from its section name "prog" \(a legacy name\); give the type: programType: 'xdp' \(or 'tc'\) in bench\(\{ \.\.\. \}\).*--type xdp/,
        'PROGRAM_TYPE_UNKNOWN',
      ],
      [
        // old libbpf's prefix: the hint names that type alone
        'specs/bpf/build/legacy_prefixed.bpf.o',
        /section name "xdp_redirect" \(a legacy name\); give the type: programType: 'xdp' in bench\(\{ \.\.\. \}\) or loadObject\(path, globals, \{ programType: 'xdp' \}\), --type xdp on the command line, or rename the section SEC\("xdp"\)$/,
        'PROGRAM_TYPE_UNKNOWN',
      ],
    ] as [string, RegExp, string][],
  };
  const at = (name: string) => (name.startsWith('specs/') ? name : f(name));

  const cliCases: CliCase[] = [
    // Every bad capture, wherever a command takes one.
    ...files.capture.flatMap(([name, says]) => [
      { args: ['dissect', at(name)], says },
      { args: ['test-run', V6, '--pcap', at(name)], says },
      { args: ['replay', V6, '--pcap', at(name)], says },
      { args: ['diff', V6, V6, '--pcap', at(name)], says, status: 2 as const },
    ]),
    // Every bad object, wherever a command takes one (diff: either side).
    ...files.object.flatMap(([name, says]) => [
      { args: ['test-run', at(name), '--pcap', PCAP], says },
      { args: ['replay', at(name), '--pcap', PCAP], says },
      { args: ['diff', at(name), V6, '--pcap', PCAP], says, status: 2 as const },
      { args: ['diff', V6, at(name), '--pcap', PCAP], says, status: 2 as const },
    ]),
    // Globals.
    ...(
      [
        ['mode=1.5', /global mode: 1\.5 is not a whole number; __u32 takes whole numbers from 0 to 4294967295/],
        ['mode=NaN', /global mode: expected a number for __u32, got "NaN"/],
        ['mode=-1', /global mode: -1 does not fit in __u32, which takes whole numbers from 0 to 4294967295/],
        ['mode=1e30', /global mode: 1e\+30 does not fit in __u32/],
        ['mode="deny"', /global mode: expected a number for __u32, got "deny"/],
        ['mode={"a":1}', /global mode: expected a number for __u32, got an object/],
        ['mode', /--set-global takes NAME=VALUE, got "mode"/],
        ['=3', /--set-global takes NAME=VALUE, got "=3"/],
        ['nosuch=1', /global "nosuch" does not exist in .*; globals there: mode/],
      ] as [string, RegExp][]
    ).flatMap(([g, says]) => [
      {
        args: ['test-run', FW, '--pcap', PCAP, '--set-global', g],
        says,
        ...(/NAME=VALUE/.test(says.source) ? { status: 2 as const } : {}),
      },
      {
        args: ['replay', FW, '--pcap', PCAP, '--set-global', g],
        says,
        ...(/NAME=VALUE/.test(says.source) ? { status: 2 as const } : {}),
      },
      { args: ['diff', FW, FW, '--pcap', PCAP, '--set-global', g], says, status: 2 as const },
    ]),
    // Arguments.
    ...['test-run', 'replay'].flatMap((cmd) => [
      {
        args: [cmd, V6, '--pcap', PCAP, '--type', 'kprobe'],
        says: /--type takes xdp, tc or NAME=xdp\|tc, got "kprobe"/,
        status: 2 as const,
      },
      {
        args: [cmd, V6, '--pcap', PCAP, '--program', 'nope'],
        says: /program "nope" does not exist in .*; programs there: xdp_ipv6_only/,
      },
      { args: [cmd, V6], says: new RegExp(`${cmd} needs --pcap FILE`), status: 2 as const },
      { args: [cmd, V6, V6, '--pcap', PCAP], says: new RegExp(`${cmd} takes one BPF object`), status: 2 as const },
      { args: [cmd, V6, '--pcap', PCAP, '--bogus'], says: /Unknown option '--bogus'/, status: 2 as const },
      { args: [cmd, V6, '--pcap'], says: /Option '--pcap <value>' argument missing/, status: 2 as const },
    ]),
    {
      args: ['test-run', V6, '--pcap', PCAP, '--out', f('a-directory')],
      says: /cannot create capture .*a-directory: it is a directory, not a file; name a regular file/,
    },
    {
      args: ['test-run', V6, '--pcap', PCAP, '--out', f('a-fifo')],
      says: /cannot create capture .*a-fifo: it is a FIFO \(named pipe\), not a file/,
    },
    // Map entries for diff, through each of its three options.
    ...['--maps', '--old-maps', '--new-maps'].flatMap((opt) =>
      (
        [
          ['missing.json', /: no such file/],
          ['a-directory', /a-directory is a directory, not a file/],
          ['a-fifo', /a-fifo is a FIFO \(named pipe\), not a file/],
          ['text', /text is not JSON: /],
          [
            'list.json',
            /should hold an object of maps, each an object \{"key": value\} or a list of \[key, value\] pairs/,
          ],
          ['number.json', /should hold an object of maps, .*; map ipv4_src is 5/],
          ['nosuch-map.json', /map "nosuch" does not exist in .*; maps there: mac_src, /],
          ['bad-key.json', /key of map ipv4_src: expected an object for struct ipv4_key, got "notanip\/32"/],
          ['bad-value.json', /value of map ipv4_src: expected a number for __u64, got "x"/],
        ] as [string, RegExp][]
      ).map(([file, says]) => ({ args: ['diff', FW, FW, '--pcap', PCAP, opt, f(file)], says, status: 2 as const })),
    ),
    { args: ['diff', V6, '--pcap', PCAP], says: /diff takes two BPF objects, the old and the new, got 1/, status: 2 },
    { args: ['diff', V6, V6, '--pcap', PCAP, '--maps', f('missing.json')], says: /missing\.json/, status: 2 },
    { args: ['diff', V6, V6, '--pcap', PCAP, '--maps', f('text')], says: /text.*JSON|JSON.*text/, status: 2 },
    { args: ['dissect'], says: /dissect takes one capture file, got 0/, status: 2 },
    { args: ['dissect', PCAP, '--json', '-v'], says: /--json and --verbose do not go together/, status: 2 },
    { args: ['nosuchcommand'], says: /unknown command "nosuchcommand"/, status: 2 },
    {
      args: ['replay', '--attached-by', 'true', '--pcap', PCAP],
      says: /true exited without attaching anything to wan: .*check that the command names the interface as \$PORT/,
    },
    { args: ['replay', '--attached-by', 'exit 3', '--pcap', PCAP], says: /the attaching command failed \(exit 3\)/ },
    {
      args: ['replay', V6, '--attached-by', 'true', '--pcap', PCAP],
      says: /a BPF object or --attached-by, not both/,
      status: 2,
    },
    { args: ['run', '--shard', '0/2'], says: /--shard takes I\/N with 1 <= I <= N/, status: 2 },
    { args: ['run', '--timeout=-5'], says: /--timeout takes milliseconds, got "-5"/, status: 2 },
    {
      args: ['run', 'specs/fixtures.spec.ts', '--reporter', 'nope-reporter'],
      says: /--reporter nope-reporter: .*give one of Mocha's/,
      status: 2,
    },
    { args: ['init', '--no-install', f('text')], says: /is not a directory; name a directory/, status: 2 },
  ];

  it(`answers each of ${cliCases.length} bad command lines with a typed error that names the problem, in bounded time`, async () => {
    expect(cliCases.length).to.be.at.least(150);
    const wrong: string[] = [];
    // Four at a time: each case is a node process, mostly start-up.
    for (let i = 0; i < cliCases.length; i += 4) {
      await Promise.all(
        cliCases.slice(i, i + 4).map(async (c) => {
          const r = await execa('node', ['dist/cli/main.js', ...c.args], { reject: false, timeout: CLI_BOUND_MS });
          const line = `xdpspec ${c.args.join(' ')}`;
          const want = c.status ?? (c.args[0] === 'diff' || c.args[0] === 'run' || c.args[0] === 'init' ? 2 : 1);
          if (r.timedOut) wrong.push(`${line}: hung (no answer in ${CLI_BOUND_MS} ms)`);
          else if (r.exitCode !== want)
            wrong.push(`${line}: exit ${r.exitCode}, expected ${want}: ${r.stderr.slice(0, 300)}`);
          else if (!r.stderr.startsWith('xdpspec: ') || r.stderr.includes('internal error'))
            wrong.push(`${line}: not one clear message: ${r.stderr.slice(0, 300)}`);
          else if (!c.says.test(r.stderr))
            wrong.push(`${line}: message does not match ${c.says}: ${r.stderr.slice(0, 300)}`);
        }),
      );
    }
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });

  it('answers each bad library call with the error class and code it documents, naming the problem', async () => {
    const objects: LoadedObject[] = [];
    const keep = (o: LoadedObject) => (objects.push(o), o);
    const fw = keep(loadObject(FW));
    const maps = keep(loadObject(SPEC_OBJ.verdicts));
    const arrays = keep(loadObject(OBJ.maps));
    const closed = loadObject(SPEC_OBJ.verdicts);
    const closedMap = closed.map(closed.maps[0]?.name ?? '.rodata');
    const closedProgram = closed.program();
    closed.close();
    const prog = maps.program();
    const udp = () => frame.eth().ipv4().udp();
    const cases: LibCase[] = [
      ...files.object.map(([name, says, code]): LibCase => ({
        name: `loadObject(${name}).program()`,
        run: () => keep(loadObject(at(name))).program(),
        code,
        says,
      })),
      ...files.capture.map(([name, says, code]): LibCase => ({
        name: `CaptureReader.open(${name})`,
        run: async () => {
          const r = await CaptureReader.open(at(name));
          for await (const _ of r) void _;
        },
        code,
        says,
      })),
      ...files.capture.map(([name, says, code]): LibCase => ({
        name: `runUnit(program, ${name})`,
        run: () => runUnit(prog, at(name)),
        code,
        says,
      })),
      ...(
        [
          ['dst', 'zz:zz'],
          ['src', 'none'],
          ['dst', '01:02:03:04:05'],
          ['dst', '01:02:03:04:05:06:07'],
          ['src', '0102.0304.0506'],
          ['dst', 'gg:00:00:00:00:01'],
          ['src', ''],
        ] as const
      ).map(([k, v]): LibCase => ({
        name: `eth ${k} ${JSON.stringify(v)}`,
        run: () => frame.eth({ [k]: v }).build(),
        code: 'FRAME_BUILD',
        says: /is not a MAC address; write it as six hex bytes with colons/,
      })),
      ...(['10.0.0', '300.1.1.1', 'fd00::1', 'localhost', ''] as const).map((v): LibCase => ({
        name: `ipv4 dst ${JSON.stringify(v)}`,
        run: () => frame.eth().ipv4({ dst: v }).build(),
        code: 'FRAME_BUILD',
        says: /ipv4\.dst/,
      })),
      ...(['10.0.0.1', 'fd00:::1', 'zz::1'] as const).map((v): LibCase => ({
        name: `ipv6 src ${JSON.stringify(v)}`,
        run: () => frame.eth().ipv6({ src: v }).build(),
        code: 'FRAME_BUILD',
        says: /ipv6\.src/,
      })),
      ...([-1, 65536, 1.5, Number.NaN] as const).map((v): LibCase => ({
        name: `udp dport ${v}`,
        run: () => frame.eth().ipv4().udp({ dport: v }).build(),
        code: 'FRAME_BUILD',
        says: /udp\.dport: .* does not fit in 16 bits/,
      })),
      ...([-3, 1.5, 70000, Number.NaN] as const).map((v): LibCase => ({
        name: `padding(${v})`,
        run: () => udp().padding(v).build(),
        code: 'FRAME_BUILD',
        says: /padding: .* is not a number of bytes; give a whole number from 0 to 65535/,
      })),
      ...(
        [
          [1.5, /1\.5 is not a whole number; __u32 takes whole numbers from 0 to 4294967295/],
          [Number.NaN, /NaN is not a whole number/],
          [Number.POSITIVE_INFINITY, /Infinity is not a whole number/],
          [-1, /-1 does not fit in __u32/],
          [2 ** 32, /4294967296 does not fit in __u32/],
          [2n ** 40n, /1099511627776 does not fit in __u32/],
          ['deny', /expected a number for __u32, got "deny"/],
          [null, /expected a number for __u32, got null/],
          [{ a: 1 }, /expected a number for __u32, got an object/],
        ] as [unknown, RegExp][]
      ).map(([v, says]): LibCase => ({
        name: `global mode = ${String(v)}`,
        run: () => loadObject(FW, { mode: v }).close(),
        code: 'BPF_VALUE',
        says,
      })),
      {
        name: 'a global that does not exist',
        run: () => loadObject(FW, { nosuch: 1 }).close(),
        code: 'NOT_FOUND',
        says: /global "nosuch" does not exist in .*; globals there: mode/,
      },
      {
        name: 'a program type that is not one',
        run: () => loadObject(V6, {}, { programType: 'kprobe' as never }).close(),
        code: 'PROGRAM_TYPE',
        says: /program type "kprobe" is not one of xdp, tc/,
      },
      {
        name: 'a program that does not exist',
        run: () => fw.program('nope'),
        code: 'NOT_FOUND',
        says: /program "nope" does not exist in .*; programs there: xdp_firewall/,
      },
      {
        name: 'a map that does not exist',
        run: () => fw.map('nope'),
        code: 'NOT_FOUND',
        says: /map "nope" does not exist in .*; maps there: /,
      },
      ...(['bogus', 'ANY', '', 1] as const).map((mode): LibCase => ({
        name: `map.set mode ${JSON.stringify(mode)}`,
        run: () => fw.map(fw.maps[0]!.name).set({}, 0, mode as never),
        code: 'MAP_UPDATE_MODE',
        says: /update mode .* is not one of 'any', 'new', 'existing'/,
      })),
      ...(
        [
          [{ repeat: -5 }, /repeat must be a whole number from 1 to 10000000, got -5/],
          [{ repeat: 0 }, /repeat must be a whole number from 1 to 10000000, got 0/],
          [{ repeat: 1.5 }, /got 1\.5/],
          [{ repeat: Number.NaN }, /got NaN/],
          [{ repeat: 1e9 }, /got 1000000000/],
          [{ ingressIfindex: -1 }, /ingressIfindex must be a whole number from 0 to 4294967295, got -1/],
          [{ ingressIfindex: 1.5 }, /ingressIfindex must be a whole number/],
          [{ rxQueue: -2 }, /rxQueue must be a whole number/],
        ] as [object, RegExp][]
      ).map(([o, says]): LibCase => ({
        name: `testRun ${JSON.stringify(o)}`,
        run: () => prog.testRun(udp().build(), o),
        code: 'TEST_RUN_OPTIONS',
        says,
      })),
      ...(
        [
          [{ prefixlen: 32, addr: '10.0.0.300' }, 0, /ipv4_key|addr|10\.0\.0\.300/],
          [{ prefixlen: 33.5, addr: '10.0.0.1' }, 0, /prefixlen: 33\.5 is not a whole number/],
          [{ prefixlen: 32, addr: '10.0.0.1', extra: 1 }, 0, /has no member "extra" \(members: prefixlen, addr\)/],
          ['10.0.0.1', 0, /expected an object for struct ipv4_key, got "10\.0\.0\.1"/],
          [{ prefixlen: 32, addr: '10.0.0.1' }, -1, /-1 does not fit in __u64/],
          [
            { prefixlen: 32, addr: '10.0.0.1' },
            0.25,
            /0\.25 is not a whole number; __u64 takes whole numbers from 0 to 18446744073709551615/,
          ],
          [{ prefixlen: 32, addr: '10.0.0.1' }, 'many', /expected a number for __u64, got "many"/],
          [{ prefixlen: 32, addr: '10.0.0.1' }, [1, 2], /expected a number for __u64, got an array of 2/],
        ] as [unknown, unknown, RegExp][]
      ).map(([k, v, says]): LibCase => ({
        name: `ipv4_src.set(${JSON.stringify(k)}, ${JSON.stringify(v)})`,
        run: () => fw.map('ipv4_src').set(k, v),
        code: 'BPF_VALUE',
        says,
      })),
      {
        name: 'an array key past max_entries',
        run: () => arrays.map('counters').set(1_000_000, 1),
        code: 'BPF',
        says: /E2BIG.*key 1000000 is past the last index: array keys run from 0 to \d+, max_entries \d+/,
      },
      {
        name: 'writeCapture into a directory',
        run: () => writeCapture(f('a-directory'), []),
        code: 'FILE_NOT_REGULAR',
        says: /it is a directory, not a file; name a regular file/,
      },
      {
        name: 'writeCapture into a FIFO',
        run: () => writeCapture(f('a-fifo'), []),
        code: 'FILE_NOT_REGULAR',
        says: /it is a FIFO \(named pipe\), not a file/,
      },
      {
        name: 'testRun of 13 bytes',
        run: () => prog.testRun(Buffer.alloc(13)),
        code: 'FRAME_TOO_SHORT',
        says: /frame of 13 bytes is shorter than an Ethernet header \(14\)/,
      },
      {
        name: 'testRun of 70000 bytes',
        run: () => prog.testRun(Buffer.alloc(70000)),
        code: 'FRAME_TOO_LARGE',
        says: /frame of 70000 bytes is larger than 65536/,
      },
      {
        name: 'runUnit of a number',
        run: () => runUnit(prog, 42 as never),
        code: 'FRAME_SOURCE',
        says: /expected frames/,
      },
      {
        name: 'parseCapture of text',
        run: () => parseCapture(Buffer.from('hello, world'), 'inline'),
        code: 'PCAP_FORMAT',
        says: /inline: at byte 0: unknown magic number/,
      },
      {
        name: 'closed map get',
        run: () => closedMap.get(0),
        code: 'OBJECT_CLOSED',
        says: /map .* is closed with its object; load the object again/,
      },
      {
        name: 'closed map set',
        run: () => closedMap.set(0, 0),
        code: 'OBJECT_CLOSED',
        says: /is closed with its object/,
      },
      {
        name: 'closed map keys',
        run: () => [...closedMap.keys()],
        code: 'OBJECT_CLOSED',
        says: /is closed with its object/,
      },
      {
        name: 'closed map snapshot',
        run: () => closedMap.snapshot(),
        code: 'OBJECT_CLOSED',
        says: /is closed with its object/,
      },
      {
        name: 'closed program testRun',
        run: () => closedProgram.testRun(udp().build()),
        code: 'OBJECT_CLOSED',
        says: /program xdp_verdicts of .* is closed with its object; load the object again/,
      },
      {
        name: 'closed program testRunMany',
        run: () => closedProgram.testRunMany([udp().build()]),
        code: 'OBJECT_CLOSED',
        says: /is closed with its object/,
      },
      {
        name: 'closed program stats',
        run: () => closedProgram.stats(),
        code: 'OBJECT_CLOSED',
        says: /is closed with its object/,
      },
      { name: 'closed object program()', run: () => closed.program(), code: 'OBJECT_CLOSED', says: /is closed/ },
      {
        name: 'captureBuffer 0',
        run: () => LiveBench.create({ ports: [{ name: 'wan' }] }, { captureBuffer: 0 }),
        code: 'LIVE_OPTIONS',
        says: /captureBuffer must be a whole number of bytes from 1 to 1 GiB, got 0/,
      },
    ];
    const wrong: string[] = [];
    try {
      for (const c of cases) {
        let err: unknown;
        try {
          await c.run();
        } catch (e) {
          err = e;
        }
        if (err === undefined) wrong.push(`${c.name}: passed silently`);
        else if (!(err instanceof XdpspecError))
          wrong.push(`${c.name}: ${(err as Error)?.constructor?.name}: ${String((err as Error)?.message)}`);
        else if (err.code !== c.code) wrong.push(`${c.name}: code ${err.code}, expected ${c.code}: ${err.message}`);
        else if (!c.says.test(err.message)) wrong.push(`${c.name}: message does not match ${c.says}: ${err.message}`);
      }
    } finally {
      for (const o of objects) o.close();
    }
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
    expect(cases.length).to.be.at.least(100);
  });
});
