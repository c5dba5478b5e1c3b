import { expect } from 'chai';
import { BpfError, type XdpspecError, createMap, frame, loadObject, runUnit } from '../../src/index.js';
import { needsBpf } from '../support/kernel.js';

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('it passed silently');
};

describe('maps made from TypeScript', () => {
  needsBpf();

  it('createMap makes a map with raw values, numbers for 4 and 8 bytes, and close() gives it up', () => {
    const m = createMap({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16, name: 'scratch' });
    try {
      m.set(7, 42n);
      expect(m.get(7)).to.equal(42);
      expect(m.describe()).to.equal('hash(4, 8) of 16');
      expect([...m.keys()]).to.deep.equal([7]);
    } finally {
      m.close();
    }
    expect((thrown(() => m.get(7)) as XdpspecError).code).to.equal('OBJECT_CLOSED');
  });

  it('setMany fills a map in one batch call, or one by one where the type has no batch', () => {
    const m = createMap({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 100_000 });
    try {
      const n = m.setMany(Array.from({ length: 100_000 }, (_, i) => [i, i * 2] as const));
      expect(n).to.equal(100_000);
      expect([m.get(0), m.get(4_321), m.get(99_999)]).to.deep.equal([0, 8_642, 199_998]);
      expect(thrown(() => m.setMany([[100_001, 1]], 'existing')).message).to.match(/ENOENT/);
    } finally {
      m.close();
    }
    const trie = createMap({
      type: 'lpm_trie',
      keySize: 8,
      valueSize: 4,
      maxEntries: 8,
      flags: 1 /* BPF_F_NO_PREALLOC */,
    });
    try {
      const key = (len: number, a: number[]) => Buffer.from([len, 0, 0, 0, ...a]);
      expect(
        trie.setMany([
          [key(24, [10, 0, 0, 0]), 1],
          [key(32, [10, 0, 0, 9]), 2],
        ]),
      ).to.equal(2);
      expect(trie.get(key(32, [10, 0, 0, 9]))).to.equal(2);
    } finally {
      trie.close();
    }
  });

  it("puts a map made here into an object's map of maps, and reads back which map a slot holds", async () => {
    const o = loadObject('specs/bpf/build/map_in_map.bpf.o');
    const drop = createMap({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, name: 'drop_all' });
    try {
      const policies = o.map('policies');
      const udp = frame.eth().ipv4().udp();
      expect((await runUnit(o.program(), [udp])).frames[0]!.verdict).to.equal('passed'); // slot empty
      drop.set(0, 1);
      policies.set(0, drop);
      expect(policies.get(0)).to.deep.equal({ id: drop.id, name: 'drop_all' });
      expect((await runUnit(o.program(), [udp])).frames[0]!.verdict).to.equal('dropped');
      const unlike = createMap({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, name: 'unlike' });
      try {
        const err = thrown(() => policies.set(1, unlike));
        expect(err).to.be.instanceOf(BpfError);
        expect(err.message).to.match(
          /map unlike \(array\(4, 8\) of 1\) is not like the inner map policies was made for: type, key and value sizes and flags must match/,
        );
      } finally {
        unlike.close();
      }
      expect(thrown(() => policies.set(1, 5)).message).to.match(
        /^value of map policies: got number; a map of maps holds maps: give one/,
      );
    } finally {
      drop.close();
      o.close();
    }
  });

  it('makes maps of maps from an inner spec or map, and says what a refused spec lacks', () => {
    const outer = createMap({
      type: 'hash_of_maps',
      keySize: 4,
      valueSize: 4,
      maxEntries: 8,
      inner: { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 16 },
    });
    const inner = createMap({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 16, name: 'inner_a' });
    try {
      outer.set(3, inner);
      expect(outer.get(3)).to.deep.equal({ id: inner.id, name: 'inner_a' });
      const wrong = createMap({ type: 'hash', keySize: 8, valueSize: 4, maxEntries: 16, name: 'inner_b' });
      try {
        expect(thrown(() => outer.set(4, wrong)).message).to.include(
          'map inner_b (hash(8, 4) of 16) is not like the inner map xdpspec was made for, hash(4, 4) of 16',
        );
      } finally {
        wrong.close();
      }
    } finally {
      inner.close();
      outer.close();
    }
    const bad: [Parameters<typeof createMap>[0], RegExp][] = [
      [
        { type: 'hashmap', keySize: 4, valueSize: 4, maxEntries: 1 },
        /map type "hashmap" is not one the kernel has; types: hash, array, /,
      ],
      [
        { type: 'hash', keySize: -4, valueSize: 4, maxEntries: 1 },
        /keySize must be a whole number from 0 to 4294967295, got -4/,
      ],
      [
        { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, name: 'a name that is far too long' },
        /must be at most 15 letters/,
      ],
      [{ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1 }, /a array_of_maps map needs inner/],
      [
        {
          type: 'hash',
          keySize: 4,
          valueSize: 4,
          maxEntries: 1,
          inner: { type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 },
        },
        /inner is for maps of maps/,
      ],
      [
        { type: 'array', keySize: 8, valueSize: 4, maxEntries: 1 },
        /create map array\(8, 4\) of 1: EINVAL.*arrays take 4-byte keys/,
      ],
    ];
    for (const [spec, says] of bad) expect(thrown(() => createMap(spec)).message).to.match(says);
  });
});
