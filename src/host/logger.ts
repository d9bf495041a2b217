/**
 * Logging: pino everywhere. JSON lines when stdout is a file or pipe (daemon mode, tests,
 * log shippers); a short readable line per record when stdout is a terminal.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process's logger. Workers and the master share stdout; each record carries
 * `pid` and, for workers, `service`.
 */
export function createLogger(
  options: { level?: string; name?: string; bindings?: Record<string, unknown> } = {},
): Logger {
  const pretty = process.stdout.isTTY === true && process.env.THRIFTHOST_LOG_JSON !== '1';
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      ...(options.name ? { name: options.name } : {}),
    },
    pretty ? prettyStream() : pino.destination({ dest: 1, sync: false }),
  );
  return options.bindings ? logger.child(options.bindings) : logger;
}

// --- internal ---

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name', 'service']);

/** Level names by pino number, and back. */
export const LOG_LEVELS: Readonly<Record<number, string>> = LEVELS;

/**
 * One pino record as a readable line: `time LEVEL [service pid] message key=value ...`, an
 * error's stack on the lines below. `fullDate` prints the date too (`rpc logs`).
 */
export function formatRecord(rec: Record<string, unknown>, fullDate = false): string {
  const iso = new Date(rec.time as number).toISOString();
  const time = fullDate ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.slice(11, 23);
  const who = rec.service ? `${rec.service as string} ${rec.pid}` : `master ${rec.pid}`;
  const extra = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) =>
      k === 'err' ? `\n${(v as { stack?: string }).stack ?? JSON.stringify(v)}` : ` ${k}=${JSON.stringify(v)}`,
    )
    .join('');
  return `${time} ${LEVELS[rec.level as number] ?? rec.level} [${who}] ${rec.msg ?? ''}${extra}`;
}

function prettyStream(): { write(line: string): void } {
  return {
    write(line: string) {
      process.stdout.write(`${formatRecord(JSON.parse(line) as Record<string, unknown>)}\n`);
    },
  };
}
