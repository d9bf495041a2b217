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
  return fs.existsSync(path.join(root, 'dist/src/thrift-worker-main.js'));
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
