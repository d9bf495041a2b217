/**
 * Builds what the bench runs: the TypeScript host (dist/) and, when the Debian Thrift C++
 * toolchain is present, the C++ load generator and server contenders (into bench/out/).
 * Missing C++ pieces are reported, not fatal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Compiles the project with its own tsc; returns false (with a warning) on errors. */
export function buildHost(root) {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(
      `warning: tsc reported errors; benchmarking dist/ as emitted\n${(r.stdout ?? '').slice(0, 2000)}`,
    );
  }
  return fs.existsSync(path.join(root, 'dist/src/worker/thrift-worker-main.js'));
}

/**
 * Apache's JavaScript for `idl` (`thrift --gen js:node,es6`, into bench/out/gen-apache/<Name>/),
 * for the Apache contenders; undefined without the compiler (they then load `gen/`, thrifthost's).
 */
export function apacheGen(root, idl) {
  if (!which('thrift')) return undefined;
  const name = path.basename(idl, '.thrift');
  const dir = path.join(root, 'bench/out/gen-apache');
  if (stale(path.join(dir, name, `${name}.js`), [idl])) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    execFileSync('thrift', ['--gen', 'js:node,es6', '-out', path.join(dir, name), idl], { stdio: 'pipe' });
  }
  return dir;
}

/**
 * Builds bench/out/loadgen and bench/out/cpp-server unless they are newer than their sources.
 * @returns {{ loadgen?: string, server?: string, skipped?: string }}
 */
export function buildCpp(root) {
  const out = path.join(root, 'bench/out');
  const gen = path.join(out, 'gen-cpp');
  const idl = path.join(root, 'idl/HelloWorld.thrift');
  const missing = [];
  if (!which('thrift')) missing.push('thrift (apt: thrift-compiler)');
  missing.push(...missingCppToolchain());
  if (missing.length > 0) return { skipped: `C++ parts skipped: missing ${missing.join(', ')}` };

  fs.mkdirSync(out, { recursive: true });
  return buildPrograms(root, {
    what: 'C++',
    idl,
    gen,
    sources: [path.join(gen, 'HelloWorld.cpp')],
    loadgen: 'loadgen',
    server: 'cpp-server',
  });
}

/**
 * Builds the payload suite's pieces from bench/idl/Payload.thrift: the JavaScript for the Node
 * servers, twice (bench/out/gen/Payload/ by `rpc gen`'s generator for thrifthost, as a project
 * has it; bench/out/gen-apache/Payload/ by Apache's `thrift --gen js:node,es6` for the Apache
 * contender, so that it stays Apache's whole stack) and, when the C++ toolchain is there,
 * bench/out/payload-loadgen and bench/out/payload-server.
 * @returns {{ genDir?: string, apacheGenDir?: string, loadgen?: string, server?: string, skipped?: string }}
 */
export function buildPayload(root) {
  const out = path.join(root, 'bench/out');
  const idl = path.join(root, 'bench/idl/Payload.thrift');
  if (!which('thrift')) return { skipped: 'payload suite skipped: missing thrift (apt: thrift-compiler)' };
  const genDir = path.join(out, 'gen');
  const apacheGenDir = apacheGen(root, idl);
  const js = path.join(genDir, 'Payload');
  try {
    if (stale(path.join(js, 'Payload.js'), [idl, path.join(root, 'dist/src/codegen/generate.js')])) {
      fs.mkdirSync(js, { recursive: true });
      execFileSync(process.execPath, [path.join(root, 'bin/rpc'), 'gen', '--idl', path.dirname(idl), '--out', genDir, '--i64', 'int64'], {
        stdio: 'pipe',
      });
    }
  } catch (err) {
    return { skipped: `payload suite skipped: rpc gen failed: ${failure(err)}` };
  }
  const result = { genDir, apacheGenDir };
  const missing = missingCppToolchain();
  if (missing.length > 0) return { ...result, skipped: `payload C++ parts skipped: missing ${missing.join(', ')}` };
  const gen = path.join(out, 'gen-cpp-payload');
  return buildPrograms(root, {
    what: 'payload C++',
    idl,
    gen,
    sources: [path.join(gen, 'Payload.cpp'), path.join(gen, 'Payload_types.cpp')],
    loadgen: 'payload-loadgen',
    server: 'payload-server',
    result,
  });
}

// --- internal ---

/** The headers the programs of bench/loadgen/ share (closed-loop.h, contender-server.h). */
const SHARED_HEADERS = ['closed-loop.h', 'contender-server.h'];

/**
 * Generates the C++ code of `idl` into `gen` (the first of `sources` stands for it), then
 * compiles the load generator and, when libevent is there, the server; what could not be built
 * is said in `skipped`, prefixed with `what`.
 */
function buildPrograms(root, { what, idl, gen, sources, loadgen, server, result = {} }) {
  const compile = (name, libs) => compileCpp(root, { name, gen, sources, idl, libs });
  try {
    if (stale(sources[0], [idl])) {
      fs.mkdirSync(gen, { recursive: true });
      execFileSync('thrift', ['--gen', 'cpp', '-out', gen, idl], { stdio: 'pipe' });
    }
    result.loadgen = compile(loadgen, ['-lthrift']);
  } catch (err) {
    return { ...result, skipped: `${what} load generator skipped: build failed: ${failure(err)}` };
  }
  if (!hasHeader('event2/event.h')) {
    return { ...result, skipped: `${what} servers skipped: libevent headers missing (apt: libevent-dev)` };
  }
  try {
    result.server = compile(server, ['-lthriftnb', '-lthrift', '-levent']);
  } catch (err) {
    result.skipped = `${what} servers skipped: build failed: ${failure(err)}`;
  }
  return result;
}

/**
 * Compiles bench/loadgen/<name>.cpp with the generated `sources` (found in `gen`) into
 * bench/out/<name>, unless that is newer than every input; returns its path.
 */
function compileCpp(root, { name, gen, sources, idl, libs }) {
  const src = path.join(root, 'bench/loadgen');
  const target = path.join(root, 'bench/out', name);
  const source = path.join(src, `${name}.cpp`);
  if (stale(target, [source, idl, ...SHARED_HEADERS.map((h) => path.join(src, h))])) {
    console.log(`building ${path.relative(root, target)} (g++ -O2)...`);
    const cmd = ['-O2', '-std=c++17', '-pthread', `-I${gen}`, source, ...sources];
    execFileSync('g++', [...cmd, '-o', target, ...libs], { stdio: 'pipe' });
  }
  return target;
}

/** What g++ needs beyond the Thrift compiler: itself, the libthrift and boost headers. */
function missingCppToolchain() {
  const missing = [];
  if (!which('g++')) missing.push('g++');
  if (!hasHeader('thrift/Thrift.h')) missing.push('libthrift headers (apt: libthrift-dev)');
  if (!hasHeader('boost/scoped_array.hpp')) missing.push('boost headers (apt: libboost-dev)');
  return missing;
}

function failure(err) {
  return String(err.stderr ?? err.message).slice(0, 800);
}

function stale(target, sources) {
  return !fs.existsSync(target) || sources.some((s) => fs.statSync(s).mtimeMs > fs.statSync(target).mtimeMs);
}

/** Whether g++ finds `header`: in /usr/include or a folder of CPLUS_INCLUDE_PATH (which g++ reads). */
function hasHeader(header) {
  const dirs = ['/usr/include', ...(process.env.CPLUS_INCLUDE_PATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, header)));
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
