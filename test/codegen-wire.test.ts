/**
 * The code `rpc gen` writes without Apache's compiler speaks Apache's wire format, byte for byte:
 * for every struct, union, exception and method args/result struct of ThriftTest.thrift, the
 * project's IDLs and the codegen fixture (includes, `extends`, typedefs, defaults, keyed maps),
 * the same sample values encode to the same bytes as with the code of `thrift --gen js:node,es6`
 * (0.17) on binary, compact and JSON, from class instances and from plain objects, in both i64
 * representations; and each side decodes what the other wrote into the same values. The JSON
 * description beside the code equals `thrift --gen json` for the files Apache describes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import thrift from 'thrift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGeneratedFile } from '../src/codec/generated-service.js';
import { DEFAULT_DECODE_LIMITS } from '../src/codec/decode-limits.js';
import { createOutputProtocol } from '../src/codec/output-protocols.js';
import { createInputProtocol, protocolClass, type ProtocolName } from '../src/codec/protocols.js';
import { WriteBuffer } from '../src/codec/write-buffer.js';
import { generateFiles } from '../src/codegen/generate.js';
import type { StructNode } from '../src/idl/ast.js';
import { IdlModel } from '../src/idl/idl-model.js';
import type { ResolvedField, ResolvedType } from '../src/idl/resolved.js';
import { normal, sampleStruct, seeded } from './helpers/idl-samples.js';
import { ROOT } from './helpers/in-process-server.js';
import { THRIFT_TEST_IDL } from './helpers/thrift-test-host.js';

const PROTOCOLS: ProtocolName[] = ['binary', 'compact', 'json'];
const SAMPLES = 8;
const IDLS = [
  THRIFT_TEST_IDL,
  path.join(ROOT, 'idl/Catalog.thrift'),
  path.join(ROOT, 'idl/HelloWorld.thrift'),
  path.join(ROOT, 'bench/idl/Payload.thrift'),
  path.join(ROOT, 'test/fixtures/idl/codegen/Constructs.thrift'),
];

type StructClass = (new (args?: unknown) => Record<string, unknown> & { read(i: unknown): void; write(o: unknown): void }) & {
  read?(i: unknown): unknown;
  write?(o: unknown, v: unknown): void;
};

interface Pair {
  what: string;
  /** The folder holding the `apache`, `mine` and `big` generations. */
  folder: string;
  kind: 'struct' | 'union' | 'exception';
  fields: readonly Pick<ResolvedField, 'name' | 'type' | 'requiredness'>[];
  apache: StructClass;
  mine: StructClass;
  big: StructClass;
}

/** Apache's module-private `X_args` / `X_result` classes, exported by one appended line, as the host's loader does. */
function apacheClasses(file: string): Record<string, StructClass> {
  const source = fs.readFileSync(file, 'utf8');
  const names = [...source.matchAll(/^const (\w+) = class\b/gm)].map((m) => m[1]);
  const mod = new Module(file) as Module & { _compile(code: string, filename: string): void };
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(file));
  mod._compile(`${source}\n;module.exports.__classes = { ${names.join(', ')} };\n`, file);
  return (mod.exports as { __classes: Record<string, StructClass> }).__classes;
}

let dir: string;
beforeAll(() => {
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  dir = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'codegen-wire-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Generates `idl` three ways and pairs up every struct class of the root file. */
function pairs(idl: string): Pair[] {
  const name = path.basename(idl, '.thrift');
  const out = (kind: string) => folder(name, kind);
  execFileSync('thrift', ['-r', '--gen', 'js:node,es6', '-out', out('apache'), idl], { stdio: 'ignore' });
  const model = IdlModel.load(idl);
  const root = model.program.roots[0]!;
  for (const [mode, kind] of [['int64', 'mine'], ['bigint', 'big']] as const) {
    for (const [file, text] of generateFiles(model, root, { i64: mode })) fs.writeFileSync(path.join(out(kind), file), text);
  }
  const load = (kind: string) => require(path.join(dir, name, kind, `${name}_types.js`)) as Record<string, StructClass>;
  const [apache, mine, big] = [load('apache'), load('mine'), load('big')];
  const found: Pair[] = [];
  for (const def of root.definitions) {
    if (def.kind === 'struct' || def.kind === 'union' || def.kind === 'exception') {
      const s = model.struct(root, def as StructNode);
      found.push({
        what: s.name,
        folder: path.join(dir, name),
        kind: s.kind,
        fields: s.fields,
        apache: apache[s.name]!,
        mine: mine[s.name]!,
        big: big[s.name]!,
      });
    }
  }
  for (const def of root.definitions.filter((d) => d.kind === 'service')) {
    const service = model.service(root, def as never);
    const [a, m, b] = [apacheClasses(path.join(dir, name, 'apache', `${def.name}.js`)), ...['mine', 'big'].map((kind) => {
      const methods = loadGeneratedFile(path.join(dir, name, kind, `${def.name}.js`), def.name).methods;
      return Object.fromEntries([...methods.values()].flatMap((x) => [[`${def.name}_${x.name}_args`, x.Args], [`${def.name}_${x.name}_result`, x.Result]]));
    })] as Record<string, StructClass>[];
    for (const fn of service.functions.values()) {
      if (!def.functions.includes(fn.node)) continue;
      const [args, result] = [`${def.name}_${fn.name}_args`, `${def.name}_${fn.name}_result`];
      found.push({ what: `${def.name}.${fn.name} args`, folder: path.join(dir, name), kind: 'struct', fields: fn.params, apache: a![args]!, mine: m![args]!, big: b![args]! });
      const fields = [...(fn.returnType ? [{ name: 'success', type: fn.returnType, requiredness: 'optional' as const }] : []), ...fn.throws];
      // A result holds one of its fields: the success value or a declared exception.
      found.push({
        what: `${def.name}.${fn.name} result`,
        folder: path.join(dir, name),
        kind: 'union',
        fields,
        apache: a![result]!,
        mine: m![result]!,
        big: b![result]!,
      });
    }
  }
  return found;
}

function folder(...parts: string[]): string {
  const p = path.join(dir, ...parts);
  fs.mkdirSync(p, { recursive: true });
  return p;
}

/**
 * Apache 0.17 gives a struct default that names a constant (`= shared.ORIGIN`) an empty struct:
 * such fields are always set in the samples compared with its code.
 */
function apacheDefaultFault(f: Pick<ResolvedField, 'type'> & { node?: ResolvedField['node'] }): boolean {
  return f.node?.defaultValue?.kind === 'identifier' && f.type.kind === 'struct';
}

/** A sample with every struct inside it an instance of the generated class in `folder`. */
function instances(v: Record<string, unknown>, fields: Pair['fields'], folder: string): Record<string, unknown> {
  const convert = (x: unknown, type: ResolvedType): unknown => {
    if (x === undefined || x === null) return x;
    switch (type.kind) {
      case 'struct': {
        const Class = require(path.join(folder, `${type.struct.document.name}_types.js`))[type.struct.name];
        return new Class(instances(x as Record<string, unknown>, type.struct.fields, folder));
      }
      case 'list':
      case 'set':
        return (x as unknown[]).map((e) => convert(e, type.element));
      case 'map':
        if (x instanceof Map) return new Map([...x].map(([k, e]) => [convert(k, type.key), convert(e, type.value)]));
        return Object.fromEntries(Object.entries(x as object).map(([k, e]) => [k, convert(e, type.value)]));
      default:
        return x;
    }
  };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x, fields.find((f) => f.name === k)!.type)]));
}

function bytes(protocol: ProtocolName, write: (output: unknown) => void): Buffer {
  let out: Buffer = Buffer.alloc(0);
  const writer = new WriteBuffer(false, (m) => (out = m));
  const output = createOutputProtocol(protocolClass(protocol), writer);
  output.writeMessageBegin('m', thrift.Thrift.MessageType.REPLY, 1);
  write(output);
  output.writeMessageEnd();
  output.flush();
  return out;
}

function decode(protocol: ProtocolName, buf: Buffer, Class: StructClass, mode: 'int64' | 'bigint' = 'int64'): Record<string, unknown> {
  const input = createInputProtocol(protocol, DEFAULT_DECODE_LIMITS, mode);
  input.reset(buf, 0, buf.length);
  input.readMessageBegin();
  const v = new Class();
  v.read(input);
  input.readMessageEnd();
  return v;
}

/** i64 values of a sample as bigint, for the bigint generation. */
function toBig(v: unknown): unknown {
  if (v instanceof thrift.Int64) return thrift.toBigInt(v);
  if (Array.isArray(v)) return v.map(toBig);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [toBig(k), toBig(x)]));
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toBig(x)]));
  return v;
}

/** Every i64 in a decoded value, to check its representation. */
function i64s(v: unknown, out: unknown[] = []): unknown[] {
  if (typeof v === 'bigint' || v instanceof thrift.Int64) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => i64s(x, out));
  else if (v instanceof Map) [...v].forEach(([k, x]) => (i64s(k, out), i64s(x, out)));
  else if (v && typeof v === 'object' && !Buffer.isBuffer(v)) Object.values(v).forEach((x) => i64s(x, out));
  return out;
}

describe.each(IDLS.map((f) => [path.basename(f), f]))('%s', (_, idl) => {
  it('encodes every struct, union, exception, args and result as Apache does, and decodes what Apache encodes', { timeout: 60_000 }, () => {
    const all = pairs(idl);
    expect(all.length).toBeGreaterThan(0);
    let compared = 0;
    for (const pair of all) {
      const rnd = seeded(pair.what.length * 7919 + 1);
      for (let n = 0; n < SAMPLES; n++) {
        const value = sampleStruct(pair.kind, pair.fields, { rnd, apache: true, keep: apacheDefaultFault });
        for (const protocol of PROTOCOLS) {
          const at = `${pair.what} #${n} (${protocol}): ${JSON.stringify(normal(value), (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))}`;
          // Apache's classes want instances inside containers, and a declared exception as one.
          const side = (kind: string, v: Record<string, unknown>) => instances(v, pair.fields, path.join(pair.folder, kind));
          const apache = bytes(protocol, (o) => new pair.apache(side('apache', value)).write(o));
          expect(bytes(protocol, (o) => new pair.mine(side('mine', value)).write(o)).toString('hex'), `instance ${at}`).toBe(apache.toString('hex'));
          expect(bytes(protocol, (o) => pair.mine.write!(o, value)).toString('hex'), `plain object ${at}`).toBe(apache.toString('hex'));
          const big = toBig(value) as Record<string, unknown>;
          expect(bytes(protocol, (o) => pair.big.write!(o, big)).toString('hex'), `bigint ${at}`).toBe(apache.toString('hex'));
          expect(bytes(protocol, (o) => new pair.big(side('big', big)).write(o)).toString('hex'), `bigint instance ${at}`).toBe(apache.toString('hex'));

          const theirs = normal(decode(protocol, apache, pair.apache));
          expect(normal(decode(protocol, apache, pair.mine)), `decoded ${at}`).toEqual(theirs);
          const decodedBig = decode(protocol, apache, pair.big);
          expect(normal(decodedBig), `decoded as bigint ${at}`).toEqual(theirs);
          expect(i64s(decodedBig).every((x) => typeof x === 'bigint'), `bigint representation ${at}`).toBe(true);
          // The int64 generation keeps Int64 even from a protocol that reads bigints.
          expect(i64s(decode(protocol, apache, pair.mine, 'bigint')).every((x) => x instanceof thrift.Int64), `Int64 representation ${at}`).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBe(all.length * SAMPLES * PROTOCOLS.length);
  });

  it('describes the file as `thrift --gen json` does', () => {
    const name = path.basename(idl, '.thrift');
    const out = folder(name, 'json');
    const model = IdlModel.load(idl);
    const mine = JSON.parse(generateFiles(model, model.program.roots[0]!).get(`${name}.json`)!);
    try {
      execFileSync('thrift', ['--gen', 'json', '-out', out, idl], { stdio: 'ignore' });
    } catch {
      // Apache's JSON generator fails on a struct default naming a constant (Constructs.thrift): nothing to compare.
      expect(idl).toContain('Constructs');
      return;
    }
    const apache = JSON.parse(fs.readFileSync(path.join(out, `${name}.json`), 'utf8'));
    expect(mine).toEqual(apache);
  });
});
