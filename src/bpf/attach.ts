import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { BpfError, XdpspecError } from '../errors.js';
import { errno, ffi, koffi, TcHook, TcOpts } from './ffi.js';
import { PROG_TYPE } from './kinds.js';
import { errnoName } from './map.js';
import { inNetns } from './netns.js';
import type { Program } from './program.js';

/** How an XDP program runs: in the driver (`native`), on the generic skb path, or the kernel's pick. */
export type XdpMode = 'native' | 'generic' | 'auto';
export type TcDirection = 'ingress' | 'egress';

const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
const XDP_FLAGS: Record<XdpMode, number> = { auto: 0, generic: 2, native: 4 };
const TC_POINT: Record<TcDirection, number> = { ingress: 1, egress: 2 };

export interface AttachTarget {
  /** Interface name (in `netns`, when given). */
  readonly interface: string;
  /** Network namespace name (`/run/netns/NAME`); default the current one. */
  readonly netns?: string;
}

/** Something attached; `detach()` undoes it (once; later calls do nothing). */
export interface Attachment {
  readonly description: string;
  detach(): void;
}

// Everything attached and not yet detached, undone on exit however the process ends normally.
const live = new Set<Attachment>();
let exitHook = false;
function track(a: Attachment, program: Program): Attachment {
  live.add(a);
  program.object.attachments.add(a);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const x of [...live]) {
        try {
          x.detach();
        } catch {
          // exiting: nothing more can be done, and the namespace going away detaches anyway
        }
      }
    });
  }
  return a;
}

/**
 * An attachment whose `undo` runs once, inside the target's namespace, and not at all when the
 * namespace is gone (deleting it detached everything); tracked for exit and for its object.
 */
function attachment(description: string, program: Program, target: AttachTarget, undo: () => void): Attachment {
  let done = false;
  const a: Attachment = {
    description,
    detach() {
      if (done) return;
      done = true;
      live.delete(a);
      program.object.attachments.delete(a);
      if (!gone(target)) inNetns(target.netns, undo);
    },
  };
  return track(a, program);
}

function ifindexOf(t: AttachTarget): number {
  const i = ffi().if_nametoindex(t.interface);
  if (i === 0) throw new XdpspecError('NO_INTERFACE', `no interface ${t.interface}${t.netns ? ` in namespace ${t.netns}` : ''}`);
  return i;
}

/** A deleted namespace took its interfaces, and what was attached to them, with it. */
const gone = (t: AttachTarget) => t.netns !== undefined && !existsSync(`/run/netns/${t.netns}`);

const where = (t: AttachTarget) => `${t.interface}${t.netns ? ` (netns ${t.netns})` : ''}`;

/**
 * Attaches an XDP program to an interface. Refuses to replace a program already there.
 * @throws BpfError naming the interface and the reason (EBUSY: something is attached; the mode is not supported).
 */
export function attachXdp(program: Program, target: AttachTarget, mode: XdpMode = 'auto'): Attachment {
  if (program.typeId !== PROG_TYPE.xdp) throw new XdpspecError('WRONG_PROGRAM_TYPE', `attach xdp to ${where(target)}: ${program.name} is a ${program.type} program, not xdp`);
  const flags = XDP_FLAGS[mode];
  const ifindex = inNetns(target.netns, () => {
    const i = ifindexOf(target);
    if (ffi().bpf_xdp_attach(i, program.fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, null) !== 0) {
      const e = errno();
      const hint = e === constants.errno.EBUSY || e === constants.errno.EEXIST ? ': an XDP program is already attached there' : e === constants.errno.EOPNOTSUPP ? `: the driver does not support ${mode} mode` : '';
      throw new BpfError(`attach xdp ${program.name} to ${where(target)}`, e, `${errnoName(e)}${hint}`);
    }
    return i;
  });
  return attachment(`xdp ${program.name} on ${where(target)} (${mode})`, program, target, () => ffi().bpf_xdp_detach(ifindex, flags, null));
}

/**
 * Attaches a TC (sched_cls) program to an interface's clsact ingress or egress hook, creating
 * the clsact qdisc when it is missing (and removing it again on detach if it made it).
 */
export function attachTc(program: Program, target: AttachTarget, direction: TcDirection): Attachment {
  if (program.typeId !== PROG_TYPE.sched_cls) throw new XdpspecError('WRONG_PROGRAM_TYPE', `attach tc to ${where(target)}: ${program.name} is a ${program.type} program, not sched_cls`);
  const f = ffi();
  const hookSize = koffi.sizeof(TcHook);
  const optsSize = koffi.sizeof(TcOpts);
  const state = inNetns(target.netns, () => {
    const ifindex = ifindexOf(target);
    const hook = { sz: hookSize, ifindex, attach_point: TC_POINT[direction], parent: 0, _pad: 0 };
    const rc = f.bpf_tc_hook_create(hook);
    if (rc !== 0 && rc !== -constants.errno.EEXIST) throw new BpfError(`create clsact qdisc on ${where(target)}`, -rc, errnoName(-rc));
    const opts = { sz: optsSize, prog_fd: program.fd, flags: 0, prog_id: 0, handle: 0, priority: 0, _pad: 0 };
    const ar = f.bpf_tc_attach(hook, opts);
    if (ar !== 0) throw new BpfError(`attach tc ${program.name} to ${where(target)} ${direction}`, -ar, errnoName(-ar));
    return { ifindex, hook, created: rc === 0, handle: opts.handle, priority: opts.priority };
  });
  return attachment(`tc ${program.name} on ${where(target)} ${direction}`, program, target, () => {
    f.bpf_tc_detach(state.hook, { sz: optsSize, prog_fd: 0, flags: 0, prog_id: 0, handle: state.handle, priority: state.priority, _pad: 0 });
    if (state.created) f.bpf_tc_hook_destroy({ ...state.hook, attach_point: TC_POINT.ingress | TC_POINT.egress });
  });
}
