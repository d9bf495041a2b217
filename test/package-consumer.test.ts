/**
 * The package as a new user gets it: `npm pack`, install the tarball into an empty project
 * (offline from the npm cache), `rpc init`, `rpc gen` on a PATH without Apache's `thrift`
 * compiler (an npm install is all it needs), `rpc start -d` serving the scaffolded
 * TypeScript handler, a typed client call run by Node as is, `rpc status` from a subfolder, and
 * `tsc --noEmit` (strict, no skipLibCheck) under nodenext, commonjs (node10) and bundler module
 * resolution, where every `@ts-expect-error` line must stay an error.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REPO } from './helpers/cli.js';

const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPE_ROOTS = path.join(REPO, 'node_modules', '@types');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, timeout = 60_000, env: Record<string, string> = {}): Promise<Run> {
  return new Promise<Run>((resolve) => {
    execFile(file, args, { cwd, timeout, env: { ...process.env, THRIFTHOST_LOG_JSON: '1', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

const ok = (r: Run, what: string): Run => {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
};

let tmp = '';
let app = '';
afterAll(async () => {
  if (app) await run(process.execPath, [path.join(app, 'node_modules', 'thrifthost', 'bin', 'rpc'), 'stop'], app);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package in a new TypeScript project', () => {
  it('installs, scaffolds, serves a TypeScript handler, answers a typed call and type-checks under three resolutions', { timeout: 180_000 }, async () => {
    expect(fs.existsSync(path.join(REPO, 'dist', 'types', 'thrift.d.ts')), 'run `npm run build` first').toBe(true);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'th-consumer-'));

    // 1. The tarball: only what runs (no tests, benchmarks, chaos scripts, images, source maps).
    const packed = JSON.parse(
      ok(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO), 'npm pack').stdout,
    )[0] as { filename: string; entryCount: number; size: number; files: { path: string }[] };
    const paths = packed.files.map((f) => f.path);
    expect(paths.filter((p) => /^(test|bench|chaos|docs|examples|services|idl|gen)\/|\.(png|map|ts)$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['bin/rpc', 'dist/types/thrift.d.ts', 'dist/schema/rpc.config.schema.json']));

    // 2. An empty project installs it (deps from the npm cache), then `rpc init` scaffolds it.
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    ok(
      await run('npm', ['install', path.join(tmp, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], app, 120_000),
      'npm install',
    );
    const rpcBin = path.join(app, 'node_modules', 'thrifthost', 'bin', 'rpc');
    const rpc = (args: string[], cwd = app, env: Record<string, string> = {}) => run(process.execPath, [rpcBin, ...args], cwd, 60_000, env);
    const port = await freePort();
    ok(await rpc(['init', '.', '--port', String(port)]), 'rpc init');
    // A machine without thrift-compiler: only Node's own folder on PATH.
    const noCompiler = { PATH: path.dirname(process.execPath) };
    expect(fs.existsSync(path.join(noCompiler.PATH, 'thrift'))).toBe(false);
    ok(await rpc(['gen'], app, noCompiler), 'rpc gen');
    expect(fs.readFileSync(path.join(app, 'gen', 'Greeter', 'Greeter.d.ts'), 'utf8')).toContain('interface GreeterHandler');
    // A new project's i64 is bigint (rpc init's "i64" in rpc.config.json).
    expect(fs.readFileSync(path.join(app, 'gen', 'Greeter', 'Greeter.js'), 'utf8')).toContain('\n// i64: bigint\n');
    expect(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).type).toBe('module');

    // 3. The host serves services/Greeter/handler.ts; the client runs as TypeScript too.
    ok(await rpc(['start', '-d']), 'rpc start -d');
    const call = ok(await run(process.execPath, ['src/client.ts', 'typed'], app), 'node src/client.ts');
    expect(call.stdout.trim()).toBe('Hello, typed!');
    // Commands find rpc.config.json in a parent folder.
    const status = ok(await rpc(['status', '--json'], path.join(app, 'src')), 'rpc status from src/');
    expect(JSON.parse(status.stdout).workers).toHaveLength(2);

    // 4. Strict type checks, including lines that must not compile.
    fs.writeFileSync(
      path.join(app, 'src', 'must-fail.ts'),
      `import { defineHandler } from 'thrifthost';
import { ThriftClient } from 'thrifthost/client';
import type { GreeterHandler } from '../gen/Greeter/Greeter.js';
import { NotFound } from '../gen/Greeter/Greeter_types.js';

export const complete = defineHandler<GreeterHandler>({ greet: (n) => n ?? '', add: (a, b) => a + b, ping() {} });

export function checks(): void {
  // @ts-expect-error a misspelt service name
  ThriftClient.instance('Greter');
  // @ts-expect-error an argument of the wrong type
  void ThriftClient.instance('Greeter').greet(42);
  const ok: Promise<string> = ThriftClient.instance('Greeter').greet('x');
  void ok;
  // @ts-expect-error a handler missing methods of the IDL
  void ({ greet: (name: string) => name } satisfies GreeterHandler);
  // @ts-expect-error a handler returning the wrong type
  void ({ greet: () => 1, add: () => 1, ping() {} } satisfies GreeterHandler);
  // @ts-expect-error an argument that may arrive as null, taken as never null
  void ({ greet: (n: string) => n, add: (a: bigint, b: bigint) => a + b, ping() {} } satisfies GreeterHandler);
  // @ts-expect-error an i64 is a bigint in this project
  void ThriftClient.instance('Greeter').add(1, 2);
  const sum: Promise<bigint> = ThriftClient.instance('Greeter').add(1n, 2n);
  void sum;
  void (async () => {
    const err: unknown = await ThriftClient.instance('Greeter').greet('').catch((e: unknown) => e);
    if (err instanceof NotFound) {
      const why: string = err.message;
      void why;
    }
  });
}
`,
    );
    // Declaration files are checked in full once (nodenext); the other two resolutions re-check
    // the project's own files, where an unresolved or mistyped import shows, in a third of the time.
    const variants: Record<string, Record<string, unknown>> = {
      nodenext: { skipLibCheck: false },
      commonjs: { module: 'commonjs', moduleResolution: 'node10', verbatimModuleSyntax: false, skipLibCheck: true },
      bundler: { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true },
    };
    const checks = Object.entries(variants).map(async ([name, options]) => {
      const file = `tsconfig.${name}.json`;
      fs.writeFileSync(
        path.join(app, file),
        JSON.stringify({ extends: './tsconfig.json', compilerOptions: { ...options, typeRoots: [TYPE_ROOTS] } }),
      );
      const res = await run(process.execPath, [TSC, '-p', file, '--noEmit'], app, 120_000);
      return [name, res.code === 0 ? 'ok' : `${res.stdout}${res.stderr}`] as const;
    });
    expect(Object.fromEntries(await Promise.all(checks))).toEqual({ nodenext: 'ok', commonjs: 'ok', bundler: 'ok' });
  });
});

