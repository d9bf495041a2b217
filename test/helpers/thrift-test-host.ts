/**
 * Test helper: Apache's ThriftTest service served by thrifthost in the test process (the handler
 * of test/fixtures/handlers/thrift-test.cjs), plain or behind a multiplexed listener, on any
 * protocol and transport. The generated code it needs is compiled into a temp folder inside the
 * project (so that it resolves the `thrift` package) by {@link prepareThriftTest}.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generate } from '../../src/cli/gen.js';
import { createTestServer } from '../../src/worker/test-server.js';
import { THRIFT_TEST_IDL } from './go-peer.js';
import { ROOT, startServer } from './in-process-server.js';

export { THRIFT_TEST_IDL };

/** Every protocol × transport pair thrifthost serves; THeader carries binary or compact. */
export const COMBINATIONS = [
  ['binary', 'buffered'],
  ['binary', 'framed'],
  ['binary', 'header'],
  ['compact', 'buffered'],
  ['compact', 'framed'],
  ['compact', 'header'],
  ['json', 'buffered'],
  ['json', 'framed'],
] as const;

export type Protocol = (typeof COMBINATIONS)[number][0];
export type Transport = (typeof COMBINATIONS)[number][1];

/** Generated ThriftTest code and a handler module for it. */
export interface ThriftTestFiles {
  genDir: string;
  handlerFile: string;
  /** Oneway calls seen by every server started from these files, in order. */
  oneways: number[];
  remove(): void;
}

/** Compiles ThriftTest.thrift into a temp folder and writes a handler module beside it. */
export function prepareThriftTest(): ThriftTestFiles {
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'thrifttest-'));
  const genDir = path.join(dir, 'gen');
  generate({ idlDir: path.dirname(THRIFT_TEST_IDL), outDir: genDir });
  const oneways: number[] = [];
  const key = `__thriftTestOneways${path.basename(dir)}`;
  (globalThis as Record<string, unknown>)[key] = oneways;
  const handlerFile = path.join(dir, 'handler.cjs');
  fs.writeFileSync(
    handlerFile,
    `const { createThriftTestHandler } = require(${JSON.stringify(path.join(ROOT, 'test/fixtures/handlers/thrift-test.cjs'))});\n` +
      `const types = require(${JSON.stringify(path.join(genDir, 'ThriftTest/ThriftTest_types.js'))});\n` +
      `exports.ThriftTestHandler = createThriftTestHandler(types, (n) => globalThis[${JSON.stringify(key)}]?.push(n));\n`,
  );
  return { genDir, handlerFile, oneways, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A ThriftTest listener on 127.0.0.1. */
export interface ThriftTestServer {
  port: number;
  close(): Promise<void> | void;
}

/** Serves ThriftTest, plain or (with `multiplexed`) as "ThriftTest" on a multiplexed listener. */
export async function startThriftTest(
  files: ThriftTestFiles,
  protocol: Protocol,
  transport: Transport,
  { multiplexed = false, settings = {} as Record<string, unknown> } = {},
): Promise<ThriftTestServer> {
  if (multiplexed) {
    const host = await startServer({
      name: 'Mux',
      multiplex: [{ service: 'ThriftTest', handler: files.handlerFile }],
      protocol,
      transport,
      genDir: files.genDir,
      ...settings,
    });
    return { port: host.port, close: host.close };
  }
  const handler = require(files.handlerFile).ThriftTestHandler;
  const host = await createTestServer({ service: 'ThriftTest', handler, protocol, transport, genDir: files.genDir, settings });
  return { port: host.port, close: host.close };
}
