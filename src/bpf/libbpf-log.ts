import { libc } from '../sys/libc.js';
import { ffi, koffi, processWide } from './ffi.js';

// libbpf reports what went wrong (including the verifier log) through its print callback,
// by default to stderr. xdpspec takes those messages so errors can carry them and users'
// terminals stay clean.

const BUF_SIZE = 4 << 20; // a verifier log of a large program runs to megabytes
// libbpf has one print callback per process: every copy of xdpspec shares it and what it collects.
const state = processWide('libbpf-log', () => ({
  installed: false,
  buf: undefined as Buffer | undefined,
  collected: [] as string[],
}));
const collected = state.collected;

function install(): void {
  if (state.installed) return;
  state.installed = true;
  const buf = (state.buf = Buffer.alloc(BUF_SIZE));
  const f = ffi();
  const cb = koffi.register((_level: number, fmt: string, args: unknown) => {
    const n = libc().vsnprintf(buf, BUF_SIZE, fmt, args);
    collected.push(buf.toString('utf8', 0, Math.max(0, Math.min(n, BUF_SIZE - 1))));
    return 0;
  }, koffi.pointer(f.PrintFn));
  f.libbpf_set_print(cb);
}

/** Runs `fn` with libbpf's messages collected; returns its result and the messages. */
export function withLibbpfLog<T>(fn: () => T): { result: T; log: string } {
  install();
  collected.length = 0;
  const result = fn();
  const log = collected.join('');
  collected.length = 0;
  return { result, log };
}

/** The verifier's own lines, cut out of libbpf's "-- BEGIN PROG LOAD LOG --" framing. */
export function verifierLog(libbpfLog: string): string {
  const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(libbpfLog);
  return m ? m[1]! : libbpfLog;
}

/** libbpf's lines indented under the message they explain. */
export function indentLog(s: string): string {
  return s
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
