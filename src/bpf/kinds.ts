// Names for the kernel's numbers: program types, map types, return codes.

export const PROG_TYPES: Readonly<Record<number, string>> = {
  1: 'socket_filter',
  2: 'kprobe',
  3: 'sched_cls',
  4: 'sched_act',
  5: 'tracepoint',
  6: 'xdp',
  7: 'perf_event',
  8: 'cgroup_skb',
  9: 'cgroup_sock',
  10: 'lwt_in',
  11: 'lwt_out',
  12: 'lwt_xmit',
  13: 'sock_ops',
  14: 'sk_skb',
  15: 'cgroup_device',
  16: 'sk_msg',
  17: 'raw_tracepoint',
  18: 'cgroup_sock_addr',
  26: 'tracing',
  30: 'lsm',
  31: 'sk_lookup',
  32: 'syscall',
};
export const PROG_TYPE = { sched_cls: 3, xdp: 6, raw_tracepoint: 17 } as const;
export const MAP_TYPE = { prog_array: 3, perf_event_array: 4, queue: 22, stack: 23, ringbuf: 27 } as const;

export const MAP_TYPES: Readonly<Record<number, string>> = {
  1: 'hash',
  2: 'array',
  3: 'prog_array',
  4: 'perf_event_array',
  5: 'percpu_hash',
  6: 'percpu_array',
  7: 'stack_trace',
  8: 'cgroup_array',
  9: 'lru_hash',
  10: 'lru_percpu_hash',
  11: 'lpm_trie',
  12: 'array_of_maps',
  13: 'hash_of_maps',
  14: 'devmap',
  15: 'sockmap',
  16: 'cpumap',
  17: 'xskmap',
  18: 'sockhash',
  19: 'cgroup_storage',
  20: 'reuseport_sockarray',
  21: 'percpu_cgroup_storage',
  22: 'queue',
  23: 'stack',
  24: 'sk_storage',
  25: 'devmap_hash',
  26: 'struct_ops',
  27: 'ringbuf',
  28: 'inode_storage',
  29: 'task_storage',
  30: 'bloom_filter',
};

export const PERCPU_MAPS = new Set([5, 6, 10, 21]);
/** Maps whose elements always exist (array, per-CPU array): they cannot delete, only zero. */
export const FIXED_MAPS = new Set([2, 6]);
/** Maps whose values are maps (array_of_maps, hash_of_maps). */
export const OUTER_MAPS = new Set([12, 13]);
/** Maps that redirect to devices: a rerun through them could transmit on the device. */
export const DEVICE_MAPS = new Set([14, 25]);
/** Maps of values without keys, read by popping: queue, stack. */
export const QUEUE_MAPS = new Set([22, 23]);
/** Maps a program's run can change (so a rerun must snapshot and restore them). */
export const STATE_MAPS = new Set([1, 2, 5, 6, 9, 10, 11, 22, 23]);

export type XdpAction = 'XDP_ABORTED' | 'XDP_DROP' | 'XDP_PASS' | 'XDP_TX' | 'XDP_REDIRECT';
export const XDP_ACTIONS: readonly XdpAction[] = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];

export type TcAction =
  | 'TC_ACT_UNSPEC'
  | 'TC_ACT_OK'
  | 'TC_ACT_RECLASSIFY'
  | 'TC_ACT_SHOT'
  | 'TC_ACT_PIPE'
  | 'TC_ACT_STOLEN'
  | 'TC_ACT_QUEUED'
  | 'TC_ACT_REPEAT'
  | 'TC_ACT_REDIRECT'
  | 'TC_ACT_TRAP';
const TC_ACTIONS: Readonly<Record<number, TcAction>> = {
  [-1]: 'TC_ACT_UNSPEC',
  0: 'TC_ACT_OK',
  1: 'TC_ACT_RECLASSIFY',
  2: 'TC_ACT_SHOT',
  3: 'TC_ACT_PIPE',
  4: 'TC_ACT_STOLEN',
  5: 'TC_ACT_QUEUED',
  6: 'TC_ACT_REPEAT',
  7: 'TC_ACT_REDIRECT',
  8: 'TC_ACT_TRAP',
};

/** The name of a program's return code, e.g. `XDP_PASS`; unknown codes as `XDP_RETURN_7`. */
export function returnCodeName(progType: number, retval: number): string {
  if (progType === PROG_TYPE.xdp) return XDP_ACTIONS[retval] ?? `XDP_RETURN_${retval}`;
  const signed = retval | 0;
  return TC_ACTIONS[signed] ?? `TC_RETURN_${signed}`;
}
