import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError, XdpspecError } from '../sys/errors.js';
import { frame } from '../packet/index.js';
import { encodeCapture } from '../pcap/index.js';

export const INIT_USAGE = `usage: xdpspec init [DIR] [--no-install]

Sets up xdpspec in a project (DIR, default the current directory), empty or not. Writes only
what is missing and never overwrites a file:
  package.json          created if missing; scripts test and build:bpf and the devDependencies
                        the specs need are added where absent
  tsconfig.json         type-checks specs/ (npm test runs tsc --noEmit first)
  .mocharc.json         for running one file with npx mocha specs/NAME.spec.ts
  bpf/Makefile          builds bpf/*.c into bpf/build/ with xdpspec's rules
  bpf/xdp_port_filter.bpf.c, specs/xdp_port_filter.spec.ts, fixtures/example.pcap
                        an example program, its spec (a unit and a live case) and a capture
  .github/workflows/xdpspec.yml  CI on GitHub Actions, with a JUnit report
  .gitignore            created, or the missing lines added
Then runs npm install, unless --no-install, when something was added to package.json.`;

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATES = join(PACKAGE_ROOT, 'templates/init');
const IGNORED = ['node_modules/', 'bpf/build/', 'artifacts/', 'reports/'];

interface Manifest {
  name?: string;
  version?: string;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** What init did to each path, for its report. */
type Outcome = 'wrote' | 'kept' | 'updated';

/** The ranges the specs need, taken from xdpspec's own manifest so they are the ones it is tested with. */
function devDependencies(own: Manifest): Record<string, string> {
  const all = { ...own.dependencies, ...own.devDependencies };
  const pick = (name: string) => {
    const range = all[name];
    if (!range) throw new XdpspecError('INTERNAL', `xdpspec's package.json names no version of ${name}`);
    return range;
  };
  return {
    xdpspec: `^${own.version}`,
    chai: pick('chai'),
    mocha: pick('mocha'),
    tsx: pick('tsx'),
    typescript: pick('typescript'),
    '@types/mocha': pick('@types/mocha'),
    '@types/node': pick('@types/node'),
  };
}

function readManifest(file: string): Manifest | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const m: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not a JSON object');
    return m as Manifest;
  } catch (err) {
    throw new XdpspecError(
      'INIT_PACKAGE_JSON',
      `${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}); fix it, then run xdpspec init again`,
    );
  }
}

/** Adds scripts and devDependencies that are absent; returns what it added. */
function mergeManifest(dir: string, own: Manifest): { outcome: Outcome; added: string[]; deps: boolean } {
  const file = join(dir, 'package.json');
  const existing = readManifest(file);
  // A new project is an ES module package: specs may use top-level await there.
  const m: Manifest = existing ?? {
    name:
      basename(resolve(dir))
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-') || 'xdp-programs',
    version: '0.0.0',
    private: true,
    type: 'module',
  };
  const added: string[] = [];
  const scripts = (m.scripts ??= {});
  const wanted: Record<string, string> = {
    'build:bpf': 'make -C bpf',
    test: 'npm run build:bpf && tsc --noEmit && xdpspec run',
  };
  // npm init writes a placeholder test script that only fails; that one is replaced.
  const placeholder = (s: string | undefined) =>
    s === undefined || /^echo "Error: no test specified" && exit 1$/.test(s);
  for (const [k, v] of Object.entries(wanted)) {
    if (k === 'test' ? placeholder(scripts[k]) : scripts[k] === undefined) {
      scripts[k] = v;
      added.push(`scripts.${k}`);
    }
  }
  let deps = false;
  const present = { ...m.dependencies, ...m.devDependencies, ...m.peerDependencies };
  for (const [name, range] of Object.entries(devDependencies(own))) {
    if (present[name] !== undefined) continue;
    (m.devDependencies ??= {})[name] = range;
    added.push(`devDependencies.${name}`);
    deps = true;
  }
  if (existing && added.length === 0) return { outcome: 'kept', added, deps };
  writeFileSync(file, JSON.stringify(m, null, 2) + '\n');
  return { outcome: existing ? 'updated' : 'wrote', added, deps };
}

/** Every file under the templates, as paths relative to it. */
function templateFiles(dir = TEMPLATES): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? templateFiles(p) : [relative(TEMPLATES, p)];
  });
}

/** The example capture: 5 frames, 2 of them to the blocked port 9. */
function exampleCapture(): Buffer {
  const frames = [
    frame.eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ sport: 40000, dport: 53 }).payload('query'),
    frame.eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ sport: 40001, dport: 9 }).payload('discard me'),
    frame.eth().ipv6({ src: 'fd00::1', dst: 'fd00::2' }).tcp({ sport: 40002, dport: 9, flags: 'S' }),
    frame.eth().ipv6({ src: 'fd00::1', dst: 'fd00::2' }).tcp({ sport: 40003, dport: 22, flags: 'S' }),
    frame.eth().ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).icmp({ id: 1, seq: 1 }),
  ];
  return encodeCapture(
    frames.map((f, i) => ({ data: f.build(), timestamp: BigInt(i) * 1_000_000n })),
    { format: 'pcap' },
  );
}

/** `xdpspec init`: the command table takes a promise; the work itself is synchronous. */
export function runInit(args: string[]): Promise<number> {
  return Promise.resolve(init(args));
}

function init(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'no-install': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(INIT_USAGE + '\n');
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(`init takes at most one directory, got ${positionals.length}\n${INIT_USAGE}`);
  const dir = resolve(positionals[0] ?? '.');
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new UsageError(`${dir} is not a directory; name a directory (it is created if missing)`);
  mkdirSync(dir, { recursive: true });
  const own = readManifest(join(PACKAGE_ROOT, 'package.json'))!;

  const report: [Outcome, string, string?][] = [];
  const pkg = mergeManifest(dir, own);
  report.push([
    pkg.outcome,
    'package.json',
    pkg.added.length ? `added ${pkg.added.join(', ')}` : 'has what xdpspec needs',
  ]);

  const put = (rel: string, write: (to: string) => void) => {
    const to = join(dir, rel);
    if (existsSync(to)) {
      report.push(['kept', rel, 'exists']);
      return;
    }
    mkdirSync(dirname(to), { recursive: true });
    write(to);
    report.push(['wrote', rel]);
  };
  for (const rel of templateFiles()) {
    if (rel === 'gitignore') continue; // npm leaves .gitignore out of packages; merged below
    put(rel, (to) => copyFileSync(join(TEMPLATES, rel), to));
  }
  put('fixtures/example.pcap', (to) => writeFileSync(to, exampleCapture()));

  const gitignore = join(dir, '.gitignore');
  const have = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : undefined;
  const lines = new Set((have ?? '').split('\n').map((l) => l.trim()));
  const missing = IGNORED.filter((l) => !lines.has(l) && !lines.has(l.replace(/\/$/, '')) && !lines.has(`/${l}`));
  if (have === undefined) {
    writeFileSync(gitignore, missing.join('\n') + '\n');
    report.push(['wrote', '.gitignore']);
  } else if (missing.length) {
    writeFileSync(gitignore, `${have}${have.endsWith('\n') || have === '' ? '' : '\n'}${missing.join('\n')}\n`);
    report.push(['updated', '.gitignore', `added ${missing.join(' ')}`]);
  } else report.push(['kept', '.gitignore', 'has the lines xdpspec needs']);

  const w = Math.max(...report.map(([, p]) => p.length));
  process.stdout.write(
    `xdpspec init in ${dir}:\n${report.map(([o, p, why]) => `  ${o.padEnd(7)}  ${why ? `${p.padEnd(w)}  (${why})` : p}`).join('\n')}\n`,
  );

  if (pkg.deps && !values['no-install']) {
    process.stdout.write('\nnpm install (the devDependencies added above)\n');
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      throw new XdpspecError(
        'INIT_INSTALL',
        `npm install in ${dir} failed (${r.error?.message ?? `exit status ${r.status}`}); the files are written: run npm install there yourself, then npm test`,
      );
    }
  }
  const cd = relative(process.cwd(), dir);
  const next = [
    ...(cd ? [`cd ${cd}`] : []),
    ...(pkg.deps && values['no-install'] ? ['npm install'] : []),
    'sudo npm test          # builds bpf/, type-checks, runs the specs (root: BPF and namespaces)',
  ];
  process.stdout.write(
    `\nNext:\n${next.map((l) => `  ${l}`).join('\n')}\n` +
      'Then put your program in bpf/ and its spec in specs/; npx mocha specs/NAME.spec.ts runs one file.\n' +
      'xdpspec needs clang, llvm, libbpf-dev, linux-libc-dev, iproute2 and make (Debian/Ubuntu package names).\n',
  );
  return 0;
}
