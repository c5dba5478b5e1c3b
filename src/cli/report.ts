import { describeRedirect, type RedirectTarget, type Verdict } from '../harness/index.js';
import { formatChanges, layerToJson, summarize, type FieldChange, type Frame } from '../packet/index.js';

/** What both engines' frame results have in common, as the CLI prints them. */
export interface PrintableResult {
  readonly index: number;
  readonly input: Frame;
  readonly verdict: Verdict;
  readonly action?: string;
  readonly output: Frame | undefined;
  readonly changes: readonly FieldChange[];
  readonly redirect: RedirectTarget | undefined;
}

/** `3  <summary>  XDP_PASS passed`, then the rewritten fields indented. */
export function frameLine(r: PrintableResult): string {
  let s = `${r.index}  ${summarize(r.input)}  ${r.action ? `${r.action} ` : ''}${r.verdict}`;
  if (r.redirect) s += ` ${describeRedirect(r.redirect)}`;
  if (r.changes.length) s += `\n${formatChanges(r.changes).replace(/^/gm, '    ')}`;
  return s + '\n';
}

export function frameJson(r: PrintableResult): string {
  return (
    JSON.stringify({
      index: r.index,
      summary: summarize(r.input),
      verdict: r.verdict,
      ...(r.action ? { action: r.action } : {}),
      ...(r.redirect ? { redirect: r.redirect } : {}),
      changes: r.changes,
      ...(r.output ? { output: { len: r.output.length, layers: r.output.layers.map(layerToJson) } } : {}),
    }) + '\n'
  );
}
