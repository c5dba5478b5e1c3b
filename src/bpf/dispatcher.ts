// Keeping an XDP program in the kernel's XDP dispatcher for the runs that would otherwise put it
// there and take it out again. A BPF_PROG_TEST_RUN of an XDP program with more than one repeat
// (a timing run, a live-frames batch) adds the program to the dispatcher before the runs and
// removes it after, and each change of the dispatcher waits for an RCU grace period: 15-24 ms a
// call on these machines, against 0.7 ms for 10,000 runs of the IPv6 filter. A program attached
// somewhere is in the dispatcher already, and the run then only counts one more user of it.
import { PrivateNetns } from '../sys/netns.js';
import { attachXdp, type Attachment } from './attach.js';
import { PROG_TYPE } from './kinds.js';
import type { Program } from './program.js';

/** Something that ends a program's stay in the dispatcher. */
export interface Residence {
  close(): void;
}

/**
 * Attaches `program`, in generic mode, to the loopback of an empty private network namespace of
 * its own, where no frame ever comes: it stays in the dispatcher until the residence is closed.
 * Undefined where it cannot attach (not XDP, bound to a device, made for a devmap or cpumap):
 * its runs then pay the dispatcher's changes, and work the same.
 */
export function keepInDispatcher(program: Program): Residence | undefined {
  if (program.typeId !== PROG_TYPE.xdp) return undefined;
  let netns: PrivateNetns | undefined;
  let attachment: Attachment | undefined;
  try {
    netns = PrivateNetns.open();
    // By link only: a netlink attachment's undo would run in the caller's namespace, on its lo.
    attachment = netns.run(() => attachXdp(program, { interface: 'lo' }, 'generic', 'link'));
  } catch {
    netns?.close();
    return undefined;
  }
  const ns = netns;
  const a = attachment;
  return {
    close: () => {
      a.detach();
      ns.close();
    },
  };
}
