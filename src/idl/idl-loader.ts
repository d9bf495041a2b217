/**
 * Reads IDL files and everything they include, as Apache's compiler finds them: an include path
 * is tried relative to the including file's folder first, then in each include folder (`-I`) in
 * order; an absolute path is taken as is. Each file is parsed once, however often it is included
 * (include cycles are harmless). Two includes of one file with the same base name would make
 * `name.Type` ambiguous, and are refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IdlDocument } from './ast.js';
import { IdlIncludeError } from './idl-errors.js';
import { parseIdl } from './parser.js';

/** Options of {@link loadIdl}. */
export interface LoadIdlOptions {
  /** Folders searched for an include after the including file's own folder (Apache's `-I`). @default [] */
  includeDirs?: readonly string[];
  /** Reads a file; tests and tools may serve files from memory. @default fs.readFileSync(file, 'utf8') */
  readFile?: (file: string) => string;
}

/** IDL documents and how they include each other. */
export interface IdlProgram {
  /** The files asked for, parsed, in the order given. */
  readonly roots: readonly IdlDocument[];
  /** Every document read, roots and includes, by absolute path. */
  readonly documents: ReadonlyMap<string, IdlDocument>;
  /** The documents `doc` includes, by the name it refers to them with (`shared` for `shared.thrift`). */
  includesOf(doc: IdlDocument): ReadonlyMap<string, IdlDocument>;
}

/**
 * Parses `files` and, recursively, what they include.
 * @throws IdlParseError, IdlIncludeError (a missing include names the including line and every folder tried)
 * @example
 * const program = loadIdl(['idl/Shop.thrift'], { includeDirs: ['idl/common'] });
 */
export function loadIdl(files: string | readonly string[], options: LoadIdlOptions = {}): IdlProgram {
  const includeDirs = (options.includeDirs ?? []).map((d) => path.resolve(d));
  const readFile = options.readFile ?? ((f: string) => fs.readFileSync(f, 'utf8'));
  const documents = new Map<string, IdlDocument>();
  const includes = new Map<IdlDocument, Map<string, IdlDocument>>();

  const read = (file: string, from?: { file: string; loc: IdlDocument['includes'][number]['loc'] }) => {
    const known = documents.get(file);
    if (known) return known;
    let source: string;
    try {
      source = readFile(file);
    } catch (err) {
      throw new IdlIncludeError(from?.file ?? file, from?.loc, `cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const doc = parseIdl(source, file);
    documents.set(file, doc);
    const byName = new Map<string, IdlDocument>();
    includes.set(doc, byName);
    for (const inc of doc.includes) {
      const target = findInclude(inc.path, path.dirname(file), includeDirs);
      if (!target) {
        const tried = [path.dirname(file), ...includeDirs].map((d) => path.join(d, inc.path));
        throw new IdlIncludeError(
          file,
          inc.loc,
          `include "${inc.path}" not found (tried ${tried.join(', ')}); add its folder with an include directory (-I)`,
        );
      }
      const included = read(target, { file, loc: inc.loc });
      const clash = byName.get(included.name);
      if (clash && clash !== included) {
        throw new IdlIncludeError(
          file,
          inc.loc,
          `include "${inc.path}" and ${clash.file} are both named "${included.name}": "${included.name}.X" would be ambiguous`,
        );
      }
      byName.set(included.name, included);
    }
    return doc;
  };

  const roots = (typeof files === 'string' ? [files] : files).map((f) => read(path.resolve(f)));
  return {
    roots,
    documents,
    includesOf: (doc) => includes.get(doc) ?? new Map(),
  };
}

/**
 * Every `*.thrift` file of `dir` (not its subfolders), sorted by name, as {@link loadIdl} reads them.
 * @throws IdlIncludeError when the folder cannot be read or holds no IDL file
 */
export function loadIdlDir(dir: string, options: LoadIdlOptions = {}): IdlProgram {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.thrift')).sort();
  } catch (err) {
    throw new IdlIncludeError(dir, undefined, `cannot read the IDL folder: ${(err as Error).message}`, { cause: err });
  }
  if (names.length === 0) throw new IdlIncludeError(dir, undefined, 'no *.thrift file in the IDL folder');
  return loadIdl(
    names.map((n) => path.join(dir, n)),
    options,
  );
}

// --- internal ---

function findInclude(name: string, fromDir: string, includeDirs: readonly string[]): string | undefined {
  if (path.isAbsolute(name)) return fs.existsSync(name) ? name : undefined;
  for (const dir of [fromDir, ...includeDirs]) {
    const candidate = path.resolve(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}
