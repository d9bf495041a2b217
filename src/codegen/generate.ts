/**
 * The code generator: an IDL file and everything it includes into the files of one folder,
 * as Apache's `thrift -r --gen js:node,es6` lays them out, with declarations and the JSON
 * description beside them. Per IDL file `<file>_types.js` / `.d.ts` and `<file>.json`; per
 * service `<Service>.js` / `.d.ts`. Included files land in the same folder, so the generated
 * `require('./shared_types')` finds them. A pure function of the model: no file is read or written.
 *
 * @example
 * const model = IdlModel.load('idl/Orders.thrift');
 * for (const [file, text] of generateFiles(model, model.program.roots[0]!, { i64: 'bigint' })) ...
 */
import type { IdlDocument } from '../idl/ast.js';
import type { IdlModel } from '../idl/idl-model.js';
import { GenError } from '../host/host-errors.js';
import { packageVersion } from '../version.js';
import { dtsServiceModule } from './dts-service.js';
import { dtsTypesModule } from './dts-types.js';
import { idlJson } from './idl-json.js';
import { jsServiceModule, jsTypesModule } from './js-modules.js';
import { fileHeader } from './js-prelude.js';
import type { I64Mode } from './js-scope.js';

export type { I64Mode } from './js-scope.js';

/** Options of {@link generateFiles}. */
export interface GenerateOptions {
  /** How i64 values are represented, in the code and in its types. @default 'bigint' */
  i64?: I64Mode;
}

/** The generated files of `root` and what it includes: file name → content. */
export function generateFiles(model: IdlModel, root: IdlDocument, options: GenerateOptions = {}): Map<string, string> {
  const mode = options.i64 ?? 'bigint';
  const version = packageVersion();
  const files = new Map<string, string>();
  const set = (name: string, text: string, doc: IdlDocument) => {
    if (files.has(name)) throw new GenError(`${doc.file}: two IDL files generate ${name} into one folder; rename a service or file`);
    files.set(name, text);
  };
  for (const doc of withIncludes(model, root)) {
    const header = dtsHeader(doc, mode, version);
    set(`${doc.name}_types.js`, jsTypesModule(model, doc, { mode, version }), doc);
    set(`${doc.name}_types.d.ts`, dtsTypesModule(model, doc, mode, header), doc);
    set(`${doc.name}.json`, idlJson(model, doc), doc);
    for (const def of doc.definitions) {
      if (def.kind !== 'service') continue;
      const service = model.service(doc, def);
      set(`${def.name}.js`, jsServiceModule(service, { mode, version }), doc);
      set(`${def.name}.d.ts`, dtsServiceModule(service, header), doc);
    }
  }
  return files;
}

/** The services `generateFiles` writes for `root` itself (not its includes). */
export function rootServices(root: IdlDocument): string[] {
  return root.definitions.filter((d) => d.kind === 'service').map((d) => d.name);
}

// --- internal ---

/** `root`, then every file it includes, directly or not, each once. */
function withIncludes(model: IdlModel, root: IdlDocument): IdlDocument[] {
  const seen = new Set<IdlDocument>([root]);
  const queue = [root];
  for (let i = 0; i < queue.length; i++) {
    for (const inc of model.program.includesOf(queue[i]!).values()) {
      if (!seen.has(inc)) {
        seen.add(inc);
        queue.push(inc);
      }
    }
  }
  return queue;
}

function dtsHeader(doc: IdlDocument, mode: I64Mode, version: string): string {
  return fileHeader(`${doc.name}.thrift`, mode, version).replace("'use strict';\n", '\n');
}
