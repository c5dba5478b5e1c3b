// Commands inside a bench's namespaces for specs: real sockets (python3), ethtool. Under
// nsenter rather than `ip netns exec`, which remounts /sys and hides bpffs.
import { execa, type ResultPromise } from 'execa';

/** What the helpers take of execa's options: whether a non-zero exit rejects. */
type RunOptions = { reject?: boolean };

/** Runs `command` in network namespace `netns`. */
export function inNetnsRun(
  netns: string,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): ResultPromise<RunOptions> {
  return execa('nsenter', [`--net=/run/netns/${netns}`, command, ...args], options);
}

/** Runs a python3 script in `netns`, with `args` as sys.argv[1:]. */
export function python(
  netns: string,
  script: string,
  args: readonly string[],
  options: RunOptions = {},
): ResultPromise<RunOptions> {
  return inNetnsRun(netns, 'python3', ['-c', script, ...args], options);
}

/**
 * Feeds the lines a helper process prints to `onLine`, and resolves once it printed "ready"
 * (rejects if it ends before that, with its stderr). A line may come in two chunks.
 */
export async function lines(
  proc: ResultPromise<RunOptions>,
  onLine: (line: string) => void,
  what: string,
): Promise<void> {
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let partial = '';
  proc.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts.filter(Boolean)) l === 'ready' ? ready() : onLine(l);
  });
  await Promise.race([
    isReady,
    proc.then((r) => Promise.reject(new Error(`${what} ended before it was ready: ${String(r.stderr)}`))),
  ]);
}

/**
 * Turns transmit checksum offload off on a veth end: with it on, the sender leaves TCP and UDP
 * checksums for "the NIC" to fill in, and a frame XDP forwards elsewhere (or a capture replayed)
 * reaches its host with the checksum unfinished, to be dropped as corrupt.
 */
export async function txChecksumOff(netns: string, ifname: string): Promise<void> {
  await inNetnsRun(netns, 'ethtool', ['-K', ifname, 'tx', 'off']);
}
