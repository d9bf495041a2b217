/**
 * The Node.js flags a worker process starts with besides the master's own: the V8 settings of its
 * service (`semiSpaceMiB`, `maglev`), then the service's `nodeArgs`, which come last so that a flag
 * given there wins (V8 takes the last of repeated flags).
 *
 * Both settings are about a worker's memory. On Node 24 a worker under small-call load held
 * 81–83 MiB against 63–64 on Node 20; the V8 heap was only 2 MiB of that. Maglev, the mid-tier
 * compiler Node 22 and later run by default, accounted for about 7 MiB (its compilations' memory,
 * kept by malloc; Node 22 showed no such cost), and the young generation for 7.5 MiB, which Node
 * 24 lets grow to 64 MiB where Node 20 and 22 stop at 32. Most of the rest is the larger Node 24
 * binary's code, mapped from the file and shared by every process running it (docs/bench.md,
 * "Worker memory on Node 24").
 */
import { DEFAULTS, type ServiceConfig } from '../config/config.js';

/** The V8 settings and `nodeArgs` of a service; a setting left out takes its default. */
export type WorkerFlagSettings = Partial<Pick<ServiceConfig, 'semiSpaceMiB' | 'maglev' | 'nodeArgs'>>;

/**
 * The flags a worker of `service` gets after the master's own `process.execArgv`.
 * @example workerNodeFlags({ semiSpaceMiB: 2, maglev: false, nodeArgs: [] })
 *   // ['--max-semi-space-size=2', '--no-maglev']
 */
export function workerNodeFlags(service: WorkerFlagSettings): string[] {
  const flags: string[] = [];
  const semiSpaceMiB = service.semiSpaceMiB ?? DEFAULTS.semiSpaceMiB;
  if (semiSpaceMiB > 0) flags.push(`--max-semi-space-size=${semiSpaceMiB}`);
  if (!(service.maglev ?? DEFAULTS.maglev)) flags.push('--no-maglev');
  return [...flags, ...(service.nodeArgs ?? DEFAULTS.nodeArgs)];
}
