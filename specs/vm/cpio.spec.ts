// The initramfs archive, read back by a real consumer: busybox's cpio, as the kernel's unpacker would.
import { expect } from 'chai';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpio } from '../../src/vm/cpio.js';
import { needsBusybox } from '../support/guests.js';

describe('cpio', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'xdpspec-cpio-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes directories, files of every length (padding to 4 bytes), modes and symlinks that busybox cpio unpacks as given', async function () {
    const busybox = needsBusybox(this);
    const host = join(dir, 'host-file');
    writeFileSync(host, Buffer.alloc(4097, 7));
    const archive = join(dir, 'a.cpio');
    const size = writeCpio(archive, [
      { kind: 'dir', path: '/etc' },
      { kind: 'dir', path: '/etc/deep', mode: 0o700 },
      ...[0, 1, 2, 3, 4, 5].map((n) => ({ kind: 'file' as const, path: `/etc/f${n}`, data: Buffer.alloc(n, 65 + n) })),
      { kind: 'file', path: '/init', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
      { kind: 'file', path: '/etc/deep/big', data: host },
      { kind: 'symlink', path: '/lib', target: 'usr/lib' },
    ]);
    expect(size % 4).to.equal(0);
    const out = join(dir, 'out');
    await execa('sh', ['-c', `mkdir ${out} && cd ${out} && ${busybox} cpio -i -d < ${archive}`]);
    for (const n of [0, 1, 2, 3, 4, 5])
      expect(readFileSync(join(out, `etc/f${n}`))).to.deep.equal(Buffer.alloc(n, 65 + n));
    expect(readFileSync(join(out, 'etc/deep/big'))).to.deep.equal(Buffer.alloc(4097, 7));
    expect(statSync(join(out, 'init')).mode & 0o777).to.equal(0o755);
    expect(statSync(join(out, 'etc/deep')).mode & 0o777).to.equal(0o700);
    expect(readlinkSync(join(out, 'lib'))).to.equal('usr/lib');
    const listing = (await execa('sh', ['-c', `${busybox} cpio -t < ${archive}`])).stdout.split('\n');
    expect(listing).to.include.members(['etc', 'etc/deep/big', 'init', 'lib']);
  });
});
