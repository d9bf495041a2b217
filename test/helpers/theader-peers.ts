/**
 * Test helper: Apache's THeader peers for the cross-language tests. Builds the C++ peer
 * (test/fixtures/cpp_theader.cpp against Debian's libthrift-dev), generates Python code for
 * Debian's python3-thrift, and runs a peer to completion.
 */
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './in-process-server.js';

/** Debian's Python, which has python3-thrift. */
export const PYTHON = '/usr/bin/python3';

/**
 * Compiles test/fixtures/cpp_theader.cpp against Debian's libthrift (once per source version:
 * the binary is kept in the temp folder under the source's hash).
 * @returns the binary's path
 */
export function buildCppPeer(): string {
  const source = path.join(ROOT, 'test/fixtures/cpp_theader.cpp');
  const idl = path.join(ROOT, 'idl/HelloWorld.thrift');
  const hash = crypto
    .createHash('sha256')
    .update(fs.readFileSync(source))
    .update(fs.readFileSync(idl))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(os.tmpdir(), `thrifthost-cpp-theader-${hash}`);
  const bin = path.join(dir, 'cpp_theader');
  if (fs.existsSync(bin)) return bin;
  const work = fs.mkdtempSync(`${dir}-build-`);
  execFileSync('thrift', ['--gen', 'cpp', '-out', work, idl]);
  execFileSync('g++', [
    '-O0', '-std=c++17', '-pthread', `-I${work}`, source, path.join(work, 'HelloWorld.cpp'),
    '-o', path.join(work, 'cpp_theader'), '-lthriftz', '-lthrift', '-lz',
  ]);
  fs.mkdirSync(dir, { recursive: true });
  fs.renameSync(path.join(work, 'cpp_theader'), bin);
  fs.rmSync(work, { recursive: true, force: true });
  return bin;
}

/**
 * Generates Python code for `idl` (a path under idl/) into a new temp folder.
 * @returns the folder, to be removed by the caller
 */
export function generatePython(idl: string): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-py-'));
  execFileSync('thrift', ['--gen', 'py', '-out', out, path.join(ROOT, idl)]);
  return out;
}

/** Runs a peer to its end (15 s at most); resolves with its stdout, rejects with its stderr. */
export function runPeer(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 15_000 }, (err, out, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out),
    );
  });
}
