#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { UsageError, XdpspecError } from '../sys/errors.js';
import { runDiff } from './diff.js';
import { runDissect } from './dissect.js';
import { runFuzz } from './fuzz.js';
import { runInit } from './init.js';
import { runReplay } from './replay.js';
import { runRun } from './run.js';
import { runTestRun } from './test-run.js';

const USAGE = `usage: xdpspec <command> [options]

commands:
  init [DIR]                   set up xdpspec in a project: example program, spec, CI
  dissect FILE [--json | -v]   print the frames of a pcap or pcapng file
  test-run OBJECT --pcap FILE  run a capture through a BPF program (BPF_PROG_TEST_RUN)
  replay OBJECT --pcap FILE    replay a capture live through veths into the attached program
  diff OLD NEW --pcap FILE     the frames whose fate changed from an old object to a new one
  fuzz OBJECT --property NAME  generated frames against a property, a failure shrunk to a pcap
  run [SPEC...] [--shard I/N]  run Mocha specs with xdpspec's setup

xdpspec <command> --help shows a command's options.`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  dissect: runDissect,
  'test-run': runTestRun,
  replay: runReplay,
  diff: runDiff,
  fuzz: runFuzz,
  run: runRun,
  init: runInit,
};

/**
 * Exit status on an error a user can cause. 1 by default; commands whose status 1 means
 * something else (diff: "frames changed") use 2, so CI can tell a change from a failure.
 */
const ERROR_STATUS: Record<string, number> = { diff: 2, fuzz: 2, run: 2, init: 2 };
const errorStatus = (argv: string[]) => ERROR_STATUS[argv[0] ?? ''] ?? 1;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const run = COMMANDS[cmd];
  if (!run) throw new UsageError(`unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Errors a user can cause get one clear line; anything else is a bug and keeps its stack.
    if (err instanceof UsageError) {
      process.stderr.write(`xdpspec: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof XdpspecError) {
      process.stderr.write(`xdpspec: ${err.message}\n`);
      process.exitCode = errorStatus(process.argv.slice(2));
    } else if (err instanceof Error && String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`xdpspec: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `xdpspec: internal error (please report it): ${err instanceof Error ? err.stack : String(err)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
