export {
  frame,
  buildLayers,
  type Built,
  type Bytes,
  type L2Step,
  type Ipv4Step,
  type Ipv6Step,
  type PayloadStep,
  type PaddableStep,
  type LayerSpec,
  type UdpStep,
  type GreStep,
  type GeneveStep,
  type InnerL2Step,
  type IpStep,
  type TunnelStep,
} from './builder.js';
export type {
  ArpSpec,
  EthernetSpec,
  FragmentSpec,
  GeneveSpec,
  GreSpec,
  IcmpSpec,
  Icmpv6Spec,
  Ipv4Spec,
  Ipv6OptionsSpec,
  Ipv6Spec,
  RoutingSpec,
  TcpSpec,
  UdpSpec,
  VlanSpec,
  VxlanSpec,
} from './builder.js';
export { Frame, isFrame, truncationText, type Truncation } from './frame.js';
export {
  buildGenerated,
  flawText,
  frames,
  generatedCode,
  type Flaw,
  type FrameShape,
  type GeneratedFrame,
} from './arbitrary.js';
export { parseFrame } from './parse.js';
export { summarize, dissect } from './summary.js';
export { diffFrames, formatChanges, type FieldChange } from './diff.js';
export { checkChecksums, type ChecksumCheck } from './checksums.js';
export { flatten, formatField, layerToJson, OPTIONAL_FIELDS, parseFieldPath } from './fields.js';
export type * from './layers.js';
export type { TcpOption } from './tcp.js';
export type { NdOption } from './icmpv6.js';
