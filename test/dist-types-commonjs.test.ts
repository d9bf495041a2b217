/**
 * The built declarations (dist/) as a consumer compiles them under `"module": "commonjs"`
 * (node10 resolution, the NestJS default) without `esModuleInterop`, declaration files checked
 * (`skipLibCheck: false`): `thrifthost`, `thrifthost/client` and `thrifthost/metrics` compile
 * (a default import of `node:http` in them used to fail with TS1192; pino's own declarations,
 * which the main entry's `Logger` reaches, still need esModuleInterop), and once a services map is
 * declared, `ThriftClient.config` refuses a misspelt service name. The packed-tarball variant,
 * with the scaffolded project's own tsconfig, is test/package-consumer.test.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';

const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

const CONSUMER = `import * as host from 'thrifthost';
import { ThriftClient } from 'thrifthost/client';
import { metrics } from 'thrifthost/metrics';

// What rpc gen's services.d.ts declares, for one service.
declare module 'thrifthost/client' {
  interface ThriftServiceMap {
    Orders: { get(id: number): Promise<string>; get(id: number, callback: (err: unknown, r: string) => void): void };
  }
}

export async function main(): Promise<string> {
  host.defineHandler({});
  metrics.counter({ name: 'orders_total', help: 'Orders.' }).inc();
  ThriftClient.config({ Orders: { addresses: ['127.0.0.1:9090'] } });
  // @ts-expect-error a misspelt service name
  ThriftClient.config({ Ordrs: { addresses: ['127.0.0.1:9090'] } });
  return ThriftClient.instance('Orders').get(1);
}
`;

let dir = '';
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('dist/ types compile under module commonjs without esModuleInterop, and refuse a misspelt service in config()', {
  timeout: 120_000,
}, async () => {
  expect(fs.existsSync(path.join(REPO, 'dist', 'src', 'index.d.ts')), 'run `npm run build` first').toBe(true);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-cjs-types-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  // The package as installed: its package.json (exports, typesVersions) and dist/.
  fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'thrifthost'), 'dir');
  fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'commonjs',
        moduleResolution: 'node10',
        target: 'ES2022',
        lib: ['ES2023'],
        strict: true,
        noEmit: true,
        esModuleInterop: false,
        allowSyntheticDefaultImports: false,
        skipLibCheck: false,
        typeRoots: [path.join(REPO, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(process.execPath, [TSC, '-p', dir], { cwd: dir, timeout: 110_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, output: `${stdout}${stderr}` }),
    );
  });
  const errors = result.output
    .split('\n')
    .filter((line) => / error TS\d+:/.test(line))
    .map((line) => path.resolve(dir, line).replace(REPO, '<thrifthost>'));
  // pino's own declarations default-import thread-stream and need esModuleInterop (TS1259):
  // theirs, reached through the main entry's `Logger` (pino's); the client and metrics entries
  // do not reach them. Every other error counts.
  // (Matched on the path's end: node_modules may be reached through a link.)
  const pinos = errors.filter((e) => /\/node_modules\/pino\/pino\.d\.ts\(/.test(e));
  expect(errors.filter((e) => !pinos.includes(e))).toEqual([]);
  expect(pinos.every((e) => e.includes('error TS1259'))).toBe(true);
  expect(result.code === 0 || pinos.length > 0).toBe(true);
});
