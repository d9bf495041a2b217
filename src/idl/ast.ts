/**
 * The syntax tree of one Thrift IDL file, as {@link parseIdl} builds it: every declaration in
 * source order, with its position, doc comment, annotations and the default and constant value
 * expressions as written (resolved only on demand by `idl-model.ts`). It is meant for both
 * generic calls (`rpc call`) and code generation: nothing the source says is dropped except
 * ordinary comments and the legacy `xsd_*` / `cpp_type` decorations, which are kept as fields.
 *
 * Names are as written: a type named `shared.Item` refers to `Item` of the included
 * `shared.thrift`; `Numberz.ONE` in a constant refers to an enum member or to a constant.
 */

/** A place in a source file; line and column count from 1, `offset` from 0 (UTF-16 units). */
export interface Position {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

/** Where a node starts. */
export interface Located {
  readonly loc: Position;
}

/** `(key = "value", flag)`: a flag without a value has the value `"1"`, as Apache's compiler says. */
export interface Annotation extends Located {
  readonly name: string;
  readonly value: string;
}

/** Nodes that may carry a `/** ... *\/` comment and annotations. */
export interface Documented {
  /** The doc comment's text with the comment markers and leading `*` removed; undefined when none. */
  readonly doc: string | undefined;
  readonly annotations: readonly Annotation[];
}

/** Scalar type names. `byte` is Apache's alias of `i8`, kept as written. */
export type BaseTypeName = 'bool' | 'byte' | 'i8' | 'i16' | 'i32' | 'i64' | 'double' | 'string' | 'binary' | 'uuid';

/** A type as written in a field, typedef, constant, argument or return position. */
export type TypeNode =
  | (Located & { readonly kind: 'base'; readonly name: BaseTypeName; readonly annotations: readonly Annotation[] })
  | (Located & {
      readonly kind: 'list' | 'set';
      readonly element: TypeNode;
      readonly annotations: readonly Annotation[];
      /** Legacy `cpp_type "..."`, when written. */
      readonly cppType?: string;
    })
  | (Located & {
      readonly kind: 'map';
      readonly key: TypeNode;
      readonly value: TypeNode;
      readonly annotations: readonly Annotation[];
      readonly cppType?: string;
    })
  /** A typedef, enum, struct, union or exception, possibly `include.Name`. */
  | (Located & { readonly kind: 'named'; readonly name: string });

/** A function's return type: a type, or `void`. */
export type ReturnTypeNode = TypeNode | (Located & { readonly kind: 'void' });

/** A constant or default value expression as written. */
export type ConstValueNode =
  /** An integer literal (decimal or `0x` hex), exact. `text` is the literal as written. */
  | (Located & { readonly kind: 'int'; readonly value: bigint; readonly text: string })
  | (Located & { readonly kind: 'double'; readonly value: number; readonly text: string })
  | (Located & { readonly kind: 'string'; readonly value: string })
  /** `Enum.MEMBER`, `CONST`, `include.Enum.MEMBER` or `include.CONST`. */
  | (Located & { readonly kind: 'identifier'; readonly name: string })
  | (Located & { readonly kind: 'list'; readonly elements: readonly ConstValueNode[] })
  | (Located & {
      readonly kind: 'map';
      readonly entries: readonly { readonly key: ConstValueNode; readonly value: ConstValueNode }[];
    });

/** `required`, `optional`, or neither (Apache's "default requiredness", `req_out`). */
export type Requiredness = 'required' | 'optional' | 'default';

/** A struct/union/exception field, a function argument or a `throws` entry. */
export interface FieldNode extends Located, Documented {
  /**
   * The field id. Without an explicit id (or with a non-positive one, which Apache ignores with a
   * warning) Apache assigns -1, -2, ... in order within each field list; so does this parser.
   */
  readonly id: number;
  /** False when the id was assigned as above. */
  readonly explicitId: boolean;
  readonly name: string;
  readonly type: TypeNode;
  readonly requiredness: Requiredness;
  readonly defaultValue: ConstValueNode | undefined;
  /** Legacy C++ `&` reference marker (accepted by newer compilers; kept for code generators). */
  readonly reference?: boolean;
  /** Legacy `xsd_optional`, `xsd_nillable` flags, when written. */
  readonly xsd?: readonly string[];
}

/** `typedef <type> Name` */
export interface TypedefNode extends Located, Documented {
  readonly kind: 'typedef';
  readonly name: string;
  readonly type: TypeNode;
}

/** `const <type> NAME = <value>` */
export interface ConstNode extends Located, Documented {
  readonly kind: 'const';
  readonly name: string;
  readonly type: TypeNode;
  readonly value: ConstValueNode;
}

/** One enum member; `value` is explicit or one more than the previous member's (0 for the first). */
export interface EnumMemberNode extends Located, Documented {
  readonly name: string;
  readonly value: number;
  readonly explicitValue: boolean;
}

/** `enum Name { ... }` */
export interface EnumNode extends Located, Documented {
  readonly kind: 'enum';
  readonly name: string;
  readonly members: readonly EnumMemberNode[];
}

/** `struct`, `union` or `exception`: fields in source order. */
export interface StructNode extends Located, Documented {
  readonly kind: 'struct' | 'union' | 'exception';
  readonly name: string;
  readonly fields: readonly FieldNode[];
}

/** One service function. */
export interface FunctionNode extends Located, Documented {
  readonly name: string;
  readonly oneway: boolean;
  readonly returnType: ReturnTypeNode;
  readonly params: readonly FieldNode[];
  readonly throws: readonly FieldNode[];
}

/** `service Name [extends Base] { ... }` */
export interface ServiceNode extends Located, Documented {
  readonly kind: 'service';
  readonly name: string;
  /** The base service as written (`Base` or `include.Base`). */
  readonly extends: string | undefined;
  readonly functions: readonly FunctionNode[];
}

/** A top-level definition. */
export type DefinitionNode = TypedefNode | ConstNode | EnumNode | StructNode | ServiceNode;

/** `include "path"` (or `cpp_include "path"`, kept apart: it names a C++ header, not IDL). */
export interface IncludeNode extends Located {
  readonly path: string;
}

/** `namespace <scope> <name>`; scope `*` applies to every language. */
export interface NamespaceNode extends Located {
  readonly scope: string;
  readonly name: string;
  readonly annotations: readonly Annotation[];
}

/** Something the compiler would warn about; the parse still succeeded. */
export interface Diagnostic extends Located {
  readonly file: string;
  readonly message: string;
}

/** One parsed IDL file. */
export interface IdlDocument {
  /** The path it was parsed from (absolute when loaded with `loadIdl`). */
  readonly file: string;
  /** The file's name without `.thrift`: how other files refer to its types (`shared.Item`). */
  readonly name: string;
  readonly includes: readonly IncludeNode[];
  readonly cppIncludes: readonly IncludeNode[];
  readonly namespaces: readonly NamespaceNode[];
  /** Every definition in source order. */
  readonly definitions: readonly DefinitionNode[];
  readonly warnings: readonly Diagnostic[];
}
