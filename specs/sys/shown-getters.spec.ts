import { expect } from 'chai';
import { inspect, type InspectOptionsStylized } from 'node:util';
import { inspectAs, showGetters } from '../../src/sys/shown-getters.js';

/** Equal own fields; what tells two apart is only behind the getter. */
function lazyClass() {
  return class Lazy {
    reads = 0;
    readonly #hidden: number;
    constructor(
      readonly id: number,
      hidden: number,
    ) {
      this.#hidden = hidden;
    }
    get value(): number {
      this.reads++;
      return this.#hidden;
    }
    toJSON(): Record<string, unknown> {
      return { id: this.id, value: this.value };
    }
    [inspect.custom](_depth: number, options: InspectOptionsStylized): string {
      return inspectAs('Lazy', this.toJSON(), options);
    }
  };
}

const keysOf = (x: object) => {
  const keys: string[] = [];
  for (const k in x) keys.push(k);
  return keys;
};

describe('getters shown as fields', () => {
  it('are seen by for...in and deep equality once shown, and read only when asked', () => {
    const Hidden = lazyClass();
    expect(keysOf(new Hidden(1, 2))).to.not.include('value');
    expect(new Hidden(1, 2)).to.deep.equal(new Hidden(1, 3)); // what showGetters is for
    const Shown = lazyClass();
    showGetters(Shown, ['value']);
    const l = new Shown(1, 2);
    expect(l.reads).to.equal(0);
    expect(keysOf(l)).to.include('value');
    expect(new Shown(1, 2)).to.not.deep.equal(new Shown(1, 3));
    expect(new Shown(1, 2)).to.deep.equal(new Shown(1, 2));
    expect(inspect(new Shown(1, 2))).to.equal('Lazy { id: 1, value: 2 }');
  });

  it('refuses a name that is not a getter, naming it', () => {
    expect(() => showGetters(lazyClass(), ['id'])).to.throw(TypeError, 'id is not a getter of Lazy');
  });
});
