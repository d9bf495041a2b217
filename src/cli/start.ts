/**
 * `rpc start [-d]`: run the master in the foreground until Ctrl-C / SIGTERM, or detached.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadHostConfig } from '../config/config.js';
import { createLogger } from '../host/logger.js';
import { startMaster } from '../master/master.js';
import type { HostStatus } from '../master/supervisor.js';
import { runDaemonChild, spawnDaemon } from './daemon.js';
import { type CommonOptions, command } from './options.js';

/** Options of `rpc start`. */
export interface StartOptions extends CommonOptions {
  /** Detach and return once every worker listens. @default false */
  daemon?: boolean;
  /** Internal: this process is the detached master. */
  daemonChild?: boolean;
  /** Reload the workers when handler or generated files change (development). @default false */
  watch?: boolean;
}

/** The `start` command. */
export function startCommand(): Command {
  return command('start', 'start the host (foreground until Ctrl-C; -d to detach)')
    .option('-d, --daemon', 'detach; return once every worker listens', false)
    .option('-w, --watch', 'reload the workers when handler or generated files change (development)', false)
    .addOption(new Option('--daemon-child').hideHelp())
    .action(async (options: StartOptions) => {
      if (options.daemonChild) return runDaemonChild(options.config, { watch: options.watch });
      if (options.daemon) return startDetached(options);
      return startForeground(options);
    });
}

/** `rpc start -d`: prints what started and returns. */
export async function startDetached(options: CommonOptions & { watch?: boolean }): Promise<void> {
  const { status, notes, log } = await spawnDaemon(options.config, { watch: options.watch });
  for (const note of notes) process.stderr.write(`rpc: ${note}\n`);
  process.stdout.write(`${startedSummary(status)}log: ${log}\n`);
}

/** `rpc start`: runs the master in this process until it is stopped. */
export async function startForeground(options: CommonOptions & { watch?: boolean }): Promise<void> {
  const config = loadHostConfig(options.config);
  const logger = createLogger({ level: config.logLevel });
  const master = await startMaster({ config, logger, watch: options.watch ?? false });
  process.stdout.write(`${startedSummary(await master.supervisor.status())}press Ctrl-C to stop\n`);
  await master.done;
}

/** Human summary of a freshly started host. */
export function startedSummary(status: HostStatus): string {
  const byService = new Map<string, { listen: string; pids: number[] }>();
  for (const w of status.workers) {
    const entry = byService.get(w.service) ?? { listen: w.listen, pids: [] };
    entry.pids.push(w.pid);
    byService.set(w.service, entry);
  }
  const width = Math.max(...[...byService.keys()].map((s) => s.length));
  const rows = [...byService].map(
    ([service, { listen, pids }]) => `  ${service.padEnd(width)}  ${listen}  pids ${pids.join(', ')}\n`,
  );
  return `thrifthost started: master pid ${status.master.pid}, ${status.workers.length} workers listening\n${rows.join('')}`;
}
