/**
 * Evaluates constant and default value expressions against their declared type, into the JSON
 * form (`json-form.ts`), with the checks Apache's compiler makes: an integer must fit its type,
 * an enum identifier must name a member of that enum, a struct constant may only name fields
 * the struct has. Like Apache's, `true` and `false` are the integers 1 and 0, a bool accepts an
 * integer, a double accepts an integer, and an empty `{}` or `[]` fits any container.
 */
import type { ConstNode, ConstValueNode, IdlDocument } from './ast.js';
import { IdlResolveError } from './idl-errors.js';
import { i64ToJson, type JsonValue, mapIsObject, setKey } from './json-form.js';
import type { ResolvedEnum, ResolvedType } from './resolved.js';

/** What an identifier in a constant names. */
export type ConstTarget =
  | { readonly kind: 'enum-member'; readonly enum: ResolvedEnum; readonly member: string; readonly value: number }
  | { readonly kind: 'const'; readonly document: IdlDocument; readonly node: ConstNode; readonly type: ResolvedType };

/** How the evaluator finds what identifiers name (the model provides it). */
export interface ConstScope {
  lookupConstTarget(doc: IdlDocument, name: string, at: ConstValueNode): ConstTarget;
}

/**
 * The JSON form of `node` as a value of `type`.
 * @throws IdlResolveError at the value's position, naming the type expected and what was written
 */
export function evaluateConst(
  scope: ConstScope,
  doc: IdlDocument,
  type: ResolvedType,
  node: ConstValueNode,
  inProgress: Set<ConstNode> = new Set(),
): JsonValue {
  const fail = (problem: string): never => {
    throw new IdlResolveError(doc.file, node.loc, problem);
  };
  const wrong = (): never => fail(`expected ${typeName(type)}, got ${describeNode(node)}`);

  if (node.kind === 'identifier') {
    if (node.name === 'true' || node.name === 'false') {
      return evaluateConst(scope, doc, type, { kind: 'int', loc: node.loc, value: node.name === 'true' ? 1n : 0n, text: node.name }, inProgress);
    }
    const target = scope.lookupConstTarget(doc, node.name, node);
    if (target.kind === 'enum-member') {
      if (type.kind === 'enum') {
        if (type.enum !== target.enum) fail(`${node.name} is a member of enum ${target.enum.name}, not of ${type.enum.name}`);
        return target.member;
      }
      // An enum member where an integer is expected is its value, as Apache's compiler takes it.
      return evaluateConst(scope, doc, type, { kind: 'int', loc: node.loc, value: BigInt(target.value), text: node.name }, inProgress);
    }
    if (inProgress.has(target.node)) fail(`constant ${node.name} is defined in terms of itself`);
    inProgress.add(target.node);
    try {
      return evaluateConst(scope, target.document, type, target.node.value, inProgress);
    } finally {
      inProgress.delete(target.node);
    }
  }

  switch (type.kind) {
    case 'bool':
      if (node.kind !== 'int') return wrong();
      return node.value !== 0n;
    case 'i8':
    case 'i16':
    case 'i32':
    case 'i64': {
      if (node.kind !== 'int') return wrong();
      const bits = { i8: 8n, i16: 16n, i32: 32n, i64: 64n }[type.kind];
      const limit = 1n << (bits - 1n);
      if (node.value < -limit || node.value >= limit) fail(`${node.text} does not fit in an ${type.kind}`);
      return i64ToJson(node.value);
    }
    case 'double':
      if (node.kind === 'int') return Number(node.value);
      if (node.kind !== 'double') return wrong();
      return node.value;
    case 'string':
      return node.kind === 'string' ? node.value : wrong();
    case 'binary':
      return node.kind === 'string' ? Buffer.from(node.value, 'utf8').toString('base64') : wrong();
    case 'uuid':
      if (node.kind !== 'string') return wrong();
      if (!UUID.test(node.value)) fail(`"${node.value}" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
      return node.value.toLowerCase();
    case 'enum': {
      if (node.kind !== 'int') return wrong();
      const name = type.enum.byValue.get(Number(node.value));
      if (node.value < -(2n ** 31n) || node.value >= 2n ** 31n) fail(`${node.text} does not fit in an enum (i32)`);
      // Apache's compiler does not check an integer against the members either.
      return name ?? Number(node.value);
    }
    case 'list':
    case 'set':
      if (node.kind === 'map' && node.entries.length === 0) return [];
      if (node.kind !== 'list') return wrong();
      return node.elements.map((e) => evaluateConst(scope, doc, type.element, e, inProgress));
    case 'map': {
      if (node.kind === 'list' && node.elements.length === 0) return mapIsObject(type.key) ? {} : [];
      if (node.kind !== 'map') return wrong();
      const entries = node.entries.map(
        (e) => [evaluateConst(scope, doc, type.key, e.key, inProgress), evaluateConst(scope, doc, type.value, e.value, inProgress)] as const,
      );
      if (!mapIsObject(type.key)) return entries.map(([k, v]) => [k, v]);
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of entries) setKey(out, String(k), v);
      return out;
    }
    case 'struct': {
      const struct = type.struct;
      if (node.kind === 'list' && node.elements.length === 0) return {};
      if (node.kind !== 'map') return wrong();
      const out: Record<string, JsonValue> = {};
      for (const entry of node.entries) {
        const key = entry.key;
        if (key.kind !== 'string') {
          throw new IdlResolveError(doc.file, key.loc, `expected a field name of ${struct.name} in quotes, got ${describeNode(key)}`);
        }
        const field = struct.fields.find((f) => f.name === key.value);
        if (!field) {
          throw new IdlResolveError(doc.file, key.loc, `No field named "${key.value}" was found in struct of type "${struct.name}"`);
        }
        setKey(out, field.name, evaluateConst(scope, doc, field.type, entry.value, inProgress));
      }
      return out;
    }
  }
}

/** A type's name for messages: `i32`, `list<string>`, `enum Numberz`, `struct Xtruct`. */
export function typeName(type: ResolvedType): string {
  switch (type.kind) {
    case 'enum':
      return `enum ${type.enum.name}`;
    case 'struct':
      return `${type.struct.kind} ${type.struct.name}`;
    case 'list':
    case 'set':
      return `${type.kind}<${shortName(type.element)}>`;
    case 'map':
      return `map<${shortName(type.key)}, ${shortName(type.value)}>`;
    default:
      return type.kind;
  }
}

/** A type's name as written in IDL: `Numberz`, `list<Xtruct>`. */
export function shortName(type: ResolvedType): string {
  if (type.kind === 'enum') return type.enum.name;
  if (type.kind === 'struct') return type.struct.name;
  return typeName(type);
}

// --- internal ---

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function describeNode(node: ConstValueNode): string {
  switch (node.kind) {
    case 'int':
    case 'double':
      return node.text;
    case 'string':
      return JSON.stringify(node.value);
    case 'identifier':
      return node.name;
    case 'list':
      return 'a list';
    case 'map':
      return 'a map';
  }
}
