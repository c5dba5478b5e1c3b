export { runUnit, runUnitSteps, type UnitRun, type UnitOptions } from './unit.js';
export { collectFrames, type FrameSource, type Step } from './frames.js';
export { countVerdicts, describeRedirect, formatCounts, verdictOf, VERDICTS, type Verdict, type FrameResult, type RedirectTarget, type VerdictCounts } from './verdict.js';
export { LiveBench, type LiveRun, type LiveFrameResult, type LiveOutput, type StreamRun } from './live.js';
export { runBoth, runBothSteps, EngineDisagreement } from './both.js';
export { writeArtifact } from './artifact.js';
export { bench, type BenchOptions, type SpecBench } from './fixture.js';
export { compareObjects, formatChange, formatComparison, formatStats, formatSummary, type ChangeLabel, type CompareOptions, type CompareSide, type Comparison, type Fate, type FrameChange, type StatsChange } from './compare.js';
export { checkGolden, decodeGolden, encodeGolden, goldenDiff, goldenEntries, updatingGolden, GoldenMismatch, UNIT_PORT, type GoldenEntry, type GoldenRun } from './golden.js';
