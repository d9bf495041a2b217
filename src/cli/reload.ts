/**
 * `rpc reload`: rolling reload; returns when every old worker has been replaced and has exited.
 */
import type { Command } from 'commander';
import type { ReloadResult } from '../master/supervisor.js';
import { requestMaster } from './master-client.js';
import { type CommonOptions, command } from './options.js';

/** The `reload` command. */
export function reloadCommand(): Command {
  return command('reload', 'replace every worker, one at a time, without dropping calls')
    .option('--json', 'print the result as JSON', false)
    .action(async (options: CommonOptions & { json: boolean }) => {
      // No timeout: the master answers when the last old worker has drained.
      const { result } = await requestMaster<ReloadResult>(options, 'reload', 0);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      let n = 0;
      for (const { service, replaced } of result.services) {
        n += replaced.length;
        const pairs = replaced.map((r) => `${r.oldPid ?? '(none)'} -> ${r.newPid}`).join(', ');
        process.stdout.write(`${service}: ${pairs}\n`);
      }
      process.stdout.write(`reloaded ${n} workers in ${result.durationMs} ms\n`);
    });
}
