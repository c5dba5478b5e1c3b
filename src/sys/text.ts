/**
 * Text of a value for a message, when it may be anything: what String() gives for scalars, the
 * function's name for a function, and Object's tag (`[object Map]`) rather than a
 * stringification an object may not have.
 */
export function valueText(x: unknown): string {
  switch (typeof x) {
    case 'string':
      return x;
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'symbol':
      return x.toString();
    case 'undefined':
      return 'undefined';
    case 'function':
      return `function ${x.name || '(anonymous)'}`;
    default:
      return x === null ? 'null' : Object.prototype.toString.call(x);
  }
}
