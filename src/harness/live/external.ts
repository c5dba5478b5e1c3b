// Running another tool's attach command (xdp-filter, ip, tc) inside a bench's DUT namespace.
import { execa } from 'execa';
import { XdpspecError } from '../../sys/errors.js';

/**
 * Runs `command` with `sh` in network namespace `netns` and in a mount namespace of its own with
 * a fresh bpffs: what a tool pins there (xdp-filter's rule maps, iproute2's directories) is gone
 * with the command, so it can neither leak into the next run nor meet a concurrent one. `$PORT`
 * names the interface. setpriv --pdeathsig: if this process is killed outright, the command
 * dies with it instead of holding the namespace (and its veths) alive.
 * @throws XdpspecError `ATTACH_COMMAND` when it exits with a failure, with its output.
 */
export async function runAttachCommand(netns: string, port: string, command: string): Promise<void> {
  const r = await execa(
    'nsenter',
    [
      `--net=/run/netns/${netns}`,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'setpriv',
      '--pdeathsig',
      'KILL',
      'sh',
      '-c',
      'mount -t bpf bpf /sys/fs/bpf && exec sh -c "$XDPSPEC_COMMAND"',
    ],
    { env: { PORT: port, XDPSPEC_COMMAND: command }, reject: false },
  );
  if (r.exitCode !== 0)
    throw new XdpspecError(
      'ATTACH_COMMAND',
      `the attaching command failed (exit ${r.exitCode}): ${command}\n${r.stderr || r.stdout}`,
    );
}
