// Enhanced Packet Block: a packet with its interface, 64-bit timestamp and options.
export const EPB_TYPE = 6;
/** Block header (8) + interface id, timestamp high and low, captured and original length (20). */
export const EPB_FIXED_LEN = 28;
// Obsolete Packet Block (pcapng drafts; still written by old tools): 16-bit interface id and drops count.
export const OPB_TYPE = 2;
export const OPB_FIXED_LEN = 28;
