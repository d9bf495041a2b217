/**
 * The JSON Schema of `rpc.config.json` (schema/rpc.config.schema.json, shipped as
 * `thrifthost/rpc.config.schema.json` for editor completion): the one list of the keys the file
 * may hold, with their types, bounds, patterns and defaults. The host validates against it
 * (schema-validator.ts) and takes its defaults from it (config-defaults.ts).
 */
import schema from '../../schema/rpc.config.schema.json';
import type { SchemaNode } from './schema-validator.js';

/** The schema document, typed as the JSON it is (so a missing key fails to compile). */
export const CONFIG_SCHEMA = schema;

/** The schema document as the validator walks it. */
export const CONFIG_SCHEMA_NODE: SchemaNode = schema;

/** The schema of one `services[i]` entry. */
export const SERVICE_SCHEMA = schema.properties.services.items;
