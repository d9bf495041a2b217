/**
 * `<Service>.d.ts`: the generated `Client` (what `ThriftClient.instance('<Service>')` is typed
 * from), `Processor`, `<Service>Handler` (what a handler implements) and `<Service>Exceptions`
 * (what each method declares it throws), and `services.d.ts`, the map of every generated client.
 *
 * A handler's arguments are what the decoder produces: an argument that is not `required` and
 * has no default arrives as `null` when a caller leaves it out, and is typed so. Its result may be
 * a plain object wherever a struct goes, lists of them included, as thrifthost writes them.
 */
import type { ResolvedField, ResolvedFunction, ResolvedService } from '../idl/resolved.js';
import { DtsScope, jsDoc } from './dts-scope.js';
import { decodedType } from './dts-types.js';
import { argumentField } from './js-modules.js';
import { paramName } from './js-scope.js';

/** `<Service>.d.ts`. */
export function dtsServiceModule(service: ResolvedService, header: string): string {
  const scope = new DtsScope(service.document, false);
  const s = service.name;
  const own = [...service.functions.values()].filter((f) => service.node.functions.includes(f.node));
  const base = service.base?.name;
  const ownNames = own.map((f) => JSON.stringify(f.name)).join(' | ') || 'never';

  const client = own.map((fn) => {
    const throws = fn.throws.map((t) => `@throws {@link ${scope.type(t.type, 'out')}} \`${t.name}\`, declared`);
    const result = fn.returnType ? scope.type(fn.returnType, 'out') : 'void';
    return `${jsDoc(fn.node.doc, '  ', throws)}  ${fn.name}(${clientParams(fn, scope)}): Promise<${result}>;`;
  });
  const handler = own.map((fn) => {
    const result = fn.returnType ? scope.type(fn.returnType, 'in') : 'void';
    // A property, not a method: its parameters are then checked strictly, so a handler that
    // takes a `string` where the decoder may hand it null does not compile.
    return `${jsDoc(fn.node.doc, '  ')}  ${fn.name}: (${handlerParams(fn, scope)}) => ${result} | Promise<${result}>;`;
  });
  const exceptions = own.map((fn) => `  ${fn.name}: ${fn.throws.map((t) => scope.type(t.type, 'out')).join(' | ') || 'never'};`);

  const imports = scope.importLines();
  if (base) {
    imports.push(
      `import { Client as $BaseClient, Processor as $BaseProcessor, type ${base}Handler as $BaseHandler, type ${base}Exceptions as $BaseExceptions } from './${base}.js';`,
    );
  }
  const ext = (name: string) => (base ? ` extends ${name}` : '');
  const extOmit = (name: string) => (base ? ` extends Omit<${name}, ${ownNames}>` : '');
  return `${header}${imports.join('\n')}

${jsDoc(service.node.doc, '', [`The client of ${s}: what \`ThriftClient.instance('${s}')\` is typed from.`])}export declare class Client${ext('$BaseClient')} {
  constructor(output: unknown, pClass: unknown);
${client.join('\n')}
}

/** Apache's processor of ${s}, for \`thrift.createServer\`. */
export declare class Processor${ext('$BaseProcessor')} {
  constructor(handler: ${s}Handler);
  process(input: unknown, output: unknown): void;
}

/**
 * What a handler of ${s} implements: every method, with its arguments as decoded and its result
 * as a value or a Promise (\`void\` for oneway methods).
 * @example
 * import type { ${s}Handler } from './gen/${service.document.name}/${s}.js';
 * export default { ... } satisfies ${s}Handler;
 */
export interface ${s}Handler${extOmit('$BaseHandler')} {
${handler.join('\n')}
}

/** The exceptions each method of ${s} declares: what a call may reject with besides a TApplicationException or a transport error. */
export interface ${s}Exceptions${extOmit('$BaseExceptions')} {
${exceptions.join('\n')}
}
`;
}

/**
 * `services.d.ts` of a generated-code folder: the services map, merged into thrifthost's
 * `ThriftServiceMap`, so `ThriftClient.instance('<Service>')` is typed and a misspelt name fails.
 * @param services every service with the folder (relative to genDir) holding its `<Service>.d.ts`
 */
export function dtsServicesMap(services: { name: string; dir: string }[], header: string): string {
  const sorted = [...services].sort((a, b) => a.name.localeCompare(b.name));
  const imports = sorted.map((s) => `import type { Client as ${s.name}Client } from './${s.dir}/${s.name}.js';`);
  const entries = sorted.map((s) => `  ${s.name}: ${s.name}Client;`);
  return `${header}${imports.join('\n')}

/** Every service generated into this folder, by name, as its generated client type. */
export interface ThriftServices {
${entries.join('\n')}
}

declare module 'thrifthost/client' {
  interface ThriftServiceMap extends ThriftServices {}
}
`;
}

// --- internal ---

/** A handler's parameters: what the decoder produces. */
function handlerParams(fn: ResolvedFunction, scope: DtsScope): string {
  return fn.params.map((p) => `${paramName(p.name)}: ${decodedType(argumentField(p), scope)}`).join(', ');
}

/**
 * A call's parameters: a `required` argument must be given; one that is not may be null (then it
 * is not sent, and the handler gets null); a trailing run of arguments with defaults may be left
 * out (the default is sent).
 */
function clientParams(fn: ResolvedFunction, scope: DtsScope): string {
  let optionalFrom = fn.params.length;
  while (optionalFrom > 0 && fn.params[optionalFrom - 1]!.defaultValue !== undefined) optionalFrom--;
  return fn.params
    .map((p: ResolvedField, i) => {
      const type = scope.type(p.type, 'in');
      if (i >= optionalFrom) return `${paramName(p.name)}?: ${type}`;
      if (p.defaultValue !== undefined) return `${paramName(p.name)}: ${type} | undefined`;
      return `${paramName(p.name)}: ${p.requiredness === 'required' ? type : `${type} | null`}`;
    })
    .join(', ');
}
