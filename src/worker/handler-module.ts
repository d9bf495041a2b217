/**
 * Loading a handler module: `import()` for every kind a user may write (`.ts`, `.mts`, `.cts`,
 * `.js`, `.mjs`, `.cjs`; ESM, CommonJS, top-level await), TypeScript through Node's own type
 * stripping (no loader, no build step), and one {@link HandlerLoadError} that names the file, the
 * construct and the fix when Node cannot run it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ThriftHostError } from '../common/errors.js';

/** A handler module could not be loaded or does not implement its service. */
export class HandlerLoadError extends ThriftHostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HANDLER_LOAD', message, options);
  }
}

/** Handler file extensions, in the order the default lookup tries them. */
export const HANDLER_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

/** TypeScript extensions: Node runs them by stripping the types. */
const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/** How long finding the line of a module's syntax error may take (a child process compiles it). */
const MODULE_CHECK_TIMEOUT_MS = 10_000;

/** Run by `node -e` with a file: compiles it as an ES module, types stripped, and never runs it. */
const COMPILE_AS_MODULE = `
const file = process.argv[1];
let source = require('node:fs').readFileSync(file, 'utf8');
if (/\\.[cm]?ts$/.test(file)) source = require('node:module').stripTypeScriptTypes(source);
new (require('node:vm').SourceTextModule)(source, { identifier: '[handler]' });
`;

/**
 * The handler of `base` (a path without extension, e.g. `services/Orders/handler`): the first of
 * `base.ts`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs` that exists, else `base.ts` (so the error that
 * follows names the file a new project is expected to write).
 */
export function findHandlerFile(base: string): string {
  for (const ext of HANDLER_EXTENSIONS) {
    if (fs.existsSync(base + ext)) return base + ext;
  }
  return `${base}.ts`;
}

/**
 * Imports a handler module and returns its namespace object.
 * @throws HandlerLoadError naming the file; for TypeScript that Node cannot strip, the construct,
 * its line and the rewrite that fixes it.
 */
export async function importHandlerModule(file: string, where: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw loadFailure(err, file, where);
  }
}

/**
 * `require()`s a handler module: the synchronous path of in-process servers. Node 22.12+ and 24
 * require ESM and TypeScript too, but not an ES module that uses top-level await (workers
 * use {@link importHandlerModule}, which does).
 * @throws HandlerLoadError as {@link importHandlerModule}
 */
export function requireHandlerModule(file: string, where: string): Record<string, unknown> {
  try {
    return createRequire(file)(file) as Record<string, unknown>;
  } catch (err) {
    throw loadFailure(err, file, where);
  }
}

/**
 * Finds the handler value in a loaded module, whichever way it was written:
 * `export const <Service>Handler` / `exports.<Service>Handler`, `export default`,
 * `module.exports = handler`, `export const handler`, or the module's own exports.
 */
export function pickHandlerExport(mod: Record<string, unknown>, service: string): unknown {
  const name = `${service}Handler`;
  // import() of CommonJS gives `default` = module.exports, plus the names Node could detect.
  const cjs = isObjectLike(mod.default) ? (mod.default as Record<string, unknown>) : undefined;
  return (
    mod[name] ??
    cjs?.[name] ??
    (cjs && cjs.__esModule ? cjs.default : undefined) ??
    mod.handler ??
    (typeof cjs?.handler === 'object' ? cjs.handler : undefined) ??
    mod.default ??
    mod
  );
}

// --- internal ---

function isObjectLike(value: unknown): boolean {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function loadFailure(err: unknown, file: string, where: string): HandlerLoadError {
  const e = err as NodeJS.ErrnoException;
  const ext = path.extname(file);
  let message: string;
  if (e?.code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
    message =
      `Loading ${where} failed: ${e.message}${locationOf(e, file).text}. Node runs TypeScript by erasing ` +
      'types only; rewrite what needs code generated: an enum as a `const` object (`as const`), a ' +
      'namespace as a module, a constructor parameter property (`constructor(private x: T)`) as a ' +
      "field assigned in the constructor, `import x = require('m')` as `import x from 'm'`, " +
      '`export = x` as `export default x`. (Or add "--experimental-transform-types" to the service\'s "nodeArgs".)';
  } else if (
    TS_EXTENSIONS.has(ext) &&
    (e?.code === 'ERR_UNKNOWN_FILE_EXTENSION' || e?.code === 'ERR_NO_TYPESCRIPT')
  ) {
    message =
      `Loading ${where} failed: Node ${process.version} does not run TypeScript (${e.code}). ` +
      'thrifthost runs handler.ts through Node\'s built-in type stripping: use Node 22.18+ or 24 ' +
      '(without --no-experimental-strip-types), or compile the handler to .js and point "handler" at it.';
  } else if (e?.code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') {
    message =
      `Loading ${where} failed: Node does not strip types of files under node_modules (${e.code}). ` +
      'Keep TypeScript handlers in your project, or ship them compiled to .js.';
  } else if (e?.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`'${file}'`)) {
    message = `Loading ${where} failed: ${file} does not exist`;
  } else if (e?.code === 'ERR_REQUIRE_ASYNC_MODULE') {
    message =
      `Loading ${where} failed: it uses top-level await, which require() cannot load. ` +
      'Workers import() their handlers and support it; an in-process ThriftServer needs ThriftServer.create().';
  } else {
    const location = locationOf(e, file);
    message = `Loading ${where} failed: ${(err as Error)?.message ?? String(err)}${location.text}`;
    if (location.source?.startsWith('@')) {
      message +=
        '. A decorator: Node runs none (type stripping keeps them, and V8 does not implement them); ' +
        'call the decorator function yourself, or compile the handler with tsc';
    }
  }
  return new HandlerLoadError(message, { cause: err });
}

/**
 * Where in the handler file Node failed to compile it: ` (file:line: `source`)` as `text`, and that
 * line's source; an empty text when the error is not at a position in the file.
 */
function locationOf(err: Error | undefined, file: string): { text: string; source?: string } {
  const line = errorLine(err, file);
  if (line === undefined) return { text: '' };
  const source = sourceLine(file, line);
  return { text: ` (${file}:${line}${source ? `: \`${source.slice(0, 80)}\`` : ''})`, source };
}

/** The line of the handler file a compile error names; undefined when it names none. */
function errorLine(err: Error | undefined, file: string): number | undefined {
  // A compile error's stack starts with `<file>:<line>`, the file as a path or as a file: URL
  // (`.mts`, `.cts`, and require() of `.ts`), then the lines around it.
  const first = err?.stack?.split('\n', 1)[0] ?? '';
  const m = /^(.*):(\d+)$/.exec(first);
  if (m) return samePath(m[1]!, file) ? Number(m[2]) : undefined;
  // V8 gives a syntax error in an ES module (a decorator in a `.mts`) no position at all; one
  // in CommonJS always has its position in the stack.
  if (err?.name === 'SyntaxError' && !/\.c[jt]s$/.test(file)) return moduleSyntaxErrorLine(file);
  return undefined;
}

function samePath(pathOrUrl: string, file: string): boolean {
  try {
    const p = pathOrUrl.startsWith('file:') ? fileURLToPath(pathOrUrl) : pathOrUrl;
    return path.resolve(p) === path.resolve(file);
  } catch {
    return false;
  }
}

function sourceLine(file: string, line: number): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/)[line - 1]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compiles `file` as an ES module (types stripped), without running it, in a child process and
 * returns the line of its syntax error. Only V8's report of an uncaught error prints the
 * position of a module's syntax error, so the child lets it go uncaught.
 */
function moduleSyntaxErrorLine(file: string): number | undefined {
  const run = spawnSync(process.execPath, ['--no-warnings', '--experimental-vm-modules', '-e', COMPILE_AS_MODULE, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: MODULE_CHECK_TIMEOUT_MS,
  });
  const m = /^\[handler\]:(\d+)$/m.exec(run.stderr ?? '');
  return m ? Number(m[1]) : undefined;
}
