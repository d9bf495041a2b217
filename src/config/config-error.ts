/**
 * The one error a config file gives: `<file>: <field> <problem>`, e.g.
 * `/srv/app/rpc.config.json: services[0].count must be an integer from 1 to 1024, got 0`.
 */
import { ThriftHostError } from '../common/errors.js';

/** A config file that cannot be used. The CLI exits with code 2. */
export class ConfigError extends ThriftHostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG_INVALID', message, options);
  }
}

/** Throws the {@link ConfigError} of one field: `field` as written in the file, `problem` says what to do. */
export type Fail = (field: string, problem: string) => never;

/** The {@link Fail} of the config file `file`. */
export function failIn(file: string): Fail {
  return (field, problem) => {
    throw new ConfigError(`${file}: ${field} ${problem}`);
  };
}
