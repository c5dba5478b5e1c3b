import type { CaptureFormat, CaptureInterface, PcapRecord } from './types.js';

/**
 * A format's state machine over the bytes of a file. The reader feeds it contiguous bytes;
 * `step` consumes one header, block or record at a time, so the same decoder serves a
 * streamed file and an in-memory buffer.
 */
export interface RecordDecoder {
  readonly format: CaptureFormat;
  readonly interfaces: readonly CaptureInterface[];
  /**
   * Decodes one unit starting at `buf[off]`, where `avail` bytes are present and `fileOffset`
   * is the unit's position in the file. Returns the bytes consumed, or 0 when the unit needs
   * more bytes than are present (then `need` says how many). Sets `record` when the unit was
   * a packet and clears it otherwise.
   */
  step(buf: Buffer, off: number, avail: number, fileOffset: number): number;
  readonly record: PcapRecord | undefined;
  /** Bytes the unit at the current position needs in all (valid after `step` returned 0). */
  readonly need: number;
  /** Called at end of file with bytes left over: throws the error that says what was cut off. */
  truncated(fileOffset: number, have: number): never;
}
