/**
 * The files `rpc init` writes: a TypeScript service project that `npx rpc gen && npx rpc start`
 * serves at once, with a typed handler and a typed client call.
 */
import { packageVersion } from '../version.js';

/** What the templates are filled with. */
export interface InitParams {
  /** Project (package) name. */
  name: string;
  /** IDL service name. */
  service: string;
  port: number;
}

/** Relative path -> content, in the order they are written. */
export function initFiles(p: InitParams): Record<string, string> {
  const s = p.service;
  return {
    [`idl/${s}.thrift`]: `// The service's contract: \`npx rpc gen\` turns it into gen/${s}/ (code and types).
exception NotFound {
  1: required string message
}

service ${s} {
  string greet(1: string name) throws (1: NotFound notFound),
  i64 add(1: required i64 a, 2: required i64 b),
  oneway void ping()
}
`,
    [`services/${s}/handler.ts`]: `// The ${s} handler. Node runs it as is (type stripping): no build step. \`satisfies\`
// checks it against the IDL: a missing method or a wrong type fails \`npm run typecheck\`.
import type { ${s}Handler } from '../../gen/${s}/${s}.js';
import { NotFound } from '../../gen/${s}/${s}_types.js';

export default {
  greet(name) {
    // Not \`required\` in the IDL: a caller may leave it out, and it arrives as null.
    if (!name) throw new NotFound({ message: 'no name given' }); // declared in the IDL: reaches the caller
    return \`Hello, \${name}!\`;
  },
  add(a, b) {
    return a + b; // i64 is a bigint ("i64": "bigint" in rpc.config.json)
  },
  ping() {},
} satisfies ${s}Handler;
`,
    'src/client.ts': `// A typed call: \`node src/client.ts [name]\` (or \`npm run call\`) while the host runs.
import { ThriftClient } from 'thrifthost/client';

async function main(): Promise<void> {
  ThriftClient.config({ ${s}: { addresses: ['127.0.0.1:${p.port}'] } });
  const client = ThriftClient.instance('${s}'); // typed by gen/services.d.ts
  console.log(await client.greet(process.argv[2] ?? 'world'));
  await ThriftClient.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
`,
    'rpc.config.json': `${JSON.stringify(
      {
        $schema: './node_modules/thrifthost/dist/schema/rpc.config.schema.json',
        services: [{ name: s, listen: `127.0.0.1:${p.port}`, count: 2, i64: 'bigint' }],
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          strict: true,
          noEmit: true,
          // What Node's type stripping can run: no enums, namespaces or parameter properties.
          erasableSyntaxOnly: true,
          verbatimModuleSyntax: true,
          types: ['node'],
        },
        include: ['services', 'src', 'gen'],
      },
      null,
      2,
    )}\n`,
    '.gitignore': 'node_modules/\nlogs/\n.rpc/\n',
  };
}

/** The package.json of a new project (merged into an existing one by `rpc init`). */
export function initPackageJson(p: InitParams): Record<string, unknown> {
  return {
    name: p.name,
    private: true,
    type: 'module',
    scripts: initScripts(),
    dependencies: { thrifthost: `^${packageVersion()}` },
    devDependencies: { '@types/node': '^24.0.0', typescript: '^5.9.0' },
  };
}

/** npm scripts of a project. */
export function initScripts(): Record<string, string> {
  return {
    gen: 'rpc gen',
    start: 'rpc start',
    dev: 'rpc start --watch',
    stop: 'rpc stop',
    status: 'rpc status',
    logs: 'rpc logs -f',
    call: 'node src/client.ts',
    typecheck: 'tsc --noEmit',
  };
}
