/**
 * Cross-language: a Python client (Debian `python3-thrift`, in /usr/bin/python3) calls a
 * thrifthost listener with the code the Apache compiler generates for Python.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServer } from './helpers/in-process-server.js';

const PYTHON = '/usr/bin/python3';
let genPy: string;

beforeAll(() => {
  genPy = fs.mkdtempSync(path.join(os.tmpdir(), 'thrifthost-py-'));
  try {
    execFileSync('thrift', ['--gen', 'py', '-out', genPy, path.join(ROOT, 'idl/Catalog.thrift')]);
    execFileSync(PYTHON, ['-c', 'import thrift']);
  } catch (err) {
    throw new Error(
      `the cross-language test needs Debian's thrift-compiler and python3-thrift ` +
        `(apt-get install -y thrift-compiler python3-thrift): ${(err as Error).message}`,
    );
  }
});
afterAll(() => fs.rmSync(genPy, { recursive: true, force: true }));

describe('Python client', () => {
  it.each([
    ['binary', 'buffered'],
    ['compact', 'framed'],
    ['json', 'buffered'],
  ] as const)('calls the host over %s / %s', async (protocol, transport) => {
    const host = await startServer({ service: 'Catalog', protocol, transport });
    try {
      const stdout = await new Promise<string>((resolve, reject) => {
        // Asynchronous: the listener runs in this process and must keep serving meanwhile.
        execFile(
          PYTHON,
          [path.join(ROOT, 'test/fixtures/py_client.py'), genPy, String(host.port), protocol, transport],
          { timeout: 15_000 },
          (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
        );
      });
      const out = JSON.parse(stdout);
      expect(out.put).toBe(2 ** 40 + 1);
      expect(out.title).toBe('Solaris');
      expect(out.tags).toEqual(['sf']);
      expect(out.add).toBe(2 ** 40 + 5);
      expect(out.notFound).toBe('no item 4');
      expect(out.internal).toEqual([6, 'Internal error in Catalog.fail']);
    } finally {
      host.close();
    }
  });
});
