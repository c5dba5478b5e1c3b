import { constants } from 'node:os';
import { XdpspecError } from '../errors.js';
import { allocNative, errno, ffi, type NativeBlock } from '../bpf/ffi.js';
import { errnoName } from '../bpf/map.js';
import { inNetns } from '../bpf/netns.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_STATISTICS = 6;
const PACKET_IGNORE_OUTGOING = 23;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const PACKET_AUXDATA = 8;
const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;
const MAX_FRAME = 65536 + 4096;
// Native layout for recvmsg: struct msghdr (56 bytes), one iovec (16), control space, data.
const MSGHDR = 0;
const IOVEC = 56;
const CONTROL = 72;
const CONTROL_LEN = 64;
const DATA = CONTROL + CONTROL_LEN;

/** What the kernel counted for a capture socket since the last `statistics()` call. */
export interface CaptureStats {
  /** Frames queued to the socket. */
  readonly received: number;
  /** Frames the kernel dropped because the socket's queue was full: capture loss. */
  readonly dropped: number;
}

/**
 * A raw AF_PACKET socket bound to one interface of a network namespace (the socket keeps
 * that namespace however the thread moves afterwards). `send` injects a frame out of the
 * interface; `receive` takes what has arrived without blocking; capture sockets ignore the
 * frames their interface sends (PACKET_IGNORE_OUTGOING), so a tester end sees only what
 * comes back. Loss is never assumed away: `statistics()` gives the kernel's drop count.
 */
export class PacketSocket {
  private closed = false;
  private native: NativeBlock | undefined;

  private constructor(
    readonly fd: number,
    readonly netns: string | undefined,
    readonly ifname: string,
    readonly ifindex: number,
  ) {}

  /**
   * Opens a socket on `ifname` in `netns`.
   * @throws XdpspecError `PACKET_SOCKET` naming the step that failed (no such interface, no CAP_NET_RAW).
   */
  static open(netns: string | undefined, ifname: string, o: { ignoreOutgoing?: boolean; receiveBuffer?: number } = {}): PacketSocket {
    return inNetns(netns, () => {
      const f = ffi();
      const where = `${ifname}${netns ? ` in ${netns}` : ''}`;
      const ifindex = f.if_nametoindex(ifname);
      if (ifindex === 0) throw new XdpspecError('PACKET_SOCKET', `no interface ${where}`);
      const fd = f.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
      if (fd < 0) {
        const e = errno();
        throw new XdpspecError('PACKET_SOCKET', `open a packet socket on ${where}: ${errnoName(e)}${e === constants.errno.EPERM ? ' (needs CAP_NET_RAW: run as root)' : ''}`);
      }
      const s = new PacketSocket(fd, netns, ifname, ifindex);
      try {
        if (o.ignoreOutgoing !== false) s.setInt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'ignore outgoing frames');
        // The receive path takes the outer VLAN tag out of the frame (skb_vlan_untag) and the
        // socket hands it over as metadata; with auxdata, receive() puts it back where it was.
        s.setInt(SOL_PACKET, PACKET_AUXDATA, 1, 'ask for VLAN metadata');
        // A deep queue: a burst must not overflow it before it is read (and if it does, the
        // kernel counts it as a drop, which statistics() reports).
        const size = o.receiveBuffer ?? 8 << 20;
        if (f.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(size), 4) !== 0) s.setInt(SOL_SOCKET, SO_RCVBUF, size, 'size the receive buffer');
        // sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
        const sll = Buffer.alloc(20);
        sll.writeUInt16LE(AF_PACKET, 0);
        sll.writeUInt16BE(ETH_P_ALL, 2);
        sll.writeInt32LE(ifindex, 4);
        if (f.bind(fd, sll, sll.length) !== 0) throw new XdpspecError('PACKET_SOCKET', `bind a packet socket to ${where}: ${errnoName(errno())}`);
        s.drain(); // frames queued between socket() and bind() could belong to any interface
        s.statistics(); // and start the counters from zero
        return s;
      } catch (err) {
        s.close();
        throw err;
      }
    });
  }

  /** Sends one frame out of the interface. @throws XdpspecError when the kernel refuses it (e.g. larger than the MTU). */
  send(frame: Uint8Array): void {
    this.check();
    const n = ffi().send(this.fd, frame, frame.length, 0);
    if (Number(n) !== frame.length) {
      const e = errno();
      const hint = e === constants.errno.EMSGSIZE ? `: the frame of ${frame.length} bytes is larger than ${this.ifname}'s MTU allows` : '';
      throw new XdpspecError('INJECT', `send a frame on ${this.ifname}: ${errnoName(e)}${hint}`);
    }
  }

  /**
   * Every frame waiting in the queue, oldest first (copies), as it was on the wire: a VLAN tag
   * the receive path took out is put back. Never blocks.
   */
  receive(): Buffer[] {
    this.check();
    const out: Buffer[] = [];
    const f = ffi();
    const b = this.recvBlock();
    const v = b.view;
    for (;;) {
      v.writeBigUInt64LE(BigInt(CONTROL_LEN), MSGHDR + 40); // msg_controllen, reset for each call
      const n = Number(f.recvmsg(this.fd, b.pointer, MSG_DONTWAIT));
      if (n < 0) {
        const e = errno();
        if (e === constants.errno.EAGAIN || e === constants.errno.EWOULDBLOCK) return out;
        if (e === constants.errno.EINTR) continue;
        throw new XdpspecError('CAPTURE', `receive on ${this.ifname}: ${errnoName(e)}`);
      }
      out.push(this.withVlanTag(v, n));
    }
  }

  private recvBlock(): NativeBlock {
    if (this.native) return this.native;
    const b = allocNative(DATA + MAX_FRAME);
    const v = b.view;
    // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags
    v.writeBigUInt64LE(b.address + BigInt(IOVEC), MSGHDR + 16);
    v.writeBigUInt64LE(1n, MSGHDR + 24);
    v.writeBigUInt64LE(b.address + BigInt(CONTROL), MSGHDR + 32);
    // struct iovec: base, len
    v.writeBigUInt64LE(b.address + BigInt(DATA), IOVEC);
    v.writeBigUInt64LE(BigInt(MAX_FRAME), IOVEC + 8);
    this.native = b;
    return b;
  }

  /** The frame of `n` bytes just received, with the tag from PACKET_AUXDATA re-inserted. */
  private withVlanTag(v: Buffer, n: number): Buffer {
    const controlLen = Number(v.readBigUInt64LE(MSGHDR + 40));
    // struct cmsghdr: len (8), level, type; then struct tpacket_auxdata: status, len, snaplen,
    // mac, net, vlan_tci, vlan_tpid
    for (let c = 0; c + 16 <= controlLen; ) {
      const len = Number(v.readBigUInt64LE(CONTROL + c));
      if (len < 16) break;
      if (v.readInt32LE(CONTROL + c + 8) === SOL_PACKET && v.readInt32LE(CONTROL + c + 12) === PACKET_AUXDATA) {
        const aux = CONTROL + c + 16;
        const status = v.readUInt32LE(aux);
        if (status & TP_STATUS_VLAN_VALID && n >= 12) {
          const tpid = status & TP_STATUS_VLAN_TPID_VALID ? v.readUInt16LE(aux + 18) : 0x8100;
          const frame = Buffer.alloc(n + 4);
          v.copy(frame, 0, DATA, DATA + 12);
          frame.writeUInt16BE(tpid, 12);
          frame.writeUInt16BE(v.readUInt16LE(aux + 16), 14);
          v.copy(frame, 16, DATA + 12, DATA + n);
          return frame;
        }
      }
      c += (len + 7) & ~7;
    }
    return Buffer.from(v.subarray(DATA, DATA + n));
  }

  /** Empties the queue; returns how many frames it held. */
  drain(): number {
    return this.receive().length;
  }

  /** The kernel's counts since the last call (reading resets them). */
  statistics(): CaptureStats {
    this.check();
    const st = Buffer.alloc(8);
    const len = [8];
    if (ffi().getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, st, len) !== 0) throw new XdpspecError('CAPTURE', `read capture statistics of ${this.ifname}: ${errnoName(errno())}`);
    // tpacket_stats: tp_packets counts every frame, dropped ones included
    const packets = st.readUInt32LE(0);
    const drops = st.readUInt32LE(4);
    return { received: packets - drops, dropped: drops };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    ffi().close(this.fd);
    this.native?.free();
    this.native = undefined;
  }

  private setInt(level: number, name: number, value: number, what: string): void {
    if (ffi().setsockopt(this.fd, level, name, int32(value), 4) !== 0) throw new XdpspecError('PACKET_SOCKET', `${what} on ${this.ifname}: ${errnoName(errno())}`);
  }

  private check(): void {
    if (this.closed) throw new XdpspecError('SOCKET_CLOSED', `the packet socket on ${this.ifname} is closed`);
  }
}

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}
