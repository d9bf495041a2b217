/**
 * `rpc start --watch` (development): watch the folders of the handler modules and the generated
 * code of every service, and reload the workers, debounced, when a file there changes.
 *
 * One non-recursive `fs.watch` (inotify) per folder rather than `{ recursive: true }`: a handler
 * folder can be the project root, and the recursive watcher would first walk all of
 * `node_modules`; walking ourselves lets ignored folders be skipped before they are read.
 * A reload that fails (a syntax error in the handler) keeps the old workers serving, so the
 * watcher only reports it and waits for the next change.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HostConfig } from '../config/config.js';
import type { Logger } from '../host/logger.js';
import type { ReloadResult } from './supervisor.js';

/** Options of {@link watchFiles}. */
export interface FileWatcherOptions {
  /** Folders watched with everything below them (ignored paths excepted). */
  roots: string[];
  /** True for a file or folder whose changes do not count (and whose folders are not entered). */
  ignore(file: string): boolean;
  /** True for a file (not ignored) whose changes count. @default every file */
  relevant?(file: string): boolean;
  /** Called with the changed paths once no change has come for `debounceMs`. */
  onChange(files: string[]): void;
  /** @default 300 */
  debounceMs?: number;
}

/** A running watcher. */
export interface FileWatcher {
  /** Folders watched right now. */
  folders(): string[];
  /** Stops watching and drops a pending change. Idempotent. */
  close(): void;
}

/** Default of {@link FileWatcherOptions.debounceMs}: an editor's save is several events. */
export const DEFAULT_WATCH_DEBOUNCE_MS = 300;

/**
 * Watches `roots` and reports changed files in batches.
 *
 * @example
 * const watcher = watchFiles({ roots: ['./services'], ignore: () => false, onChange: console.log });
 * // ... later
 * watcher.close();
 */
export function watchFiles(options: FileWatcherOptions): FileWatcher {
  const debounceMs = options.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
  const watchers = new Map<string, fs.FSWatcher>();
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const flush = () => {
    timer = undefined;
    const files = [...changed];
    changed.clear();
    if (!closed && files.length > 0) options.onChange(files);
  };
  const note = (file: string) => {
    changed.add(file);
    clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  };
  const unwatch = (dir: string) => {
    for (const [d, w] of watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        watchers.delete(d);
      }
    }
  };
  const watchDir = (dir: string) => {
    if (closed || watchers.has(dir)) return;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
        // Without a name there is no telling a log line from a handler edit: skip it rather than
        // risk a reload loop.
        if (closed || !name) return;
        const file = path.join(dir, name.toString());
        if (options.ignore(file)) return;
        if (isDirectory(file)) return watchDir(file); // a new folder is no change by itself
        if (!fs.existsSync(file)) unwatch(file); // in case it was a folder
        if (options.relevant?.(file) ?? true) note(file);
      });
    } catch {
      return; // gone already, or not readable
    }
    watcher.on('error', () => unwatch(dir));
    watchers.set(dir, watcher);
    for (const entry of readDir(dir)) {
      const sub = path.join(dir, entry.name);
      if (entry.isDirectory() && !options.ignore(sub)) watchDir(sub);
    }
  };
  for (const root of options.roots) watchDir(path.resolve(root));

  return {
    folders: () => [...watchers.keys()],
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}

/**
 * What `--watch` watches for `config`: the folder of every handler module and every service's
 * generated-code folder; ignored: dotfiles and dot folders, `node_modules`, `logs` and the log
 * folder, the pid file and the control socket, editor backup and swap files. Only modules count
 * (`.js`, `.cjs`, `.mjs`, `.ts`, `.mts`, `.cts`, `.json`, `.node`): output redirected into a watched folder
 * (`rpc start --watch > out.txt`) must not reload, which would write more output.
 */
export function watchTargets(config: HostConfig): Pick<FileWatcherOptions, 'roots' | 'ignore' | 'relevant'> {
  const roots = new Set<string>();
  for (const service of config.services) {
    for (const b of service.bindings) roots.add(path.dirname(b.handler));
    roots.add(service.genDir);
  }
  const logDir = path.resolve(config.logDir);
  const pidFile = path.resolve(config.pidFile);
  return {
    roots: [...roots],
    ignore(file) {
      if (file === pidFile || file.startsWith(`${pidFile}.`)) return true; // .sock, .<pid>.tmp
      if (file === logDir || file.startsWith(logDir + path.sep)) return true;
      // Every name below the watched folder counts (a root itself may sit in a dot folder).
      const root = [...roots].find((r) => file.startsWith(r + path.sep));
      const names = root ? path.relative(root, file).split(path.sep) : [path.basename(file)];
      return names.some((name) => IGNORED_NAME.test(name));
    },
    relevant: (file) => MODULE_EXTENSIONS.has(path.extname(file)),
  };
}

/**
 * Runs {@link watchFiles} over {@link watchTargets} and reloads on every batch of changes. A
 * change during a reload queues one more reload after it.
 */
export function reloadOnChange(
  config: HostConfig,
  reload: () => Promise<ReloadResult>,
  logger: Logger,
): FileWatcher {
  let running = false;
  let again: string[] | undefined;
  const run = async (files: string[]) => {
    if (running) {
      again = [...(again ?? []), ...files];
      return;
    }
    running = true;
    const shown = files
      .slice(0, 3)
      .map((f) => path.relative(config.baseDir, f) || f)
      .join(', ');
    const what = `${shown}${files.length > 3 ? ` and ${files.length - 3} more` : ''}`;
    logger.info({ files }, `watch: ${what} changed; reloading`);
    try {
      const result = await reload();
      const n = result.services.reduce((sum, s) => sum + s.replaced.length, 0);
      logger.info(
        { durationMs: result.durationMs },
        `watch: reloaded ${n} workers in ${result.durationMs} ms`,
      );
    } catch (err) {
      logger.error({ err }, `watch: reload failed, the old workers keep serving: ${(err as Error).message}`);
    } finally {
      running = false;
      const next = again;
      again = undefined;
      if (next) void run(next);
    }
  };
  const target = watchTargets(config);
  const watcher = watchFiles({ ...target, onChange: (files) => void run(files) });
  logger.info(
    { folders: target.roots },
    `watch: reloading on changes under ${target.roots.map((r) => path.relative(config.baseDir, r) || '.').join(', ')}`,
  );
  return watcher;
}

// --- internal ---

/** Names whose changes never reload: dotfiles, dependencies, logs, editor leftovers. */
const IGNORED_NAME = /^(\..*|node_modules|logs|4913|.*~|.*\.sw[a-p])$/;

/** Files that `require` loads: the only ones whose change can alter a worker. */
const MODULE_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.ts', '.mts', '.cts', '.json', '.node']);

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
