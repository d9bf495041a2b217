/**
 * The `rpc` command line: commander parses argv and dispatches to one file per command; known
 * errors become one line on stderr and an exit code (see `exit-codes.ts`).
 *
 * @example
 * // bin/rpc
 * require('../dist/src/cli/main.js').main(process.argv);
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../version.js';
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
  ]) {
    program.addCommand(sub.exitOverride());
  }
  return program;
}

/** Runs `rpc` with `argv` (as in `process.argv`) and exits with the command's exit code. */
export async function main(argv: string[] = process.argv): Promise<never> {
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
  process.exit(code);
}

if (require.main === module) void main();
