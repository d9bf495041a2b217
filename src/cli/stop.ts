/**
 * `rpc stop`: graceful stop; returns once the master and every worker are gone. A stop that finds
 * another one under way (a second `rpc stop`, a signal, the admin API) waits for it and says so.
 */
import type { Command } from 'commander';
import { StoppingError } from '../host/host-errors.js';
import { KILL_GRACE_MS } from '../master/managed-worker.js';
import type { StopReply } from '../master/master.js';
import { isProcessAlive } from '../master/pid-file.js';
import { requestMaster } from './master-client.js';
import { type CommonOptions, command, loadForControl } from './options.js';

/** Extra wait past the master's own deadline before the CLI gives up on a process. */
const STOP_SLACK_MS = 3_000;

/** What {@link stopMaster} waited for. */
export interface StopResult {
  /** The master's pid, then its workers' (only the master's when it no longer answered). */
  pids: number[];
  /** Workers the master named; undefined when it no longer answered (stopping already). */
  workers: number | undefined;
  /** Pids still there past the deadline, SIGKILLed. */
  forced: number[];
  /** Another stop had begun: this one waited for it. */
  alreadyStopping: boolean;
}

/** The `stop` command. */
export function stopCommand(): Command {
  return command('stop', 'stop gracefully: finish in-flight calls, then exit').action(
    async (options: CommonOptions) => {
      const { pids, workers, forced, alreadyStopping } = await stopMaster(options, (pid) =>
        process.stdout.write(`thrifthost is already stopping (master pid ${pid}): waiting for that stop\n`),
      );
      const who = workers === undefined ? `master pid ${pids[0]}` : `master pid ${pids[0]} and ${workers} workers`;
      const waited = alreadyStopping ? ', by the stop already under way' : '';
      const killed = forced.length ? `; had to SIGKILL ${forced.join(', ')}` : '';
      process.stdout.write(`thrifthost stopped (${who}${waited})${killed}\n`);
    },
  );
}

/**
 * Asks the master to stop and waits until every process it named has exited; one still there
 * past the master's own deadline is SIGKILLed. A master already stopping is waited for the same
 * way; `onAlreadyStopping` is told before the wait.
 * @throws NotRunningError, ControlError, PermissionError
 */
export async function stopMaster(
  options: CommonOptions,
  onAlreadyStopping: (masterPid: number) => void = () => {},
): Promise<StopResult> {
  const { config } = loadForControl(options);
  let reply: StopReply;
  let workers: number | undefined;
  try {
    ({ result: reply } = await requestMaster<StopReply>(options, 'stop'));
    workers = reply.pids.length - 1;
  } catch (err) {
    // Past its control socket already: only the master's pid is known, and it is on its way out.
    if (!(err instanceof StoppingError)) throw err;
    reply = { pids: [err.pid], alreadyStopping: true };
  }
  // A master of an older version answers without `alreadyStopping`.
  const alreadyStopping = reply.alreadyStopping === true;
  if (alreadyStopping) onAlreadyStopping(reply.pids[0]!);
  const deadline = Date.now() + config.gracefulTimeoutMs + KILL_GRACE_MS + STOP_SLACK_MS;
  let left = reply.pids.filter(isProcessAlive);
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
  return { pids: reply.pids, workers, forced: left, alreadyStopping };
}
