/* malloc_conf.c — jemalloc's settings for the simulator (dynsim and
 * bench_sim link this file and, when configure found it, jemalloc).
 *
 * A 1,000-node run keeps about 1.4 GB live and every event touches a
 * random node's state, so most loads miss the TLB: huge pages for
 * jemalloc's arenas and metadata (thp:always; the kernel's "madvise"
 * mode honours it, "never" ignores it) make one TLB entry cover 2 MB
 * instead of 4 KB.  A run's memory only grows until its end, so freed
 * pages are kept for reuse instead of being returned to the kernel and
 * faulted in again (dirty_decay_ms:-1).  Measured on bench/thousand.scn
 * cut to 8 s: about a fifth less CPU.
 *
 * jemalloc reads this symbol at start; MALLOC_CONF in the environment
 * still overrides it.  Without jemalloc nothing reads it. */

const char *malloc_conf = "thp:always,metadata_thp:always,dirty_decay_ms:-1";
