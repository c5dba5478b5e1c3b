import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XdpspecError } from '../sys/errors.js';

// The probes' sources sit beside the package's dist/ both in this repository and where the
// package is installed (package.json "files"); `npm pack` builds them, so an installed package
// normally has the objects already. A copy without them (a git checkout used as a dependency,
// a `make clean`) builds them on first use with the same Makefile.
const SOURCES = fileURLToPath(new URL('../../src/bpf/probes/', import.meta.url));

/**
 * `path`, built with the Makefile of `dir` the first time it is missing.
 * @throws XdpspecError `PROBE_BUILD` when it is missing and cannot be built.
 */
export function builtFile(dir: string, path: string, what: string): string {
  if (existsSync(path)) return path;
  const r = spawnSync('make', ['-s', '-C', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0 || !existsSync(path)) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n  ');
    throw new XdpspecError(
      'PROBE_BUILD',
      `${what} is not built and building it failed (make -C ${dir}):\n  ${why}\n` +
        'It needs make, clang (or cc) and libbpf-dev (Debian: apt-get install make clang llvm libbpf-dev linux-libc-dev), and write access to that directory.',
    );
  }
  return path;
}

/**
 * The path of one of xdpspec's own BPF probes (`pass`, `watch`, `redirect`, `reference`),
 * built from its source the first time it is missing.
 * @throws XdpspecError `PROBE_BUILD` when it is missing and cannot be built (no clang, no
 *   libbpf-dev, or a package directory that cannot be written).
 */
export function probeObject(name: string): string {
  return builtFile(SOURCES, `${SOURCES}build/${name}.bpf.o`, `xdpspec's ${name} probe`);
}

/** Whether `path` is one of xdpspec's own probes (never counted for coverage: not the user's code). */
export function isProbeObject(path: string): boolean {
  return resolve(path).startsWith(`${SOURCES}build/`);
}
