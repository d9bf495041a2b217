/**
 * The environment a worker process starts with besides its service's own `env`.
 *
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` makes glibc's malloc ask for transparent huge pages
 * (`madvise(MADV_HUGEPAGE)`) on the memory it maps, which is where Node keeps big Buffers:
 * assembled frames, replies, large strings and binaries. Fresh memory otherwise costs one page
 * fault per 4 KiB on first write; measured on the 2-core VM of docs/bench.md, writing a fresh
 * 12 MB buffer took 35 ms that way against 0.9 ms with huge pages, a cost that small messages
 * never pay (their buffers are reused) and large ones pay on every call. The kernel's default
 * THP mode on most distributions, `madvise`, honours the request; `never` ignores it.
 *
 * Set only when the master's own environment has no GLIBC_TUNABLES; a service's `env` wins
 * (`"GLIBC_TUNABLES": ""` turns it off). Other C libraries (musl) and platforms ignore it.
 */

/** The tunable the workers get unless something else sets GLIBC_TUNABLES. */
export const WORKER_GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1';

/**
 * Extra environment for a worker, from the master's environment `parent`; the service's `env`
 * is applied over it by the caller.
 */
export function workerDefaultEnv(parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (process.platform !== 'linux' || parent.GLIBC_TUNABLES !== undefined) return {};
  return { GLIBC_TUNABLES: WORKER_GLIBC_TUNABLES };
}
