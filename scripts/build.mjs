// `npm run build`: compile into a clean dist/, then make the published declarations
// self-contained. The sources type the `thrift` library with types/thrift.d.ts, an ambient
// `declare module 'thrift'` that is not part of the package; the emitted .d.ts files import
// 'thrift', which a consumer may have untyped or typed differently (@types/thrift). So the same
// declarations are shipped as dist/types/thrift.d.ts, a module of its own, and every
// `import thrift from 'thrift'` in dist/**/*.d.ts becomes a type-only import of that file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

const ambient = fs.readFileSync(path.join(root, 'types', 'thrift.d.ts'), 'utf8');
const start = ambient.indexOf("declare module 'thrift' {");
const end = ambient.indexOf("\n}\n", start);
if (start < 0 || end < 0) throw new Error("types/thrift.d.ts: no `declare module 'thrift' { ... }` block");
const body = ambient
  .slice(ambient.indexOf('{', start) + 1, end)
  .replace(/^ {2}/gm, '')
  .trim();
fs.mkdirSync(path.join(dist, 'types'), { recursive: true });
const shipped = path.join(dist, 'types', 'thrift.d.ts');
fs.writeFileSync(shipped, `// The part of the \`thrift\` library's API thrifthost's declarations use (from types/thrift.d.ts).\n${body}\n`);

let rewritten = 0;
for (const file of fs.readdirSync(dist, { recursive: true })) {
  if (!file.endsWith('.d.ts') || file === path.join('types', 'thrift.d.ts')) continue;
  const full = path.join(dist, file);
  const text = fs.readFileSync(full, 'utf8');
  let rel = path.relative(path.dirname(full), shipped).replace(/\.d\.ts$/, '.js');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const next = text.replace(/^import thrift from 'thrift';$/m, `import type * as thrift from '${rel}';`);
  if (/from 'thrift'/.test(next)) throw new Error(`${file}: an import of 'thrift' the build does not rewrite`);
  if (next !== text) {
    fs.writeFileSync(full, next);
    rewritten++;
  }
}
console.error(`build: dist/ compiled; ${rewritten} declaration files import dist/types/thrift.d.ts instead of 'thrift'`);
