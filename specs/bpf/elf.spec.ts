// The check a file gets before libbpf opens it, on files made here: no kernel needed.
import { expect } from 'chai';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XdpspecError } from '../../src/index.js';
import { tempDir } from '../support/tools.js';
import { checkElf } from '../../src/bpf/elf.js';

const codeOf = (f: () => void) => {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(XdpspecError);
    return `${(e as XdpspecError).code}: ${(e as Error).message}`;
  }
  return 'no error';
};

describe('the BPF object check', () => {
  const t = tempDir();
  after(t.cleanup);
  const dir = t.dir;
  const file = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };

  it('passes a BPF object', () => {
    expect(codeOf(() => checkElf('bpf/build/xdp_ipv6_filter.bpf.o'))).to.equal('no error');
  });

  it('names what else a file is: missing, empty, not ELF, for a CPU, 32-bit, cut short', () => {
    expect(codeOf(() => checkElf(join(dir, 'none.o')))).to.match(/^OBJECT_MISSING: .* does not exist; build it first/);
    expect(codeOf(() => checkElf(file('empty.o', new Uint8Array())))).to.match(/^OBJECT_NOT_ELF: .* \(it is empty\)/);
    expect(codeOf(() => checkElf(file('text.o', Buffer.from('int main(){}'))))).to.match(/^OBJECT_NOT_ELF:/);
    copyFileSync(process.execPath, join(dir, 'node'));
    expect(codeOf(() => checkElf(join(dir, 'node')))).to.match(
      /^OBJECT_NOT_BPF: .* for (x86-64|AArch64) \(ELF e_machine (62|183)\)/,
    );
    const elf32 = Buffer.alloc(64);
    elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]);
    expect(codeOf(() => checkElf(file('elf32.o', elf32)))).to.match(/^OBJECT_NOT_BPF: .* 32-bit ELF/);
    const obj = readFileSync('bpf/build/xdp_ipv6_filter.bpf.o');
    expect(codeOf(() => checkElf(file('cut.o', obj.subarray(0, 200))))).to.match(
      /^OBJECT_NOT_BPF: .* cut short at byte 200/,
    );
  });
});
