// A packet socket's receive ring (TPACKET_V2): the kernel writes each frame the socket captures
// into a slot of memory mapped into this process and marks it ours; reading it and marking it
// the kernel's again is all a frame costs here. A socket's queue instead costs, per frame, a
// clone of the socket buffer, its place in the queue, a receive call's share and a copy out:
// a streamed capture spent as long receiving as the program under test took to run.
import { koffi } from '../sys/native.js';
import { libc, mapShared, unmap, type Mapping } from '../sys/libc.js';
import { SOL_PACKET, TP_STATUS_VLAN_VALID, int32, retagged } from './packet-abi.js';

const PACKET_RX_RING = 5;
const PACKET_VERSION = 10;
const TPACKET_V1 = 0;
const TPACKET_V2 = 1;
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
const PAGE = 4096;
/**
 * Where the kernel puts an Ethernet frame in a V2 slot: its header (32 bytes) and address (20)
 * aligned to 16, room for a 16-byte link header, less the 14 this one has (net/packet's macoff).
 */
const MAC_OFFSET = 66;
/**
 * Bytes a frame may have beyond the MTU: its Ethernet header, and an inner VLAN tag (the outer
 * one is in the slot's header, not its bytes).
 */
const BEYOND_MTU = 14 + 4;

/** What one slot held, as the visitor of `each` is given it. */
export type RingVisit = (bytes: Buffer, start: number, end: number) => void;

export class CaptureRing {
  private readonly view: Buffer;
  private readonly words: Int32Array;
  /** The next slot the kernel fills, in order. */
  private head = 0;

  private constructor(
    private readonly fd: number,
    private readonly mapping: Mapping,
    /** Bytes per slot (one slot a block: a page or a few). */
    readonly slot: number,
    private readonly slots: number,
  ) {
    const buf = koffi.view(mapping.address, mapping.length);
    this.view = Buffer.from(buf);
    this.words = new Int32Array(buf);
  }

  /**
   * The largest frame a ring made for an interface of `mtu` keeps whole: what the interface can
   * receive, and at least what fits a page (an XDP program may grow a frame to nearly that).
   */
  static slotFor(mtu: number): number {
    return Math.ceil((MAC_OFFSET + Math.max(mtu + BEYOND_MTU, 1)) / PAGE) * PAGE;
  }

  /**
   * Gives `fd` (a bound packet socket) a ring of about `bytes`, with slots for frames up to
   * `mtu`; undefined, the socket left as it was, when the kernel refuses (memory, or a socket
   * that has frames mapped already). Frames waiting in the socket's queue are dropped by the
   * kernel: drain it first.
   */
  static open(fd: number, bytes: number, mtu: number): CaptureRing | undefined {
    const slot = CaptureRing.slotFor(mtu);
    const slots = Math.max(64, Math.floor(bytes / slot));
    const f = libc();
    if (f.setsockopt(fd, SOL_PACKET, PACKET_VERSION, int32(TPACKET_V2), 4) !== 0) return undefined;
    // tpacket_req: block size, blocks, frame size, frames. A block per slot: each a page or a
    // few, which the kernel finds even in fragmented memory.
    const req = Buffer.alloc(16);
    req.writeUInt32LE(slot, 0);
    req.writeUInt32LE(slots, 4);
    req.writeUInt32LE(slot, 8);
    req.writeUInt32LE(slots, 12);
    if (f.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req, req.length) !== 0) {
      f.setsockopt(fd, SOL_PACKET, PACKET_VERSION, int32(TPACKET_V1), 4);
      return undefined;
    }
    const mapping = mapShared(fd, slot * slots);
    if (!mapping) {
      CaptureRing.remove(fd);
      return undefined;
    }
    return new CaptureRing(fd, mapping, slot, slots);
  }

  /**
   * Visits every frame the ring holds, oldest first, and hands its slot back; returns how many.
   * A frame tagged in its slot's header (the receive path took the outer VLAN tag out) is given
   * with the tag put back, in a buffer of its own. `tooLong` is told of a frame the slot cut
   * short (longer than the interface's MTU when the ring was made), and is to throw.
   */
  each(visit: RingVisit, tooLong: (len: number, slot: number) => never): number {
    const { view: v, words, slot } = this;
    let n = 0;
    for (;;) {
      const base = this.head * slot;
      // An atomic load: the slot's bytes are read only after the status that says they are ours.
      const status = Atomics.load(words, base >> 2);
      if ((status & TP_STATUS_USER) === 0) return n;
      const len = v.readUInt32LE(base + 4);
      const start = base + v.readUInt16LE(base + 12);
      try {
        if (v.readUInt32LE(base + 8) < len) tooLong(len, slot - MAC_OFFSET);
        const frame =
          status & TP_STATUS_VLAN_VALID
            ? retagged(v, start, len, status, v.readUInt16LE(base + 24), v.readUInt16LE(base + 26))
            : undefined;
        if (frame) visit(frame, 0, frame.length);
        else visit(v, start, start + len);
      } finally {
        this.handBack(base);
      }
      n++;
    }
  }

  /** Hands back every slot the kernel filled, unread (what a shut ring took while switching). */
  clear(): void {
    while (Atomics.load(this.words, (this.head * this.slot) >> 2) & TP_STATUS_USER)
      this.handBack(this.head * this.slot);
  }

  /** Unmaps the ring, as the socket closes (which frees it). */
  close(): void {
    unmap(this.mapping);
  }

  private handBack(base: number): void {
    Atomics.store(this.words, base >> 2, TP_STATUS_KERNEL);
    this.head = this.head + 1 === this.slots ? 0 : this.head + 1;
  }

  private static remove(fd: number): void {
    const f = libc();
    f.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, Buffer.alloc(16), 16);
    f.setsockopt(fd, SOL_PACKET, PACKET_VERSION, int32(TPACKET_V1), 4);
  }
}
