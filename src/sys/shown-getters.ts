// Results whose costly parts (decoded frames, diffs, output views) are made when first read are
// classes with getters. A getter lives on the prototype and is not enumerable, so deep equality,
// `for...in`, JSON and `util.inspect` would not see what a plain object's field showed; these
// two pieces make them show, the same way for every such class.
import { inspect, type InspectOptionsStylized } from 'node:util';

/** Makes the named getters of `cls` enumerable, so deep equality and `for...in` see them. */
export function showGetters(cls: { readonly prototype: object }, names: readonly string[]): void {
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(cls.prototype, name);
    if (!d?.get) throw new TypeError(`${name} is not a getter of ${cls.prototype.constructor.name}`);
    Object.defineProperty(cls.prototype, name, { ...d, enumerable: true });
  }
}

/** `util.inspect` of a lazy result: its JSON form (getters read), under `label`. */
export function inspectAs(label: string, json: unknown, options: InspectOptionsStylized): string {
  return `${label} ${inspect(json, { ...options, depth: options.depth ?? 2 })}`;
}
