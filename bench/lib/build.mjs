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
 * Builds bench/out/loadgen and bench/out/cpp-server unless they are newer than their sources.
 * @returns {{ loadgen?: string, server?: string, skipped?: string }}
 */
export function buildCpp(root) {
  const out = path.join(root, 'bench/out');
  const gen = path.join(out, 'gen-cpp');
  const idl = path.join(root, 'idl/HelloWorld.thrift');
  const src = path.join(root, 'bench/loadgen');
  const missing = [];
  if (!which('thrift')) missing.push('thrift (apt: thrift-compiler)');
  if (!which('g++')) missing.push('g++');
  if (!hasHeader('thrift/Thrift.h')) missing.push('libthrift headers (apt: libthrift-dev)');
  if (!hasHeader('boost/scoped_array.hpp')) missing.push('boost headers (apt: libboost-dev)');
  if (missing.length > 0) return { skipped: `C++ parts skipped: missing ${missing.join(', ')}` };

  fs.mkdirSync(out, { recursive: true });
  const compile = (name, libs) => {
    const target = path.join(out, name);
    const source = path.join(src, `${name}.cpp`);
    if (stale(target, [source, idl])) {
      console.log(`building ${path.relative(root, target)} (g++ -O2)...`);
      const cmd = ['-O2', '-std=c++17', '-pthread', `-I${gen}`, source, path.join(gen, 'HelloWorld.cpp')];
      execFileSync('g++', [...cmd, '-o', target, ...libs], { stdio: 'pipe' });
    }
    return target;
  };
  const failure = (err) => String(err.stderr ?? err.message).slice(0, 800);
  const result = {};
  try {
    if (stale(path.join(gen, 'HelloWorld.cpp'), [idl])) {
      fs.mkdirSync(gen, { recursive: true });
      execFileSync('thrift', ['--gen', 'cpp', '-out', gen, idl], { stdio: 'pipe' });
    }
    result.loadgen = compile('loadgen', ['-lthrift']);
  } catch (err) {
    return { skipped: `C++ load generator skipped: build failed: ${failure(err)}` };
  }
  if (!hasHeader('event2/event.h')) {
    result.skipped = 'C++ servers skipped: libevent headers missing (apt: libevent-dev)';
    return result;
  }
  try {
    result.server = compile('cpp-server', ['-lthriftnb', '-lthrift', '-levent']);
  } catch (err) {
    result.skipped = `C++ servers skipped: build failed: ${failure(err)}`;
  }
  return result;
}

/**
 * Builds the payload suite's pieces from bench/idl/Payload.thrift: the JavaScript for the Node
 * servers (bench/out/gen/Payload/, `thrift --gen js:node,es6,ts` as `rpc gen` runs it) and,
 * when the C++ toolchain is there, bench/out/payload-loadgen and bench/out/payload-server.
 * @returns {{ genDir?: string, loadgen?: string, server?: string, skipped?: string }}
 */
export function buildPayload(root) {
  const out = path.join(root, 'bench/out');
  const idl = path.join(root, 'bench/idl/Payload.thrift');
  if (!which('thrift')) return { skipped: 'payload suite skipped: missing thrift (apt: thrift-compiler)' };
  const genDir = path.join(out, 'gen');
  const js = path.join(genDir, 'Payload');
  const failure = (err) => String(err.stderr ?? err.message).slice(0, 800);
  try {
    if (stale(path.join(js, 'Payload.js'), [idl]) || stale(path.join(js, 'Payload.json'), [idl])) {
      fs.mkdirSync(js, { recursive: true });
      execFileSync('thrift', ['--gen', 'js:node,es6,ts', '-out', js, idl], { stdio: 'pipe' });
      // The IDL description `rpc gen` keeps too: thrifthost compiles its reply writers from it.
      execFileSync('thrift', ['--gen', 'json', '-out', js, idl], { stdio: 'pipe' });
    }
  } catch (err) {
    return { skipped: `payload suite skipped: thrift --gen js failed: ${failure(err)}` };
  }
  const result = { genDir };
  const missing = [];
  if (!which('g++')) missing.push('g++');
  if (!hasHeader('thrift/Thrift.h')) missing.push('libthrift headers (apt: libthrift-dev)');
  if (!hasHeader('boost/scoped_array.hpp')) missing.push('boost headers (apt: libboost-dev)');
  if (missing.length > 0) return { ...result, skipped: `payload C++ parts skipped: missing ${missing.join(', ')}` };
  const gen = path.join(out, 'gen-cpp-payload');
  const sources = [path.join(gen, 'Payload.cpp'), path.join(gen, 'Payload_types.cpp')];
  const compile = (name, libs) => {
    const target = path.join(out, name);
    const source = path.join(root, 'bench/loadgen', `${name}.cpp`);
    if (stale(target, [source, idl])) {
      console.log(`building ${path.relative(root, target)} (g++ -O2)...`);
      const cmd = ['-O2', '-std=c++17', '-pthread', `-I${gen}`, source, ...sources];
      execFileSync('g++', [...cmd, '-o', target, ...libs], { stdio: 'pipe' });
    }
    return target;
  };
  try {
    if (stale(sources[0], [idl])) {
      fs.mkdirSync(gen, { recursive: true });
      execFileSync('thrift', ['--gen', 'cpp', '-out', gen, idl], { stdio: 'pipe' });
    }
    result.loadgen = compile('payload-loadgen', ['-lthrift']);
  } catch (err) {
    return { ...result, skipped: `payload C++ load generator skipped: build failed: ${failure(err)}` };
  }
  if (!hasHeader('event2/event.h')) {
    return { ...result, skipped: 'payload C++ servers skipped: libevent headers missing (apt: libevent-dev)' };
  }
  try {
    result.server = compile('payload-server', ['-lthriftnb', '-lthrift', '-levent']);
  } catch (err) {
    result.skipped = `payload C++ servers skipped: build failed: ${failure(err)}`;
  }
  return result;
}

// --- internal ---

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
