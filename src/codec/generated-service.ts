/**
 * Loads the code the Apache Thrift compiler generated for a service (`--gen js:node,es6`) and
 * describes it: for every method, its args/result classes, argument names and whether it is
 * oneway. Both the host (to decode calls and encode replies itself) and the client (to encode
 * calls and decode replies on its own pipelined connections) build on this description.
 *
 * The compiler exports only `Client` and `Processor`; the per-method `X_args`/`X_result` classes
 * are module-private `const`s. We compile the generated file ourselves with one line appended
 * that exports them, which changes nothing else about the module and never touches `gen/`.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { GeneratedCodeError } from '../common/errors.js';
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
}

const cache = new Map<string, GeneratedService>();

/** Candidate locations of `<service>.js` under a generated-code directory, in lookup order. */
export function generatedFileCandidates(genDir: string, service: string): string[] {
  return [
    path.join(genDir, service, `${service}.js`),
    path.join(genDir, `${service}.js`),
    path.join(genDir, 'gen-nodejs', `${service}.js`),
  ];
}

/**
 * The services whose generated code is under `genDir`, in the layouts
 * {@link generatedFileCandidates} looks in, sorted; for a "did you mean" when a name finds none.
 */
export function generatedServiceNames(genDir: string): string[] {
  const names = new Set<string>();
  const isServiceFile = (e: fs.Dirent) => e.isFile() && e.name.endsWith('.js') && !e.name.endsWith('_types.js');
  for (const e of listDir(genDir)) {
    if (e.isDirectory() && fs.existsSync(path.join(genDir, e.name, `${e.name}.js`))) names.add(e.name);
    else if (isServiceFile(e)) names.add(e.name.slice(0, -'.js'.length));
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
  const loaded: GeneratedService = { name: service, file, module: exported as any, methods };
  cache.set(key, loaded);
  return loaded;
}

// --- internal ---

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
