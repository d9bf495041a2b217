/**
 * Handlers are loaded with `import()`: TypeScript through Node's own type stripping (no loader,
 * no build step), ESM with top-level await, CommonJS, every extension; TypeScript Node cannot
 * strip, and a decorator, get one error naming the file, the construct, its line and source, and
 * the fix (the line used to be lost for `.mts`, `.cts` and require(), whose errors name the file
 * as a file: URL, and the source quoted was the line above). The default handler lookup
 * finds `services/<Service>/handler.ts`, and the workers run on Node 22.18+ (here: the pinned 24).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callOnce, cleanupHost, makeHost, REPO, rpc, type TestHost } from './helpers/cli.js';

const CHILD = path.join(REPO, 'test', 'helpers', 'load-handler-child.cjs');
const GEN = path.join(REPO, 'gen');

const HANDLERS: Record<string, string> = {
  // ESM TypeScript: types, an interface, `import type`, top-level await.
  'esm-tla.ts': `import type { Server } from 'node:net';
interface Greeter { sayHello(name: string): Promise<string> }
const prefix: string = await Promise.resolve('ts');
export const HelloWorldHandler: Greeter = {
  async sayHello(name: string): Promise<string> { return \`\${prefix} \${name} \${typeof (null as Server | null)}\`; },
};
`,
  'esm.mts': `const p: string = await Promise.resolve('mts');
export default { sayHello: (name: string): string => p + ' ' + name };
`,
  'cjs.cts': `const p: string = 'cts';
module.exports = { HelloWorldHandler: { sayHello: (name: string): string => p + ' ' + name } };
`,
  'esm.mjs': `export class HelloWorldHandler { sayHello(name) { return 'mjs ' + name; } }
`,
  'cjs.cjs': `exports.handler = { sayHello(name, callback) { callback(null, 'cjs ' + name); } };
`,
  'plain.js': `exports.sayHello = async (name) => 'js ' + name;
`,
};

/**
 * TypeScript Node cannot run by stripping types, and a decorator (JavaScript V8 does not run):
 * each on line 2 of a handler, with the line as the error must quote it.
 */
const UNRUNNABLE: Record<string, { before: string; line: string; after?: string; says: RegExp }> = {
  enum: { before: 'const one = 1;', line: 'enum Mood { Happy }', says: /TypeScript enum( declaration)? is not supported/ },
  namespace: {
    before: 'const one = 1;',
    line: 'namespace Util { export const p = 1; }',
    says: /TypeScript namespace declaration is not supported/,
  },
  'param-prop': {
    before: 'class Greeter {',
    line: "  constructor(private prefix = 'p') {}",
    after: '}',
    says: /TypeScript parameter property is not supported/,
  },
  'import-require': {
    before: 'const one = 1;',
    line: "import fs = require('node:fs');",
    says: /TypeScript import equals declaration is not supported/,
  },
  'export-assign': {
    before: 'const one = 1;',
    line: 'export = { HelloWorldHandler: {} };',
    says: /TypeScript export assignment is not supported/,
  },
  decorator: {
    before: 'function logged<T>(c: T): T { return c; }',
    line: '@logged',
    after: 'class Greeter {}',
    says: /Invalid or unexpected token .*A decorator: Node runs none/,
  },
};
for (const [name, c] of Object.entries(UNRUNNABLE)) {
  for (const ext of ['.ts', '.mts', '.cts']) {
    const handler =
      ext === '.cts'
        ? 'module.exports = { HelloWorldHandler: { sayHello: (name: string) => name } };'
        : 'export const HelloWorldHandler = { sayHello: (name: string) => name };';
    HANDLERS[`${name}${ext}`] = [c.before, c.line, c.after ?? '', handler, ''].join('\n');
  }
}

interface Loaded {
  file: string;
  reply?: string;
  code?: string;
  message?: string;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes the named handlers to a temporary folder and loads each in one child process, with
 * import() as a worker does, or with `sync` require() as an in-process server does.
 */
function load(names: string[], nodeArgs: string[] = [], sync = false): Promise<Map<string, Loaded>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-handlers-'));
  dirs.push(dir);
  const files = names.map((n) => {
    fs.writeFileSync(path.join(dir, n), HANDLERS[n]!);
    return path.join(dir, n);
  });
  return new Promise((resolve, reject) => {
    const args = [...nodeArgs, CHILD, GEN, ...(sync ? ['--require'] : []), ...files];
    execFile(process.execPath, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as Loaded);
      resolve(new Map(rows.map((r) => [path.basename(r.file), r])));
    });
  });
}

describe('handler modules', () => {
  it('loads TypeScript, ESM with top-level await and CommonJS handlers of every extension, without a loader', async () => {
    const loaded = await load(['esm-tla.ts', 'esm.mts', 'cjs.cts', 'esm.mjs', 'cjs.cjs', 'plain.js']);
    expect(Object.fromEntries([...loaded].map(([k, v]) => [k, v.reply ?? `${v.code}: ${v.message}`]))).toEqual({
      'esm-tla.ts': 'ts x object',
      'esm.mts': 'mts x',
      'cjs.cts': 'cts x',
      'esm.mjs': 'mjs x',
      'cjs.cjs': 'cjs x',
      'plain.js': 'js x',
    });
  });

  it.each([
    ['import() (workers)', false],
    ['require() (in-process servers)', true],
  ])('rejects TypeScript that needs transforming, and decorators, in .ts, .mts and .cts, naming file, line, source and fix: %s', async (_, sync) => {
    const names = Object.keys(HANDLERS).filter((n) => Object.hasOwn(UNRUNNABLE, n.replace(/\.[cm]?ts$/, '')));
    expect(names).toHaveLength(18);
    const loaded = await load(names, [], sync);
    for (const name of names) {
      const construct = UNRUNNABLE[name.replace(/\.[cm]?ts$/, '')]!;
      const row = loaded.get(name)!;
      expect(row.code, name).toBe('ERR_HANDLER_LOAD');
      expect(row.message, name).toMatch(construct.says);
      expect(row.message, name).toContain(`(${row.file}:2: \`${construct.line.trim()}\`)`);
      if (name.startsWith('decorator')) expect(row.message).toContain('call the decorator function yourself');
      else expect(row.message, name).toContain('rewrite what needs code generated');
    }
  });

  it('explains that a Node without type stripping cannot run a .ts handler, and what to do', async () => {
    const row = (await load(['esm-tla.ts'], ['--no-experimental-strip-types'])).get('esm-tla.ts')!;
    expect(row.code).toBe('ERR_HANDLER_LOAD');
    expect(row.message).toContain(row.file);
    expect(row.message).toContain('does not run TypeScript');
    expect(row.message).toContain('Node 22.18+ or 24');
  });
});

describe('a host with services/<Service>/handler.ts', () => {
  let host: TestHost | undefined;
  afterAll(async () => {
    if (host) await rpc(['stop'], host.dir);
    await cleanupHost(host);
  });

  it('finds handler.ts by default and serves it from workers running Node 22.18 or later', async () => {
    host = await makeHost({ count: 1, service: { handler: undefined } });
    fs.rmSync(path.join(host.dir, 'handler.js'));
    const dir = path.join(host.dir, 'services', 'HelloWorld');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'handler.ts'),
      `const version: string = process.version;
export const HelloWorldHandler = { sayHello: (name: string): string => \`\${name} on \${version}\` };
`,
    );
    const config = JSON.parse(fs.readFileSync(host.config, 'utf8'));
    delete config.services[0].handler;
    fs.writeFileSync(host.config, JSON.stringify(config));

    const started = await rpc(['start', '-d'], host.dir);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const reply = await callOnce(host.port, 'TOM');
    const major = Number(/^TOM on v(\d+)\./.exec(reply)?.[1]);
    expect(major).toBeGreaterThanOrEqual(22);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });
});
