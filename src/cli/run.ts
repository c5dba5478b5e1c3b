import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, XdpspecError } from '../sys/errors.js';
import { sweepAndSay } from '../net/index.js';
import type { ReporterClass } from './junit.js';
import { MATRIX_REPORT_ENV, withMatrixReport } from './matrix-report.js';

type RunTokens = ReturnType<typeof parseArgs>['tokens'];

/** `--kernel ...`: the same run on each kernel, the options of the matrix taken out of it. */
async function runMatrix(
  args: readonly string[],
  values: {
    kernel?: string[];
    accel?: string;
    'kernel-timeout'?: string;
    'guest-include'?: string[];
    'matrix-json'?: string;
    junit?: string;
  },
  tokens: RunTokens,
  coverageDir: string | undefined,
): Promise<number> {
  if (coverageDir !== undefined)
    throw new UsageError("--coverage counts the blocks of one kernel's run: run it without --kernel");
  const accel = values.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg')
    throw new UsageError(`--accel takes auto, kvm or tcg, got ${JSON.stringify(accel)}`);
  const seconds = values['kernel-timeout'] === undefined ? 1800 : Number(values['kernel-timeout']);
  if (!(seconds > 0))
    throw new UsageError(`--kernel-timeout takes seconds, got ${JSON.stringify(values['kernel-timeout'])}`);
  if (values.junit === '') throw new UsageError('--junit takes the path of the XML file to write');
  // Every argument but the matrix's own options (and --junit, written per kernel) goes to each run.
  const drop = new Set<number>();
  for (const t of tokens ?? [])
    if (
      t.kind === 'option' &&
      ['kernel', 'accel', 'kernel-timeout', 'guest-include', 'matrix-json', 'junit'].includes(t.name)
    ) {
      drop.add(t.index);
      if (t.inlineValue === false) drop.add(t.index + 1);
    }
  const { runOnKernels } = await import('./kernel-run.js');
  return runOnKernels({
    kernels: values.kernel ?? [],
    accel,
    timeoutMs: seconds * 1000,
    runArgs: args.filter((_, i) => !drop.has(i)),
    ...(values.junit === undefined ? {} : { junit: values.junit }),
    ...(values['guest-include'] === undefined ? {} : { include: values['guest-include'] }),
    ...(values['matrix-json'] === undefined ? {} : { json: values['matrix-json'] }),
  });
}

export const RUN_USAGE = `usage: xdpspec run [SPEC...] [--shard I/N] [--junit FILE] [--update-golden]
                  [--update-baseline] [--grep TEXT] [--reporter NAME]
                  [--reporter-option KEY=VALUE]... [--timeout MS] [--bail]
                  [--coverage[=DIR]] [--kernel SPEC]... [--accel auto|kvm|tcg]
                  [--kernel-timeout S] [--guest-include PATH]... [--matrix-json FILE]

Runs Mocha specs with xdpspec's setup, for projects without a .mocharc of their own:
TypeScript specs load through tsx, the timeout suits live runs, and before the first spec
the namespaces of killed earlier runs are removed.
  SPEC                  spec files or directories (searched for *.spec.ts, *.spec.js,
                        *.test.ts, *.test.js); default: specs/, spec/ or test/, whichever exists
  --shard I/N           run only the I-th of N shares of the spec files (1-based): files are
                        sorted by path and dealt out in turn, so each file always lands in the
                        same share and the N shares together run every file once
  --junit FILE          also write a JUnit XML report to FILE (the console keeps its reporter):
                        failures as <failure>, skipped cases with their reason, the capture of
                        a failed live case attached ([[ATTACHMENT|path]] in system-out)
  --update-golden       record golden captures instead of comparing (XDPSPEC_UPDATE_GOLDEN=1)
  --update-baseline     record run-time baselines instead of checking (XDPSPEC_UPDATE_BASELINE=1)
  --grep TEXT           only the cases whose full title contains TEXT
  --reporter NAME       a Mocha reporter for the console (spec, dot, list, tap, json, ..., an
                        installed package or a path); default spec
  --reporter-option K=V passed to the reporter
  --timeout MS          per case; default 30000
  --bail                stop at the first failure
  --coverage[=DIR]      count the blocks of every BPF object the specs load (in memory; the
                        files stay as they are) and write DIR/lcov.info (default coverage/):
                        lines, branches and functions of the C sources, for genhtml and CI
                        coverage services; a summary per file and function goes to stderr
  --kernel SPEC         run the specs on this kernel too (repeat for a matrix): host (this
                        machine), a kernel image path, or a Debian kernel version (6.1, 6.12)
                        fetched with apt-get download into ~/.cache/xdpspec/kernels; each boots
                        under qemu with this machine's node, iproute2, libbpf and the project.
                        Then one report: each case per kernel, and every frame of the unit runs
                        and replays whose fate or output differs from the first kernel's.
                        --junit FILE writes FILE-LABEL.xml per kernel
  --accel MODE          how guests run: kvm, tcg (software, slow and sure) or auto (default:
                        KVM when /dev/kvm opens and a guest reaches its init within 15 s)
  --kernel-timeout S    kill a guest after S seconds (default 1800)
  --guest-include PATH  this machine's file or directory in every guest too, at the same path
                        (a command the specs run; ip, tc, ethtool, ping, tcpdump, tcpreplay
                        and bpftool are taken when present)
  --matrix-json FILE    also write the kernels' reports (cases with their times, every run's
                        frames) and the comparison as JSON
Exit status: 0 when every case passed, 1 when some failed, 2 on an error.`;

const SPEC_FILE = /\.(spec|test)\.(ts|js|mts|mjs)$/;
const DEFAULT_DIRS = ['specs', 'spec', 'test'];

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (SPEC_FILE.test(e.name)) out.push(p);
  }
}

/** The spec files the arguments name, sorted by path relative to the working directory. */
export function specFiles(args: readonly string[]): string[] {
  const roots = args.length ? [...args] : DEFAULT_DIRS.filter((d) => existsSync(d)).slice(0, 1);
  if (roots.length === 0)
    throw new UsageError(
      `no specs named and none of ${DEFAULT_DIRS.map((d) => `${d}/`).join(', ')} exists here; name spec files or directories`,
    );
  const files: string[] = [];
  for (const r of roots) {
    if (!existsSync(r)) throw new UsageError(`${r}: no such file or directory`);
    if (statSync(r).isDirectory()) walk(r, files);
    else if (/\.[cm]?[tj]s$/.test(r)) files.push(r); // named outright: any script, whatever its name
  }
  const unique = [...new Set(files.map((f) => relative(process.cwd(), resolve(f))))].sort();
  if (unique.length === 0) throw new UsageError(`no spec files (*.spec.ts, *.test.ts, ...) under ${roots.join(', ')}`);
  return unique;
}

/** What to do about the load failures a project's set-up causes, rather than the spec's code. */
function loadHint(message: string): string {
  if (
    /Top-level await is currently not supported with the "?cjs"? output format|ERR_REQUIRE_ASYNC_MODULE/.test(message)
  ) {
    return '\n  The spec uses top-level await, which a CommonJS package cannot: add "type": "module" to package.json, rename the spec to .spec.mts, or move the await into a before() hook.';
  }
  if (/ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE_ESM/.test(message)) {
    return '\n  A package refused to load from CommonJS: xdpspec needs Node 20.19 or later (require of ES modules), or add "type": "module" to package.json.';
  }
  return '';
}

/** `2/3` -> [2, 3]. @throws UsageError for anything but 1 <= I <= N. */
export function parseShard(text: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const i = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || n < 1 || i < 1 || i > n)
    throw new UsageError(`--shard takes I/N with 1 <= I <= N (e.g. 2/3), got ${JSON.stringify(text)}`);
  return [i, n];
}

/** The files of share `i` of `n`: sorted files dealt out in turn. */
export function shard(files: readonly string[], i: number, n: number): string[] {
  return files.filter((_, k) => k % n === i - 1);
}

export async function runRun(args: string[]): Promise<number> {
  // --coverage takes its directory only as --coverage=DIR: a bare word after it is a spec.
  let coverageDir: string | undefined;
  args = args.map((a) => {
    const m = /^--coverage(?:=(.*))?$/.exec(a);
    if (!m) return a;
    if (m[1] === '') throw new UsageError('--coverage=DIR needs a directory, e.g. --coverage=coverage');
    coverageDir = m[1] ?? 'coverage';
    return '--coverage';
  });
  const { values, positionals, tokens } = parseArgs({
    args,
    tokens: true,
    allowPositionals: true,
    options: {
      shard: { type: 'string' },
      junit: { type: 'string' },
      'update-golden': { type: 'boolean' },
      'update-baseline': { type: 'boolean' },
      grep: { type: 'string' },
      reporter: { type: 'string' },
      'reporter-option': { type: 'string', multiple: true },
      timeout: { type: 'string' },
      bail: { type: 'boolean' },
      coverage: { type: 'boolean' },
      kernel: { type: 'string', multiple: true },
      accel: { type: 'string' },
      'kernel-timeout': { type: 'string' },
      'guest-include': { type: 'string', multiple: true },
      'matrix-json': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(RUN_USAGE + '\n');
    return 0;
  }
  const timeout = values.timeout === undefined ? 30000 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 0)
    throw new UsageError(`--timeout takes milliseconds, got ${JSON.stringify(values.timeout)}`);
  const reporterOptions: Record<string, string> = {};
  for (const o of values['reporter-option'] ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new UsageError(`--reporter-option takes KEY=VALUE, got ${JSON.stringify(o)}`);
    reporterOptions[o.slice(0, eq)] = o.slice(eq + 1);
  }
  if (values.kernel !== undefined) return runMatrix(args, values, tokens, coverageDir);
  if (
    ['accel', 'kernel-timeout', 'guest-include', 'matrix-json'].some(
      (k) => values[k as keyof typeof values] !== undefined,
    )
  )
    throw new UsageError(
      '--accel, --kernel-timeout, --guest-include and --matrix-json are for the kernel matrix: give them with --kernel SPEC',
    );
  let files = specFiles(positionals);
  if (values.shard !== undefined) {
    const [i, n] = parseShard(values.shard);
    const all = files.length;
    files = shard(files, i, n);
    // On stderr, so a JSON or xunit report on stdout stays clean.
    process.stderr.write(`xdpspec: shard ${i}/${n}: ${files.length} of ${all} spec files\n`);
    // An empty share still runs Mocha, so its reporter writes its (empty) report for CI to collect.
  }
  if (values['update-golden']) process.env.XDPSPEC_UPDATE_GOLDEN = '1';
  if (values['update-baseline']) process.env.XDPSPEC_UPDATE_BASELINE = '1';
  const coverage = coverageDir === undefined ? undefined : await import('../harness/coverage.js');
  // Before any spec loads an object: whether an object is counted is decided when it is opened.
  coverage?.startCoverage(coverageDir!);

  if (values.junit === '')
    throw new UsageError('--junit takes the path of the XML file to write, e.g. --junit reports/xdpspec.xml');

  // TypeScript specs load through tsx, registered in this process for both ways Mocha loads a
  // file: require() first (specs in a package that is not "type": "module"), then import().
  (await import('tsx/cjs/api')).register();
  (await import('tsx/esm/api')).register();
  const { default: Mocha } = await import('mocha');
  // CommonJS specs' require('xdpspec') must get this instance, not a second copy tsx compiles.
  (await import('../one-instance.js')).shareThisInstance();
  // Specs that use Chai's own expect get xdpspec's assertions, as with xdpspec/mocha.
  try {
    (await import('../mocha.js')).installAssertions();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // chai (a peer dependency) is not installed: specs cannot use expect(), and Mocha runs them anyway.
  }
  // Before any spec loads, and so also when one does not: what killed runs left goes first.
  sweepAndSay();
  const mocha = new Mocha({
    timeout,
    bail: values.bail ?? false,
    ...(values.grep === undefined ? {} : { grep: values.grep }),
  });
  try {
    mocha.reporter(values.reporter ?? 'spec', reporterOptions);
  } catch (err) {
    throw new UsageError(
      `--reporter ${values.reporter}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}; give one of Mocha's (spec, dot, list, tap, json, min, progress, landing, doc, markdown, json-stream, xunit), an installed package or a path`,
    );
  }
  if (values.junit !== undefined) {
    const { withJunit } = await import('./junit.js');
    const onScreen = (mocha as unknown as { _reporter: Parameters<typeof withJunit>[0] })._reporter;
    mocha.reporter(withJunit(onScreen, resolve(values.junit)) as unknown as string, reporterOptions);
  }
  for (const f of files) mocha.addFile(resolve(f));
  try {
    await mocha.loadFilesAsync();
  } catch (err) {
    // A spec that does not load is the spec's fault: say which and why, without our stack.
    const first = err instanceof Error ? (err.stack ?? err.message).split('\n    at ')[0]! : String(err);
    throw new XdpspecError('SPEC_LOAD', `a spec file did not load: ${first}${loadHint(first)}`);
  }
  const matrix = process.env[MATRIX_REPORT_ENV];
  let finishReport: ((exitCode: number, junit?: string) => void) | undefined;
  if (matrix) {
    const Inner = (mocha as unknown as { _reporter: ReporterClass })._reporter;
    mocha.reporter(
      withMatrixReport(Inner, matrix, (finish) => (finishReport = finish)) as unknown as string,
      reporterOptions,
    );
  }
  const failures = await new Promise<number>((done) => mocha.run(done));
  finishReport?.(failures > 0 ? 1 : 0, values.junit === undefined ? undefined : resolve(values.junit));
  const covered = coverage?.finishCoverage();
  if (covered) process.stderr.write(`\n${coverage!.coverageSummary(covered.data)}\nlcov: ${covered.lcov}\n`);
  return failures > 0 ? 1 : 0;
}
