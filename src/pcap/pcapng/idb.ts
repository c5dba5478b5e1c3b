import type { BlockOption } from './options.js';
import { optionText } from './options.js';
import type { SectionInterface } from './section.js';

// Interface Description Block: link type, snap length, and options of one capture interface.
export const IDB_TYPE = 1;
export const IDB_MIN_LEN = 20;
export const OPT_IF_NAME = 2;
export const OPT_IF_DESCRIPTION = 3;
export const OPT_IF_TSRESOL = 9;
export const OPT_IF_TSOFFSET = 14;

export function interfaceFromOptions(
  id: number,
  linkType: number,
  snapLength: number,
  opts: readonly BlockOption[],
  little: boolean,
): SectionInterface {
  let exp = 6;
  let base2 = false;
  const res = opts.find((o) => o.code === OPT_IF_TSRESOL);
  if (res && res.value.length >= 1) {
    const v = res.value[0]!;
    base2 = (v & 0x80) !== 0;
    exp = v & 0x7f;
  }
  let tsOffset = 0n;
  const off = opts.find((o) => o.code === OPT_IF_TSOFFSET);
  if (off && off.value.length >= 8) {
    tsOffset = little ? off.value.readBigInt64LE(0) : off.value.readBigInt64BE(0);
  }
  return {
    id,
    linkType,
    snapLength,
    name: optionText(opts, OPT_IF_NAME),
    description: optionText(opts, OPT_IF_DESCRIPTION),
    timestampResolution: `${base2 ? 2 : 10}^-${exp}`,
    tsExponent: exp,
    tsBase2: base2,
    tsOffsetSeconds: tsOffset,
  };
}
