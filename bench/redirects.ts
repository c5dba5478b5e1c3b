// What locating redirects costs in the unit engine: runUnit on frames a program redirects
// (specs/bpf/verdicts.bpf.c, UDP port 5: bpf_redirect), with each redirect's target found by a
// rerun under the kernel's tracepoints (its state maps read before and put back after), against
// the same run with locateRedirects off.
import { frame, loadObject, runUnit } from '../dist/index.js';
import { fmt, type Bench } from './report.js';

const OBJECT = 'specs/bpf/build/verdicts.bpf.o';
const N = 2000;

export const redirectsBench: Bench = {
  name: 'redirect location',
  async run() {
    const obj = loadObject(OBJECT, { redirect_ifindex: 1 });
    try {
      const p = obj.program();
      const frames = Array.from({ length: 20 }, (_, i) =>
        frame
          .eth()
          .ipv4()
          .udp({ sport: 1000 + i, dport: i % 2 ? 5 : 3 })
          .build(),
      );
      const time = async (locateRedirects: boolean) => {
        const t = process.hrtime.bigint();
        for (let i = 0; i < N / frames.length; i++) await runUnit(p, frames, { locateRedirects });
        return Number(process.hrtime.bigint() - t) / N;
      };
      await time(true); // warm up
      const off: number[] = [];
      const on: number[] = [];
      for (let r = 0; r < 3; r++) {
        off.push(await time(false));
        on.push(await time(true));
      }
      const a = Math.min(...off);
      const b = Math.min(...on);
      return [
        `runUnit on ${fmt.int(N)} frames, half of them redirected (bpf_redirect), best of 3:`,
        `  redirects not located (baseline)   ${fmt.ns(a).padStart(8)} per frame`,
        `  redirects located                  ${fmt.ns(b).padStart(8)} per frame   ${fmt.ratio(b / a)} the baseline's time`,
      ];
    } finally {
      obj.close();
    }
  },
};
