/**
 * `rpc status [--json]`: the master's header and a row per worker.
 */
import type { Command } from 'commander';
import type { HostStatus } from '../master/supervisor.js';
import { requestMaster } from './master-client.js';
import { type CommonOptions, command } from './options.js';
import { formatStatus } from './status-format.js';

/** The `status` command. */
export function statusCommand(): Command {
  return command('status', 'show the master and every worker')
    .option('--json', 'print JSON: {"master":{...},"workers":[...]}', false)
    .action(async (options: CommonOptions & { json: boolean }) => {
      const { result } = await requestMaster<HostStatus>(options, 'status');
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatStatus(result));
    });
}
