import { parseArgs } from 'node:util';
import { UsageError } from '../sys/errors.js';
import { dissect, layerToJson, parseFrame, summarize } from '../packet/index.js';
import { CaptureReader, linkTypeName } from '../pcap/index.js';
import { Output } from './output.js';

export const DISSECT_USAGE = `usage: xdpspec dissect FILE [--json | -v]

Prints one line per frame of a pcap or pcapng file.
  --json         one JSON object per frame: {"index":N,"len":N,"layers":[{"name":"eth",...},...]}
  -v, --verbose  every field of every layer, with checksum validity`;

export async function runDissect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(DISSECT_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`dissect takes one capture file, got ${positionals.length}\n${DISSECT_USAGE}`);
  if (values.json && values.verbose) throw new UsageError(`--json and --verbose do not go together\n${DISSECT_USAGE}`);
  const reader = await CaptureReader.open(positionals[0]!);
  const out = new Output();
  const noted = new Set<number>();
  for await (const batch of reader.batches()) {
    // On stderr, so that the frames on stdout stay one per line (and JSON).
    for (const i of reader.interfaces)
      if (i.capturedLinkType !== undefined && !noted.has(i.id)) {
        noted.add(i.id);
        process.stderr.write(
          `xdpspec: ${positionals[0]!}: interface ${i.id} captured link type ${i.capturedLinkType} (${linkTypeName(i.capturedLinkType)}); its frames are shown with the Ethernet header xdpspec gives them\n`,
        );
      }
    let text = '';
    for (const r of batch) {
      const f = parseFrame(r.data);
      if (values.json) {
        const o: Record<string, unknown> = { index: r.index, len: r.data.length, layers: f.layers.map(layerToJson) };
        if (f.truncated) o['truncated'] = f.truncated;
        text += JSON.stringify(o) + '\n';
      } else if (values.verbose) {
        text += `#${r.index}\n${dissect(f)}\n\n`;
      } else {
        text += `${r.index}  ${r.data.length} bytes  ${summarize(f)}\n`;
      }
    }
    await out.write(text);
    if (!out.open) {
      await reader.close();
      break;
    }
  }
  return 0;
}
