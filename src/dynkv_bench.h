/* dynkv_bench.h — `dynkv bench`: a load generator against a running
 * cluster.
 *
 * Many requests in flight over one non-blocking socket per node (as many
 * as --concurrency), each matched to its reply by its client request id,
 * resent with the same id when unanswered (the node answers a request
 * once, node.h), and given up after --timeout-ms.  Puts carry the key's
 * last context, so a key never grows siblings.  It prints put and get
 * throughput (ops/s) and p50/p99 latency, errors, timeouts and resends,
 * as text or (--json) one JSON object.  The run stops after --duration
 * seconds or --requests requests, whichever comes first, then waits at
 * most --timeout-ms for what is still in flight. */
#ifndef DYNKV_BENCH_H
#define DYNKV_BENCH_H

/* Run `dynkv bench` with ARGV[0] "bench" and its options after it; prints
 * the report and returns dynkv's exit status: 0 when every request
 * succeeded, 2 on a usage error, 3 when a request failed or timed out
 * (the report is printed either way) or the nodes could not be reached. */
int dk_bench_main (int argc, char **argv);

#endif
