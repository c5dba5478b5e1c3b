// Checks that a file is a BPF object before libbpf opens it (libbpf answers a wrong file with
// errno 4001 and no reason).
import { closeSync, openSync, readSync } from 'node:fs';
import { XdpspecError } from '../sys/errors.js';
import { regularFile } from '../sys/files.js';

// ELF e_machine values worth naming when a file is an object, but not a BPF one.
const MACHINES: Record<number, string> = {
  3: 'x86 (32-bit)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC 64',
  22: 'S/390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};
const EM_BPF = 247;
const COMPILE = 'compile the program with clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o';

/**
 * Says what is wrong with a file that is not a BPF object, before libbpf does (it answers with
 * errno 4001 and no reason): not there, not a file, not ELF, ELF for a CPU, or cut short.
 */
export function checkElf(path: string): void {
  const size = regularFile(path, 'BPF object', (err) => {
    throw new XdpspecError('OBJECT_MISSING', `BPF object ${path} does not exist; build it first (make -C bpf)`, {
      cause: err,
    });
  });
  const head = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 64, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 4 || !head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    throw new XdpspecError(
      'OBJECT_NOT_ELF',
      `${path} is not an ELF object file${size === 0 ? ' (it is empty)' : ''}; ${COMPILE}`,
    );
  }
  // A BPF object is 64-bit ELF (class 2), little- or big-endian as the machine it is for.
  if (n < 64 || head[4] !== 2) {
    throw new XdpspecError(
      'OBJECT_NOT_BPF',
      `${path} is ${n < 64 ? `cut short: ${size} bytes, less than an ELF header` : '32-bit ELF, not a BPF object'}; ${COMPILE}`,
    );
  }
  const le = head[5] !== 2;
  const u16 = (o: number) => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const machine = u16(18);
  const type = u16(16);
  if (machine !== EM_BPF) {
    const kind =
      type === 2
        ? 'an executable'
        : type === 3
          ? 'a shared library or executable'
          : type === 1
            ? 'an object file'
            : 'an ELF file';
    throw new XdpspecError(
      'OBJECT_NOT_BPF',
      `${path} is ${kind} for ${MACHINES[machine] ?? `machine ${machine}`} (ELF e_machine ${machine}), not a BPF object (e_machine ${EM_BPF}); ${COMPILE}`,
    );
  }
  const shoff = Number(le ? head.readBigUInt64LE(40) : head.readBigUInt64BE(40));
  const shentsize = u16(58);
  const shnum = u16(60);
  const end = shoff + shentsize * shnum;
  if (end > size) {
    throw new XdpspecError(
      'OBJECT_NOT_BPF',
      `${path} is cut short at byte ${size}: its section headers end at byte ${end}; rebuild it (an interrupted copy or build leaves such a file)`,
    );
  }
}
