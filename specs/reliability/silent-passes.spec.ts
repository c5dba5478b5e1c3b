// Inputs that used to be taken without a word and did something else than asked.
import { expect } from 'chai';
import { XdpspecError, frame, loadObject } from '../../src/index.js';
import { OBJ, needsBpf } from '../support/kernel.js';

const thrown = (fn: () => unknown): XdpspecError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof XdpspecError) return e;
    throw e;
  }
  throw new Error('it passed silently');
};

describe('silent passes', () => {
  needsBpf();

  it("a closed object's map and program handles throw, instead of using the fd number another object now has", () => {
    const old = loadObject(OBJ.firewall);
    const oldMap = old.map('port_dst');
    const oldProgram = old.program();
    const oldFds = [oldMap.fd, oldProgram.fd];
    old.close();
    const now = loadObject(OBJ.firewall); // the kernel hands the freed numbers out again
    try {
      const newMap = now.map('port_dst');
      expect([newMap.fd, now.program().fd]).to.deep.equal(oldFds); // the reuse that made it dangerous
      expect(thrown(() => oldMap.set({ proto: 6, port: 22 }, 0)).code).to.equal('OBJECT_CLOSED');
      expect(thrown(() => oldMap.get({ proto: 6, port: 22 })).code).to.equal('OBJECT_CLOSED');
      expect(thrown(() => oldProgram.testRun(frame.eth().ipv4().tcp({ dport: 22 }).build())).message).to.match(
        /^program xdp_firewall of .* is closed with its object; load the object again$/,
      );
      expect([...newMap.keys()]).to.deep.equal([]); // nothing reached the new object's map
    } finally {
      now.close();
    }
  });

  it('a MAC field takes only a MAC address, not any text short enough to fit', () => {
    const fw = loadObject(OBJ.firewall);
    try {
      const m = fw.map('mac_src');
      for (const text of ['zz:zz', 'none', '02:00:00:00:00', 'aa-bb-cc-dd-ee-ff']) {
        expect(thrown(() => m.set({ mac: text }, 0)).message, text).to.equal(
          `key of map mac_src: mac: ${JSON.stringify(text)} is not a MAC address; write it as six hex bytes with colons, e.g. 02:00:00:00:00:01; expected struct mac_key {\n  mac: __u8[6] (6 bytes)\n}`,
        );
      }
      m.set({ mac: '02:00:00:00:00:0a' }, 0);
      expect([...m.keys()]).to.deep.equal([{ mac: '02:00:00:00:00:0a' }]);
    } finally {
      fw.close();
    }
  });
});
