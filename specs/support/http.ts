// A real HTTP server and client in a bench's namespaces, through python3 under nsenter (see
// udp.ts for why not Node's). The server says "ready" once listening: that is the signal.
import { lines, python } from './netns.js';

const SERVE = `
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
name = sys.argv[3]
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('served by %s\\n' % name).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(json.dumps({'client': self.client_address[0], 'path': self.path}), flush=True)
    def log_message(self, *args):
        pass
server = HTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
print('ready', flush=True)
server.serve_forever()
`;

const GET = `
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    print(r.read().decode(), end='')
`;

/** An HTTP server in `netns` answering every GET with "served by NAME"; `stop()` ends it and gives the requests it served. */
export async function httpServer(
  netns: string,
  addr: string,
  port: number,
  name: string,
): Promise<{ stop: () => Promise<{ client: string; path: string }[]> }> {
  const proc = python(netns, SERVE, [addr, String(port), name], { reject: false });
  const served: { client: string; path: string }[] = [];
  await lines(proc, (l) => served.push(JSON.parse(l) as { client: string; path: string }), `the HTTP server ${name}`);
  return {
    stop: async () => {
      proc.kill();
      await proc;
      return served;
    },
  };
}

/** GETs `url` from `netns` (a 10 s timeout bounds an answer that never comes) and returns the body. */
export async function httpGet(netns: string, url: string): Promise<string> {
  return (await python(netns, GET, [url])).stdout;
}
