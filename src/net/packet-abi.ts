// What a packet socket and its receive ring share of AF_PACKET's interface (linux/if_packet.h):
// the socket option level, an int option's argument, and the VLAN tag the receive path took out
// of a frame, which both report beside the frame (a control message, a ring slot's header).

export const SOL_PACKET = 263;

/** A status bit: the kernel took a VLAN tag out of the frame, and reports it beside it. */
export const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;

/** An int socket option's value, as setsockopt takes it. */
export function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

/**
 * The `n` bytes at `v[start]` with the VLAN tag put back after the MAC addresses, in a buffer of
 * their own, where `status` (tpacket_auxdata's or a slot header's) says the kernel took one out;
 * undefined where it did not. `tpid` counts only where `status` says it is valid (else 802.1Q).
 */
export function retagged(v: Buffer, start: number, n: number, status: number, tci: number, tpid: number) {
  if ((status & TP_STATUS_VLAN_VALID) === 0 || n < 12) return undefined;
  const frame = Buffer.allocUnsafe(n + 4);
  v.copy(frame, 0, start, start + 12);
  frame.writeUInt16BE(status & TP_STATUS_VLAN_TPID_VALID ? tpid : 0x8100, 12);
  frame.writeUInt16BE(tci, 14);
  v.copy(frame, 16, start + 12, start + n);
  return frame;
}
