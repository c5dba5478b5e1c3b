import { NotSupportedError, XdpspecError } from '../sys/errors.js';
import { processWide } from '../sys/process-wide.js';
import { atRelease } from '../sys/release.js';
import { DEVICE_MAPS, MAP_TYPE, MAP_TYPES, PROG_TYPE } from './kinds.js';
import { errnoName } from '../sys/errno.js';
import { inNetns, interfaceName, PrivateNetns } from '../sys/netns.js';
import { deviceMapChanges, deviceWrite } from './device-writes.js';
import type { BpfMap } from './map.js';
import { loadObject, type LoadedObject } from './object.js';
import { probeObject } from './probe-objects.js';
import type { Program } from './program.js';
import type { TestRunOptions } from './testrun.js';
import { closeAll, TraceLink } from './trace.js';
import { ffi, readNative } from './ffi.js';
import { mapsWritten } from './map-writes.js';

/** Where a redirected frame went, as far as it can be learned; never guessed. */
export type RedirectTarget =
  | {
      readonly known: true;
      /** The target interface (absent for maps that do not name one, e.g. cpumap, xskmap). */
      readonly ifindex?: number;
      /** Its name in the caller's network namespace, when it exists there. */
      readonly device?: string;
      /** Set by benches: the bench port the ifindex belongs to. */
      readonly port?: string;
      /** For bpf_redirect_map: the map (name, type, kernel id) and the key. */
      readonly map?: { readonly name: string; readonly type: string; readonly id: number; readonly key: number };
      /** Live TC redirects: into the target's receive path (BPF_F_INGRESS) or out of it. */
      readonly direction?: 'ingress' | 'egress';
      /** Why the redirect could not be carried out, e.g. no device with that ifindex. */
      readonly error?: string;
    }
  | { readonly known: false; readonly reason: string };

/** The probe's event ring (redirect.bpf.c): its slots and the size of one. */
const MAX_EVENTS = 16;
const EVENT_SIZE = 24;

/** The kernel documents live-frames runs for frames up to about a page less headroom. */
const LIVE_FRAMES_MAX = 3400;

interface Event {
  kind: number;
  err: number;
  mapType: number;
  mapId: number;
  index: number;
}

/**
 * Learns where XDP_REDIRECT sent a frame in a unit run. The kernel performs no redirect in a
 * plain test run, so the probe reruns the frame in live-frames mode, where it does, and reads
 * the kernel's own xdp_redirect / xdp_redirect_err tracepoints (raw tracepoint programs of
 * xdpspec's, filtered to this thread).
 *
 * Two things keep the rerun honest and harmless: it happens inside a private, empty network
 * namespace, so an ifindex never resolves to a real device and nothing leaves the machine;
 * and the program's maps are snapshotted before and restored after, so state is as if the
 * frame had run once. Device maps hold devices themselves, so a program with any reruns as a
 * copy whose device maps point at the private namespace's loopback (see `locate`).
 */
interface Rerun {
  readonly object: LoadedObject;
  readonly program: Program;
  /** `changes`: the original's change count when the copy was last made like it. */
  readonly deviceMaps: { readonly original: BpfMap; readonly copy: BpfMap; changes?: number }[];
}

/**
 * The kernel ids of the object's maps that `program` can change (see map-writes.ts), from its
 * instructions as libbpf loaded them (map descriptors in its ld_imm64s), or `'all'`.
 */
function writtenBy(program: Program, maps: { map: BpfMap }[]): Set<number> | 'all' {
  const f = ffi();
  const n = Number(f.bpf_program__insn_cnt(program.handle));
  const at = f.bpf_program__insns(program.handle);
  if (n === 0 || at === 0n) return 'all';
  const numbers = new Map<number, number>(maps.map((m, i) => [m.map.fd, i]));
  // A descriptor of no map of the object (a counted program's counters, say) gets a number of
  // its own: what it says of such a map matters to no snapshot.
  const numberOf = (_kind: number, fd: number) => {
    if (!numbers.has(fd)) numbers.set(fd, numbers.size);
    return numbers.get(fd);
  };
  const written = mapsWritten(readNative(at, n * 8), numberOf);
  if (written === 'all') return 'all';
  return new Set(maps.filter((_, i) => written.has(i)).map((m) => m.map.id));
}

interface Plan {
  readonly maps: { map: BpfMap; typeId: number }[];
  readonly devices: boolean;
  readonly state: BpfMap[];
}

/**
 * Makes each copied device map hold the keys its original holds, every one pointing at the
 * private namespace's loopback (ifindex 1 there), so a program that tries keys until one is
 * present decides as it would on the original. Done again only when xdpspec changed the
 * original since (programs cannot change device maps); called inside the private namespace.
 */
function syncCopies(rerun: Rerun): void {
  for (const d of rerun.deviceMaps) {
    const changes = deviceMapChanges(d.original.id);
    if (d.changes === changes) continue;
    const keys = new Set(d.original.snapshot().map(([k]) => k.toString('hex')));
    for (const [k] of d.copy.snapshot()) if (!keys.has(k.toString('hex'))) d.copy.delete(k);
    const lo = Buffer.alloc(d.copy.valueSize);
    lo.writeUInt32LE(1, 0);
    for (const k of keys) d.copy.set(Buffer.from(k, 'hex'), lo);
    d.changes = changes;
  }
}

const shared = processWide('redirect-probe', () => ({ probe: undefined as RedirectProbe | undefined }));

export class RedirectProbe {
  private closed = false;
  private readonly copies = new WeakMap<Program, Rerun>();
  private readonly liveCopies = new Set<LoadedObject>();
  /** Where reruns happen: one empty namespace for the probe's life (see PrivateNetns). */
  private netns: PrivateNetns | undefined;

  private constructor(
    private readonly obj: LoadedObject,
    private readonly links: TraceLink[],
    /** The probe's `count` and `events` in its mapped .bss, read without a kernel call. */
    private readonly count: Buffer,
    private readonly events: Buffer,
  ) {}

  /**
   * Loads and attaches the probe. @throws BpfError when raw tracepoints cannot attach;
   *   NotSupportedError where its globals cannot be mapped.
   */
  static open(): RedirectProbe {
    const obj = loadObject(probeObject('redirect'), {}, { count: false });
    const links: TraceLink[] = [];
    let count: Buffer | undefined;
    let events: Buffer | undefined;
    try {
      count = obj.globalMemory('count');
      events = obj.globalMemory('events');
      // Mappable .bss (5.5) comes long before the live-frames reruns the probe exists for (5.18).
      if (!count || !events)
        throw new NotSupportedError(
          'mappable globals',
          "the redirect probe's globals cannot be mapped into memory on this kernel (5.5+ maps them): locate redirects with the live engine, or run with locateRedirects: false",
        );
      // bpf_get_current_pid_tgid: the thread group (process) id high, the thread id low; the
      // test run executes on this, the main, thread, whose id is the process id.
      obj.setGlobal('watched_pid_tgid', (BigInt(process.pid) << 32n) | BigInt(process.pid));
      for (const [prog, tp] of [
        ['on_redirect', 'xdp_redirect'],
        ['on_redirect_err', 'xdp_redirect_err'],
      ] as const)
        links.push(TraceLink.rawTracepoint(obj.program(prog), tp));
    } catch (err) {
      closeAll(links);
      obj.close();
      throw err;
    }
    return new RedirectProbe(obj, links, count, events);
  }

  /** Reruns `frame` through `program` to find its redirect target. */
  locate(program: Program, frame: Buffer, options: TestRunOptions = {}): RedirectTarget {
    if (this.closed) throw new XdpspecError('PROBE_CLOSED', 'the redirect probe is closed');
    if (program.typeId !== PROG_TYPE.xdp)
      return {
        known: false,
        reason: `only XDP redirects can be located in a unit run (${program.type} has no redirect tracepoint); use the live engine`,
      };
    if (frame.length > LIVE_FRAMES_MAX)
      return {
        known: false,
        reason: `frame of ${frame.length} bytes is too large for a live-frames rerun (at most ${LIVE_FRAMES_MAX})`,
      };
    const { maps, state: changeable, devices } = this.planOf(program);
    // Device maps hold the devices themselves: a rerun through the program's own would really
    // transmit, on whatever device an entry names (a bench's veth, the machine's interface). The
    // rerun goes through a copy of the program whose device maps are its own, every key pointing
    // at the private namespace's loopback, which cannot take frames: the kernel reports the
    // failed redirect with the map and key, and nothing is sent anywhere.
    const rerun = devices ? this.copyOf(program) : undefined;

    const state = changeable.map((map) => ({ map, snap: map.capture() }));
    const before = this.counted();
    try {
      (this.netns ??= PrivateNetns.open()).run(() => {
        if (rerun) syncCopies(rerun);
        const again = () =>
          (rerun?.program ?? program).testRun(frame, {
            ...options,
            ingressIfindex: undefined,
            rxQueue: undefined,
            repeat: 1,
            liveFrames: true,
          });
        // The rerun is xdpspec's, not the spec's: a counted program's coverage must not see it.
        if (rerun || !program.counters) again();
        else program.counters.preserve(again);
      });
    } finally {
      for (const s of state) s.map.putBack(s.snap);
    }
    const ev = this.counted() === before ? undefined : this.event(before);
    if (!ev)
      return {
        known: false,
        reason: 'the live rerun did not redirect (the program decided differently the second time)',
      };
    return this.describe(ev, maps, rerun);
  }

  /**
   * The rerun copy of a program with device maps: loaded once, kept while the probe is open and
   * the program's object is, and closed with whichever goes first.
   */
  private copyOf(program: Program): Rerun {
    let r = this.copies.get(program);
    if (!r || r.object.isClosed) {
      const c = program.object.rerunCopy(program.name);
      const made: Rerun = { object: c.object, program: c.object.program(program.name), deviceMaps: c.deviceMaps };
      this.copies.set(program, made);
      this.liveCopies.add(made.object);
      program.object.closeWith({
        close: () => {
          this.liveCopies.delete(made.object);
          made.object.close();
        },
      });
      r = made;
    }
    return r;
  }

  private describe(ev: Event, maps: { map: BpfMap; typeId: number }[], rerun: Rerun | undefined): RedirectTarget {
    if (ev.mapType === 0) {
      // bpf_redirect(ifindex): the rerun's empty namespace has no such device, so an error is
      // expected there; whether the target exists is a question for the caller's namespace.
      const device = interfaceName(ev.index);
      return device
        ? { known: true, ifindex: ev.index, device }
        : { known: true, ifindex: ev.index, error: `no device with ifindex ${ev.index} in this network namespace` };
    }
    // Through the copy's device map: its entry stands for the original's at the same key.
    const viaCopy = rerun?.deviceMaps.find((d) => d.copy.id === ev.mapId);
    // The raw view of the map (allMaps), whose values are the bytes the kernel keeps.
    const m = viaCopy
      ? maps.find((x) => x.map.name === viaCopy.original.name)
      : maps.find((x) => x.map.id === ev.mapId);
    const id = viaCopy ? viaCopy.original.id : ev.mapId;
    const map = {
      name: m?.map.name ?? `map id ${ev.mapId}`,
      type: MAP_TYPES[ev.mapType] ?? `type ${ev.mapType}`,
      id,
      key: ev.index,
    };
    // The copy's loopback refuses every frame: that failure is the rerun's, not the program's.
    const error =
      ev.kind === 2 && !viaCopy ? `redirect through ${map.name}[${ev.index}] failed: ${errnoName(-ev.err)}` : undefined;
    if (m && DEVICE_MAPS.has(ev.mapType)) {
      const key = Buffer.from(Uint32Array.of(ev.index).buffer);
      const v = m.map.get(key) as Buffer | undefined;
      if (!v)
        return {
          known: true,
          map,
          error: `${map.name} has no entry at key ${ev.index}: the redirect fails and the frame is dropped`,
        };
      const ifindex = v.readUInt32LE(0); // the value is the ifindex, or struct bpf_devmap_val starting with it
      // The device has that number in the namespace the entry was written from.
      const written = deviceWrite(id, key);
      const device = inNetns(written?.netns, () => interfaceName(ifindex));
      return {
        known: true,
        ifindex,
        ...(device ? { device } : {}),
        ...(written?.port ? { port: written.port } : {}),
        map,
        ...(error ? { error } : {}),
      };
    }
    return { known: true, map, ...(error ? { error } : {}) };
  }

  /** How many events the probe has recorded in its life (it never resets). */
  private counted(): number {
    return this.count.readUInt32LE(0);
  }

  /** The event recorded when the count was `n` (the ring holds the last MAX_EVENTS). */
  private event(n: number): Event {
    const at = (n % MAX_EVENTS) * EVENT_SIZE;
    const e = this.events;
    return {
      kind: e.readUInt32LE(at),
      err: e.readInt32LE(at + 4),
      mapType: e.readUInt32LE(at + 8),
      mapId: e.readUInt32LE(at + 12),
      index: e.readUInt32LE(at + 16),
    };
  }

  /**
   * What a rerun of `program` involves, worked out once per program: the object's maps (raw
   * views), whether any is a device map, and the maps the rerun can change, snapshotted around
   * it: the object's state maps that the program itself uses (the kernel's list), all of them
   * when it tail-calls (its targets use maps of their own), never the object's others.
   */
  private planOf(program: Program): Plan {
    let plan = this.plans.get(program);
    if (!plan) {
      const maps = program.object.allMaps();
      const used = new Set(program.mapIds());
      const tailCalls = maps.some((m) => m.typeId === MAP_TYPE.prog_array && used.has(m.map.id));
      const written = tailCalls ? 'all' : writtenBy(program, maps);
      plan = {
        maps,
        devices: maps.some((m) => DEVICE_MAPS.has(m.typeId)),
        state: program.object
          .stateMaps()
          .filter((m) => tailCalls || (used.has(m.id) && (written === 'all' || written.has(m.id)))),
      };
      this.plans.set(program, plan);
    }
    return plan;
  }

  private readonly plans = new WeakMap<Program, Plan>();

  /**
   * The process's shared probe, opened on first use and kept: opening one loads an object and
   * attaches two raw tracepoints, and closing it waits for the kernel to let go of them (an RCU
   * grace period), milliseconds a run of a few frames would pay each time. It goes with the
   * process (its links are BPF links) or at release (sys/release.ts).
   */
  static shared(): RedirectProbe {
    const slot = shared;
    if (!slot.probe || slot.probe.closed) {
      const probe = (slot.probe = RedirectProbe.open());
      atRelease(() => probe.close());
    }
    return slot.probe;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeAll(this.links);
    this.netns?.close();
    this.netns = undefined;
    for (const o of this.liveCopies) o.close();
    this.liveCopies.clear();
    this.obj.close();
  }
}
