/**
 * `rpc init [dir]`: scaffolds a TypeScript service project (IDL, handler.ts, rpc.config.json with
 * `$schema`, tsconfig.json, package.json scripts) that `npx rpc gen && npx rpc start` serves at
 * once. Existing files are kept; an existing package.json gets the missing scripts only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { initFiles, initPackageJson, type InitParams, initScripts } from './init-templates.js';

/** What {@link initProject} did, file by file (relative paths). */
export interface InitResult {
  written: string[];
  kept: string[];
}

/**
 * Writes the project files into `dir` (created when missing).
 * @throws ConfigError for a service name the IDL cannot use or a port out of range
 */
export function initProject(dir: string, params: Partial<InitParams> = {}): InitResult {
  const root = path.resolve(dir);
  const p: InitParams = {
    name: params.name ?? packageName(path.basename(root)),
    service: params.service ?? 'Greeter',
    port: params.port ?? 9090,
  };
  if (!/^[A-Za-z_]\w*$/.test(p.service)) {
    throw new ConfigError(`rpc init: "${p.service}" is not a Thrift service name (letters, digits, _)`);
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    throw new ConfigError(`rpc init: --port must be an integer in 1..65535, got ${params.port}`);
  }
  const result: InitResult = { written: [], kept: [] };
  for (const [rel, content] of Object.entries(initFiles(p))) {
    const file = path.join(root, rel);
    if (fs.existsSync(file)) {
      result.kept.push(rel);
      continue;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    result.written.push(rel);
  }
  writePackageJson(path.join(root, 'package.json'), p, result);
  return result;
}

/** The `init` command. */
export function initCommand(): Command {
  return new Command('init')
    .description('scaffold a TypeScript service project (IDL, handler.ts, rpc.config.json, tsconfig.json)')
    .argument('[dir]', 'project folder', '.')
    .option('--service <Name>', 'IDL service name', 'Greeter')
    .option('--port <port>', 'port the service listens on', '9090')
    .action((dir: string, options: { service: string; port: string }) => {
      const result = initProject(dir, { service: options.service, port: Number(options.port) });
      for (const f of result.written) process.stdout.write(`created ${path.join(dir, f)}\n`);
      for (const f of result.kept) process.stdout.write(`kept    ${path.join(dir, f)} (exists)\n`);
      const cd = path.resolve(dir) === process.cwd() ? '' : `cd ${dir} && `;
      process.stdout.write(
        `\nNext: ${cd}npm install && npx rpc gen && npx rpc start -d && node src/client.ts\n`,
      );
    });
}

// --- internal ---

function writePackageJson(file: string, p: InitParams, result: InitResult): void {
  const rel = 'package.json';
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, `${JSON.stringify(initPackageJson(p), null, 2)}\n`);
    result.written.push(rel);
    return;
  }
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`rpc init: ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const template = initPackageJson(p);
  const scripts = { ...initScripts(), ...(pkg.scripts as Record<string, string> | undefined) };
  const merged = {
    ...pkg,
    // TypeScript handlers with `import`/`export` are ES modules; "type" says so (no warning).
    type: pkg.type ?? 'module',
    scripts,
    dependencies: { ...(template.dependencies as object), ...(pkg.dependencies as object | undefined) },
    devDependencies: { ...(template.devDependencies as object), ...(pkg.devDependencies as object | undefined) },
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  result.written.push(`${rel} (merged)`);
}

function packageName(base: string): string {
  const name = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '');
  return name || 'thrift-service';
}
