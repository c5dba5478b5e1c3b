export { OpenedObject, LoadedObject, loadObject, type ProgramInfo } from './object.js';
export { Program, type ProgramRun } from './program.js';
export { BpfMap, type MapInfo, type UpdateMode } from './map.js';
export { ValueShapeError } from './codec.js';
export type { TestRunOptions, RawRun } from './testrun.js';
export { returnCodeName, type XdpAction, type TcAction } from './kinds.js';
export { effectiveCapabilities, requirePrivileges } from './privileges.js';
export { RedirectProbe, type RedirectTarget } from './redirect-probe.js';
export { inPrivateNetns, interfaceName } from './netns.js';
