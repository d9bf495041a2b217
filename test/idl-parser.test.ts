/**
 * The IDL library (src/idl/): every construct of Thrift IDL parsed into the documented AST, Apache's
 * ThriftTest.thrift and the project's IDLs compared with what Apache's compiler says of them
 * (`thrift --gen json`), includes followed, names, typedefs and constants resolved, and each
 * kind of mistake reported with file:line:column and what was expected.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceNode, StructNode } from '../src/idl/ast.js';
import { IdlModel } from '../src/idl/idl-model.js';
import { loadIdl } from '../src/idl/idl-loader.js';
import { parseIdl } from '../src/idl/parser.js';
import { ROOT } from './helpers/in-process-server.js';
import { THRIFT_TEST_IDL } from './helpers/thrift-test-host.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idl-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** The parse error's message for `text` (as file t.thrift). */
function parseError(text: string): string {
  try {
    parseIdl(text, 't.thrift');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed without error');
}

function modelError(text: string): string {
  try {
    IdlModel.load(write('m.thrift', text));
  } catch (err) {
    return (err as Error).message.replace(`${dir}/`, '');
  }
  throw new Error('resolved without error');
}

describe('what Apache compiler 0.17 says of the same files (thrift --gen json)', () => {
  const files = [THRIFT_TEST_IDL, path.join(ROOT, 'idl/Catalog.thrift'), path.join(ROOT, 'idl/HelloWorld.thrift')];
  it.each(files.map((f) => [path.basename(f), f]))('%s: every struct field id, name and requiredness, enum value, constant and function', (_, file) => {
    const out = fs.mkdtempSync(path.join(dir, 'json-'));
    execFileSync('thrift', ['--gen', 'json', '-out', out, file], { stdio: 'ignore' });
    const apache = JSON.parse(fs.readFileSync(path.join(out, `${path.basename(file, '.thrift')}.json`), 'utf8'));
    const model = IdlModel.load(file);
    const doc = model.program.roots[0]!;
    const REQ = { required: 'required', optional: 'optional', default: 'req_out' } as const;

    const structs = doc.definitions.filter((d): d is StructNode => ['struct', 'union', 'exception'].includes(d.kind));
    expect(structs.map((s) => ({ name: s.name, isException: s.kind === 'exception', isUnion: s.kind === 'union', fields: s.fields.map((f) => [f.id, f.name, REQ[f.requiredness]]) }))).toEqual(
      apache.structs.map((s: any) => ({ name: s.name, isException: s.isException, isUnion: s.isUnion, fields: s.fields.map((f: any) => [f.key, f.name, f.required]) })),
    );
    expect(doc.definitions.filter((d) => d.kind === 'enum').map((e: any) => [e.name, e.members.map((m: any) => [m.name, m.value])])).toEqual(
      apache.enums.map((e: any) => [e.name, e.members.map((m: any) => [m.name, m.value])]),
    );
    expect(doc.definitions.filter((d) => d.kind === 'const').map((c) => [c.name, model.constValue(doc, c as any)])).toEqual(
      // Apache writes an enum constant as its number; the JSON form names the member.
      apache.constants.map((c: any) => [c.name, c.name === 'myNumberz' ? 'ONE' : c.value]),
    );
    const services = doc.definitions.filter((d): d is ServiceNode => d.kind === 'service');
    expect(services.map((s) => [s.name, s.functions.map((f) => [f.name, f.oneway, f.params.map((p) => [p.id, p.name]), f.throws.map((t) => [t.id, t.name])])])).toEqual(
      apache.services.map((s: any) => [
        s.name,
        s.functions.map((f: any) => [f.name, f.oneway, f.arguments.map((a: any) => [a.key, a.name]), f.exceptions.map((x: any) => [x.key, x.name])]),
      ]),
    );
    // Defaults as Apache evaluates them (ThriftTest: BoolTest, OptionalSetDefaultTest, OptionalBinary).
    for (const s of apache.structs) {
      for (const f of s.fields.filter((f: any) => 'default' in f)) {
        const mine = structs.find((x) => x.name === s.name)!.fields.find((x) => x.name === f.name)!;
        expect(mine.defaultValue, `${s.name}.${f.name}`).toBeDefined();
      }
    }
  });
});

describe('every construct', () => {
  const source = `
# hash comment
// line comment
/* block comment */
include "shared.thrift"
cpp_include "<vector>"
namespace * all.of.them
namespace py.twisted tw (anno = 'x')

/** The id of a user.
 * Two lines. */
typedef i64 UserId (units = "none")
typedef shared.Failure Inherited;

const i32 ANSWER = 0x2A
const double RATIO = -1.5e3,
const list<string> NAMES = ["a", 'b',]
const map<string, list<i32>> NESTED = {"x": [1, 2]; "y": []}
const Color FAVOURITE = Color.GREEN
const Point ORIGIN = {"x": 0, "y": -0}
const bool YES = true
const i64 BIG = 9223372036854775807

enum Color { RED, GREEN = 10, BLUE (hex = "00f"), }

struct Point {
  1: required i32 x
  2: optional i32 y = ANSWER;
  i32 z,
  i32 w
  /** the label */ 5: string label = "p" (deprecated)
} (final)

union Shape { 1: Point point; 2: double radius }

exception Oops { 1: string message, 2: Color color = Color.RED }

service Base { void ping() }

service Drawing extends shared.Base {
  /** Draws. */
  oneway void draw(1: Shape shape),
  Point move(1: Point p, 2: map<Color, set<list<Point>>> how) throws (1: Oops oops, 2: shared.Failure failure);
  async void legacy()
  binary raw(1: uuid id, 2: byte small) (idempotent)
}
`;

  it('parses headers, definitions, fields, ids, defaults, annotations and doc comments into the AST', () => {
    const doc = parseIdl(source, 'all.thrift');
    expect(doc.name).toBe('all');
    expect(doc.includes.map((i) => i.path)).toEqual(['shared.thrift']);
    expect(doc.cppIncludes.map((i) => i.path)).toEqual(['<vector>']);
    expect(doc.namespaces.map((n) => [n.scope, n.name, n.annotations.map((a) => [a.name, a.value])])).toEqual([
      ['*', 'all.of.them', []],
      ['py.twisted', 'tw', [['anno', 'x']]],
    ]);
    expect(doc.definitions.map((d) => `${d.kind} ${d.name}`)).toEqual([
      'typedef UserId', 'typedef Inherited', 'const ANSWER', 'const RATIO', 'const NAMES', 'const NESTED', 'const FAVOURITE',
      'const ORIGIN', 'const YES', 'const BIG', 'enum Color', 'struct Point', 'union Shape', 'exception Oops', 'service Base', 'service Drawing',
    ]);
    const userId = doc.definitions[0]!;
    expect(userId).toMatchObject({ doc: 'The id of a user.\nTwo lines.', annotations: [{ name: 'units', value: 'none' }], loc: { line: 12, column: 1 } });
    expect(doc.definitions[2]).toMatchObject({ kind: 'const', value: { kind: 'int', value: 42n, text: '0x2A' } });
    expect(doc.definitions[3]).toMatchObject({ value: { kind: 'double', value: -1500 } });

    const color = doc.definitions.find((d) => d.name === 'Color') as any;
    expect(color.members.map((m: any) => [m.name, m.value, m.explicitValue])).toEqual([['RED', 0, false], ['GREEN', 10, true], ['BLUE', 11, false]]);
    expect(color.members[2].annotations).toMatchObject([{ name: 'hex', value: '00f' }]);

    const point = doc.definitions.find((d) => d.name === 'Point') as StructNode;
    // Implicit ids count down from -1, as Apache assigns them.
    expect(point.fields.map((f) => [f.id, f.explicitId, f.name, f.requiredness])).toEqual([
      [1, true, 'x', 'required'], [2, true, 'y', 'optional'], [-1, false, 'z', 'default'], [-2, false, 'w', 'default'], [5, true, 'label', 'default'],
    ]);
    expect(point.fields[1]!.defaultValue).toMatchObject({ kind: 'identifier', name: 'ANSWER' });
    expect(point.fields[4]).toMatchObject({ doc: 'the label', annotations: [{ name: 'deprecated', value: '1' }], defaultValue: { kind: 'string', value: 'p' } });
    expect(point.annotations).toMatchObject([{ name: 'final', value: '1' }]);
    expect(doc.warnings.map((w) => w.message)).toEqual([
      'No field key specified for z, resulting protocol may have conflicts or not be backwards compatible!',
      'No field key specified for w, resulting protocol may have conflicts or not be backwards compatible!',
      '"async" is deprecated. It is called "oneway" now.',
      'The "byte" type is a compatibility alias for "i8". Use "i8" to emphasize the signedness of this type.',
    ]);

    const drawing = doc.definitions.at(-1) as ServiceNode;
    expect(drawing.extends).toBe('shared.Base');
    expect(drawing.functions.map((f) => [f.name, f.oneway, f.returnType.kind])).toEqual([
      ['draw', true, 'void'], ['move', false, 'named'], ['legacy', true, 'void'], ['raw', false, 'base'],
    ]);
    expect(drawing.functions[0]!.doc).toBe('Draws.');
    expect(drawing.functions[1]!.params[1]!.type).toMatchObject({
      kind: 'map', key: { kind: 'named', name: 'Color' }, value: { kind: 'set', element: { kind: 'list', element: { kind: 'named', name: 'Point' } } },
    });
    expect(drawing.functions[3]!.annotations).toMatchObject([{ name: 'idempotent', value: '1' }]);
  });

  it('follows includes (beside the file, then -I folders) and resolves names, typedefs, constants, defaults and inheritance', () => {
    write('lib/shared.thrift', 'exception Failure { 1: string why }\nstruct Point { 1: i32 q }\nservice Base { string version() }\n');
    const main = write('src/all.thrift', source);
    expect(() => IdlModel.load(main)).toThrow(`${main}:5:1: include "shared.thrift" not found (tried ${dir}/src/shared.thrift)`);
    const model = IdlModel.load(main, { includeDirs: [path.join(dir, 'lib')] });
    expect([...model.program.documents.keys()].map((f) => path.relative(dir, f))).toEqual(['src/all.thrift', 'lib/shared.thrift']);
    const doc = model.program.roots[0]!;
    const consts = Object.fromEntries(doc.definitions.filter((d) => d.kind === 'const').map((c) => [c.name, model.constValue(doc, c as any)]));
    expect(consts).toEqual({
      ANSWER: 42, RATIO: -1500, NAMES: ['a', 'b'], NESTED: { x: [1, 2], y: [] }, FAVOURITE: 'GREEN', ORIGIN: { x: 0, y: 0 }, YES: true,
      BIG: '9223372036854775807',
    });
    const drawing = model.findService('Drawing')[0]!;
    expect([...drawing.functions.keys()]).toEqual(['draw', 'move', 'legacy', 'raw', 'version']);
    expect(drawing.functions.get('version')!.declaredIn).toBe('Base');
    const move = drawing.functions.get('move')!;
    expect(move.throws.map((t) => (t.type as any).struct.name)).toEqual(['Oops', 'Failure']);
    const point = (move.returnType as any).struct;
    expect(point.fields.map((f: any) => [f.name, f.type.kind, f.defaultValue])).toEqual([
      ['x', 'i32', undefined], ['y', 'i32', 42], ['z', 'i32', undefined], ['w', 'i32', undefined], ['label', 'string', 'p'],
    ]);
    expect(model.findService('Base').map((s) => s.document.name)).toEqual(['all', 'shared']);
    expect(model.findService('shared.Base')).toHaveLength(1);
    const raw = drawing.functions.get('raw')!;
    expect(raw.params.map((p) => p.type.kind)).toEqual(['uuid', 'i8']);
  });

  it('resolves a struct that refers to itself, and typedef chains', () => {
    const model = IdlModel.load(write('rec.thrift', 'typedef Node N\ntypedef N M\nstruct Node { 1: optional M next, 2: list<Node> children }\n'));
    const node = (model.program.roots[0]!.definitions[2] as StructNode).name;
    const svc = IdlModel.load(write('rec2.thrift', `include "rec.thrift"\nservice S { rec.M f() }\n`)).findService('S')[0]!;
    const t = svc.functions.get('f')!.returnType as any;
    expect(t.struct.name).toBe(node);
    expect(t.struct.fields[0].type.struct).toBe(t.struct);
    expect(t.struct.fields[1].type.element.struct).toBe(t.struct);
  });
});

describe('mistakes, with file:line:column and what was expected', () => {
  it.each([
    ['struct S {\n  1: i32\n}', 't.thrift:3:1: expected the field\'s name in struct S, got "}"'],
    ['struct S { 1: i32 a, 1: i32 b }', 't.thrift:1:29: "1: b" - field id already used in struct S'],
    ['struct S { 1: i32 a, 2: i32 a }', 't.thrift:1:29: "2: a" - field name already used in struct S'],
    ['service S {\n  void f(1: i32 x\n}', 't.thrift:3:1: expected a field type in the arguments of S.f (or ")"), got "}"'],
    ['senum E { "a" }', 't.thrift:1:1: "senum" is no longer supported, use "string" instead'],
    ['struct S { 1: slist x }', 't.thrift:1:15: "slist" is no longer supported, use "string" instead'],
    ['php_namespace foo', "t.thrift:1:1: Unsupported declaration 'php_namespace'. Use 'namespace php' instead"],
    ['exception E {}\nservice S { oneway void f() throws (1: E e) }', 't.thrift:2:13: oneway function S.f cannot throw exceptions'],
    ['struct S {}\nstruct S {}', 't.thrift:2:1: "S" is already defined (at line 1, column 1)'],
    ['const string s = "a\\qb"', 't.thrift:1:18: bad escape "\\q" in a literal (use \\\\ \\" \\\' \\n \\r \\t)'],
    ['const string s = "abc', 't.thrift:1:18: unterminated literal (no closing ")'],
    ['/* never closed', 't.thrift:1:1: unterminated /* comment'],
    ['struct S { 1: i32 x } $', 't.thrift:1:23: unexpected character "$"'],
    ['struct S { 40000: i32 x }', 't.thrift:1:12: field id 40000 is out of range (-32768..32767)'],
    ['enum E { A = 4294967296 }', 't.thrift:1:10: E.A = 4294967296 does not fit in an i32'],
    ['service S { void f() ', 't.thrift:1:22: expected the return type of a function of S (or "}"), got the end of the file'],
    ['typedef map<i32 string> M', 't.thrift:1:17: expected "," between the map\'s key and value types, got "string"'],
    ['struct', 't.thrift:1:7: expected the struct\'s name, got the end of the file'],
  ])('%j', (text, message) => {
    expect(parseError(text)).toBe(message);
  });

  it.each([
    ['struct S { 1: Missing m }', 'm.thrift:1:15: type "Missing" is not defined'],
    ['struct S { 1: other.T m }', 'm.thrift:1:15: "other.T": m.thrift includes no file named other.thrift (includes: none)'],
    ['const i8 C = 300', 'm.thrift:1:14: 300 does not fit in an i8'],
    ['const i32 C = 1.5', 'm.thrift:1:15: expected i32, got 1.5'],
    ['enum E { A }\nconst E C = E.B', 'm.thrift:2:13: enum E has no member B (members: A)'],
    ['struct P { 1: i32 x }\nconst P C = {"y": 1}', 'm.thrift:2:14: No field named "y" was found in struct of type "P"'],
    ['const i32 A = B\nconst i32 B = A', 'm.thrift:2:15: constant A is defined in terms of itself'],
    ['typedef T T', 'm.thrift:1:9: typedef T refers to itself'],
    ['struct S {}\nservice X { void f() throws (1: S s) }', 'm.thrift:2:30: X.f throws s, whose type is not an exception'],
    ['service A extends B {}', 'm.thrift:1:1: type "B" is not defined'],
  ])('%j', (text, message) => {
    expect(modelError(text)).toBe(message);
  });

  it('a missing include names the including line and the folders tried', () => {
    const file = write('inc.thrift', 'namespace py x\ninclude "nowhere.thrift"\n');
    expect(() => loadIdl(file, { includeDirs: ['/opt/idl'] })).toThrow(
      `${file}:2:1: include "nowhere.thrift" not found (tried ${dir}/nowhere.thrift, /opt/idl/nowhere.thrift); add its folder with an include directory (-I)`,
    );
  });
});
