import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatChanges } from '../packet/index.js';
import { writeCapture, type RecordInput } from '../pcap/index.js';
import type { LiveRun } from './live/index.js';

/**
 * Writes a live run as a pcapng readable in Wireshark: two interfaces per port (`wan tester`,
 * where frames were injected and where outputs left the DUT; `wan dut`, what XDP passed up),
 * every input and every output in order, each with a comment saying which frame it is and
 * what became of it; the DUT side's interface description says how the port's program was
 * attached (link or netlink, mode). Returns the path.
 */
export async function writeArtifact(run: LiveRun, ports: readonly string[], file: string): Promise<string> {
  const ifaces = ports.flatMap((p) => [`${p} tester`, `${p} dut`]);
  const iface = (port: string, side: 'dut' | 'tester') => ifaces.indexOf(`${port} ${side}`);
  const records: RecordInput[] = [];
  let ts = 0n;
  for (const f of run.frames) {
    records.push({
      data: f.input.bytes,
      interfaceId: iface(run.port, 'tester'),
      timestamp: ts++,
      comment: `#${f.index} injected on ${run.port}: ${f.verdict}`,
    });
    for (const o of f.outputs) {
      const diff = formatChanges(f.changes);
      records.push({
        data: o.frame.bytes,
        interfaceId: iface(o.port, o.side),
        timestamp: ts++,
        comment: `#${f.index} ${f.verdict}, seen on ${o.port} (${o.side} side)${diff ? `\n${diff}` : ', unchanged'}`,
      });
    }
  }
  for (const o of run.others)
    records.push({
      data: o.frame.bytes,
      interfaceId: iface(o.port, o.side),
      timestamp: ts++,
      comment: `not caused by an injected frame, seen on ${o.port} (${o.side} side)`,
    });
  await mkdir(dirname(file), { recursive: true });
  // The DUT side's interface says how the port's program was attached (if_description).
  const described = ifaces.map((name) => {
    const [port, side] = name.split(' ');
    const how = side === 'dut' ? run.attachments?.[port!] : undefined;
    return how ? { name, description: how } : { name };
  });
  await writeCapture(file, records, { interfaces: described });
  return file;
}
