import { libc } from '../sys/libc.js';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { BpfError, NotSupportedError, XdpspecError } from '../sys/errors.js';
import { errno, ffi, koffi, TcHook, TcOpts } from './ffi.js';
import { PROG_TYPE } from './kinds.js';
import { ENOTSUPP, errnoName } from '../sys/errno.js';
import { inNetns } from '../sys/netns.js';
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

/**
 * How an attachment is held: a BPF link (`link`: the kernel detaches it when this process's
 * file descriptor closes, SIGKILL included), or netlink / a TC filter (`netlink`, `tc-filter`:
 * it stays until detached, or until its namespace goes).
 */
export type AttachMechanism = 'link' | 'netlink' | 'tc-filter';

/** Something attached; `detach()` undoes it (once; later calls do nothing). */
export interface Attachment {
  readonly description: string;
  /** How it is held (absent for attachments made by another tool). */
  readonly mechanism?: AttachMechanism;
  detach(): void;
}

/** How to attach: a BPF link where the kernel has it (XDP 5.9+, tcx 6.6+), else the older way. */
export type AttachVia = 'auto' | 'link' | 'netlink';

const BPF_XDP = 37;
const BPF_TCX: Record<TcDirection, number> = { ingress: 46, egress: 47 };
const LINK_OPTS_SIZE = 64; // struct bpf_link_create_opts of libbpf 1.1
/** The kernel lacks this kind of link: fall back. */
const NO_LINK = new Set([constants.errno.EINVAL, constants.errno.EOPNOTSUPP, ENOTSUPP, constants.errno.EPERM]);

/** What BPF_LINK_CREATE answers on a kernel without that kind of link (EPERM is privileges). */
const lacksLinks = (e: number) => e === constants.errno.EINVAL || e === ENOTSUPP;

/** The default way to attach: XDPSPEC_ATTACH=netlink forces the old one, for older kernels' behaviour. */
function defaultVia(): AttachVia {
  const v = process.env.XDPSPEC_ATTACH;
  return v === 'netlink' || v === 'link' ? v : 'auto';
}

/**
 * TC attaches as a clsact filter unless a tcx link is asked for (`'link'`, XDPSPEC_ATTACH=link):
 * tcx runs programs with other semantics for TC_ACT_STOLEN and TRAP (it goes on to the
 * next program, so the frame passes) than cls_bpf, which most deployments use and the unit
 * engine models.
 */
function defaultTcVia(): AttachVia {
  return process.env.XDPSPEC_ATTACH === 'link' ? 'link' : 'netlink';
}

/** BPF_LINK_CREATE: a link fd, or -errno. */
function linkCreate(progFd: number, ifindex: number, type: number, flags: number): number {
  const opts = Buffer.alloc(LINK_OPTS_SIZE);
  opts.writeBigUInt64LE(BigInt(LINK_OPTS_SIZE), 0);
  opts.writeUInt32LE(flags, 8);
  const fd = ffi().bpf_link_create(progFd, ifindex, type, opts);
  return fd >= 0 ? fd : -(errno() || -fd);
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
function attachment(
  description: string,
  program: Program,
  target: AttachTarget,
  mechanism: AttachMechanism,
  undo: () => void,
): Attachment {
  let done = false;
  const a: Attachment = {
    description: `${description}, by ${mechanism === 'link' ? 'BPF link' : mechanism}`,
    mechanism,
    detach() {
      if (done) return;
      done = true;
      live.delete(a);
      program.object.attachments.delete(a);
      // A link's fd is ours to close wherever its device went; the rest lives in the namespace.
      if (mechanism === 'link') undo();
      else if (!gone(target)) inNetns(target.netns, undo);
    },
  };
  return track(a, program);
}

function ifindexOf(t: AttachTarget): number {
  const i = libc().if_nametoindex(t.interface);
  if (i === 0)
    throw new XdpspecError('NO_INTERFACE', `no interface ${t.interface}${t.netns ? ` in namespace ${t.netns}` : ''}`);
  return i;
}

/** A deleted namespace took its interfaces, and what was attached to them, with it. */
const gone = (t: AttachTarget) => t.netns !== undefined && !existsSync(`/run/netns/${t.netns}`);

const where = (t: AttachTarget) => `${t.interface}${t.netns ? ` (netns ${t.netns})` : ''}`;

/**
 * Attaches an XDP program to an interface, through a BPF link where the kernel has them (gone
 * with this process, SIGKILL included), else through netlink. Refuses to replace a program
 * already there.
 * @throws BpfError naming the interface and the reason (EBUSY: something is attached; the mode is not supported).
 */
export function attachXdp(
  program: Program,
  target: AttachTarget,
  mode: XdpMode = 'auto',
  via: AttachVia = defaultVia(),
): Attachment {
  if (program.typeId !== PROG_TYPE.xdp)
    throw new XdpspecError(
      'WRONG_PROGRAM_TYPE',
      `attach xdp to ${where(target)}: ${program.name} is a ${program.type} program, not xdp`,
    );
  const flags = XDP_FLAGS[mode];
  const fail = (e: number): never => {
    const hint =
      e === constants.errno.EBUSY || e === constants.errno.EEXIST
        ? ': an XDP program is already attached there'
        : e === constants.errno.EOPNOTSUPP
          ? `: the driver does not support ${mode} mode`
          : '';
    throw new BpfError(`attach xdp ${program.name} to ${where(target)}`, e, `${errnoName(e)}${hint}`);
  };
  const made = inNetns(target.netns, () => {
    const i = ifindexOf(target);
    if (via !== 'netlink') {
      const fd = linkCreate(program.fd, i, BPF_XDP, flags);
      if (fd >= 0) return { ifindex: i, link: fd };
      if (via === 'link' && lacksLinks(-fd) && -fd !== constants.errno.EOPNOTSUPP)
        throw new NotSupportedError(
          'XDP links',
          `attach xdp ${program.name} to ${where(target)} by BPF link: ${errnoName(-fd)}: this kernel has no XDP links (5.9+); attach through netlink (via 'netlink')`,
        );
      if (via === 'link' || !NO_LINK.has(-fd)) fail(-fd);
    }
    if (ffi().bpf_xdp_attach(i, program.fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, null) !== 0) fail(errno());
    return { ifindex: i, link: -1 };
  });
  const what = `xdp ${program.name} on ${where(target)} (${mode})`;
  if (made.link >= 0) return attachment(what, program, target, 'link', () => libc().close(made.link));
  return attachment(what, program, target, 'netlink', () => ffi().bpf_xdp_detach(made.ifindex, flags, null));
}

/**
 * Attaches a TC (sched_cls) program to an interface's ingress or egress: as a filter on the
 * clsact qdisc, creating the qdisc when it is missing (and removing it again on detach if it
 * made it); or, with `via` `'link'` (or `'auto'` where the kernel has tcx, 6.6+), through a tcx
 * link, gone with this process (see defaultTcVia for why that is not the default).
 */
export function attachTc(
  program: Program,
  target: AttachTarget,
  direction: TcDirection,
  via: AttachVia = defaultTcVia(),
): Attachment {
  if (program.typeId !== PROG_TYPE.sched_cls)
    throw new XdpspecError(
      'WRONG_PROGRAM_TYPE',
      `attach tc to ${where(target)}: ${program.name} is a ${program.type} program, not sched_cls`,
    );
  const f = ffi();
  const hookSize = koffi.sizeof(TcHook);
  const optsSize = koffi.sizeof(TcOpts);
  const what = `tc ${program.name} on ${where(target)} ${direction}`;
  if (via !== 'netlink') {
    // tcx (kernel 6.6+): a link on the device's ingress or egress, no qdisc needed.
    const made = inNetns(target.netns, () => {
      const i = ifindexOf(target);
      return linkCreate(program.fd, i, BPF_TCX[direction], 0);
    });
    if (made >= 0) return attachment(what, program, target, 'link', () => libc().close(made));
    if (via === 'link' && lacksLinks(-made))
      throw new NotSupportedError(
        'tcx links',
        `attach tc ${program.name} to ${where(target)} ${direction} by tcx link: ${errnoName(-made)}: this kernel has no tcx links (6.6+); attach as a clsact filter (via 'netlink')`,
      );
    if (via === 'link' || !NO_LINK.has(-made))
      throw new BpfError(`attach tc ${program.name} to ${where(target)} ${direction}`, -made, errnoName(-made));
  }
  const state = inNetns(target.netns, () => {
    const ifindex = ifindexOf(target);
    const hook = { sz: hookSize, ifindex, attach_point: TC_POINT[direction], parent: 0, _pad: 0 };
    const rc = f.bpf_tc_hook_create(hook);
    if (rc !== 0 && rc !== -constants.errno.EEXIST)
      throw new BpfError(`create clsact qdisc on ${where(target)}`, -rc, errnoName(-rc));
    const opts = { sz: optsSize, prog_fd: program.fd, flags: 0, prog_id: 0, handle: 0, priority: 0, _pad: 0 };
    const ar = f.bpf_tc_attach(hook, opts);
    if (ar !== 0) throw new BpfError(`attach tc ${program.name} to ${where(target)} ${direction}`, -ar, errnoName(-ar));
    return { ifindex, hook, created: rc === 0, handle: opts.handle, priority: opts.priority };
  });
  return attachment(what, program, target, 'tc-filter', () => {
    f.bpf_tc_detach(state.hook, {
      sz: optsSize,
      prog_fd: 0,
      flags: 0,
      prog_id: 0,
      handle: state.handle,
      priority: state.priority,
      _pad: 0,
    });
    if (state.created) f.bpf_tc_hook_destroy({ ...state.hook, attach_point: TC_POINT.ingress | TC_POINT.egress });
  });
}
