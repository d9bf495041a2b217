/**
 * The environment a worker process starts with besides its service's own `env`.
 *
 * With the service setting `hugePages`, `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` makes glibc's
 * malloc ask for transparent huge pages (`madvise(MADV_HUGEPAGE)`) on the memory it maps, which
 * is where Node keeps big Buffers: socket reads, assembled frames, encoded replies, binaries (V8's
 * own heap, where decoded strings live, is not malloc'd and is unaffected). Fresh
 * memory otherwise costs one page fault per 4 KiB on first write; on the 2-core VM of
 * docs/bench.md, writing a fresh 12 MB buffer took 35 ms that way against 0.9 ms with huge
 * pages, a cost small messages rarely pay (their memory is reused) and large ones pay on every
 * call. It is off by default because the same setting lets the malloc heap keep whole 2 MiB
 * pages: a worker holding many buffered replies ends with a larger RSS (docs/bench.md). The
 * kernel's default THP mode on most distributions, `madvise`, honours the request; `never`
 * ignores it; other C libraries (musl) ignore the variable.
 *
 * Set only when the master's own environment has no GLIBC_TUNABLES; a service's `env` wins.
 */

/** The tunable a `hugePages` service's workers get unless something else sets GLIBC_TUNABLES. */
export const WORKER_GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1';

/**
 * Extra environment for a worker of a service with `hugePages` as given, from the master's
 * environment `parent`; the service's `env` is applied over it by the caller.
 */
export function workerDefaultEnv(hugePages: boolean, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!hugePages || process.platform !== 'linux' || parent.GLIBC_TUNABLES !== undefined) return {};
  return { GLIBC_TUNABLES: WORKER_GLIBC_TUNABLES };
}
