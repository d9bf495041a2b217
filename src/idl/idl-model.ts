/**
 * Name resolution over an {@link IdlProgram}: `include.Type` and local names, typedef chains,
 * enums, structs (self-referencing ones included), constants, default values and services with
 * what they inherit. Everything is resolved when the model is built, so an IDL with a dangling
 * name fails at once with the file, line and column, as the compiler would, not at the first call
 * that happens to touch it.
 */
import type {
  ConstNode,
  ConstValueNode,
  DefinitionNode,
  EnumNode,
  FieldNode,
  IdlDocument,
  Position,
  ServiceNode,
  StructNode,
  TypeNode,
} from './ast.js';
import { type ConstScope, type ConstTarget, evaluateConst } from './const-values.js';
import { IdlResolveError } from './idl-errors.js';
import { type IdlProgram, loadIdl, type LoadIdlOptions } from './idl-loader.js';
import type { JsonValue } from './json-form.js';
import type {
  ResolvedEnum,
  ResolvedField,
  ResolvedFunction,
  ResolvedService,
  ResolvedStruct,
  ResolvedType,
} from './resolved.js';

/**
 * A resolved IDL.
 * @example
 * const model = IdlModel.load('idl/Shop.thrift');
 * const fn = model.findService('Shop')[0].functions.get('order');
 */
export class IdlModel implements ConstScope {
  private readonly enums = new Map<EnumNode, ResolvedEnum>();
  private readonly structs = new Map<StructNode, ResolvedStruct>();
  private readonly servicesByNode = new Map<ServiceNode, ResolvedService>();
  private readonly consts = new Map<ConstNode, JsonValue>();
  /** Default values wait until every struct's fields are known (a default may be a struct). */
  private readonly pendingDefaults: (() => void)[] = [];

  constructor(readonly program: IdlProgram) {
    for (const doc of program.documents.values()) {
      for (const def of doc.definitions) {
        if (def.kind === 'typedef') this.resolveType(doc, def.type);
        else if (def.kind === 'enum') this.resolveEnum(doc, def);
        else if (def.kind === 'service') this.resolveService(doc, def);
        else if (def.kind !== 'const') this.resolveStruct(doc, def);
      }
    }
    for (const job of this.pendingDefaults.splice(0)) job();
    for (const doc of program.documents.values()) {
      for (const def of doc.definitions) if (def.kind === 'const') this.constValue(doc, def);
    }
  }

  /** Loads and resolves IDL files (see {@link loadIdl}). */
  static load(files: string | readonly string[], options?: LoadIdlOptions): IdlModel {
    return new IdlModel(loadIdl(files, options));
  }

  /** Every service, in the order of the documents (roots first) and of their definitions. */
  services(): ResolvedService[] {
    return [...this.servicesByNode.values()];
  }

  /**
   * The services named `name` (`Service`, or `file.Service` for one file's): none, one, or
   * several when files define services of the same name.
   */
  findService(name: string): ResolvedService[] {
    const dot = name.lastIndexOf('.');
    return this.services().filter((s) =>
      dot < 0 ? s.name === name : s.name === name.slice(dot + 1) && s.document.name === name.slice(0, dot),
    );
  }

  /** A struct, union or exception definition of `doc`, resolved. */
  struct(doc: IdlDocument, node: StructNode): ResolvedStruct {
    return this.resolveStruct(doc, node);
  }

  /** An enum definition of `doc`, resolved. */
  enumeration(doc: IdlDocument, node: EnumNode): ResolvedEnum {
    return this.resolveEnum(doc, node);
  }

  /** A service definition of `doc`, resolved with what it inherits. */
  service(doc: IdlDocument, node: ServiceNode): ResolvedService {
    return this.resolveService(doc, node);
  }

  /** The value of a constant, in the JSON form. */
  constValue(doc: IdlDocument, node: ConstNode): JsonValue {
    if (this.consts.has(node)) return this.consts.get(node)!;
    const value = evaluateConst(this, doc, this.resolveType(doc, node.type), node.value, new Set([node]));
    this.consts.set(node, value);
    return value;
  }

  /**
   * A type node of `doc`, resolved. `typedefs` are those being followed (a chain of typedefs
   * that comes back to one of them is an error; a struct that contains itself is not).
   * @throws IdlResolveError for an unknown or non-type name
   */
  resolveType(doc: IdlDocument, node: TypeNode, typedefs: ReadonlySet<DefinitionNode> = new Set()): ResolvedType {
    switch (node.kind) {
      case 'base':
        return { kind: node.name === 'byte' ? 'i8' : node.name };
      case 'list':
      case 'set':
        return { kind: node.kind, element: this.resolveType(doc, node.element, typedefs) };
      case 'map':
        return { kind: 'map', key: this.resolveType(doc, node.key, typedefs), value: this.resolveType(doc, node.value, typedefs) };
      case 'named': {
        const { document, def } = this.lookup(doc, node.name, node.loc);
        switch (def.kind) {
          case 'typedef':
            if (typedefs.has(def)) this.fail(doc, node.loc, `typedef ${node.name} refers to itself`);
            return this.resolveType(document, def.type, new Set(typedefs).add(def));
          case 'enum':
            return { kind: 'enum', enum: this.resolveEnum(document, def) };
          case 'struct':
          case 'union':
          case 'exception':
            return { kind: 'struct', struct: this.resolveStruct(document, def) };
          default:
            return this.fail(doc, node.loc, `${node.name} is a ${def.kind}, not a type`);
        }
      }
    }
  }

  /** What an identifier in a constant names: an enum member or another constant. */
  lookupConstTarget(doc: IdlDocument, name: string, at: ConstValueNode): ConstTarget {
    const parts = name.split('.');
    const memberName = parts.at(-1)!;
    // `Enum.MEMBER` or `include.Enum.MEMBER`.
    if (parts.length >= 2) {
      const enumName = parts.slice(0, -1).join('.');
      const found = this.tryLookup(doc, enumName);
      if (found?.def.kind === 'enum') {
        const resolved = this.resolveEnum(found.document, found.def);
        const value = resolved.byName.get(memberName);
        if (value === undefined) {
          this.fail(doc, at.loc, `enum ${resolved.name} has no member ${memberName} (members: ${[...resolved.byName.keys()].join(', ')})`);
        }
        return { kind: 'enum-member', enum: resolved, member: memberName, value };
      }
    }
    const found = this.tryLookup(doc, name);
    if (found?.def.kind === 'const') {
      return { kind: 'const', document: found.document, node: found.def, type: this.resolveType(found.document, found.def.type) };
    }
    return this.fail(doc, at.loc, `${name} is not a constant or an enum member (write Enum.MEMBER)`);
  }

  // --- internal ---

  private lookup(doc: IdlDocument, name: string, loc: Position): { document: IdlDocument; def: DefinitionNode } {
    const found = this.tryLookup(doc, name);
    if (found) return found;
    const dot = name.indexOf('.');
    if (dot > 0 && !this.program.includesOf(doc).has(name.slice(0, dot))) {
      const known = [...this.program.includesOf(doc).keys()];
      return this.fail(doc, loc, `"${name}": ${doc.name}.thrift includes no file named ${name.slice(0, dot)}.thrift (includes: ${known.join(', ') || 'none'})`);
    }
    return this.fail(doc, loc, `type "${name}" is not defined`);
  }

  private tryLookup(doc: IdlDocument, name: string): { document: IdlDocument; def: DefinitionNode } | undefined {
    const local = doc.definitions.find((d) => d.name === name);
    if (local) return { document: doc, def: local };
    const dot = name.indexOf('.');
    if (dot < 0) return undefined;
    const included = this.program.includesOf(doc).get(name.slice(0, dot));
    if (!included) return undefined;
    const def = included.definitions.find((d) => d.name === name.slice(dot + 1));
    return def ? { document: included, def } : undefined;
  }

  private resolveEnum(doc: IdlDocument, node: EnumNode): ResolvedEnum {
    let resolved = this.enums.get(node);
    if (!resolved) {
      const byName = new Map<string, number>();
      const byValue = new Map<number, string>();
      for (const m of node.members) {
        byName.set(m.name, m.value);
        if (!byValue.has(m.value)) byValue.set(m.value, m.name);
      }
      resolved = { name: node.name, document: doc, node, byName, byValue };
      this.enums.set(node, resolved);
    }
    return resolved;
  }

  private resolveStruct(doc: IdlDocument, node: StructNode): ResolvedStruct {
    const known = this.structs.get(node);
    if (known) return known;
    const fields: ResolvedField[] = [];
    const resolved: ResolvedStruct = { name: node.name, kind: node.kind, document: doc, node, fields };
    // Registered before its fields: a field of its own type finds it.
    this.structs.set(node, resolved);
    for (const f of node.fields) fields.push(this.resolveField(doc, f));
    return resolved;
  }

  private resolveField(doc: IdlDocument, node: FieldNode): ResolvedField {
    const field = {
      id: node.id,
      name: node.name,
      requiredness: node.requiredness,
      type: this.resolveType(doc, node.type),
      defaultValue: undefined as JsonValue | undefined,
      node,
    };
    const value = node.defaultValue;
    if (value) this.pendingDefaults.push(() => (field.defaultValue = evaluateConst(this, doc, field.type, value)));
    return field;
  }

  private resolveService(doc: IdlDocument, node: ServiceNode): ResolvedService {
    const known = this.servicesByNode.get(node);
    if (known) return known;
    let base: ResolvedService | undefined;
    if (node.extends) {
      const found = this.lookup(doc, node.extends, node.loc);
      if (found.def.kind !== 'service') this.fail(doc, node.loc, `service ${node.name} extends ${node.extends}, which is a ${found.def.kind}`);
      base = this.resolveService(found.document, found.def);
    }
    const functions = new Map<string, ResolvedFunction>();
    for (const fn of node.functions) {
      const throws = fn.throws.map((f) => this.resolveField(doc, f));
      for (const t of throws) {
        if (t.type.kind !== 'struct' || t.type.struct.kind !== 'exception') {
          this.fail(doc, t.node.loc, `${node.name}.${fn.name} throws ${t.name}, whose type is not an exception`);
        }
      }
      functions.set(fn.name, {
        name: fn.name,
        declaredIn: node.name,
        oneway: fn.oneway,
        returnType: fn.returnType.kind === 'void' ? undefined : this.resolveType(doc, fn.returnType),
        params: fn.params.map((f) => this.resolveField(doc, f)),
        throws,
        node: fn,
      });
    }
    for (const [name, fn] of base?.functions ?? []) if (!functions.has(name)) functions.set(name, fn);
    const resolved: ResolvedService = { name: node.name, document: doc, node, base, functions };
    this.servicesByNode.set(node, resolved);
    return resolved;
  }

  private fail(doc: IdlDocument, loc: Position | undefined, problem: string): never {
    throw new IdlResolveError(doc.file, loc, problem);
  }
}
