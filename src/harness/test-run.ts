// `xdpspec test-run` as one operation: load, run every frame of a capture through the unit
// engine, optionally write the outputs, unload.
import { loadObject, type ProgramTypes } from '../bpf/index.js';
import { writeCapture } from '../pcap/index.js';
import { runUnit, type UnitRun } from './unit.js';

export interface TestRunCaptureOptions {
  readonly object: string;
  readonly program?: string;
  readonly globals?: Readonly<Record<string, unknown>>;
  readonly programType?: ProgramTypes;
  /** The frames: a capture file. */
  readonly pcap: string;
  /** Writes the output frames there: `.pcap` as classic pcap, otherwise pcapng with a comment per frame. */
  readonly out?: string;
}

/** Runs a capture through a program with BPF_PROG_TEST_RUN; the object is unloaded when it returns. */
export async function testRunCapture(o: TestRunCaptureOptions): Promise<UnitRun> {
  const obj = loadObject(o.object, { ...o.globals }, o.programType === undefined ? {} : { programType: o.programType });
  try {
    const run = await runUnit(obj.program(o.program), o.pcap);
    if (o.out !== undefined) {
      const pcap = o.out.endsWith('.pcap');
      const records = run.frames
        .filter((r) => r.output)
        .map((r) => ({ data: r.output!.bytes, comment: pcap ? undefined : `#${r.index} ${r.action} ${r.verdict}` }));
      await writeCapture(o.out, records, { format: pcap ? 'pcap' : 'pcapng' });
    }
    return run;
  } finally {
    obj.close();
  }
}
