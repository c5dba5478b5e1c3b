import { XdpspecError } from '../sys/errors.js';
import { libc } from '../sys/libc.js';
import { allocNative, errno } from '../sys/native.js';
import { errnoName } from '../sys/errno.js';
import { inNetns } from '../sys/netns.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCETHTOOL = 0x8946;
const ETHTOOL_GDRVINFO = 0x03;
const ETHTOOL_GSTRINGS = 0x1b;
const ETHTOOL_GSTATS = 0x1d;
const ETH_SS_STATS = 1;
const ETH_GSTRING_LEN = 32;
const DRVINFO_SIZE = 196; // struct ethtool_drvinfo
// struct ethtool_drvinfo: cmd, driver[32], version[32], fw_version[32], bus_info[32],
// erom_version[32], reserved2[12], n_priv_flags, n_stats, ...: the kernel sizes what it
// writes by n_stats, so the buffers must be sized by it too.
const DRVINFO_N_STATS = 4 + 32 * 5 + 12 + 4;

/**
 * A driver's statistics (`ethtool -S`) for one interface, read in this process with
 * SIOCETHTOOL. For veth these include the XDP outcome counters per receive queue
 * (`rx_queue_0_xdp_packets`, `_xdp_drops`, `_xdp_tx`, `_xdp_redirect`), which tell what a
 * native XDP program did with each frame without waiting for anything.
 */
export class DriverStats {
  // A socket keeps the namespace it was made in, so reads need no namespace switch; the
  // request and its buffer are made once. read() is one ioctl.
  private fd = -1;
  private buf: ReturnType<typeof allocNative> | undefined;
  private readonly req = Buffer.alloc(40);

  private constructor(
    readonly netns: string | undefined,
    readonly ifname: string,
    readonly names: readonly string[],
  ) {}

  /** @throws XdpspecError when the interface does not exist or its driver has no statistics. */
  static open(netns: string | undefined, ifname: string): DriverStats {
    return inNetns(netns, () =>
      withSocket(netns, ifname, (ioctl) => {
        const info = allocNative(DRVINFO_SIZE);
        try {
          info.view.writeUInt32LE(ETHTOOL_GDRVINFO, 0);
          ioctl(info.address, 'read driver info');
          const n = info.view.readUInt32LE(DRVINFO_N_STATS);
          const strings = allocNative(12 + n * ETH_GSTRING_LEN);
          try {
            strings.view.writeUInt32LE(ETHTOOL_GSTRINGS, 0);
            strings.view.writeUInt32LE(ETH_SS_STATS, 4);
            strings.view.writeUInt32LE(n, 8);
            ioctl(strings.address, 'read statistics names');
            const names = Array.from({ length: n }, (_, i) => {
              const s = strings.view.subarray(12 + i * ETH_GSTRING_LEN, 12 + (i + 1) * ETH_GSTRING_LEN);
              const z = s.indexOf(0);
              return s.toString('latin1', 0, z < 0 ? ETH_GSTRING_LEN : z);
            });
            return new DriverStats(netns, ifname, names);
          } finally {
            strings.free();
          }
        } finally {
          info.free();
        }
      }),
    );
  }

  /** Current values, by name. */
  read(): Record<string, number> {
    const n = this.names.length;
    if (!this.buf) {
      this.buf = allocNative(8 + 8 * n);
      this.fd = inNetns(this.netns, () => libc().socket(AF_INET, SOCK_DGRAM, 0));
      if (this.fd < 0) throw new XdpspecError('ETHTOOL', `socket: ${errnoName(errno())}`);
      this.req.write(this.ifname, 0, 15, 'latin1');
      this.req.writeBigUInt64LE(this.buf.address, 16);
    }
    const v = this.buf.view;
    v.writeUInt32LE(ETHTOOL_GSTATS, 0);
    v.writeUInt32LE(n, 4);
    if (libc().ioctl(this.fd, SIOCETHTOOL, this.req) !== 0)
      throw new XdpspecError(
        'ETHTOOL',
        `read statistics of ${this.ifname}${this.netns ? ` in ${this.netns}` : ''}: ${errnoName(errno())}`,
      );
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) out[this.names[i]!] = Number(v.readBigUInt64LE(8 + 8 * i));
    return out;
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
    this.buf?.free();
    this.buf = undefined;
  }
}

function withSocket<T>(
  netns: string | undefined,
  ifname: string,
  fn: (ioctl: (data: bigint, what: string) => void) => T,
): T {
  const f = libc();
  const fd = f.socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new XdpspecError('ETHTOOL', `socket: ${errnoName(errno())}`);
  try {
    return fn((data, what) => {
      const req = Buffer.alloc(40); // struct ifreq: name, then ifr_data
      req.write(ifname, 0, 15, 'latin1');
      req.writeBigUInt64LE(data, 16);
      if (f.ioctl(fd, SIOCETHTOOL, req) !== 0)
        throw new XdpspecError('ETHTOOL', `${what} of ${ifname}${netns ? ` in ${netns}` : ''}: ${errnoName(errno())}`);
    });
  } finally {
    f.close(fd);
  }
}
