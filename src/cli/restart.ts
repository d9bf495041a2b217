/**
 * `rpc restart`: `stop` (when running) then `start -d`.
 */
import type { Command } from 'commander';
import { NotRunningError } from '../host/host-errors.js';
import { type CommonOptions, command } from './options.js';
import { startDetached } from './start.js';
import { stopMaster } from './stop.js';

/** The `restart` command. */
export function restartCommand(): Command {
  return command('restart', 'stop (if running), then start detached').action(
    async (options: CommonOptions) => {
      try {
        const { pids } = await stopMaster(options);
        process.stdout.write(`thrifthost stopped (master pid ${pids[0]})\n`);
      } catch (err) {
        if (!(err instanceof NotRunningError)) throw err;
        process.stderr.write(`rpc: ${err.message}; starting it\n`);
      }
      await startDetached(options);
    },
  );
}
