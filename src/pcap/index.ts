export { CaptureReader, parseCapture, readCapture, type Capture } from './reader.js';
export {
  CaptureWriter,
  encodeCapture,
  writeCapture,
  type RecordInput,
  type WriterInterface,
  type WriterOptions,
} from './writer.js';
export {
  LINKTYPE_ETHERNET,
  MAX_CAPTURED_LENGTH,
  linkTypeName,
  type CaptureFormat,
  type CaptureInterface,
  type PcapRecord,
  type TimestampResolution,
} from './types.js';
