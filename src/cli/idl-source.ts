/**
 * Which IDL `rpc call` and `rpc describe` read: `--idl FILE` (its includes followed), else
 * every `*.thrift` of the project's `idl/` folder (beside the nearest rpc.config.json, else in
 * the working directory). `-I DIR` adds include folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadIdl, loadIdlDir } from '../idl/idl-loader.js';
import { IdlModel } from '../idl/idl-model.js';

/** The IDL options shared by `call` and `describe`. */
export interface IdlSourceOptions {
  /** IDL files given with `--idl` (repeatable). */
  idl?: string[];
  /** Include folders given with `-I` (repeatable). */
  include?: string[];
  /** The config file (found or given); its folder's `idl/` is the default IDL folder. */
  config?: string;
}

/**
 * Loads and resolves the IDL the options name.
 * @throws IdlParseError / IdlIncludeError / IdlResolveError
 */
export function loadIdlModel(options: IdlSourceOptions): IdlModel {
  const includeDirs = options.include ?? [];
  if (options.idl?.length) return new IdlModel(loadIdl(options.idl, { includeDirs }));
  const projectDir = options.config && fs.existsSync(options.config) ? path.dirname(options.config) : process.cwd();
  return new IdlModel(loadIdlDir(path.join(projectDir, 'idl'), { includeDirs }));
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
