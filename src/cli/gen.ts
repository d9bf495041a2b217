/**
 * `rpc gen`: runs the Apache Thrift compiler on every `idl/*.thrift` into `gen/<Name>/`, with
 * `--gen js:node,es6,ts` (plain `js:node` from compiler 0.17 calls `thrift.Q`, which thrift 0.24
 * no longer ships; `ts` gives enums their reverse mapping), then replaces the compiler's `.d.ts`
 * with its own, rendered from `--gen json` (gen-types.ts): self-contained, with a handler type
 * per service and the services map. The `--gen json` description is kept as `<Name>.json`: the
 * host compiles its reply writers from it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadHostConfig } from '../config/config.js';
import { CompilerMissingError, GenError } from '../host/host-errors.js';
import { type IdlJson, renderDeclarations, renderServicesMap } from './gen-types.js';
import { findConfigFile } from './options.js';

/** Generator options passed to the compiler. */
export const GEN_TARGET = 'js:node,es6,ts';

/** Options of {@link generate}. */
export interface GenOptions {
  /** Folder of `*.thrift` files. @default ./idl */
  idlDir: string;
  /** Output folder; each IDL goes to `<outDir>/<Name>/`. @default ./gen */
  outDir: string;
  /** Compiler executable. @default 'thrift' */
  compiler?: string;
}

/**
 * Compiles every IDL file of `idlDir`.
 * @returns the output folders written
 * @throws CompilerMissingError (naming the install command), GenError
 */
export function generate({ idlDir, outDir, compiler = 'thrift' }: GenOptions): string[] {
  let files: string[];
  try {
    files = fs
      .readdirSync(idlDir)
      .filter((f) => f.endsWith('.thrift'))
      .sort();
  } catch (err) {
    throw new GenError(`Cannot read the IDL folder ${idlDir}: ${(err as Error).message}`, { cause: err });
  }
  if (files.length === 0) throw new GenError(`No *.thrift files in ${idlDir}`);
  const written: string[] = [];
  const services: { name: string; dir: string }[] = [];
  const jsonDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-gen-'));
  try {
    for (const file of files) {
      const name = path.basename(file, '.thrift');
      const out = path.join(outDir, name);
      fs.mkdirSync(out, { recursive: true });
      runCompiler(compiler, ['--gen', GEN_TARGET, '-out', out, path.join(idlDir, file)]);
      runCompiler(compiler, ['--gen', 'json', '-out', jsonDir, path.join(idlDir, file)]);
      const jsonText = fs.readFileSync(path.join(jsonDir, `${name}.json`), 'utf8');
      // Kept beside the code: the host compiles its reply writers from it (struct-writers.ts).
      fs.writeFileSync(path.join(out, `${name}.json`), jsonText);
      const idl = JSON.parse(jsonText) as IdlJson;
      const declarations = renderDeclarations(idl);
      fs.writeFileSync(path.join(out, `${name}_types.d.ts`), declarations.types);
      for (const s of declarations.services) {
        fs.writeFileSync(path.join(out, `${s.name}.d.ts`), s.dts);
        services.push({ name: s.name, dir: name });
      }
      written.push(out);
    }
  } finally {
    fs.rmSync(jsonDir, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(outDir, 'services.d.ts'), renderServicesMap(services));
  // The generated modules are CommonJS; this keeps them so inside a `"type": "module"` project.
  fs.writeFileSync(path.join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
  return written;
}

/** The `gen` command. */
export function genCommand(): Command {
  return new Command('gen')
    .description(`generate code for every idl/*.thrift into gen/<Name>/ (thrift --gen ${GEN_TARGET})`)
    .option('--idl <dir>', 'IDL folder (default: idl/ beside the nearest rpc.config.json, else ./idl)')
    .option('--out <dir>', 'output folder (default: ./gen, or the config\'s "genDir")')
    .option('-c, --config <path>', 'take the defaults from this host config')
    .action((options: { idl?: string; out?: string; config?: string }) => {
      // Without --config, the nearest rpc.config.json (if any) says where idl/ and gen/ are.
      const file = options.config ?? findConfigFile();
      const config =
        options.config || fs.existsSync(file) ? loadHostConfig(file, { checkFiles: false }) : undefined;
      const idlDir = path.resolve(options.idl ?? (config ? path.join(config.baseDir, 'idl') : 'idl'));
      const outDir = path.resolve(options.out ?? config?.services[0]?.genDir ?? 'gen');
      for (const out of generate({ idlDir, outDir })) {
        const rel = path.relative(process.cwd(), out);
        process.stdout.write(`generated ${rel.startsWith('..') ? out : rel}\n`);
      }
    });
}

// --- internal ---

function runCompiler(compiler: string, args: string[]): void {
  const run = spawnSync(compiler, args, { encoding: 'utf8' });
  if (run.error) {
    if ((run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CompilerMissingError(
        `The Apache Thrift compiler "${compiler}" is not installed (or not on PATH). ` +
          'Install it with `apt-get install -y thrift-compiler` (Debian/Ubuntu), then run `rpc gen` again.',
        { cause: run.error },
      );
    }
    throw new GenError(`Cannot run ${compiler}: ${run.error.message}`, { cause: run.error });
  }
  if (run.status !== 0) {
    throw new GenError(
      `${compiler} ${args.join(' ')} failed (exit ${run.status ?? run.signal}):\n${(run.stderr || run.stdout).trim()}`,
    );
  }
}
