// XDP in generic (skb) mode, which the driver does not count: the watch probe's events and the
// captures say what became of each frame.
import { until } from '../../net/index.js';
import type { RedirectTarget, Verdict } from '../verdict.js';
import {
  frameResult,
  inject,
  landedOn,
  type BenchContext,
  type LiveResult,
  type PortState,
  type Sending,
  type Strategy,
} from './port.js';
import { WatchProbe } from './probes.js';
import type { LiveOutput } from './results.js';

export class GenericStrategy implements Strategy {
  readonly mode = 'generic';

  private constructor(
    private readonly bench: BenchContext,
    private readonly src: PortState,
    private readonly program: string,
    private readonly probe: WatchProbe,
  ) {}

  static open(bench: BenchContext, src: PortState, program: string): GenericStrategy {
    return new GenericStrategy(bench, src, program, WatchProbe.open(bench.topology, src.name, 'generic'));
  }

  begin(): void {}

  /**
   * Every verdict has a positive sign here: an output where it went, a free of the frame's skb
   * on the device (drops, aborts, failed redirects; a passed frame reaches the capture taps
   * before the stack could free it, so counters are read before collecting), or a redirect event.
   */
  async one(index: number, bytes: Buffer, others: LiveOutput[], sending: Sending): Promise<LiveResult> {
    const { src } = this;
    const events = () => {
      const g = this.probe.read(['frees', 'exceptions', 'redirects', 'redirect_errors']);
      return { frees: g.frees, exceptions: g.exceptions, redirects: g.redirects, redirectErrors: g.redirect_errors };
    };
    const before = events();
    inject(src.tester, index, bytes, sending);
    const seen: LiveOutput[] = [];
    let now = before;
    await until(() => {
      now = events(); // first the counters, then the sockets: see above
      this.bench.collect(seen);
      return (
        seen.length > 0 ||
        now.frees > before.frees ||
        now.redirects > before.redirects ||
        now.redirectErrors > before.redirectErrors
      );
    }, `an outcome for frame #${index} (generic XDP on ${src.name})`);
    const at = (side: 'dut' | 'tester', same: boolean) =>
      seen.find((x) => x.side === side && (x.port === src.name) === same);
    let verdict: Verdict;
    let main: LiveOutput | undefined;
    let redirect: RedirectTarget | undefined;
    if ((main = at('dut', true))) verdict = 'passed';
    else if ((main = at('tester', true)) && now.redirects === before.redirects) verdict = 'tx';
    else if (now.redirects > before.redirects || at('tester', false)) {
      verdict = 'redirected';
      await until(
        () => (this.bench.collect(seen), seen.some((x) => x.side === 'tester')),
        `the redirected frame #${index} arriving on a port`,
      );
      main = seen.find((x) => x.side === 'tester');
      redirect = landedOn(this.bench.topology, main!);
    } else if (now.redirectErrors > before.redirectErrors) {
      verdict = 'redirected';
      redirect = { known: false, reason: 'the redirect failed (xdp_redirect_err) and the frame was freed' };
    } else verdict = now.exceptions > before.exceptions ? 'aborted' : 'dropped';
    for (const x of seen) if (x !== main) others.push(x);
    return frameResult(src.name, this.program, index, bytes, verdict, main ? [main] : [], redirect);
  }

  close(): void {
    this.probe.close();
  }
}
