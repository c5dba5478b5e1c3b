import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type Mocha from 'mocha';
import { attachmentsOf } from '../harness/fixtures.js';
import { skippedTitle } from '../harness/skip.js';

// JUnit XML as Jenkins, GitLab and the GitHub test-report actions read it. Written here rather
// than with a package: Mocha's own xunit reporter counts failures as errors and skips without a
// reason, and junit-report-builder has no reason on <skipped> either.

type Runner = Mocha.Runner;
/** A Mocha reporter class, as `mocha.reporter()` takes one. */
export type ReporterClass = new (runner: Runner, options: Mocha.MochaOptions) => Mocha.reporters.Base;

interface Case {
  readonly file: string;
  readonly classname: string;
  readonly name: string;
  readonly seconds: number;
  readonly state: 'passed' | 'failure' | 'error' | 'skipped';
  readonly message?: string;
  readonly type?: string;
  readonly detail?: string;
  /** The test object: a live case's artifact is recorded on it after the failure event. */
  readonly test: Mocha.Runnable;
}

const esc = (s: string) =>
  s
    // Characters XML 1.0 cannot hold at all (terminal colour escapes among them) are dropped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${esc(String(v))}"`)
    .join('');

/** The reason a skipped case gives: xdpspec's skips end the title with "(skipped: why)". */
function skipReason(t: Mocha.Runnable): string {
  const { reason } = skippedTitle(t.title);
  if (reason !== undefined) return reason;
  return t.isPending() && !t.fn ? 'pending: the case has no body' : 'skipped';
}

function caseOf(t: Mocha.Runnable, state: Case['state'], err?: Error): Case {
  const path = t.titlePath();
  const file = t.file ? relative(process.cwd(), t.file) : 'specs';
  const base = {
    file,
    classname: path.slice(0, -1).join(' › ') || file,
    name: path[path.length - 1] ?? t.title,
    seconds: (t.duration ?? 0) / 1000,
    state,
    test: t,
  };
  if (state === 'skipped') return { ...base, message: skipReason(t) };
  if (!err) return base;
  return {
    ...base,
    message: err.message.split('\n')[0] ?? '',
    type: err.name || 'Error',
    detail: err.stack ?? err.message,
  };
}

function xml(cases: readonly Case[], seconds: number): string {
  const files = [...new Set(cases.map((c) => c.file))];
  const count = (cs: readonly Case[], s: Case['state']) => cs.filter((c) => c.state === s).length;
  const totals = (cs: readonly Case[]) => ({
    tests: cs.length,
    failures: count(cs, 'failure'),
    errors: count(cs, 'error'),
    skipped: count(cs, 'skipped'),
  });
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'xdpspec', ...totals(cases), time: seconds.toFixed(3) })}>`,
  ];
  for (const f of files) {
    const cs = cases.filter((c) => c.file === f);
    out.push(
      `  <testsuite${attrs({ name: f, ...totals(cs), time: cs.reduce((s, c) => s + c.seconds, 0).toFixed(3), file: f })}>`,
    );
    for (const c of cs) {
      out.push(
        `    <testcase${attrs({ classname: c.classname, name: c.name, time: c.seconds.toFixed(3), file: c.file })}>`,
      );
      if (c.state === 'skipped') out.push(`      <skipped${attrs({ message: c.message ?? 'skipped' })}/>`);
      if (c.state === 'failure' || c.state === 'error') {
        out.push(
          `      <${c.state}${attrs({ message: c.message ?? '', type: c.type ?? 'Error' })}>${esc(c.detail ?? '')}</${c.state}>`,
        );
      }
      const attached = attachmentsOf(c.test);
      // Jenkins' JUnit attachments plugin and GitLab both read these lines from system-out.
      if (attached.length)
        out.push(`      <system-out>${esc(attached.map((a) => `[[ATTACHMENT|${a.path}]]`).join('\n'))}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/**
 * A reporter class that runs `Base` (the console reporter) and lets `listen` add listeners of its
 * own to the same runner: what the JUnit and the kernel matrix's reports are made of.
 */
export function alongside(Base: ReporterClass, listen: (runner: Runner) => void): ReporterClass {
  return class Alongside {
    private readonly inner: Mocha.reporters.Base;
    constructor(runner: Runner, options: Mocha.MochaOptions) {
      this.inner = new Base(runner, options);
      listen(runner);
    }

    done(failures: number, fn?: (failures: number) => void): void {
      const d = (this.inner as { done?: (f: number, cb?: (f: number) => void) => void }).done;
      if (d) d.call(this.inner, failures, fn);
      else fn?.(failures);
    }
  } as unknown as ReporterClass;
}

/**
 * A reporter class that runs `Base` (the console reporter) and also writes JUnit XML to `file`
 * when the run ends: failed cases as <failure>, failed hooks as <error>, skipped cases as
 * <skipped message="why">, and a failed live case's capture as an attachment in system-out.
 */
export function withJunit(Base: ReporterClass, file: string): ReporterClass {
  return alongside(Base, (runner) => {
    const cases: Case[] = [];
    const started = Date.now();
    runner.on('pass', (t) => cases.push(caseOf(t, 'passed')));
    runner.on('pending', (t) => cases.push(caseOf(t, 'skipped')));
    runner.on('fail', (t: Mocha.Runnable, err: Error) =>
      cases.push(caseOf(t, (t as { type?: string }).type === 'hook' ? 'error' : 'failure', err)),
    );
    // After every hook has run (bench()'s afterEach records the capture it wrote on the test).
    runner.once('end', () => {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, xml(cases, (Date.now() - started) / 1000));
    });
  });
}
