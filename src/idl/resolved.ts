/**
 * The IDL with every name resolved (`idl-model.ts` builds it): typedefs followed to what they
 * name, `include.Type` followed into the included file, enum members numbered, default values
 * evaluated into the JSON form (`json-form.ts`), and services flattened with what they inherit.
 * Struct types may refer to themselves: a `ResolvedStruct` is one shared object per definition.
 */
import type { EnumNode, FieldNode, FunctionNode, IdlDocument, Requiredness, ServiceNode, StructNode } from './ast.js';
import type { JsonValue } from './json-form.js';

/** Scalar kinds; `byte` is folded into `i8`. */
export type ScalarKind = 'bool' | 'i8' | 'i16' | 'i32' | 'i64' | 'double' | 'string' | 'binary' | 'uuid';

/** A type with its names resolved. */
export type ResolvedType =
  | { readonly kind: ScalarKind }
  | { readonly kind: 'enum'; readonly enum: ResolvedEnum }
  | { readonly kind: 'struct'; readonly struct: ResolvedStruct }
  | { readonly kind: 'list' | 'set'; readonly element: ResolvedType }
  | { readonly kind: 'map'; readonly key: ResolvedType; readonly value: ResolvedType };

/** An enum with lookups both ways. */
export interface ResolvedEnum {
  readonly name: string;
  readonly document: IdlDocument;
  readonly node: EnumNode;
  readonly byName: ReadonlyMap<string, number>;
  /** The first member with each value. */
  readonly byValue: ReadonlyMap<number, string>;
}

/** A field, argument or declared exception. */
export interface ResolvedField {
  readonly id: number;
  readonly name: string;
  readonly requiredness: Requiredness;
  readonly type: ResolvedType;
  /** The default value in the JSON form; undefined when the IDL gives none. */
  readonly defaultValue: JsonValue | undefined;
  readonly node: FieldNode;
}

/** A struct, union or exception. */
export interface ResolvedStruct {
  readonly name: string;
  readonly kind: 'struct' | 'union' | 'exception';
  readonly document: IdlDocument;
  readonly node: StructNode;
  /** In IDL order. */
  readonly fields: readonly ResolvedField[];
}

/** One callable function of a service (its own, or inherited through `extends`). */
export interface ResolvedFunction {
  readonly name: string;
  /** The service that declares it (the base service, for an inherited one). */
  readonly declaredIn: string;
  readonly oneway: boolean;
  /** Undefined for `void`. */
  readonly returnType: ResolvedType | undefined;
  readonly params: readonly ResolvedField[];
  /** Every `throws` entry is an exception type. */
  readonly throws: readonly ResolvedField[];
  readonly node: FunctionNode;
}

/** A service with its inherited functions. */
export interface ResolvedService {
  readonly name: string;
  readonly document: IdlDocument;
  readonly node: ServiceNode;
  readonly base: ResolvedService | undefined;
  /** Own functions in IDL order, then inherited ones a function of this service does not replace. */
  readonly functions: ReadonlyMap<string, ResolvedFunction>;
}
