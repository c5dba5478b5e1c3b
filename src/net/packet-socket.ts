// AF_PACKET sockets for injection and capture. Over 350 lines because the native layouts
// (msghdr, mmsghdr, auxdata for VLAN tags) are laid out here, once, beside the calls that use them.
import { constants } from 'node:os';
import { XdpspecError } from '../sys/errors.js';
import { libc } from '../sys/libc.js';
import { allocNative, errno, type NativeBlock } from '../sys/native.js';
import { errnoName } from '../sys/errno.js';
import { inNetns, interfaceMtu } from '../sys/netns.js';
import { CaptureRing, type RingVisit } from './capture-ring.js';
import { SOL_PACKET, int32, retagged } from './packet-abi.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL = 0x0003;
const PACKET_STATISTICS = 6;
const PACKET_IGNORE_OUTGOING = 23;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SO_COOKIE = 57;
const MSG_DONTWAIT = 0x40;
const PACKET_AUXDATA = 8;
const MAX_FRAME = 65536 + 4096;
// Native layout for recvmsg: struct msghdr (56 bytes), one iovec (16), control space, data.
const MSGHDR = 0;
const IOVEC = 56;
const CONTROL = 72;
const CONTROL_LEN = 64;
const DATA = CONTROL + CONTROL_LEN;
// Batches for streaming: struct mmsghdr is a msghdr and the length transferred (64 bytes).
const BATCH = 64;
const MMSG = 64;
const SLOT = 16 * 1024; // a frame larger than this in a batch is reported, not cut silently
const MSG_TRUNC = 0x20;
/** Bytes of receive queue (or ring) a capture socket has unless told otherwise. */
const DEFAULT_DEPTH = 8 << 20;
const SO_ATTACH_FILTER = 26;
const SO_DETACH_FILTER = 27;
/** struct sock_fprog: a length, then (8-aligned) the address of the instructions. */
const FPROG_SIZE = 16;

/**
 * A classic BPF filter of one instruction, `ret #0` (keep no byte of any frame), in native memory
 * for the process's life (the kernel reads it through the address in the sock_fprog before it).
 */
let nothing: NativeBlock | undefined;
function keepNothing(): NativeBlock {
  if (nothing) return nothing;
  const b = allocNative(FPROG_SIZE + 8);
  b.view.writeUInt16LE(1, 0);
  b.view.writeBigUInt64LE(b.address + BigInt(FPROG_SIZE), 8);
  b.view.writeUInt16LE(0x06, FPROG_SIZE); // BPF_RET | BPF_K, k = 0
  nothing = b;
  return b;
}

/** What the kernel counted for a capture socket since the last `statistics()` call. */
export interface CaptureStats {
  /** Frames queued to the socket. */
  readonly received: number;
  /** Frames the kernel dropped because the socket's queue was full: capture loss. */
  readonly dropped: number;
}

export interface PacketSocketOptions {
  /** Receive the frames the interface sends too (default: ignore them, as capture ends do). */
  readonly ignoreOutgoing?: boolean;
  /** Bytes of receive queue (default 8 MiB). */
  readonly receiveBuffer?: number;
  /**
   * Bind to one EtherType (a protocol handler, which sees received frames after TC ingress;
   * 0: receive nothing) instead of all of them (a tap, before TC).
   */
  readonly protocol?: number;
  /**
   * A frame the transmit path dropped (a TC egress program's TC_ACT_SHOT: the send fails with
   * ENOBUFS) is an outcome to be read elsewhere, not an error of the send.
   */
  readonly dropsOk?: boolean;
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
  private batchOut: NativeBlock | undefined;
  private batchIn: NativeBlock | undefined;
  /** A twin of this socket that captures into a ring (see captureByRing), made at the first ask. */
  private twin: PacketSocket | undefined;
  /** The twin's ring (on the twin). */
  private ring: CaptureRing | undefined;
  /** Whether frames go to the twin's ring now, this socket's queue shut by a filter. */
  private byRing = false;

  private constructor(
    readonly fd: number,
    readonly netns: string | undefined,
    readonly ifname: string,
    readonly ifindex: number,
    private readonly dropsOk = false,
    /** What it was opened with, for its twin. */
    private readonly options: PacketSocketOptions = {},
  ) {}

  /**
   * Opens a socket on `ifname` in `netns`.
   * @throws XdpspecError `PACKET_SOCKET` naming the step that failed (no such interface, no CAP_NET_RAW).
   */
  static open(netns: string | undefined, ifname: string, o: PacketSocketOptions = {}): PacketSocket {
    return PacketSocket.make(netns, ifname, o);
  }

  /** open(), or with `ringFor` a socket capturing into a ring with slots for that MTU, shut by a filter. */
  private static make(
    netns: string | undefined,
    ifname: string,
    o: PacketSocketOptions,
    ringFor?: number,
  ): PacketSocket {
    // ETH_P_ALL sockets are taps: they see a received frame before TC ingress runs. A socket
    // bound to one EtherType is a protocol handler instead, and gets the frame after TC, as TC
    // left it (and after the kernel handled any VLAN tag: see LiveBench's TC replay).
    const protocol = o.protocol ?? ETH_P_ALL;
    return inNetns(netns, () => {
      const f = libc();
      const where = `${ifname}${netns ? ` in ${netns}` : ''}`;
      const ifindex = f.if_nametoindex(ifname);
      if (ifindex === 0) throw new XdpspecError('PACKET_SOCKET', `no interface ${where}`);
      // Protocol 0 until bind: no frame of another interface is queued meanwhile, and bind only
      // hooks the socket in. A socket that receives already is unhooked first, which waits for
      // the kernel to quiesce it (6-12 ms a socket here, most of what opening one cost), as
      // giving or taking a ring does.
      const fd = f.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        const e = errno();
        throw new XdpspecError(
          'PACKET_SOCKET',
          `open a packet socket on ${where}: ${errnoName(e)}${e === constants.errno.EPERM ? ' (needs CAP_NET_RAW: run as root)' : ''}`,
        );
      }
      const size = o.receiveBuffer ?? DEFAULT_DEPTH;
      const s = new PacketSocket(fd, netns, ifname, ifindex, o.dropsOk === true, o);
      try {
        if (o.ignoreOutgoing !== false) s.setInt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'ignore outgoing frames');
        // The receive path takes the outer VLAN tag out of the frame (skb_vlan_untag) and the
        // socket hands it over as metadata; with auxdata, receive() puts it back where it was.
        s.setInt(SOL_PACKET, PACKET_AUXDATA, 1, 'ask for VLAN metadata');
        // A deep queue: a burst must not overflow it before it is read (and if it does, the
        // kernel counts it as a drop, which statistics() reports).
        if (f.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(size), 4) !== 0)
          s.setInt(SOL_SOCKET, SO_RCVBUF, size, 'size the receive buffer');
        if (ringFor !== undefined) {
          s.ring = CaptureRing.open(fd, size, ringFor);
          if (!s.ring) throw new XdpspecError('CAPTURE', `give ${where}'s capture a ring: ${errnoName(errno())}`);
          s.shut(true);
        }
        // sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
        const sll = Buffer.alloc(20);
        sll.writeUInt16LE(AF_PACKET, 0);
        sll.writeUInt16BE(protocol, 2);
        sll.writeInt32LE(ifindex, 4);
        if (f.bind(fd, sll, sll.length) !== 0)
          throw new XdpspecError('PACKET_SOCKET', `bind a packet socket to ${where}: ${errnoName(errno())}`);
        s.drain(); // frames queued between socket() and bind() could belong to any interface
        s.statistics(); // and start the counters from zero
        return s;
      } catch (err) {
        s.close();
        throw err;
      }
    });
  }

  /**
   * Sends one frame out of the interface.
   * @throws XdpspecError when the kernel refuses it (e.g. larger than the MTU), or when the
   *   transmit path dropped it and the socket was not opened with `dropsOk`.
   */
  send(frame: Uint8Array): void {
    this.check();
    const n = libc().send(this.fd, frame, frame.length, 0);
    if (Number(n) !== frame.length) {
      const e = errno();
      if (e === constants.errno.ENOBUFS && this.dropsOk) return;
      const hint =
        e === constants.errno.EMSGSIZE
          ? `: the frame of ${frame.length} bytes is larger than ${this.ifname}'s MTU allows`
          : '';
      throw new XdpspecError('INJECT', `send a frame on ${this.ifname}: ${errnoName(e)}${hint}`);
    }
  }

  /**
   * Every frame waiting in the queue, oldest first (copies), as it was on the wire: a VLAN tag
   * the receive path took out is put back. Never blocks.
   */
  receive(): Buffer[] {
    this.check();
    const out = this.receiveQueued();
    // After what the queue took before a ring did, what the ring holds.
    if (this.byRing)
      this.twin!.ring!.each((v, start, end) => {
        const frame = Buffer.allocUnsafe(end - start);
        v.copy(frame, 0, start, end);
        out.push(frame);
      }, this.tooLong);
    return out;
  }

  private receiveQueued(): Buffer[] {
    const out: Buffer[] = [];
    const f = libc();
    const b = this.recvBlock();
    const v = b.view;
    for (;;) {
      // msg_controllen, reset for each call (two u32 halves: no BigInt on the per-frame path)
      v.writeUInt32LE(CONTROL_LEN, MSGHDR + 40);
      v.writeUInt32LE(0, MSGHDR + 44);
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

  private withVlanTag(v: Buffer, n: number): Buffer {
    return tagged(v, DATA, n, CONTROL, Number(v.readBigUInt64LE(MSGHDR + 40)));
  }

  /**
   * Sends frames with one sendmmsg call per 64, for streaming replays.
   * @throws XdpspecError naming the first frame the kernel refused.
   */
  sendBatch(frames: readonly Uint8Array[]): void {
    this.check();
    // sendmmsg reports a message the transmit path dropped by stopping before it, so a retry
    // would put that frame through TC egress a second time: such sockets send one by one.
    if (this.dropsOk) {
      for (const f of frames) this.send(f);
      return;
    }
    const b = this.sendBlock();
    const v = b.view;
    const data = BATCH * (MMSG + 16);
    for (let start = 0; start < frames.length; start += BATCH) {
      const n = Math.min(BATCH, frames.length - start);
      for (let i = 0; i < n; i++) {
        const f = frames[start + i]!;
        if (f.length > SLOT) {
          this.sendBatch(frames.slice(start, start + i));
          this.send(f); // the rare large frame goes on its own
          this.sendBatch(frames.slice(start + i + 1));
          return;
        }
        v.set(f, data + i * SLOT);
        v.writeUInt32LE(f.length, BATCH * MMSG + i * 16 + 8); // iov_len (its high half stays 0)
      }
      let sent = 0;
      while (sent < n) {
        const r = libc().sendmmsg(this.fd, b.address + BigInt(sent * MMSG), n - sent, 0);
        if (r < 0) {
          const e = errno();
          if (e === constants.errno.EINTR) continue;
          // sendmmsg only fails on the first message; send that one alone for the precise error
          this.send(frames[start + sent]!);
          sent++;
          continue;
        }
        sent += r;
      }
    }
  }

  /** The send batch's headers point at fixed places, so they are written once. */
  private sendBlock(): NativeBlock {
    if (this.batchOut) return this.batchOut;
    const b = allocNative(BATCH * (MMSG + 16 + SLOT));
    const v = b.view;
    const iov = BATCH * MMSG;
    const data = iov + BATCH * 16;
    for (let i = 0; i < BATCH; i++) {
      v.writeBigUInt64LE(b.address + BigInt(iov + i * 16), i * MMSG + 16); // msg_iov
      v.writeBigUInt64LE(1n, i * MMSG + 24); // msg_iovlen
      v.writeBigUInt64LE(b.address + BigInt(data + i * SLOT), iov + i * 16); // iov_base
    }
    this.batchOut = b;
    return b;
  }

  /**
   * Receives what is queued with one recvmmsg call per 64 frames, for streaming replays; tags
   * put back as in receive(). Never blocks.
   * @throws XdpspecError when a frame is larger than the 16 KiB slots of a batch.
   */
  receiveBatch(): Buffer[] {
    this.check();
    const b = this.receiveBlock();
    const v = b.view;
    const ctl = BATCH * (MMSG + 16);
    const data = ctl + BATCH * CONTROL_LEN;
    const out: Buffer[] = [];
    for (;;) {
      // Only what the kernel changes is reset: the control length, the flags.
      for (let i = 0; i < BATCH; i++) {
        v.writeUInt32LE(CONTROL_LEN, i * MMSG + 40);
        v.writeUInt32LE(0, i * MMSG + 48);
      }
      const r = libc().recvmmsg(this.fd, b.address, BATCH, MSG_DONTWAIT, null);
      if (r < 0) {
        const e = errno();
        if (e === constants.errno.EAGAIN || e === constants.errno.EWOULDBLOCK) return out;
        if (e === constants.errno.EINTR) continue;
        throw new XdpspecError('CAPTURE', `receive on ${this.ifname}: ${errnoName(e)}`);
      }
      for (let i = 0; i < r; i++) {
        const m = i * MMSG;
        const len = v.readUInt32LE(m + 56);
        if (v.readInt32LE(m + 48) & MSG_TRUNC)
          throw new XdpspecError(
            'CAPTURE',
            `a frame on ${this.ifname} is larger than the ${SLOT}-byte slots of a streaming receive; replay it one frame at a time`,
          );
        out.push(tagged(v, data + i * SLOT, len, ctl + i * CONTROL_LEN, v.readUInt32LE(m + 40)));
      }
      if (r < BATCH) return out;
    }
  }

  /**
   * Captures into a receive ring from now on, until captureByQueue(): the kernel copies each
   * frame into memory mapped here, at a fraction of what queueing it costs (see
   * capture-ring.ts), for a stream. The ring belongs to a twin of this socket, made at the first
   * call (with slots for frames as long as the interface's MTU allows then; made anew when it
   * grew) and kept, shut by a filter while this one queues: taking a ring off a socket, or
   * unbinding one, waits milliseconds for the kernel, and a filter takes microseconds. False
   * where the kernel gives no ring: the socket goes on queueing. Switch while the interface is
   * quiet (a stream's start): a frame arriving during the switch is queued here, and one arriving
   * as the ring is emptied of what it held shut may be thrown away with that.
   */
  captureByRing(): boolean {
    this.check();
    if (this.byRing) return true;
    const mtu = inNetns(this.netns, () => interfaceMtu(this.ifname)) ?? 1500;
    if (this.twin && this.twin.ring!.slot < CaptureRing.slotFor(mtu)) {
      this.twin.close();
      this.twin = undefined;
    }
    try {
      this.twin ??= PacketSocket.make(this.netns, this.ifname, this.options, mtu);
    } catch {
      return false;
    }
    // Open first, then shut: a frame in between is in both, none in neither. The ring's copies
    // go, with what it took while the last switch back was under way; the queue keeps its own.
    this.twin.shut(false);
    this.shut(true);
    this.byRing = true;
    this.twin.ring!.clear();
    this.twin.statistics();
    return true;
  }

  /** Back to queueing after captureByRing() (the ring's socket shut again). */
  captureByQueue(): void {
    if (!this.byRing || this.closed) return;
    this.shut(false);
    this.twin!.shut(true);
    this.byRing = false;
  }

  /**
   * Visits every frame waiting, oldest first, without a copy where a ring has it whole: the
   * bytes from `start` to `end` of `bytes`, to be read during the visit only. Never blocks.
   */
  receiveEach(visit: RingVisit): number {
    this.check();
    // First what the queue took before the ring did.
    const got = this.receiveBatch();
    for (const f of got) visit(f, 0, f.length);
    return got.length + (this.byRing ? this.twin!.ring!.each(visit, this.tooLong) : 0);
  }

  /** Shuts the socket to every frame (a filter that keeps none), or opens it again. */
  private shut(on: boolean): void {
    const f = libc();
    if (on) {
      if (f.setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, keepNothing().pointer, FPROG_SIZE) !== 0)
        throw new XdpspecError('CAPTURE', `shut the capture on ${this.ifname} with a filter: ${errnoName(errno())}`);
    } else if (
      f.setsockopt(this.fd, SOL_SOCKET, SO_DETACH_FILTER, int32(0), 4) !== 0 &&
      errno() !== constants.errno.ENOENT
    )
      throw new XdpspecError('CAPTURE', `open the capture on ${this.ifname} again: ${errnoName(errno())}`);
  }

  private readonly tooLong = (len: number, room: number): never => {
    throw new XdpspecError(
      'CAPTURE',
      `a frame of ${len} bytes on ${this.ifname} is longer than the ${room} bytes its capture ring keeps (made for the MTU it had at the stream's start); stream again, or replay it one frame at a time`,
    );
  };

  /** The receive batch's headers point at fixed places, so they are written once. */
  private receiveBlock(): NativeBlock {
    if (this.batchIn) return this.batchIn;
    const b = allocNative(BATCH * (MMSG + 16 + CONTROL_LEN + SLOT));
    const v = b.view;
    const iov = BATCH * MMSG;
    const ctl = iov + BATCH * 16;
    const data = ctl + BATCH * CONTROL_LEN;
    for (let i = 0; i < BATCH; i++) {
      const m = i * MMSG;
      v.writeBigUInt64LE(b.address + BigInt(iov + i * 16), m + 16); // msg_iov
      v.writeBigUInt64LE(1n, m + 24); // msg_iovlen
      v.writeBigUInt64LE(b.address + BigInt(ctl + i * CONTROL_LEN), m + 32); // msg_control
      v.writeBigUInt64LE(b.address + BigInt(data + i * SLOT), iov + i * 16); // iov_base
      v.writeBigUInt64LE(BigInt(SLOT), iov + i * 16 + 8); // iov_len
    }
    this.batchIn = b;
    return b;
  }

  /** Empties the queue; returns how many frames it held. */
  drain(): number {
    return this.receive().length;
  }

  /** The kernel's counts since the last call (reading resets them). */
  statistics(): CaptureStats {
    this.check();
    if (this.byRing) {
      const own = this.counts();
      const ring = this.twin!.counts();
      return { received: own.received + ring.received, dropped: own.dropped + ring.dropped };
    }
    return this.counts();
  }

  private counts(): CaptureStats {
    const st = Buffer.alloc(8);
    const len = [8];
    if (libc().getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, st, len) !== 0)
      throw new XdpspecError('CAPTURE', `read capture statistics of ${this.ifname}: ${errnoName(errno())}`);
    // tpacket_stats: tp_packets counts every frame, dropped ones included
    const packets = st.readUInt32LE(0);
    const drops = st.readUInt32LE(4);
    return { received: packets - drops, dropped: drops };
  }

  /**
   * The kernel's cookie of this socket (SO_COOKIE): the number a BPF probe reads from the
   * socket that owns an skb, to tell frames this socket sent from all others.
   */
  cookie(): bigint {
    this.check();
    const v = Buffer.alloc(8);
    const len = [8];
    if (libc().getsockopt(this.fd, SOL_SOCKET, SO_COOKIE, v, len) !== 0)
      throw new XdpspecError('PACKET_SOCKET', `read the socket cookie on ${this.ifname}: ${errnoName(errno())}`);
    return v.readBigUInt64LE(0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.twin?.close();
    this.ring?.close();
    this.twin = this.ring = undefined;
    libc().close(this.fd);
    for (const b of [this.native, this.batchOut, this.batchIn]) b?.free();
    this.native = this.batchOut = this.batchIn = undefined;
  }

  private setInt(level: number, name: number, value: number, what: string): void {
    if (libc().setsockopt(this.fd, level, name, int32(value), 4) !== 0)
      throw new XdpspecError('PACKET_SOCKET', `${what} on ${this.ifname}: ${errnoName(errno())}`);
  }

  private check(): void {
    if (this.closed) throw new XdpspecError('SOCKET_CLOSED', `the packet socket on ${this.ifname} is closed`);
  }
}

/**
 * The frame of `n` bytes at `v[data]`, with the VLAN tag its control messages at `v[control]`
 * carry (PACKET_AUXDATA) put back after the MAC addresses.
 */
function tagged(v: Buffer, data: number, n: number, control: number, controlLen: number): Buffer {
  // struct cmsghdr: len (8), level, type; then struct tpacket_auxdata: status, len, snaplen,
  // mac, net, vlan_tci, vlan_tpid
  for (let c = 0; c + 16 <= controlLen;) {
    const len = Number(v.readBigUInt64LE(control + c));
    if (len < 16) break;
    if (v.readInt32LE(control + c + 8) === SOL_PACKET && v.readInt32LE(control + c + 12) === PACKET_AUXDATA) {
      const aux = control + c + 16;
      const frame = retagged(v, data, n, v.readUInt32LE(aux), v.readUInt16LE(aux + 16), v.readUInt16LE(aux + 18));
      if (frame) return frame;
    }
    c += (len + 7) & ~7;
  }
  // One allocation (from Node's pool for small frames): Buffer.from of a view made two.
  const frame = Buffer.allocUnsafe(n);
  v.copy(frame, 0, data, data + n);
  return frame;
}
