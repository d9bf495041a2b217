/**
 * `rpc describe` output: services, function signatures and the types they use, printed as IDL
 * (types as written, so typedef names such as `UserId` stay), and the same as JSON.
 */
import type { ConstValueNode, FieldNode, ReturnTypeNode } from '../idl/ast.js';
import type { IdlModel } from '../idl/idl-model.js';
import type { ResolvedEnum, ResolvedFunction, ResolvedService, ResolvedStruct, ResolvedType } from '../idl/resolved.js';

/** A type as written in the IDL. */
export function typeText(t: ReturnTypeNode): string {
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'base':
      return t.name;
    case 'named':
      return t.name;
    case 'list':
    case 'set':
      return `${t.kind}<${typeText(t.element)}>`;
    case 'map':
      return `map<${typeText(t.key)}, ${typeText(t.value)}>`;
  }
}

/** A field as written: `1: optional i32 x = 5`. */
export function fieldText(f: FieldNode): string {
  const req = f.requiredness === 'default' ? '' : `${f.requiredness} `;
  const def = f.defaultValue ? ` = ${valueText(f.defaultValue)}` : '';
  return `${f.id}: ${req}${typeText(f.type)} ${f.name}${def}`;
}

/** A function's signature: `Xtruct testMulti(1: i8 arg0, ...) throws (1: Xception err1)`. */
export function signatureText(fn: ResolvedFunction): string {
  const n = fn.node;
  const throws = n.throws.length ? ` throws (${n.throws.map(fieldText).join(', ')})` : '';
  return `${n.oneway ? 'oneway ' : ''}${typeText(n.returnType)} ${n.name}(${n.params.map(fieldText).join(', ')})${throws}`;
}

/** Every service with its functions' signatures. */
export function formatServices(services: readonly ResolvedService[]): string {
  return services.map((s) => formatService(s, false)).join('\n');
}

/** One service: its signatures, with doc comments when `docs`. */
export function formatService(s: ResolvedService, docs: boolean): string {
  const lines = [`service ${s.name}${s.base ? ` extends ${s.base.name}` : ''}    // ${s.document.file}`];
  for (const fn of s.functions.values()) {
    if (docs && fn.node.doc) lines.push(...fn.node.doc.split('\n').map((l) => `  // ${l}`));
    const inherited = fn.declaredIn === s.name ? '' : `    // from ${fn.declaredIn}`;
    lines.push(`  ${signatureText(fn)}${inherited}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One function: its doc, signature, and every struct, enum and typedef it uses, as IDL. */
export function formatFunction(model: IdlModel, s: ResolvedService, fn: ResolvedFunction): string {
  const out = [`// ${s.name}.${fn.name}${fn.declaredIn === s.name ? '' : ` (from ${fn.declaredIn})`}    ${s.document.file}`];
  if (fn.node.doc) out.push(...fn.node.doc.split('\n').map((l) => `// ${l}`.trimEnd()));
  out.push(signatureText(fn));
  const { structs, enums } = typesUsed(fn);
  const blocks: string[] = [];
  for (const e of enums) {
    blocks.push(`enum ${e.name} {\n${e.node.members.map((m) => `  ${m.name} = ${m.value}`).join(',\n')}\n}`);
  }
  for (const st of structs) {
    blocks.push(`${st.kind} ${st.name} {\n${st.node.fields.map((f) => `  ${fieldText(f)}`).join(',\n')}\n}`);
  }
  const text = [out.join('\n'), ...blocks].join('\n\n');
  const typedefs: string[] = [];
  for (const doc of model.program.documents.values()) {
    for (const d of doc.definitions) {
      if (d.kind === 'typedef' && new RegExp(`\\b${d.name}\\b`).test(text)) typedefs.push(`typedef ${typeText(d.type)} ${d.name}`);
    }
  }
  return `${[text, ...(typedefs.length ? [typedefs.join('\n')] : [])].join('\n\n')}\n`;
}

/** The JSON description of services (`rpc describe --json`). */
export function describeJson(services: readonly ResolvedService[], only?: string): unknown {
  return {
    services: services.map((s) => ({
      name: s.name,
      file: s.document.file,
      ...(s.base ? { extends: s.base.name } : {}),
      functions: [...s.functions.values()]
        .filter((fn) => only === undefined || fn.name === only)
        .map((fn) => ({
          name: fn.name,
          ...(fn.declaredIn !== s.name ? { declaredIn: fn.declaredIn } : {}),
          oneway: fn.oneway,
          returns: typeText(fn.node.returnType),
          params: fn.node.params.map(fieldJson),
          throws: fn.node.throws.map(fieldJson),
          ...(fn.node.doc ? { doc: fn.node.doc } : {}),
        })),
    })),
  };
}

// --- internal ---

function fieldJson(f: FieldNode): unknown {
  return {
    id: f.id,
    name: f.name,
    type: typeText(f.type),
    requiredness: f.requiredness,
    ...(f.defaultValue ? { default: valueText(f.defaultValue) } : {}),
  };
}

function valueText(v: ConstValueNode): string {
  switch (v.kind) {
    case 'int':
    case 'double':
      return v.text;
    case 'string':
      return JSON.stringify(v.value);
    case 'identifier':
      return v.name;
    case 'list':
      return `[${v.elements.map(valueText).join(', ')}]`;
    case 'map':
      return `{${v.entries.map((e) => `${valueText(e.key)}: ${valueText(e.value)}`).join(', ')}}`;
  }
}

/** Structs and enums reachable from a function's arguments, result and exceptions, in first-use order. */
function typesUsed(fn: ResolvedFunction): { structs: ResolvedStruct[]; enums: ResolvedEnum[] } {
  const structs = new Set<ResolvedStruct>();
  const enums = new Set<ResolvedEnum>();
  const walk = (t: ResolvedType | undefined): void => {
    if (!t) return;
    if (t.kind === 'enum') enums.add(t.enum);
    else if (t.kind === 'struct') {
      if (structs.has(t.struct)) return;
      structs.add(t.struct);
      for (const f of t.struct.fields) walk(f.type);
    } else if (t.kind === 'list' || t.kind === 'set') walk(t.element);
    else if (t.kind === 'map') {
      walk(t.key);
      walk(t.value);
    }
  };
  for (const p of fn.params) walk(p.type);
  walk(fn.returnType);
  for (const t of fn.throws) walk(t.type);
  return { structs: [...structs], enums: [...enums] };
}

