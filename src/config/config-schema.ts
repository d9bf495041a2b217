/**
 * The JSON Schema of `rpc.config.json` (schema/rpc.config.schema.json, shipped as
 * `thrifthost/rpc.config.schema.json` for editor completion) and the key lists the validator in
 * config.ts derives from it: the schema is the one place that says which keys exist.
 */
import schema from '../../schema/rpc.config.schema.json';

/** The schema document. */
export const CONFIG_SCHEMA = schema;

const props = schema.properties;

/** Keys of the config file's top level (with `$schema`). */
export const TOP_LEVEL_KEYS: readonly string[] = Object.keys(props);
/** Keys of a service entry. */
export const SERVICE_KEYS: readonly string[] = Object.keys(props.services.items.properties);
/** Keys of an entry of `services[i].multiplex`. */
export const MULTIPLEX_KEYS: readonly string[] = Object.keys(props.services.items.properties.multiplex.items.properties);
/** Keys of `services[i].tls`. */
export const TLS_KEYS: readonly string[] = Object.keys(props.services.items.properties.tls.properties);
/** Keys of `stats`. */
export const STATS_KEYS: readonly string[] = Object.keys(props.stats.properties);
/** Keys of `stats.admin`. */
export const ADMIN_KEYS: readonly string[] = Object.keys(props.stats.properties.admin.properties);
/** Keys of `logRotate`. */
export const LOG_ROTATE_KEYS: readonly string[] = Object.keys(props.logRotate.properties);
/** Keys of `registry`. */
export const REGISTRY_KEYS: readonly string[] = Object.keys(props.registry.properties);
