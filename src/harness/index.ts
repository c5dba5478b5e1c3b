export { runUnit, runUnitSteps, type InstructionStats, type UnitRun, type UnitOptions } from './unit.js';
export {
  enginesAgree,
  forAllFrames,
  holds,
  mapInvariant,
  neverAborts,
  PropertyFailure,
  sameAs,
  validChecksums,
  type ForAllOptions,
  type FrameProperty,
  type PropertyReport,
  type PropertyRun,
} from './properties.js';
export {
  addCounts,
  coverageFromEnvironment,
  coverageSummary,
  coverageTotals,
  finishCoverage,
  mergeCoverage,
  startCoverage,
  toLcov,
  type CoverageData,
  type CoverageTotals,
} from './coverage.js';
export { collectFrames, type FrameSource, type Step } from './frames.js';
export {
  countVerdicts,
  describeRedirect,
  formatCounts,
  onVerdictCounts,
  verdictOf,
  VERDICTS,
  type Verdict,
  type FrameResult,
  type RedirectTarget,
  type VerdictCounts,
} from './verdict.js';
export {
  LiveBench,
  type LiveBenchOptions,
  type LiveRun,
  type LiveFrameResult,
  type LiveOutput,
  type StreamRun,
  type StreamVia,
  type SentVia,
} from './live/index.js';
export { runBoth, runBothSteps, EngineDisagreement, type BothOptions } from './both.js';
export { writeArtifact } from './artifact.js';
export { bench, type BenchOptions, type SpecBench } from './fixture.js';
export { fixtures, type CaseInfo, type FixtureBody, type Fixtures } from './fixtures.js';
export {
  bpfObject,
  bpfObjects,
  liveArtifacts,
  liveBench,
  mapsRestored,
  type ArtifactOptions,
  type ObjectLoader,
} from './bench-fixtures.js';
export {
  compareObjects,
  formatChange,
  formatComparison,
  formatInstructions,
  formatStats,
  formatSummary,
  type ChangeLabel,
  type CompareOptions,
  type CompareSide,
  type Comparison,
  type Fate,
  type FrameChange,
  type InstructionsChange,
  type StatsChange,
} from './compare.js';
export {
  checkGolden,
  decodeGolden,
  encodeGolden,
  goldenDiff,
  goldenEntries,
  updatingGolden,
  GoldenMismatch,
  UNIT_PORT,
  type GoldenEntry,
  type GoldenRun,
} from './golden.js';
export {
  checkRunTime,
  measureRunTime,
  updatingBaseline,
  RunTimeRegression,
  type RunTime,
  type RunTimeBaseline,
  type RunTimeCheck,
  type RunTimeOptions,
} from './runtime.js';
export { runTable, formatTable, type TableRow, type TableRowResult, type TableRun } from './table.js';
export { skipIfNotSupported, type SkippableContext } from './skip.js';
