// Simple Packet Block: a packet on interface 0 with no timestamp; its captured length is
// derived from the block length and the interface's snap length.
export const SPB_TYPE = 3;
export const SPB_FIXED_LEN = 12;
