// Real UDP sockets in a bench's namespaces, through python3 under nsenter (a socket belongs to
// the namespace it is created in, and Node creates its sockets lazily, off the main thread's
// control). The listener says "ready" once bound: that line is the signal, never a delay.
import { lines, python } from './netns.js';

const LISTEN = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)  # bounds a datagram that never comes: the spec then fails, never hangs
print('ready', flush=True)
for _ in range(int(sys.argv[3])):
    data, peer = s.recvfrom(65535)
    print(data.hex(), peer[0], flush=True)
`;

const SEND = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex(sys.argv[3]), (sys.argv[1], int(sys.argv[2])))
`;

/** Listens in `netns` on addr:port for `count` datagrams; `received` gives payloads and senders. */
export async function udpListener(
  netns: string,
  addr: string,
  port: number,
  count: number,
): Promise<{ received: Promise<{ payload: Buffer; from: string }[]> }> {
  const proc = python(netns, LISTEN, [addr, String(port), String(count)], { reject: false });
  const got: string[] = [];
  await lines(proc, (l) => got.push(l), 'the UDP listener');
  return {
    received: proc.then((r) => {
      if (r.exitCode !== 0)
        throw new Error(`the UDP listener failed (exit ${r.exitCode}) after ${got.length} datagram(s): ${r.stderr}`);
      return got.map((l) => ({ payload: Buffer.from(l.split(' ')[0]!, 'hex'), from: l.split(' ')[1]! }));
    }),
  };
}

/** Sends one datagram from a socket in `netns`. */
export async function udpSend(netns: string, addr: string, port: number, payload: Buffer): Promise<void> {
  await python(netns, SEND, [addr, String(port), payload.toString('hex')]);
}
