/**
 * A JSON Schema walker for the draft-07 subset schema/rpc.config.schema.json uses, written for
 * its messages: it finds the first violation and states it as the field path a user finds in
 * the file (`services[0].count`), what the field must be and what it holds
 * (`must be an integer from 1 to 1024, got 0`), with a "did you mean" for a misspelt key or
 * enum value.
 *
 * Not ajv: ajv reports `must be <= 1024` at `/services/0/count`, or, for an unknown key,
 * `must NOT have additional properties` with the key in `params`; turning that into these
 * messages would mean rewriting each of its keywords' errors anyway, for a dependency several
 * times the size of this file.
 *
 * Keywords checked: `type` (one of string, integer, number, boolean, object, array; an integer
 * must be a safe one), `enum`, `minimum`, `maximum`, `minLength`, `pattern`, `minItems`,
 * `items` (one schema), `properties`, `required`, `additionalProperties` (false or a schema),
 * `propertyNames`. Used in messages: `examples` (the first, as "e.g."), and VS Code's
 * `patternErrorMessage` (what a value failing `pattern` is) and `errorMessage` (the problem
 * stated for any violation at or under the node, in place of the walker's own). A property whose
 * value is `undefined` is absent, as it is to the code that reads the config.
 */
import { closestMatch } from './did-you-mean.js';
import { MAX_TIMER_MS, timerRangeText } from '../common/timer-range.js';

/** One node of a JSON Schema, as far as this walker reads it. */
export interface SchemaNode {
  type?: string;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  minItems?: number;
  items?: SchemaNode;
  properties?: Readonly<Record<string, SchemaNode>>;
  required?: readonly string[];
  additionalProperties?: boolean | SchemaNode;
  propertyNames?: SchemaNode;
  default?: unknown;
  examples?: readonly unknown[];
  description?: string;
  patternErrorMessage?: string;
  errorMessage?: string;
}

/** The keywords {@link findSchemaViolation} checks or uses in messages. */
export const SCHEMA_KEYWORDS: readonly string[] = [
  'type',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'pattern',
  'minItems',
  'items',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'examples',
  'patternErrorMessage',
  'errorMessage',
];

/** A value that breaks its schema. */
export interface SchemaViolation {
  /** Field path as messages write it: `services[0].count`; `(top level)` for the document. */
  field: string;
  /** What is wrong, what to write instead, and what was found. */
  problem: string;
}

/**
 * An object {@link findSchemaViolation} passed: each field holds the type its schema gives it,
 * or is undefined. Readers cast a field to that type.
 */
export type Checked = Readonly<Record<string, unknown>>;

/**
 * The first place where `value` breaks `schema` (depth first, keys in schema order), or
 * undefined when it conforms.
 * @example
 * findSchemaViolation({ type: 'object', properties: { count: { type: 'integer', maximum: 9 } } }, { count: 10 });
 * // { field: 'count', problem: 'must be an integer <= 9, got 10' }
 */
export function findSchemaViolation(schema: SchemaNode, value: unknown): SchemaViolation | undefined {
  return check(schema, value, '');
}

// --- internal ---

/** The field path of the whole document in messages. */
const TOP_LEVEL = '(top level)';

/** What a value of `node` must be, as messages say it: `an integer from 1 to 1024`. */
function describeSchema(node: SchemaNode, key = ''): string {
  if (node.enum) return `one of ${node.enum.map(String).join(', ')}`;
  switch (node.type) {
    case 'string':
      if (node.minLength === 1) return 'a non-empty string';
      return node.minLength ? `a string of at least ${node.minLength} characters` : 'a string';
    case 'integer':
      // A millisecond setting ends in a timer; say why it stops where it does.
      if (key.endsWith('Ms') && node.maximum === MAX_TIMER_MS) return timerRangeText(node.minimum ?? 0);
      return `an integer${rangeText(node)}`;
    case 'number':
      return `a number${rangeText(node)}`;
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    case 'array': {
      const size = node.minItems === 1 ? 'a non-empty array' : node.minItems ? `an array of at least ${node.minItems} items` : 'an array';
      const of = node.items?.type ? ` of ${node.items.minLength === 1 ? 'non-empty ' : ''}${node.items.type}s` : '';
      return size + of;
    }
    default:
      return 'anything';
  }
}

function check(node: SchemaNode, value: unknown, path: string): SchemaViolation | undefined {
  const found = checkNode(node, value, path);
  if (found && node.errorMessage !== undefined) {
    return { field: fieldName(path), problem: `${node.errorMessage}, got ${show(value)}` };
  }
  return found;
}

function checkNode(node: SchemaNode, value: unknown, path: string): SchemaViolation | undefined {
  const must = (): SchemaViolation => ({
    field: fieldName(path),
    problem: `must be ${describeSchema(node, lastKey(path))}${example(node)}, got ${show(value)}`,
  });
  if (node.type !== undefined && !hasType(value, node.type)) return must();
  if (node.enum && !node.enum.includes(value)) {
    if (typeof value !== 'string') return must();
    const near = closestMatch(value, node.enum.filter((v): v is string => typeof v === 'string'));
    return {
      field: fieldName(path),
      problem: `"${value}" is not one of ${node.enum.map(String).join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`,
    };
  }
  if (typeof value === 'number') {
    if ((node.minimum !== undefined && value < node.minimum) || (node.maximum !== undefined && value > node.maximum)) {
      return must();
    }
  } else if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) {
      // Only the length: the value may be a secret (stats.admin.token).
      const got = value === '' ? '""' : `${value.length} characters`;
      return { field: fieldName(path), problem: `must be at least ${node.minLength} characters, got ${got}` };
    }
    if (node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(value)) {
      const what = node.patternErrorMessage ?? `does not match /${node.pattern}/`;
      return { field: fieldName(path), problem: `${show(value)} ${what}` };
    }
  } else if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems) return must();
    if (node.items) {
      for (let i = 0; i < value.length; i++) {
        const found = check(node.items, value[i], `${path}[${i}]`);
        if (found) return found;
      }
    }
  } else if (isObject(value)) {
    return checkObject(node, value, path);
  }
  return undefined;
}

function checkObject(node: SchemaNode, value: Record<string, unknown>, path: string): SchemaViolation | undefined {
  const properties = node.properties ?? {};
  const allowed = Object.keys(properties);
  for (const [key, child] of Object.entries(value)) {
    if (Object.hasOwn(properties, key)) continue;
    const at = join(path, key);
    if (node.propertyNames) {
      const found = check(node.propertyNames, key, at);
      if (found) return found;
    }
    if (node.additionalProperties === false) {
      const near = closestMatch(key, allowed);
      return {
        field: fieldName(path),
        problem: `has unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`,
      };
    }
    if (typeof node.additionalProperties === 'object' && child !== undefined) {
      const found = check(node.additionalProperties, child, at);
      if (found) return found;
    }
  }
  for (const key of node.required ?? []) {
    if (value[key] === undefined) {
      const child = properties[key];
      return { field: join(path, key), problem: `is required${child ? example(child) : ''}` };
    }
  }
  for (const [key, child] of Object.entries(properties)) {
    if (value[key] === undefined) continue;
    const found = check(child, value[key], join(path, key));
    if (found) return found;
  }
  return undefined;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    default:
      throw new Error(`schema type "${type}" is not supported by this walker`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rangeText({ minimum, maximum }: SchemaNode): string {
  if (minimum !== undefined && maximum !== undefined) return ` from ${minimum} to ${maximum}`;
  if (minimum !== undefined) return ` >= ${minimum}`;
  return maximum === undefined ? '' : ` <= ${maximum}`;
}

function example(node: SchemaNode): string {
  return node.examples?.length ? `, e.g. ${JSON.stringify(node.examples[0])}` : '';
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function fieldName(path: string): string {
  return path === '' ? TOP_LEVEL : path;
}

function lastKey(path: string): string {
  return /([^.[\]]*)$/.exec(path)?.[1] ?? '';
}

/** The value as JSON, cut short: a wrong `services` should not print the whole file. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
