// Which kernel a --kernel SPEC names.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdpspecError } from '../../src/sys/errors.js';
import { imageRelease, kernelPackages, resolveKernel } from '../../src/vm/kernels.js';
import { debianKernel } from '../support/guests.js';

const quiet = () => undefined;

describe('kernels', function () {
  this.timeout(120_000);

  it('picks the newest Debian cloud package of a version, and never 6.12 for 6.1', () => {
    const names = [
      'linux-image-6.1.0-50-cloud-amd64-unsigned',
      'linux-image-6.1.0-9-cloud-amd64-unsigned',
      'linux-image-6.1.0-57-cloud-amd64-unsigned',
      'linux-image-6.12.117+deb12-cloud-amd64-unsigned',
      'linux-image-6.12.9+deb12-cloud-amd64-unsigned',
      'linux-image-6.1.0-57-cloud-amd64', // signed: not the unsigned image
      'linux-image-6.1.0-57-amd64-unsigned', // another flavour
    ];
    expect(kernelPackages('6.1', names)).to.deep.equal([
      'linux-image-6.1.0-57-cloud-amd64-unsigned',
      'linux-image-6.1.0-50-cloud-amd64-unsigned',
      'linux-image-6.1.0-9-cloud-amd64-unsigned',
    ]);
    expect(kernelPackages('6.12', names)[0]).to.equal('linux-image-6.12.117+deb12-cloud-amd64-unsigned');
    expect(kernelPackages('6.1.0-50', names)).to.deep.equal(['linux-image-6.1.0-50-cloud-amd64-unsigned']);
    expect(kernelPackages('5.10', names)).to.deep.equal([]);
  });

  it("reads a bzImage's release from its boot header, and says what a file that is not one is", function () {
    const k = debianKernel(this, '6.1');
    expect(imageRelease(k.image)).to.match(/^6\.1\.0-\d+-cloud-amd64$/);
    const dir = mkdtempSync(join(tmpdir(), 'xdpspec-kernel-'));
    try {
      writeFileSync(join(dir, 'vmlinux'), Buffer.alloc(4096, 0x7f));
      const err = (() => {
        try {
          imageRelease(join(dir, 'vmlinux'));
        } catch (e) {
          return e;
        }
      })();
      expect(err).to.be.instanceOf(XdpspecError).with.property('code', 'KERNEL_IMAGE');
      expect(String(err)).to.match(/is not an x86 kernel image .*give a bzImage/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names host, an image path with the modules unpacked beside it, or a version; refuses the rest with what to give', function () {
    expect(resolveKernel('host', quiet)).to.deep.equal({ kind: 'host', label: 'host' });
    const k = debianKernel(this, '6.1');
    const byPath = resolveKernel(k.image, quiet);
    expect(byPath).to.include({ kind: 'image', image: k.image, modules: k.modules });
    expect(() => resolveKernel('', quiet)).to.throw(/--kernel takes host, a kernel image path/);
    expect(() => resolveKernel('latest', quiet)).to.throw(/give host, a kernel image path, or a Debian kernel version/);
    expect(() => resolveKernel('./no/such/vmlinuz', quiet)).to.throw(XdpspecError, /no such file/);
    expect(() => resolveKernel('1.0', quiet)).to.throw(
      XdpspecError,
      /no Debian package linux-image-1\.0\*-cloud-amd64-unsigned/,
    );
  });
});
