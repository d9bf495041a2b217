/**
 * The package version, read once from thrifthost's own `package.json` (found by walking up from
 * this file, so it works from `src/` and from `dist/src/`).
 */
import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/** thrifthost's version, e.g. `0.1.0`; `unknown` if package.json cannot be found. */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'thrifthost' && pkg.version) {
        cached = pkg.version;
        break;
      }
    } catch {
      // not here: keep walking up
    }
    if (path.dirname(dir) === dir) break;
  }
  return cached;
}
