export {
  OpenedObject,
  LoadedObject,
  loadObject,
  type LoadOptions,
  type OpenOptions,
  type ProgramInfo,
  type ProgramTypeName,
  type ProgramTypes,
} from './object.js';
export { Program, type ProgramRun, type ProgramStats } from './program.js';
export { BlockCounters, type CountedFunction, type SourceLine } from './counters.js';
export type { Block, Branch } from './instrument.js';
export { BpfMap, type MapInfo, type MapState, type UpdateMode } from './map.js';
export { RingBuffer } from './ring-buffer.js';
export { PerfBuffer, type PerfRecord } from './perf-buffer.js';
export { createMap, CreatedMap, type MapSpec } from './create-map.js';
export { ValueShapeError } from './codec.js';
export type { TestRunOptions, RawRun, SkbContext, SkbContextOut, LaidFrames, MakeRun } from './testrun.js';
export { returnCodeName, type XdpAction, type TcAction } from './kinds.js';
export { effectiveCapabilities, requirePrivileges } from '../sys/privileges.js';
export { RedirectProbe, type RedirectTarget } from './redirect-probe.js';
export { inPrivateNetns, inNetns, interfaceName } from '../sys/netns.js';
export {
  attachXdp,
  attachTc,
  type AttachMechanism,
  type Attachment,
  type AttachTarget,
  type AttachVia,
  type XdpMode,
  type TcDirection,
} from './attach.js';
