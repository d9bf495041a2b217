/**
 * Rotation of the daemon's log file `<logDir>/rpc.log`, daily and/or by size, and on demand
 * (SIGUSR2 to the master). The master and every worker write to that file through one shared,
 * append-mode file descriptor inherited at spawn, which no process can reopen for the others; so
 * rotation copies the file to `rpc.log.<date>` and truncates it in place (logrotate's
 * `copytruncate`), and every writer carries on at the start of the emptied file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LogRotateConfig } from '../config/config.js';
import type { Logger } from '../host/logger.js';

/** How often the size and the date are checked. */
const CHECK_MS = 10_000;

/** Options of {@link startLogRotation}. */
export interface LogRotationOptions extends LogRotateConfig {
  /** The log file. */
  file: string;
  /** Clock (tests). @default Date.now */
  now?: () => number;
  /** Check interval. @default 10000 */
  checkMs?: number;
}

/** A running rotation. */
export interface LogRotation {
  /** Rotates now (unless the file is empty); returns the rotated file's path. */
  rotate(): string | undefined;
  /** Rotates if a condition is met; what the timer runs. */
  check(): string | undefined;
  close(): void;
}

/**
 * Starts checking `file` every `checkMs`.
 * @example
 * const rotation = startLogRotation({ file: 'logs/rpc.log', daily: true, maxBytes: 0, keep: 7 }, log);
 * process.on('SIGUSR2', () => rotation.rotate());
 */
export function startLogRotation(options: LogRotationOptions, log?: Logger): LogRotation {
  const now = options.now ?? Date.now;
  let day = localDay(now());
  const rotation: LogRotation = {
    rotate() {
      let size = 0;
      try {
        size = fs.statSync(options.file).size;
      } catch {
        return undefined;
      }
      if (size === 0) return undefined;
      const target = freeName(`${options.file}.${stamp(now(), options.daily && options.maxBytes === 0)}`);
      fs.copyFileSync(options.file, target);
      fs.truncateSync(options.file, 0);
      prune(options.file, options.keep);
      log?.info({ rotatedTo: target, bytes: size }, `log rotated to ${path.basename(target)}`);
      return target;
    },
    check() {
      const today = localDay(now());
      const newDay = options.daily && today !== day;
      day = today;
      let big = false;
      if (options.maxBytes > 0) {
        try {
          big = fs.statSync(options.file).size >= options.maxBytes;
        } catch {
          big = false;
        }
      }
      return newDay || big ? rotation.rotate() : undefined;
    },
    close() {
      clearInterval(timer);
    },
  };
  const timer = setInterval(() => {
    try {
      rotation.check();
    } catch (err) {
      log?.error({ err }, 'log rotation failed');
    }
  }, options.checkMs ?? CHECK_MS);
  timer.unref();
  return rotation;
}

// --- internal ---

function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** `2026-11-30` for a daily rotation (the day the file holds), else with the time of day. */
function stamp(ms: number, dayOnly: boolean): string {
  // A daily rotation happens just after midnight: the content is the previous day's.
  if (dayOnly) return localDay(ms - 60_000);
  const d = new Date(ms);
  return `${localDay(ms)}T${pad(d.getHours())}-${pad(d.getMinutes())}-${pad(d.getSeconds())}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function freeName(base: string): string {
  if (!fs.existsSync(base)) return base;
  for (let i = 1; ; i++) if (!fs.existsSync(`${base}.${i}`)) return `${base}.${i}`;
}

/** Deletes the oldest rotated copies beyond `keep`. */
function prune(file: string, keep: number): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const rotated = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => ({ f, mtime: fs.statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime || b.f.localeCompare(a.f));
  for (const { f } of rotated.slice(keep)) fs.rmSync(path.join(dir, f), { force: true });
}
