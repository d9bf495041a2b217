/**
 * Loads the generated code of a service and describes it: for every method, its args/result
 * classes, argument names and whether it is oneway. Both the host (to decode calls and encode
 * replies itself) and the client (to encode calls and decode replies on its own pipelined
 * connections) build on this description.
 *
 * Code from `rpc gen` describes itself (`exports[Symbol.for('thrifthost.service')]`: its methods,
 * inherited ones included, and its i64 representation), and its classes write replies and calls
 * from plain objects themselves. Code from Apache's compiler (`--gen js:node,es6`, what `rpc gen`
 * ran before) still loads: it exports only `Client` and `Processor`, its per-method
 * `X_args`/`X_result` classes are module-private `const`s, so the file is compiled with one line
 * appended that exports them, and reply writers are compiled from the `<Name>.json` beside it.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { GeneratedCodeError } from '../common/errors.js';
import type { I64Mode } from './decode-limits.js';
import { type ArgsWriter, compileWriters, type IdlDocumentJson, type MethodWriters, type ResultWriter } from './struct-writers.js';

/** A generated struct/exception class. */
export type ThriftStructClass = new (
  args?: any,
) => {
  read(input: unknown): void;
  write(output: unknown): void;
  [field: string]: any;
};

/** One method of a generated service. */
export interface MethodInfo {
  readonly name: string;
  /** Argument names in IDL order: the order the handler receives them in. */
  readonly argNames: readonly string[];
  readonly Args: ThriftStructClass;
  readonly Result: ThriftStructClass;
  readonly oneway: boolean;
  /** Result fields that hold declared exceptions (every field but `success`). */
  readonly exceptionFields: readonly string[];
  /** False for a void method (its result has no `success` field). */
  readonly returnsValue: boolean;
  /**
   * Writes a successful result without the generated result class (see struct-writers.ts);
   * absent when `rpc gen` left no IDL description beside the code, or for a type it cannot write.
   */
  readonly writeResult?: ResultWriter;
  /** Writes a call's arguments without the generated args class (the client's side); same rules. */
  readonly writeArgs?: ArgsWriter;
}

/** How the generated code represents i64 values; undefined for code that does not say (Apache's). */
export type GeneratedI64 = I64Mode | undefined;

/**
 * What the client's call engine needs of a service: its methods, from generated code or built
 * from the IDL at run time (`generic-method.ts`).
 */
export interface ServiceDescription {
  readonly name: string;
  /** Absolute path of `<Service>.js`, or of the IDL file for a service described at run time. */
  readonly file: string;
  readonly methods: ReadonlyMap<string, MethodInfo>;
}

/** A generated service: its module, types module and methods. */
export interface GeneratedService extends ServiceDescription {
  /** The generated module's exports (`Client`, `Processor`). */
  readonly module: { Client: new (...a: any[]) => any; Processor: new (handler: any) => any };
  /** The i64 representation `rpc gen` generated the code with; undefined for Apache's code. */
  readonly i64: GeneratedI64;
}

const cache = new Map<string, GeneratedService>();

/**
 * Candidate locations of `<service>.js` under a generated-code directory, in lookup order: its
 * own folder, the directory itself, Apache's `gen-nodejs/`, then the folder of any IDL file
 * (`rpc gen` writes a service into the folder of the file that defines it, `gen/<file>/`).
 */
export function generatedFileCandidates(genDir: string, service: string): string[] {
  const fixed = [
    path.join(genDir, service, `${service}.js`),
    path.join(genDir, `${service}.js`),
    path.join(genDir, 'gen-nodejs', `${service}.js`),
  ];
  const folders = listDir(genDir)
    .filter((e) => e.isDirectory() && e.name !== service && e.name !== 'gen-nodejs')
    .map((e) => path.join(genDir, e.name, `${service}.js`))
    .sort();
  return [...fixed, ...folders];
}

/**
 * The services whose generated code is under `genDir`, in the layouts
 * {@link generatedFileCandidates} looks in, sorted; for a "did you mean" when a name finds none.
 */
export function generatedServiceNames(genDir: string): string[] {
  const names = new Set<string>();
  const isServiceFile = (e: fs.Dirent) => e.isFile() && e.name.endsWith('.js') && !e.name.endsWith('_types.js');
  for (const e of listDir(genDir)) {
    if (e.isDirectory()) {
      for (const f of listDir(path.join(genDir, e.name))) if (isServiceFile(f)) names.add(f.name.slice(0, -'.js'.length));
    } else if (isServiceFile(e)) names.add(e.name.slice(0, -'.js'.length));
  }
  for (const e of listDir(path.join(genDir, 'gen-nodejs'))) {
    if (isServiceFile(e)) names.add(e.name.slice(0, -'.js'.length));
  }
  return [...names].sort();
}

/**
 * Finds and loads the generated code of `service` under `genDir`.
 * @throws GeneratedCodeError naming every path tried and the command that generates the code.
 */
export function loadGeneratedService(genDir: string, service: string): GeneratedService {
  const tried = generatedFileCandidates(path.resolve(genDir), service);
  const file = tried.find((f) => fs.existsSync(f));
  if (!file) {
    throw new GeneratedCodeError(
      `No generated code for service ${service}: none of ${tried.join(', ')} exists. ` +
        `Put ${service}'s IDL in idl/ and run \`npm run gen\` (or \`rpc gen\`).`,
    );
  }
  return loadGeneratedFile(file, service);
}

/** Loads a generated service module from an explicit file path. */
export function loadGeneratedFile(file: string, service: string): GeneratedService {
  const key = `${file}\0${service}`;
  const hit = cache.get(key);
  if (hit) return hit;

  const source = fs.readFileSync(file, 'utf8');
  const loaded = source.includes(SELF_DESCRIBED) ? loadDescribed(file, service) : loadApacheGenerated(file, service, source);
  cache.set(key, loaded);
  return loaded;
}

/**
 * The i64 representation `rpc gen` generated `file` (a `<Service>.js`) with, read from its header
 * without loading it; undefined when the file is missing or does not say (Apache's code).
 */
export function generatedI64Mode(file: string): GeneratedI64 {
  let head: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(512);
      head = buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const m = /^\/\/ Generated by `rpc gen`.*\n\/\/ i64: (int64|bigint)\n/.exec(head);
  return m ? (m[1] as I64Mode) : undefined;
}

// --- internal ---

/** The marker of a module that describes itself (`src/codegen/js-modules.ts`). */
const SELF_DESCRIBED = "Symbol.for('thrifthost.service')";

/** What a module from `rpc gen` exports under the symbol. */
interface ServiceSelf {
  version: number;
  name: string;
  i64: I64Mode;
  methods: { name: string; Args: ThriftStructClass & StaticWriter; Result: ThriftStructClass & StaticWriter; oneway: boolean }[];
}

interface StaticWriter {
  write(output: unknown, value: unknown): void;
}

function loadDescribed(file: string, service: string): GeneratedService {
  let exported: Record<string | symbol, any>;
  try {
    exported = Module.createRequire(file)(file) as Record<string | symbol, any>;
  } catch (err) {
    throw new GeneratedCodeError(`Loading generated code ${file} failed: ${(err as Error).message}`, { cause: err });
  }
  const self = exported[Symbol.for('thrifthost.service')] as ServiceSelf | undefined;
  if (!self || self.version !== 1) {
    throw new GeneratedCodeError(`${file} was generated by another version of rpc gen: run \`npm run gen\` (or \`rpc gen\`) again`);
  }
  if (self.name !== service) {
    throw new GeneratedCodeError(`${file} was generated for service ${self.name}, not ${service}. Check the service name.`);
  }
  const methods = new Map<string, MethodInfo>();
  const EMPTY = {};
  for (const m of self.methods) {
    const { Args, Result } = m;
    const result = new Result();
    const returnsValue = 'success' in result;
    methods.set(m.name, {
      name: m.name,
      argNames: Object.keys(new Args()),
      Args,
      Result,
      oneway: m.oneway,
      exceptionFields: Object.keys(result).filter((f) => f !== 'success'),
      returnsValue,
      // The generated classes write plain objects and instances alike, IDL defaults applied.
      writeResult: returnsValue ? (o, value) => Result.write(o, { success: value }) : (o) => Result.write(o, EMPTY),
      writeArgs: (o, args) => Args.write(o, args),
    });
  }
  return { name: service, file, module: exported as GeneratedService['module'], methods, i64: self.i64 };
}

function loadApacheGenerated(file: string, service: string, source: string): GeneratedService {
  const classNames = [...source.matchAll(/^const (\w+) = class\b/gm)].map((m) => m[1] as string);
  const exported = compileWithExports(file, source, classNames);
  if (typeof exported.Processor !== 'function' || typeof exported.Client !== 'function') {
    throw new GeneratedCodeError(
      `${file} does not export Client and Processor: is it generated for service ${service} ` +
        'with `thrift --gen js:node,es6`?',
    );
  }
  const classes = exported.__thrifthostClasses as Record<string, ThriftStructClass>;
  const writers = compiledWriters(file, source, service, classes);
  const methods = new Map<string, MethodInfo>();
  const prefix = `${service}_`;
  for (const className of classNames) {
    if (!className.startsWith(prefix) || !className.endsWith('_args')) continue;
    const name = className.slice(prefix.length, -'_args'.length);
    const Args = classes[className];
    const Result = classes[`${prefix}${name}_result`];
    const processFn = exported.Processor.prototype[`process_${name}`];
    if (!Args || !Result || typeof processFn !== 'function') continue;
    methods.set(name, {
      name,
      argNames: Object.keys(new Args()),
      Args,
      Result,
      // A oneway method's generated processor never writes a reply.
      oneway: !String(processFn).includes('writeMessageBegin'),
      exceptionFields: Object.keys(new Result()).filter((f) => f !== 'success'),
      returnsValue: 'success' in new Result(),
      writeResult: writers.get(name)?.result,
      writeArgs: writers.get(name)?.args,
    });
  }
  if (methods.size === 0 && classNames.length > 0) {
    throw new GeneratedCodeError(
      `${file} defines no methods of service ${service}: the file was generated for another service ` +
        `(its classes: ${classNames.slice(0, 4).join(', ')}...). Check the service name.`,
    );
  }
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(exported.Processor.prototype))) {
    if (key.startsWith('process_') && !methods.has(key.slice(8))) {
      throw new GeneratedCodeError(
        `Service ${service} in ${file} inherits method ${key.slice(8)} (IDL \`extends\`), which thrifthost ` +
          'does not serve yet. Declare the methods in one service.',
      );
    }
  }
  return { name: service, file, module: exported as any, methods, i64: undefined };
}

/**
 * Compiled writers from the IDL description `rpc gen` keeps beside the code (`<Name>.json`,
 * named after the types module the service requires); none without it.
 */
function compiledWriters(
  file: string,
  source: string,
  service: string,
  classes: Record<string, ThriftStructClass>,
): Map<string, MethodWriters> {
  const typesModule = /require\('\.\/(\w+)_types'\)/.exec(source)?.[1];
  if (!typesModule) return new Map();
  const json = path.join(path.dirname(file), `${typesModule}.json`);
  let idl: IdlDocumentJson;
  try {
    idl = JSON.parse(fs.readFileSync(json, 'utf8')) as IdlDocumentJson;
  } catch {
    return new Map();
  }
  const types = Module.createRequire(file)(`./${typesModule}_types`) as Record<string, unknown>;
  return compileWriters(idl, service, { ...types, ...classes });
}

function compileWithExports(file: string, source: string, classNames: string[]): Record<string, any> {
  const mod = new Module(file) as Module & { _compile(code: string, filename: string): void };
  mod.filename = file;
  mod.paths = (Module as any)._nodeModulePaths(path.dirname(file));
  const suffix = `\n;module.exports.__thrifthostClasses = { ${classNames.join(', ')} };\n`;
  try {
    mod._compile(source + suffix, file);
  } catch (err) {
    throw new GeneratedCodeError(`Loading generated code ${file} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return mod.exports as Record<string, any>;
}

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
