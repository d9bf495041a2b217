/**
 * Test helper: builds test/fixtures/go_thrifttest.go, a ThriftTest client and server on Apache's
 * Go library, with Debian's golang-go and golang-thrift-dev in GOPATH mode (no modules, no
 * network), and starts it as a server.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './in-process-server.js';

/** Apache's ThriftTest IDL, as the cross-language suite has it. */
export const THRIFT_TEST_IDL = path.join(ROOT, 'test/fixtures/idl/ThriftTest.thrift');
const SOURCE = path.join(ROOT, 'test/fixtures/go_thrifttest.go');
/** Where golang-thrift-dev puts github.com/apache/thrift/lib/go/thrift. */
const DEBIAN_GOPATH = '/usr/share/gocode';

/** Why the Go peer cannot run here, or undefined when `go` is installed. */
export function goMissing(): string | undefined {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no `go` on PATH; apt-get install golang-go golang-thrift-dev';
  }
}

/**
 * Builds the Go peer once per version of its source, the IDL, the compiler and Go: the binary is
 * kept in the temp folder under their hash, Go's build cache beside it.
 * @returns the binary's path
 */
export function buildGoPeer(): string {
  const goVersion = execFileSync('go', ['version'], { encoding: 'utf8' });
  const thriftVersion = execFileSync('thrift', ['--version'], { encoding: 'utf8' });
  const hash = crypto
    .createHash('sha256')
    .update(fs.readFileSync(SOURCE))
    .update(fs.readFileSync(THRIFT_TEST_IDL))
    .update(goVersion)
    .update(thriftVersion)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(os.tmpdir(), `thrifthost-go-peer-${hash}`);
  const bin = path.join(dir, 'go_thrifttest');
  if (fs.existsSync(bin)) return bin;

  const work = fs.mkdtempSync(`${dir}-build-`);
  try {
    const gopath = path.join(work, 'gopath');
    const pkg = path.join(gopath, 'src/go_thrifttest');
    fs.mkdirSync(path.join(gopath, 'src/gen'), { recursive: true });
    fs.mkdirSync(pkg);
    // As Apache's test/go/Makefile.am does: Go cannot key a map by a list (THRIFT-2063), so the
    // one field that does (CrazyNesting.list_field, used by no ThriftTest method) is left out.
    const idl = path.join(work, 'ThriftTest.thrift');
    const lines = fs.readFileSync(THRIFT_TEST_IDL, 'utf8').split('\n');
    fs.writeFileSync(idl, lines.filter((l) => !/list.*map.*list.*map/.test(l)).join('\n'));
    execFileSync('thrift', ['--gen', 'go:skip_remote', '-out', path.join(gopath, 'src/gen'), idl], { stdio: 'pipe' });
    fs.copyFileSync(SOURCE, path.join(pkg, 'main.go'));
    try {
      execFileSync('go', ['build', '-o', path.join(work, 'go_thrifttest'), 'go_thrifttest'], {
        cwd: work,
        stdio: 'pipe',
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH: `${gopath}${path.delimiter}${DEBIAN_GOPATH}`,
          GOFLAGS: '',
          GOPROXY: 'off',
          GOENV: 'off',
          GOCACHE: path.join(os.tmpdir(), 'thrifthost-go-build-cache'),
        },
      });
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
      throw new Error(
        `go build of ${path.relative(ROOT, SOURCE)} failed (Apache's Go library comes from ` +
          `apt-get install golang-thrift-dev, in ${DEBIAN_GOPATH}):\n${stderr}`,
        { cause: err },
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.renameSync(path.join(work, 'go_thrifttest'), bin);
    return bin;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A running Go ThriftTest server. */
export interface GoServer {
  port: number;
  /** Its stdout so far, after the port line: one `oneway <n>` line per testOneway. */
  output(): string;
  close(): void;
}

/** Starts the Go peer as a ThriftTest server on 127.0.0.1 and the free port it prints. */
export async function startGoServer(bin: string, protocol: string, transport: string): Promise<GoServer> {
  // stdin stays open: the server exits when it closes, so it never outlives the test process.
  const child: ChildProcess = spawn(bin, ['server', protocol, transport], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const close = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const onData = () => {
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        child.stdout!.off('data', onData);
        resolve(Number.parseInt(out.slice(0, nl), 10));
      };
      child.stdout!.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`Go server exited with ${code} before listening`)));
    });
    return { port, output: () => out.slice(out.indexOf('\n') + 1), close };
  } catch (err) {
    close();
    throw err;
  }
}

/** Runs the Go peer as a client of 127.0.0.1:`port`: its exit code and its lines. */
export function runGoClient(
  bin: string,
  port: number,
  protocol: string,
  transport: string,
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['client', String(port), protocol, transport], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // Asynchronous: the host under test runs in this process and must keep serving meanwhile.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: out.split('\n').filter(Boolean), stderr: err });
    });
  });
}
