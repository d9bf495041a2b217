/**
 * Optional fields of the validated config are left out when unset rather than set to
 * `undefined`, so `'tls' in service` and a printed config say what the file said.
 */

/** `{ [key]: value }` when `value` is set, else `{}`. */
export function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}
