export { LiveBench } from './bench.js';
export type {
  LiveBenchOptions,
  LiveRun,
  LiveFrameResult,
  LiveOutput,
  StreamRun,
  StreamVia,
  SentVia,
} from './results.js';
