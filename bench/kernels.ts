// The kernel matrix: the IPv6 filter's specs (unit and live) on this machine's kernel (in a
// child process, the baseline) and on Debian's 6.1 under TCG, side by side in one
// `xdpspec run --kernel host --kernel 6.1` run. Boot time, and the cost of a case in the guest
// as a ratio to the same case on the host.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelReport } from '../dist/harness/matrix.js';
import { fmt, type Bench } from './report.js';

const SPECS = 'specs/programs/xdp_ipv6_filter.spec.ts';

export const kernelsBench: Bench = {
  name: 'kernel matrix',
  async run(tmp) {
    const json = join(tmp, 'matrix.json');
    const args = ['dist/cli/main.js', 'run', '--kernel', 'host', '--kernel', '6.1', '--accel', 'tcg', SPECS];
    const r = await execa('node', [...args, '--matrix-json', json], { reject: false, all: true });
    if (r.exitCode !== 0) return [`the matrix run failed (status ${r.exitCode}):`, ...r.all.split('\n').slice(-15)];
    const { kernels } = JSON.parse(readFileSync(json, 'utf8')) as { kernels: KernelReport[] };
    const [host, guest] = kernels as [KernelReport, KernelReport];
    const caseMs = (k: KernelReport) => k.cases.reduce((t, c) => t + (c.ms ?? 0), 0);
    const ratios = host.cases.map((c, i) => (guest.cases[i]?.ms ?? 0) / Math.max(c.ms ?? 0, 1));
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
    return [
      `${host.cases.length} cases of ${SPECS}, on this machine (${host.release}, baseline) and in a TCG guest (${guest.release}):`,
      `  guest start to its init                              ${fmt.ms(guest.bootMs ?? 0)}`,
      `  whole run: host child process (baseline)            ${fmt.ms(host.wallMs ?? 0)}`,
      `  whole run: guest, boot to power-off                 ${fmt.ms(guest.wallMs ?? 0)}   ${fmt.ratio((guest.wallMs ?? 0) / (host.wallMs ?? 1))} the host's`,
      `  the cases' own time (Mocha's), host (baseline)      ${fmt.ms(caseMs(host))}`,
      `  the cases' own time, guest                          ${fmt.ms(caseMs(guest))}   ${fmt.ratio(caseMs(guest) / Math.max(caseMs(host), 1))} the host's (median case ${fmt.ratio(median)})`,
    ];
  },
};
