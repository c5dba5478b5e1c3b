// The articles' method, shared by the benchmarks that race it: a namespace with a veth pair
// (veth0, veth1), the program attached to veth1 by ip, tcpdump capturing on veth1.
import { execa } from 'execa';
import { watchBpffs } from './bpffs.js';

/** Makes the namespace `name` with the program on veth1; `remove()` takes it all away again. */
export async function articleTopology(name: string, object: string): Promise<{ remove(): Promise<void> }> {
  const bpffs = watchBpffs(); // ip's BPF loader makes directories in bpffs
  await execa('ip', ['netns', 'add', name]);
  const remove = async () => {
    await execa('ip', ['netns', 'del', name], { reject: false });
    bpffs.finish();
  };
  try {
    for (const cmd of [
      ['link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1'],
      ['link', 'set', 'veth0', 'up'],
      ['link', 'set', 'veth1', 'up'],
      ['link', 'set', 'dev', 'veth1', 'xdp', 'obj', object, 'sec', 'xdp'],
    ])
      await execa('ip', ['-n', name, ...cmd]);
  } catch (err) {
    await remove();
    throw err;
  }
  return { remove };
}

/**
 * Starts tcpdump on veth1 of `ns` and resolves once it listens (replaying earlier would lose
 * frames) with `done`, its end. (Wrapped: an async function returning the process's promise would
 * wait for tcpdump to exit.)
 */
export async function startTcpdump(
  ns: string,
  args: string[],
): Promise<{ done: Promise<{ stderr: string }>; kill: (sig: NodeJS.Signals) => void }> {
  const dump = execa('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'veth1', '--immediate-mode', ...args], {
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    dump.stderr.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    void dump.then(() => reject(new Error('tcpdump exited before listening')));
  });
  return { done: dump.then((r) => ({ stderr: String(r.stderr ?? '') })), kill: (sig) => dump.kill(sig) };
}
