/**
 * The `rpc` command line: commander parses argv and dispatches to one file per command; known
 * errors become one line on stderr and an exit code (see `exit-codes.ts`). The process exits
 * only once stdout and stderr have handed everything to the OS (see `exitAfterFlush`).
 *
 * @example
 * // bin/rpc
 * require('../dist/src/cli/main.js').main(process.argv);
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../version.js';
import { callCommand } from './call.js';
import { describeCommand } from './describe.js';
import { describeError, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { genCommand } from './gen.js';
import { initCommand } from './init.js';
import { logsCommand } from './logs.js';
import { reloadCommand } from './reload.js';
import { restartCommand } from './restart.js';
import { startCommand } from './start.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';

/** Builds the `rpc` program. */
export function buildProgram(): Command {
  const program = new Command('rpc')
    .description('thrifthost: a supervised multi-process Thrift service host')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  for (const sub of [
    startCommand(),
    stopCommand(),
    restartCommand(),
    reloadCommand(),
    statusCommand(),
    genCommand(),
    initCommand(),
    logsCommand(),
    callCommand(),
    describeCommand(),
  ]) {
    program.addCommand(sub.exitOverride());
  }
  return program;
}

/**
 * Runs `rpc` with `argv` (as in `process.argv`) and exits with the command's exit code once its
 * output is written.
 */
export async function main(argv: string[] = process.argv): Promise<never> {
  endWhenReaderLeaves();
  let code = 0;
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version arrive here too, with exit code 0.
      code = err.exitCode === 0 ? 0 : EXIT_USAGE;
    } else {
      process.stderr.write(`${describeError(err)}\n`);
      code = exitCodeFor(err);
    }
  }
  return exitAfterFlush(code);
}

if (require.main === module) void main();

// --- internal ---

/**
 * Exits with `code` once everything written to stdout and stderr so far has reached the OS.
 * On a pipe, Node writes what the pipe takes (64 KiB on Linux) and queues the rest in the
 * process: `process.exit()` right after a write drops that rest (`rpc status --json | jq` read a
 * cut JSON). The exit itself stays explicit: a command may leave handles open (those of a master
 * run by `rpc start`), and `rpc` must not wait on them.
 */
async function exitAfterFlush(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Resolves when `stream` has written everything queued before this call, or failed to. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || !stream.writable) return Promise.resolve();
  // Writes complete in order: the callback of an empty write runs once the earlier ones did.
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * A reader that went away (`rpc logs -f | head`) ends `rpc` quietly, as SIGPIPE ends a C tool,
 * instead of an unhandled EPIPE with a stack trace, or `logs -f` writing on forever.
 */
function endWhenReaderLeaves(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
}
