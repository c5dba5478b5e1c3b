export { LiveBench } from './bench.js';
export type { LiveBenchOptions, LiveRun, LiveFrameResult, LiveOutput, StreamRun } from './results.js';
