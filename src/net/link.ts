import { XdpspecError } from '../sys/errors.js';
import { libc } from '../sys/libc.js';
import { errno } from '../sys/native.js';
import { inNetns } from '../sys/netns.js';
import { errnoName } from '../sys/errno.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const IFREQ_SIZE = 40; // struct ifreq: 16-byte name, then a 24-byte union (flags are its first short)

/**
 * Brings interfaces of a namespace up with SIOCSIFFLAGS, in this process: an `ip` process per
 * namespace costs more than everything else in creating a bench.
 */
export function linksUp(netns: string, names: readonly string[]): void {
  inNetns(netns, () => {
    const f = libc();
    const fd = f.socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw new XdpspecError('LINK', `bring links up in ${netns}: socket: ${errnoName(errno())}`);
    try {
      for (const name of names) {
        const req = Buffer.alloc(IFREQ_SIZE);
        req.write(name, 0, 15, 'latin1');
        if (f.ioctl(fd, SIOCGIFFLAGS, req) !== 0)
          throw new XdpspecError('LINK', `read flags of ${name} in ${netns}: ${errnoName(errno())}`);
        req.writeUInt16LE(req.readUInt16LE(16) | IFF_UP, 16);
        if (f.ioctl(fd, SIOCSIFFLAGS, req) !== 0)
          throw new XdpspecError('LINK', `bring ${name} up in ${netns}: ${errnoName(errno())}`);
      }
    } finally {
      f.close(fd);
    }
  });
}
