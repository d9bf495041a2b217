/**
 * Generated types that never lie: a TypeScript project (test/fixtures/codegen-types) whose
 * handler, client and local checks use every construct of test/fixtures/idl/codegen/
 * Constructs.thrift through what `rpc gen` declares (bigint i64, as `rpc init` projects have).
 * Type test: `tsc --noEmit`, strict, under `module` nodenext, commonjs (node10) and bundler, where
 * each `@ts-expect-error` line must stay an error. Run test: the same files run by Node as they
 * are (the handler served by `rpc start`, the client calling it, the local checks, a CommonJS
 * script), so what tsc accepts runs, and the refused lines are shown to fail at run time too.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO } from './helpers/cli.js';

const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'codegen-types');
const IDL = path.join(REPO, 'test', 'fixtures', 'idl', 'codegen');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

let project = '';
let started = false;
const rpc = (args: string[], env: Record<string, string> = {}) => run(process.execPath, [path.join(REPO, 'bin', 'rpc'), ...args], project, env);

beforeAll(async () => {
  // Inside the repository, so the generated code finds the `thrift` package as an installed one would.
  fs.mkdirSync(path.join(REPO, 'test-artifacts'), { recursive: true });
  project = fs.mkdtempSync(path.join(REPO, 'test-artifacts', 'codegen-types-'));
  fs.cpSync(FIXTURE, project, { recursive: true });
  fs.cpSync(IDL, path.join(project, 'idl'), { recursive: true });
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(REPO, path.join(project, 'node_modules', 'thrifthost'), 'dir');
  fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "codegen-types", "private": true, "type": "module" }\n');
  const port = await freePort();
  fs.writeFileSync(
    path.join(project, 'rpc.config.json'),
    JSON.stringify({ services: [{ name: 'Orders', listen: `127.0.0.1:${port}`, count: 1, i64: 'bigint' }] }),
  );
  fs.writeFileSync(path.join(project, '.port'), String(port));
  // As `rpc init` writes it.
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        strict: true,
        noEmit: true,
        erasableSyntaxOnly: true,
        verbatimModuleSyntax: true,
        types: ['node'],
        typeRoots: [path.join(REPO, 'node_modules', '@types')],
      },
      include: ['services', 'src', 'gen'],
    }),
  );
}, 60_000);

afterAll(async () => {
  if (started) await rpc(['stop']);
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

describe('generated code and types of every IDL construct', () => {
  it('are generated with no Thrift compiler on PATH, warning about the ignored `optional` argument', async () => {
    const gen = await rpc(['gen'], { PATH: '/nonexistent' });
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stderr).toMatch(/^warning: .*\/idl\/Constructs\.thrift:\d+:\d+: optional keyword is ignored in argument lists\.$/m);
    expect(fs.readFileSync(path.join(project, 'gen', 'Constructs', 'Orders.js'), 'utf8')).toContain('\n// i64: bigint\n');
    // The other representation, for src/int64.ts.
    const gen64 = await rpc(['gen', '--i64', 'int64', '--out', 'gen64'], { PATH: '/nonexistent' });
    expect(gen64.code, gen64.stderr).toBe(0);
  });

  it('type-check under module nodenext, commonjs and bundler, every @ts-expect-error line refused', { timeout: 240_000 }, async () => {
    const variants: Record<string, Record<string, unknown>> = {
      nodenext: { skipLibCheck: false },
      commonjs: { module: 'commonjs', moduleResolution: 'node10', verbatimModuleSyntax: false, skipLibCheck: true },
      bundler: { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true },
    };
    const results: Record<string, string> = {};
    // One after another: three tsc processes at once starve a shared machine.
    for (const [name, options] of Object.entries(variants)) {
      const file = `tsconfig.${name}.json`;
      fs.writeFileSync(path.join(project, file), JSON.stringify({ extends: './tsconfig.json', compilerOptions: options }));
      const res = await run(process.execPath, [TSC, '-p', file], project);
      results[name] = res.code === 0 ? 'ok' : `${res.stdout}${res.stderr}`;
    }
    expect(results).toEqual({ nodenext: 'ok', commonjs: 'ok', bundler: 'ok' });
    // The refusals are there to be refused: tsc would report an unused @ts-expect-error.
    const refusals = ['src/client.ts', 'src/constructs.ts', 'src/int64.ts'].map(
      (f) => fs.readFileSync(path.join(project, f), 'utf8').match(/@ts-expect-error/g)?.length ?? 0,
    );
    expect(refusals).toEqual([6, 11, 2]);
  });

  it('run as typed: the local checks, the CommonJS view, and every call against the host serving the TypeScript handler', { timeout: 120_000 }, async () => {
    const local = await run(process.execPath, ['src/constructs.ts'], project);
    expect(`${local.stdout}${local.stderr}`).toBe('constructs ok\n');
    const cjs = await run(process.execPath, ['src/cjs-check.cjs'], project);
    expect(`${cjs.stdout}${cjs.stderr}`).toBe('cjs ok\n');
    const int64 = await run(process.execPath, ['src/int64.ts'], project);
    expect(`${int64.stdout}${int64.stderr}`).toBe('int64 ok\n');

    const start = await rpc(['start', '-d']);
    expect(start.code, `${start.stdout}${start.stderr}`).toBe(0);
    started = true;
    const port = fs.readFileSync(path.join(project, '.port'), 'utf8');
    const client = await run(process.execPath, ['src/client.ts', port], project);
    expect(`${client.stdout}${client.stderr}`).toBe('client ok\n');
  });
});
