import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XdpspecError } from '../sys/errors.js';
import { envFlag } from './env-flag.js';
import { loadObject, type Program } from '../bpf/index.js';
import { probeObject } from '../bpf/probe-objects.js';
import { collectFramesNow, type FrameSource } from './frames.js';

/** A program's kernel run time next to the reference workload's, measured side by side. */
export interface RunTime {
  readonly program: string;
  /** Mean kernel run time per frame over the frames, ns (the median sample). */
  readonly nsPerFrame: number;
  /** The same for xdpspec's reference program (parse to L4, one hash lookup), ns. */
  readonly referenceNsPerFrame: number;
  /** Median over samples of program time / reference time: what baselines record and compare. */
  readonly ratio: number;
  readonly frames: number;
  readonly repeat: number;
  readonly samples: number;
}

export interface RunTimeOptions {
  /**
   * Kernel runs of each frame per measurement (BPF_PROG_TEST_RUN's repeat). Default 10000.
   * Large is cheap: for XDP the kernel swaps the program into its dispatcher and back around
   * every repeated run, which costs a fixed ~16 ms per frame per measurement on this machine
   * whatever the repeat, so it is the number of frames that sets the time a check takes.
   */
  readonly repeat?: number;
  /** Measurements of program and reference, interleaved; the median ratio counts. Default 5. */
  readonly samples?: number;
}

/** A recorded baseline, as stored in its JSON file. */
export interface RunTimeBaseline {
  readonly program: string;
  readonly ratio: number;
  readonly nsPerFrame: number;
  readonly referenceNsPerFrame: number;
  readonly frames: number;
  readonly repeat: number;
  /** `uname -r` where it was recorded: ratios carry across machines, less well across kernels. */
  readonly kernel: string;
}

export interface RunTimeCheck extends RunTime {
  readonly baseline: RunTimeBaseline;
  /** ratio / baseline ratio: 1.0 is no change, 1.3 is 30% more work per frame than recorded. */
  readonly growth: number;
  readonly recorded: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Measures `program`'s kernel run time per frame on `frames` (BPF_PROG_TEST_RUN with
 * `repeat`), interleaved with xdpspec's reference program of the same type on the same frames.
 * The ratio of the two is what carries from one machine to another: both slow down together
 * on a slower CPU, while the program's own growth shows in the ratio. Give it a few
 * representative frames, not a whole capture: each frame costs about 16 ms per sample for XDP
 * (see `repeat`).
 * @throws XdpspecError `RUNTIME_TYPE` for programs other than XDP and TC.
 */
export function measureRunTime(program: Program, frames: FrameSource, options: RunTimeOptions = {}): RunTime {
  const { repeat = 10000, samples = 5 } = options;
  const inputs = collectFramesNow(frames);
  if (inputs.length === 0) throw new XdpspecError('RUNTIME_FRAMES', 'measureRunTime needs at least one frame');
  const refName =
    program.type === 'xdp' ? 'xdpspec_reference' : program.type === 'sched_cls' ? 'xdpspec_reference_tc' : undefined;
  if (!refName)
    throw new XdpspecError(
      'RUNTIME_TYPE',
      `run-time baselines are for XDP and TC programs; ${program.name} is ${program.type}`,
    );
  const ref = loadObject(probeObject('reference'), {}, { count: false });
  try {
    const reference = ref.program(refName);
    const mean = (p: Program) =>
      inputs.reduce((sum, f) => sum + p.testRun(f, { repeat }).durationNs, 0) / inputs.length;
    const own: number[] = [];
    const refs: number[] = [];
    const ratios: number[] = [];
    for (let s = 0; s < samples; s++) {
      const a = mean(program);
      const b = mean(reference);
      own.push(a);
      refs.push(b);
      ratios.push(a / Math.max(b, 1));
    }
    return {
      program: program.name,
      nsPerFrame: median(own),
      referenceNsPerFrame: median(refs),
      ratio: median(ratios),
      frames: inputs.length,
      repeat,
      samples,
    };
  } finally {
    ref.close();
  }
}

/** A program's run time grew beyond the allowed factor of its baseline. */
export class RunTimeRegression extends XdpspecError {
  constructor(
    readonly check: RunTimeCheck,
    readonly factor: number,
    readonly file: string,
  ) {
    const b = check.baseline;
    super(
      'RUNTIME_REGRESSION',
      `${check.program} does ${check.growth.toFixed(2)}x the work per frame of its baseline (allowed ${factor}x)\n\n` +
        `  now       ${check.nsPerFrame.toFixed(1)} ns per frame, ${check.ratio.toFixed(2)}x the reference program (${check.referenceNsPerFrame.toFixed(1)} ns)\n` +
        `  baseline  ${b.nsPerFrame.toFixed(1)} ns per frame, ${b.ratio.toFixed(2)}x the reference program (${b.referenceNsPerFrame.toFixed(1)} ns), kernel ${b.kernel}\n\n` +
        `  ${file}; if the cost is intended, record it again with XDPSPEC_UPDATE_BASELINE=1 (or xdpspec run --update-baseline)`,
    );
  }
}

/** True when baselines are to be recorded: `XDPSPEC_UPDATE_BASELINE=1` or `xdpspec run --update-baseline`. */
export function updatingBaseline(): boolean {
  return envFlag('XDPSPEC_UPDATE_BASELINE');
}

function readBaseline(path: string): RunTimeBaseline {
  let b: Partial<RunTimeBaseline>;
  try {
    b = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunTimeBaseline>;
  } catch (err) {
    throw new XdpspecError('BASELINE_FORMAT', `${path} is not a run-time baseline: ${(err as Error).message}`);
  }
  // Every number a regression message prints must be there, positive.
  for (const k of ['ratio', 'nsPerFrame', 'referenceNsPerFrame'] as const) {
    if (typeof b[k] !== 'number' || !(b[k] > 0))
      throw new XdpspecError(
        'BASELINE_FORMAT',
        `${path} is not a run-time baseline: it has no positive "${k}"; record it with XDPSPEC_UPDATE_BASELINE=1`,
      );
  }
  return b as RunTimeBaseline;
}

/**
 * The performance gate: measures `program` on `frames` (see `measureRunTime`) and compares its
 * ratio to the reference program with the one recorded in `baseline` (a JSON file; a URL such
 * as `new URL('./lb.baseline.json', import.meta.url)` keeps it next to the spec). Passes while
 * ratio / recorded ratio <= `factor`. When updating (`updatingBaseline()`, or `update`), records
 * the measurement instead.
 * @throws RunTimeRegression beyond the factor; XdpspecError `BASELINE_MISSING` when there is no
 * baseline yet.
 */
export function checkRunTime(
  program: Program,
  frames: FrameSource,
  options: RunTimeOptions & { baseline: string | URL; factor?: number; update?: boolean },
): RunTimeCheck {
  const path = options.baseline instanceof URL ? fileURLToPath(options.baseline) : options.baseline;
  const factor = options.factor ?? 1.5;
  if (!(factor >= 1))
    throw new XdpspecError(
      'RUNTIME_FACTOR',
      `the allowed growth factor is at least 1 (1.5 allows 50% more work per frame), got ${factor}`,
    );
  const update = options.update ?? updatingBaseline();
  if (!update && !existsSync(path))
    throw new XdpspecError(
      'BASELINE_MISSING',
      `no run-time baseline at ${path} yet; run the spec once with XDPSPEC_UPDATE_BASELINE=1 (or xdpspec run --update-baseline) to record it, then commit it`,
    );
  const now = measureRunTime(program, frames, options);
  if (update) {
    const baseline: RunTimeBaseline = {
      program: now.program,
      ratio: round(now.ratio),
      nsPerFrame: round(now.nsPerFrame),
      referenceNsPerFrame: round(now.referenceNsPerFrame),
      frames: now.frames,
      repeat: now.repeat,
      kernel: release(),
    };
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(baseline, null, 2) + '\n');
    return { ...now, baseline, growth: now.ratio / baseline.ratio, recorded: true };
  }
  const baseline = readBaseline(path);
  const check = { ...now, baseline, growth: now.ratio / baseline.ratio, recorded: false };
  if (check.growth > factor) throw new RunTimeRegression(check, factor, path);
  return check;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
