import Module from 'node:module';
import { fileURLToPath } from 'node:url';
import * as api from './index.js';

type Loader = (this: unknown, module: { exports: unknown }, filename: string) => void;

let next: Loader | undefined;
const answers = new Map<string, object>([[fileURLToPath(new URL('./index.js', import.meta.url)), api]]);

/**
 * Makes a `require('xdpspec')` (or `require('xdpspec/mocha')`) answer with this very instance of
 * xdpspec. Needed where specs are CommonJS and a TypeScript loader (tsx) compiles what they
 * require: it would compile xdpspec's ES modules into a second copy, whose libbpf bindings
 * collide with the first ("Duplicate type name") and whose classes fail `instanceof` against
 * it. `xdpspec run` and `xdpspec/mocha` call this before any spec loads; it changes only how
 * those two files load, nothing else.
 */
export function shareThisInstance(mochaHooks?: object): void {
  if (mochaHooks) answers.set(fileURLToPath(new URL('./mocha.js', import.meta.url)), mochaHooks);
  if (next) return;
  const loaders = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  const prev = loaders['.js']!;
  next = prev;
  loaders['.js'] = function (module, filename) {
    const answer = answers.get(filename);
    if (answer === undefined) return prev.call(this, module, filename);
    module.exports = answer;
  };
}
