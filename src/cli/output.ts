import { once } from 'node:events';

/**
 * Writes to stdout with backpressure, so dissecting a large capture into a pipe neither
 * buffers it all in memory nor dies when the reader (e.g. `head`) goes away.
 */
export class Output {
  private closed = false;
  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  /** False once the reader has gone away: callers stop producing. */
  get open(): boolean {
    return !this.closed;
  }

  async write(text: string): Promise<void> {
    if (this.closed) return;
    if (this.stream.write(text)) return;
    try {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
    } catch (err) {
      // `once` rejects on an 'error' event: the reader going away while we wait is the end, not a failure.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      this.closed = true;
    }
  }
}
