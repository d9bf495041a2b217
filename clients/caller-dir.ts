/**
 * Where relative paths of the client config resolve: the folder of the file that called
 * `ThriftClient.config()`, as an `import` path would, not the working directory (which changes
 * with how and where a program is started). Also: the nearest `gen/` folder above that file, and
 * the file a generated module object was loaded from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The client library's own folder (clients/, or dist/clients/ when built): not the caller. */
const OWN_DIR = path.resolve(__dirname);

/**
 * The folder of the first file on the current stack outside thrifthost, or the working
 * directory when there is none (a REPL, `node -e`).
 */
export function callerDir(): string {
  const saved = Error.prepareStackTrace;
  let frames: NodeJS.CallSite[] = [];
  try {
    Error.prepareStackTrace = (_err, stack) => stack;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerDir);
    frames = (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = saved;
  }
  for (const frame of frames) {
    let file = frame.getFileName();
    if (!file || file.startsWith('node:')) continue;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (!path.isAbsolute(file) || file.startsWith(OWN_DIR + path.sep)) continue;
    return path.dirname(file);
  }
  return process.cwd();
}

/** The nearest `gen` folder at or above `dir`, else `<dir>/gen` (whose absence the loader reports). */
export function nearestGenDir(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'gen');
    if (fs.existsSync(candidate) && fs.statSync(candidate).isDirectory()) return candidate;
    if (path.dirname(d) === d) return path.join(dir, 'gen');
  }
}

/**
 * The file a generated module was loaded from, given the module itself: `require('./gen/X/X.js')`,
 * or `import * as X from './gen/X/X.js'` (whose `default` is the CommonJS exports). Undefined when
 * the object is no module that `require` loaded.
 */
export function moduleFile(mod: object): string | undefined {
  const exportsObject = (mod as { default?: unknown }).default ?? mod;
  for (const [file, entry] of Object.entries(require.cache)) {
    if (entry && (entry.exports === exportsObject || entry.exports === mod)) return file;
  }
  return undefined;
}
