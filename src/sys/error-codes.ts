// The one list of error codes: every XdpspecError's `code` is a key of it (the type system
// refuses any other), and the README's error table is generated from it (`npm run
// errors:readme`; a spec fails when the two differ). Over 350 lines: one entry per code, as data.

/** What an error code means and what to do about it. */
export interface ErrorCodeInfo {
  /** The error class that carries it, when it is not a plain XdpspecError. */
  readonly class?: string;
  readonly area:
    'captures' | 'frames' | 'objects' | 'maps' | 'runs' | 'live' | 'system' | 'validation' | 'command line';
  readonly meaning: string;
  readonly todo: string;
}

export const ERROR_CODES = {
  // Capture files
  PCAP_FORMAT: {
    class: 'PcapFormatError',
    area: 'captures',
    meaning:
      'a pcap or pcapng file is truncated, malformed or of an unknown kind; the message gives the file, byte offset and record',
    todo: 'regenerate or recapture the file; check it with `tshark -r FILE`',
  },
  PCAP_LINK_TYPE: {
    class: 'PcapLinkTypeError',
    area: 'captures',
    meaning: 'a capture of a link type other than Ethernet',
    todo: 'recapture on an Ethernet interface (e.g. `tcpdump -i veth0`) or convert it',
  },
  FILE_OPEN: {
    area: 'captures',
    meaning: 'a capture file that does not exist or cannot be opened',
    todo: 'check the path and its permissions',
  },
  FILE_ACCESS: { area: 'captures', meaning: 'a file exists but cannot be read', todo: 'check its permissions' },
  FILE_NOT_REGULAR: {
    area: 'captures',
    meaning:
      'a capture, object or map file is a directory, FIFO, socket or device: refused before anything opens it (a FIFO would block forever)',
    todo: 'name a regular file',
  },
  READER_REUSED: {
    area: 'captures',
    meaning: 'a capture reader iterated a second time',
    todo: 'open the capture again to read it twice',
  },
  WRITER_RECORD: {
    area: 'captures',
    meaning:
      'a frame a capture writer cannot write: larger than the snap length, or on an interface the writer does not describe',
    todo: 'raise the snap length, or write pcapng for several interfaces',
  },
  WRITER_OPTIONS: {
    area: 'captures',
    meaning: 'writer options that do not fit the format (several interfaces for a classic pcap file)',
    todo: 'write pcapng for several interfaces',
  },
  WRITER_CLOSED: {
    area: 'captures',
    meaning: 'a capture writer used after close()',
    todo: 'write everything before closing it',
  },
  // Frames
  FRAME_BUILD: {
    class: 'FrameBuildError',
    area: 'frames',
    meaning: "a frame cannot be built as specified: a bad address, a value out of its field's range",
    todo: 'fix the field the message names (layer.field)',
  },
  FRAME_SOURCE: {
    area: 'frames',
    meaning: 'something given as frames is none of a Buffer, a builder, an array of them or a capture path',
    todo: 'pass frames in one of those forms',
  },
  FRAME_TOO_SHORT: {
    area: 'frames',
    meaning: 'a frame shorter than an Ethernet header (14 bytes), which the kernel refuses',
    todo: 'give at least 14 bytes',
  },
  FRAME_TOO_LARGE: {
    area: 'frames',
    meaning: 'a frame larger than a test run takes (64 KiB)',
    todo: 'split it, or use the live engine with a larger MTU',
  },
  TABLE_ROW: {
    area: 'frames',
    meaning: 'a row of a table-driven spec (`runTable`) that is not hex bytes, or has no input',
    todo: 'fix the row the message names',
  },
  // Objects and programs
  OBJECT_MISSING: { area: 'objects', meaning: 'the BPF object does not exist', todo: 'build it first (`make -C bpf`)' },
  OBJECT_NOT_ELF: {
    area: 'objects',
    meaning: 'the file is not ELF at all (or empty)',
    todo: 'compile with `clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o`',
  },
  OBJECT_NOT_BPF: {
    area: 'objects',
    meaning: 'ELF for a CPU (named), 32-bit, or cut short (at which byte, and where its section headers should end)',
    todo: 'compile for the bpf target; rebuild a file cut short',
  },
  OBJECT_CLOSED: {
    area: 'objects',
    meaning: "a map or program handle used after its object was closed (its fd number may already be another object's)",
    todo: 'load the object again',
  },
  NO_PROGRAMS: {
    area: 'objects',
    meaning: 'an object with maps and no program',
    todo: 'check the SEC() of the program',
  },
  NOT_FOUND: {
    class: 'NotFoundError',
    area: 'objects',
    meaning: 'a program, map, global or port name that does not exist; lists the ones that do',
    todo: 'use one of the names listed',
  },
  PROGRAM_AMBIGUOUS: {
    area: 'objects',
    meaning: 'an object has several programs and none was named',
    todo: 'name one (`program(name)`, `--program NAME`)',
  },
  PROGRAM_TYPE: {
    area: 'objects',
    meaning: 'a program type other than `xdp` or `tc` was asked for',
    todo: 'give xdp or tc',
  },
  PROGRAM_TYPE_UNKNOWN: {
    area: 'objects',
    meaning: 'a legacy section name (`SEC("prog")`) libbpf cannot type',
    todo: 'give `programType` / `--type`, or rename the section `SEC("xdp")` / `SEC("tc")`',
  },
  WRONG_PROGRAM_TYPE: {
    area: 'objects',
    meaning: 'attaching a program where its type does not run (a TC program as XDP, ...)',
    todo: 'attach it with the call for its type',
  },
  BPF: {
    class: 'BpfError',
    area: 'objects',
    meaning: 'the kernel or libbpf refused an operation: the operation, errno by name, and a hint',
    todo: 'follow the hint; `errno` is kept on the error',
  },
  BPF_VERIFIER: {
    class: 'VerifierError',
    area: 'objects',
    meaning: 'the verifier rejected a program: its last lines and the reason in the message, the whole log in `.log`',
    todo: 'fix the instruction the log ends at (usually a missing bounds check)',
  },
  BPF_GLOBAL: {
    area: 'objects',
    meaning: 'a global that cannot be set: read-only after load, or with no initial value',
    todo: 'set `.rodata` globals before load (the `globals` option, `--set-global`)',
  },
  PRIVILEGES: {
    class: 'PrivilegeError',
    area: 'objects',
    meaning: 'the process lacks CAP_BPF / CAP_SYS_ADMIN / CAP_NET_ADMIN',
    todo: 'run as root',
  },
  NOT_SUPPORTED: {
    class: 'NotSupportedError',
    area: 'objects',
    meaning:
      'the running kernel lacks a feature the call needs (it names the feature and the kernel version that has it)',
    todo: 'run on a newer kernel; in specs, `skipIfNotSupported` turns it into a visible skip',
  },
  // Maps
  BPF_VALUE: {
    class: 'ValueShapeError',
    area: 'maps',
    meaning:
      "a key or value that does not fit the map's BTF type: non-integers, out-of-range numbers, text that is no MAC or IP address",
    todo: 'give a value of the shape the message shows',
  },
  BPF_MAP_OP: {
    area: 'maps',
    meaning: "an operation the map's type does not have (deleting from an array, ...)",
    todo: 'do what the message suggests (set the value to zero, ...)',
  },
  EVENT_BUFFER: {
    area: 'maps',
    meaning:
      'a ring buffer or perf event array cannot be read as asked: the map is of another type, the type named for its records is not in the BTF, a record is shorter than that type, or the kernel lost records of a full perf buffer',
    todo: 'read a BPF_MAP_TYPE_RINGBUF with ringBuffer() and a perf event array with perfBuffer(); name a type the object declares (a global of it keeps it in BTF), or read raw bytes; drain a perf buffer more often, or give it more pages',
  },
  MAP_UPDATE_MODE: {
    area: 'maps',
    meaning: 'a `map.set` mode other than `any`, `new`, `existing`',
    todo: 'give one of those',
  },
  MAP_SPEC: {
    area: 'maps',
    meaning: 'a `createMap` spec the kernel cannot make: an unknown type, sizes out of range',
    todo: 'fix the field the message names',
  },
  // Runs
  TEST_RUN_OPTIONS: {
    area: 'runs',
    meaning: '`repeat` outside 1..10,000,000, or a context field that is no 32-bit count',
    todo: 'fix the option',
  },
  TEST_RUN_INTERRUPTED: {
    area: 'runs',
    meaning:
      'a signal interrupted a test run: a single run is never repeated (on older kernels the program already ran); a timing run is retried three times, then reported',
    todo: 'run the case again from a fresh state',
  },
  PROBE_BUILD: {
    area: 'runs',
    meaning: "one of xdpspec's own probes is missing and cannot be built",
    todo: 'install make, clang and libbpf-dev (the message names the packages)',
  },
  PROBE_CLOSED: { area: 'runs', meaning: 'the redirect probe used after close()', todo: 'open a new one' },
  ENGINES_DISAGREE: {
    class: 'EngineDisagreement',
    area: 'runs',
    meaning: 'the unit and live engines gave different verdicts, outputs or map states (`runBoth`)',
    todo: 'read the frames listed: a program that depends on the device, time or randomness, or a kernel difference',
  },
  // The live engine
  TOPOLOGY: {
    area: 'live',
    meaning: 'a topology spec that cannot be made: a bad interface name, address or route',
    todo: 'fix the field the message names',
  },
  NO_PORT: { area: 'live', meaning: 'a port name the bench does not have', todo: 'use one of the ports listed' },
  NO_HOST: { area: 'live', meaning: 'a host name the topology does not have', todo: 'use one of the hosts listed' },
  NO_INTERFACE: {
    area: 'live',
    meaning: 'attaching to an interface that does not exist (in that namespace)',
    todo: 'check the interface and namespace names',
  },
  NO_PROGRAM: {
    area: 'live',
    meaning: 'replaying into a port with no program, or one whose object was closed',
    todo: 'attach a loaded program first',
  },
  LIVE_MODE: {
    area: 'live',
    meaning: 'a live mode that cannot do what was asked: `auto` XDP mode, streaming generic XDP',
    todo: 'attach in native or generic mode; replay generic-mode programs one frame at a time',
  },
  DEVICE_MAP_NAMESPACE: {
    area: 'live',
    meaning:
      "a live run's program redirects through a device map entry written from outside the DUT's namespace, which holds a device of that namespace (perhaps the machine's real interface)",
    todo: 'write the entry with `bench.setDeviceMap(map, key, port)`',
  },
  LIVE_OPTIONS: { area: 'live', meaning: 'a live bench option out of range', todo: 'fix the option' },
  LIVE_STRAY: {
    area: 'live',
    meaning: 'more frames reached the program than were injected, so counters cannot tell verdicts apart',
    todo: 'give both ends of a port addresses, so the bench sets static neighbours; stop what else sends into the DUT',
  },
  LIVE_LOST: {
    area: 'live',
    meaning:
      'frames were sent back or redirected into a device that could not take them (xdp_tx_errors), or veth refused XDP frames a replay or stream handed to the DUT end (its queue was full, or the end has no XDP program)',
    todo: "redirect to a port whose peer can receive (the bench's ports can); check the program is still attached in native mode; run again, or with { via: 'socket' }",
  },
  LIVE_TC_NO_SIGN: {
    area: 'live',
    meaning:
      'a TC frame left no sign of its fate: not passed up, redirected to a port, dropped, stolen or freed (e.g. the program changed its EtherType)',
    todo: 'test such frames with runUnit',
  },
  CAPTURE_LOSS: {
    area: 'live',
    meaning:
      'the kernel dropped captured frames from a full socket queue or capture ring: reported as soon as counted, never as a drop or a time-out',
    todo: 'size the queues: `LiveBench.create(spec, { captureBuffer })`',
  },
  CAPTURE: {
    area: 'live',
    meaning: 'reading a capture socket failed',
    todo: 'the message gives errno; the interface may have gone',
  },
  INJECT: {
    area: 'live',
    meaning:
      "the kernel refused to send a frame (larger than the MTU, the interface down), or a stream's injector could not make one",
    todo: 'the message names the frame and the reason',
  },
  PACKET_SOCKET: {
    area: 'live',
    meaning: 'a packet socket cannot be opened or set up (no interface, no CAP_NET_RAW)',
    todo: 'run as root; check the interface',
  },
  SOCKET_CLOSED: { area: 'live', meaning: 'a packet socket used after close()', todo: 'open a new one' },
  ETHTOOL: {
    area: 'live',
    meaning: "a driver's statistics cannot be read",
    todo: 'the message gives errno; the interface may have gone',
  },
  LINK: {
    area: 'live',
    meaning: "an interface's flags cannot be read or set",
    todo: 'the message gives errno and the interface',
  },
  TIMEOUT: {
    area: 'live',
    meaning:
      'something a counter promised did not happen in time (the deadline only bounds a wait, it is not synchronisation)',
    todo: 'the message says what was awaited and what to check',
  },
  ATTACH_COMMAND: {
    area: 'live',
    meaning:
      '`replay --attached-by`: the command failed, or exited without attaching anything (or attached in offload mode, or on both TC hooks)',
    todo: 'check the command names the interface as $PORT',
  },
  BENCH_NOT_READY: {
    area: 'live',
    meaning: "the `bench()` fixture's bench or object used while describe() runs, before its before() hook",
    todo: 'use them inside it(...)',
  },
  FIXTURE: {
    area: 'live',
    meaning:
      'a fixture declared twice, read under a name that was not declared, or whose body returned without calling use()',
    todo: 'declare each fixture once, and await use(value) in its body',
  },
  NOT_IN_MOCHA: {
    area: 'live',
    meaning: '`bench()` called outside a Mocha describe()',
    todo: 'call it inside describe() of a spec Mocha runs',
  },
  BPFFS_MOUNT: {
    area: 'system',
    meaning: "the run's private bpffs cannot be mounted (for maps an object pins)",
    todo: 'run as root on a kernel with bpffs',
  },
  LIBRARY_MISSING: {
    area: 'system',
    meaning: 'libbpf.so.1 or libc cannot be loaded',
    todo: 'install the Debian package named (npm test installs it)',
  },
  INTERNAL: {
    area: 'system',
    meaning: 'xdpspec found itself inconsistent (its package.json, ...)',
    todo: 'report it, with the message',
  },
  // Validating changes
  GOLDEN_MISMATCH: {
    class: 'GoldenMismatch',
    area: 'validation',
    meaning: 'a run differs from its golden capture: the per-frame diff',
    todo: 'fix the program, or accept the change with XDPSPEC_UPDATE_GOLDEN=1 and commit it',
  },
  GOLDEN_MISSING: {
    area: 'validation',
    meaning: 'no golden capture recorded yet',
    todo: 'record it with XDPSPEC_UPDATE_GOLDEN=1, then commit it',
  },
  GOLDEN_FORMAT: {
    area: 'validation',
    meaning: 'a file at a golden path that is not a golden capture',
    todo: 'remove it and record again',
  },
  RUNTIME_REGRESSION: {
    class: 'RunTimeRegression',
    area: 'validation',
    meaning: 'a program does more work per frame than its baseline allows',
    todo: 'make it faster, or record a new baseline (XDPSPEC_UPDATE_BASELINE=1)',
  },
  BASELINE_MISSING: {
    area: 'validation',
    meaning: 'no run-time baseline recorded yet',
    todo: 'record it with XDPSPEC_UPDATE_BASELINE=1 (or `xdpspec run --update-baseline`), then commit it',
  },
  BASELINE_FORMAT: {
    area: 'validation',
    meaning: 'a run-time baseline file that is not one',
    todo: 'remove it and record again',
  },
  RUNTIME_FACTOR: {
    area: 'validation',
    meaning: 'an allowed growth factor below 1',
    todo: 'give 1 or more (1.5 allows 50% more work)',
  },
  RUNTIME_FRAMES: {
    area: 'validation',
    meaning: 'a run-time measurement with no frames',
    todo: 'give at least one frame',
  },
  RUNTIME_TYPE: {
    area: 'validation',
    meaning: 'a run-time baseline for a program that is not XDP or TC',
    todo: 'measure XDP or TC programs',
  },
  MAP_NO_KEYS: {
    area: 'maps',
    meaning: 'keys, entries or a lookup by key were asked of a queue or stack, whose values have none',
    todo: 'use `push(value)`, `pop()` and `peek()`, or `capture()` to read the values in order (which leaves them in place)',
  },
  FIELD_PATH: {
    area: 'validation',
    meaning: '`rewritten` names a field path its layer does not have (`vlan.id` for `vlan.vid`), or no path at all',
    todo: 'use one of the fields the message lists (`xdpspec dissect -v` shows every field)',
  },
  COMPARE_TYPES: {
    area: 'validation',
    meaning: 'an old and a new program of different types',
    todo: 'compare programs of one type',
  },
  // The command line
  USAGE: {
    class: 'UsageError',
    area: 'command line',
    meaning: 'a command-line mistake; the CLI prints it with the usage and exits 2',
    todo: 'see `xdpspec COMMAND --help`',
  },
  SPEC_LOAD: {
    area: 'command line',
    meaning: "`xdpspec run` cannot load a spec file (with what to do when the cause is the project's module kind)",
    todo: 'follow the fixes the message lists',
  },
  INIT_PACKAGE_JSON: {
    area: 'command line',
    meaning: '`xdpspec init` found a package.json it cannot read',
    todo: 'fix the JSON, then run init again',
  },
  INIT_INSTALL: {
    area: 'command line',
    meaning: '`xdpspec init` wrote its files but npm install failed',
    todo: 'run npm install there yourself, then npm test',
  },
  COMPARE_INSTRUCTIONS: {
    area: 'runs',
    meaning:
      'instructions per frame were asked of a comparison that cannot count them (live, or a program left without block counters)',
    todo: 'compare instructions with the unit engine; see the warning for why a program was left uncounted',
  },
  PROPERTY_FAILED: {
    area: 'runs',
    meaning:
      'a property of generated frames does not hold: the message has the shrunk counterexample, a spec to paste and the seed',
    todo: 'fix the program (or the property); keep the written pcapng as a regression fixture',
  },
  FUZZ_PROPERTY: {
    area: 'command line',
    meaning: '`xdpspec fuzz --property` names no property xdpspec has',
    todo: 'use never-aborts, valid-checksums, engines-agree or same-as=OLD.o',
  },
  PROPERTY_SEED: {
    area: 'validation',
    meaning: 'XDPSPEC_SEED (or --seed) is not a whole number',
    todo: 'give the seed a failure printed',
  },
  COVERAGE_NO_FILE: {
    area: 'runs',
    meaning: 'coverage was asked of a source file that no counted program has lines of',
    todo: 'name one of the files the message lists (absolute paths, as the object’s line info has them)',
  },
  KERNEL_IMAGE: {
    area: 'system',
    meaning: '`--kernel PATH` names a file that is not an x86 kernel image (bzImage)',
    todo: 'give /boot/vmlinuz-* or arch/x86/boot/bzImage, or a Debian version such as 6.1',
  },
  KERNEL_FETCH: {
    area: 'system',
    meaning: '`--kernel VERSION`: apt has no such Debian cloud kernel, or fetching or unpacking it failed',
    todo: 'list the versions there are with `apt-cache search --names-only cloud-amd64-unsigned`; check apt’s sources and network',
  },
  VM_TOOL: {
    area: 'system',
    meaning: '`--kernel` needs qemu-system-x86_64 and busybox, and could not install them',
    todo: 'apt-get install qemu-system-x86 busybox-static',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The README's error table, one row per code, grouped by area. */
export function errorTable(): string {
  const rows = Object.entries(ERROR_CODES as Record<string, ErrorCodeInfo>).map(
    ([code, e]) => `| \`${code}\` | ${e.area} | ${e.class ? `\`${e.class}\`` : ''} | ${e.meaning} | ${e.todo} |`,
  );
  return ['| code | area | class | when | what to do |', '|---|---|---|---|---|', ...rows].join('\n');
}
