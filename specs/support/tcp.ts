// Real TCP sockets in a bench's namespaces, through python3 under nsenter (see udp.ts for why
// not Node's). The server says "ready" once listening: that line is the signal, never a delay.
import { lines, python } from './netns.js';

// Reads a socket until the peer closes its side.
const READ_TO_END = `
def read_to_end(s):
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
`;

const SERVE = `${READ_TO_END}
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
s.settimeout(10)  # bounds a connection that never comes: the spec then fails, never hangs
print('ready', flush=True)
for _ in range(int(sys.argv[3])):
    c, peer = s.accept()
    c.settimeout(10)
    data = read_to_end(c)
    c.sendall(sys.argv[4].encode() + data)
    c.close()
    print(json.dumps({'peer': peer[0], 'port': peer[1], 'data': data.decode()}), flush=True)
`;

const CONNECT = `${READ_TO_END}
import json, socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.settimeout(float(sys.argv[4]))
try:
    c.connect((sys.argv[1], int(sys.argv[2])))
    local = c.getsockname()
    c.sendall(sys.argv[3].encode())
    c.shutdown(socket.SHUT_WR)
    reply = read_to_end(c)
    print(json.dumps({'local': local[0], 'port': local[1], 'reply': reply.decode()}))
except OSError as e:
    print(json.dumps({'error': 'timeout' if isinstance(e, socket.timeout) else str(e)}))
`;

export interface Accepted {
  readonly peer: string;
  readonly port: number;
  readonly data: string;
}

/**
 * A server in `netns` on addr:port that takes `count` connections, reads each to its end and
 * answers `prefix` + what it read. `accepted` gives the peers and what they sent; `stop()`
 * ends it early (then `accepted` has what it took so far).
 */
export async function tcpServer(
  netns: string,
  addr: string,
  port: number,
  count: number,
  prefix = 'echo:',
): Promise<{ accepted: Promise<Accepted[]>; stop: () => void }> {
  const proc = python(netns, SERVE, [addr, String(port), String(count), prefix], { reject: false });
  const got: Accepted[] = [];
  await lines(proc, (l) => got.push(JSON.parse(l) as Accepted), 'the TCP server');
  return {
    accepted: proc.then((r) => {
      if (r.exitCode !== 0 && !r.isTerminated)
        throw new Error(`the TCP server failed (exit ${r.exitCode}) after ${got.length} connection(s): ${r.stderr}`);
      return got;
    }),
    stop: () => proc.kill(),
  };
}

export type Connected = { local: string; port: number; reply: string } | { error: string };

/**
 * Connects from `netns` to addr:port, sends `data`, half-closes, and reads the answer to its
 * end. `timeoutS` bounds each socket operation: for a connection that must fail it is how long
 * to wait for a SYN-ACK that should not come.
 */
export async function tcpConnect(
  netns: string,
  addr: string,
  port: number,
  data: string,
  timeoutS = 10,
): Promise<Connected> {
  const r = await python(netns, CONNECT, [addr, String(port), data, String(timeoutS)]);
  return JSON.parse(r.stdout) as Connected;
}
