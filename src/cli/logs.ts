/**
 * `rpc logs [-f] [--service S] [--level L] [-n N]`: the daemon's log file (`<logDir>/rpc.log`,
 * JSON lines) as readable lines, filtered by service and minimum level; `-f` follows it,
 * across rotations (the file shrinking means it was rotated: read on from its start).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, loadHostConfig } from '../config/config.js';
import { formatRecord, LOG_LEVELS } from '../host/logger.js';
import { daemonLogFile } from './daemon.js';
import { type CommonOptions, command } from './options.js';

/** Options of `rpc logs`. */
export interface LogsOptions extends CommonOptions {
  follow: boolean;
  service?: string;
  level?: string;
  /** Last lines to print before following; 0 = the whole file. @default 100 */
  lines: string;
}

/** How often `-f` looks for new lines. */
const FOLLOW_POLL_MS = 250;

/** The `logs` command. */
export function logsCommand(): Command {
  return command('logs', 'print the log file readably (-f to follow)')
    .option('-f, --follow', 'keep printing new lines (Ctrl-C stops)', false)
    .option('--service <name>', 'only lines of this service (its workers)')
    .option('--level <level>', 'only lines at this level or above: trace debug info warn error fatal')
    .option('-n, --lines <n>', 'start with the last n lines (0: the whole file)', '100')
    .action(async (options: LogsOptions) => {
      const config = loadHostConfig(options.config, { checkFiles: false });
      const file = daemonLogFile(config);
      const filter = lineFilter(options);
      if (!fs.existsSync(file)) {
        if (!options.follow) throw new ConfigError(`No log file ${file} yet: it is written by \`rpc start -d\``);
      }
      const lines = Number.parseInt(options.lines, 10);
      if (!Number.isInteger(lines) || lines < 0) throw new ConfigError(`--lines must be an integer >= 0, got ${options.lines}`);
      let offset = 0;
      if (fs.existsSync(file)) {
        const text = fs.readFileSync(file, 'utf8');
        offset = Buffer.byteLength(text);
        const all = text.split('\n').filter((l) => l !== '');
        const shown = all.map(filter).filter((l): l is string => l !== undefined);
        for (const l of lines === 0 ? shown : shown.slice(-lines)) process.stdout.write(`${l}\n`);
      }
      if (options.follow) await follow(file, offset, filter);
    });
}

/**
 * Turns a log line into what to print, or undefined to skip it. Lines that are not JSON (a
 * stack trace printed by Node) are printed as they are unless a filter is set.
 */
export function lineFilter(options: { service?: string; level?: string }): (line: string) => string | undefined {
  let min = 0;
  if (options.level !== undefined) {
    const entry = Object.entries(LOG_LEVELS).find(([, name]) => name === options.level!.toUpperCase());
    if (!entry) {
      throw new ConfigError(
        `--level "${options.level}" is not one of ${Object.values(LOG_LEVELS).join(', ').toLowerCase()}`,
      );
    }
    min = Number(entry[0]);
  }
  const filtering = options.service !== undefined || min > 0;
  return (line) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return filtering ? undefined : line;
    }
    if (typeof rec !== 'object' || rec === null || typeof rec.level !== 'number') return filtering ? undefined : line;
    if (options.service !== undefined && rec.service !== options.service) return undefined;
    if ((rec.level as number) < min) return undefined;
    return formatRecord(rec, true);
  };
}

// --- internal ---

function follow(file: string, start: number, filter: (line: string) => string | undefined): Promise<never> {
  let offset = start;
  let partial = '';
  const poll = () => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size < offset) {
      offset = 0; // rotated (copied and truncated): read the new content from the start
      partial = '';
    }
    if (size === offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      const text = partial + buf.subarray(0, n).toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        const out = l === '' ? undefined : filter(l);
        if (out !== undefined) process.stdout.write(`${out}\n`);
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  setInterval(poll, FOLLOW_POLL_MS);
  return new Promise<never>(() => {});
}
