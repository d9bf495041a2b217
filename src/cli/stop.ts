/**
 * `rpc stop`: graceful stop; returns once the master and every worker are gone.
 */
import type { Command } from 'commander';
import { KILL_GRACE_MS } from '../master/managed-worker.js';
import { isProcessAlive } from '../master/pid-file.js';
import { requestMaster } from './master-client.js';
import { type CommonOptions, command } from './options.js';

/** Extra wait past the master's own deadline before the CLI gives up on a process. */
const STOP_SLACK_MS = 3_000;

/** The `stop` command. */
export function stopCommand(): Command {
  return command('stop', 'stop gracefully: finish in-flight calls, then exit').action(
    async (options: CommonOptions) => {
      const { pids, forced } = await stopMaster(options);
      process.stdout.write(
        `thrifthost stopped (master pid ${pids[0]} and ${pids.length - 1} workers)${forced.length ? `; had to SIGKILL ${forced.join(', ')}` : ''}\n`,
      );
    },
  );
}

/**
 * Asks the master to stop and waits until every process it named has exited; one still there
 * past the master's own deadline is SIGKILLed.
 * @throws NotRunningError, ControlError, PermissionError
 */
export async function stopMaster(options: CommonOptions): Promise<{ pids: number[]; forced: number[] }> {
  const { config, result } = await requestMaster<{ pids: number[] }>(options, 'stop');
  const deadline = Date.now() + config.gracefulTimeoutMs + KILL_GRACE_MS + STOP_SLACK_MS;
  let left = result.pids.filter(isProcessAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(isProcessAlive);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited just now
    }
  }
  return { pids: result.pids, forced: left };
}
