// The report a run writes for the kernel matrix (`xdpspec run --kernel`), one JSON object a
// line: cases as they end, the frames of every run the engines make, the JUnit XML, the end.
// In a guest it goes to the second serial port; for the host column to a file.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { release } from 'node:os';
import { relative } from 'node:path';
import type Mocha from 'mocha';
import { skippedTitle } from '../harness/skip.js';
import { onFrameRuns } from '../harness/verdict.js';
import { alongside, type ReporterClass } from './junit.js';
import type { KernelReport, MatrixCase, MatrixFrame, MatrixRun } from '../harness/matrix.js';

/** The environment variable that asks `xdpspec run` for this report, and names where it goes. */
export const MATRIX_REPORT_ENV = 'XDPSPEC_MATRIX_REPORT';

type Line =
  | ({ t: 'case' } & MatrixCase)
  | ({ t: 'run' } & MatrixRun)
  | { t: 'junit'; xml: string }
  | { t: 'end'; release: string; exitCode: number };

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** Writes the report of `runner` to `path`; returns what writes its end (after the run). */
export function writeMatrixReport(runner: Mocha.Runner, path: string): (exitCode: number, junit?: string) => void {
  const fd = openSync(path, 'w');
  const put = (l: Line) => writeSync(fd, JSON.stringify(l) + '\n');
  let current = '(outside any case)';
  const caseOf = (t: Mocha.Runnable, state: MatrixCase['state'], detail?: string) => {
    const { title, reason } = skippedTitle(t.fullTitle());
    detail = reason ?? detail;
    put({
      t: 'case',
      file: t.file ? relative(process.cwd(), t.file) : '',
      title,
      state,
      ...(detail ? { detail } : {}),
      ...(t.duration === undefined ? {} : { ms: t.duration }),
    });
  };
  // A case's runs are its own, and so are those of its "each" hooks; a suite's "all" hooks make
  // runs of their own (Mocha tells of each hooks after the case has begun).
  let test = current;
  const eachHook = (h: Mocha.Hook) => /^"(before|after) each" hook/.test(h.title);
  runner.on('hook', (h: Mocha.Hook) => {
    if (!eachHook(h)) current = h.fullTitle();
  });
  runner.on('hook end', (h: Mocha.Hook) => {
    if (!eachHook(h)) current = test;
  });
  runner.on('test', (t: Mocha.Test) => (current = test = t.fullTitle()));
  runner.on('pass', (t: Mocha.Test) => caseOf(t, 'passed'));
  runner.on('fail', (t: Mocha.Runnable, err: Error) => caseOf(t, 'failed', String(err?.message ?? err).split('\n')[0]));
  runner.on('pending', (t: Mocha.Test) => caseOf(t, 'skipped'));
  const stop = onFrameRuns((run) =>
    put({
      t: 'run',
      case: skippedTitle(current).title,
      engine: run.engine,
      frames: run.frames.map((f): MatrixFrame => {
        const out = f.output?.bytes;
        const to = f.redirect?.known
          ? (f.redirect.port ?? (f.redirect.ifindex === undefined ? 'a map' : 'an interface'))
          : 'an unknown target';
        return {
          program: f.program,
          fate: f.verdict === 'redirected' ? `redirected to ${to}` : f.verdict,
          input: sha1(f.input.bytes),
          output: out ? sha1(out) : null,
          length: out?.length ?? 0,
          changed: out ? f.changes.map((c) => c.path) : [],
        };
      }),
    }),
  );
  return (exitCode, junit) => {
    stop();
    if (junit !== undefined) {
      try {
        put({ t: 'junit', xml: readFileSync(junit, 'utf8') });
      } catch {
        // no JUnit report was written: the run failed before Mocha ended
      }
    }
    put({ t: 'end', release: release(), exitCode });
    // Closing a serial port waits until what was written has left it.
    closeSync(fd);
  };
}

/** A kernel's report from the lines a run wrote (a serial port may add carriage returns). */
export function readMatrixReport(text: string, label: string): KernelReport & { junit?: string; ended: boolean } {
  const cases: MatrixCase[] = [];
  const runs: MatrixRun[] = [];
  let junit: string | undefined;
  let end: { release: string; exitCode: number } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '').trim();
    if (!line.startsWith('{')) continue;
    let l: Line;
    try {
      l = JSON.parse(line) as Line;
    } catch {
      continue; // a line cut short by a guest that died while writing it
    }
    if (l.t === 'case') {
      const { t: _, ...c } = l;
      cases.push(c);
    } else if (l.t === 'run') runs.push({ case: l.case, engine: l.engine, frames: l.frames });
    else if (l.t === 'junit') junit = l.xml;
    else if (l.t === 'end') end = l;
  }
  return {
    label,
    release: end?.release ?? '',
    cases,
    runs,
    exitCode: end ? end.exitCode : 2,
    ended: end !== undefined,
    ...(junit === undefined ? {} : { junit }),
  };
}

/** A reporter class that runs `Base` and also writes the matrix report to `path`. */
export function withMatrixReport(
  Base: ReporterClass,
  path: string,
  ready: (finish: (exitCode: number, junit?: string) => void) => void,
): ReporterClass {
  return alongside(Base, (runner) => ready(writeMatrixReport(runner, path)));
}
