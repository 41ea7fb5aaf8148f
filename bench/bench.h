/* bench.h — tiny helpers shared by the bench/ programs.
 *
 * Benchmarks print figures, they never pass or fail on speed: this machine
 * is shared and noisy, so each figure is reported next to a baseline
 * measured in the same run, as a ratio.  Output lines look like
 *
 *   store.put          41234 ops/s   baseline 50012 ops/s   ratio 0.82  (target >= 0.8)
 *
 * Set DK_BENCH_SCALE (a float, default 1) to shrink or grow the work.
 */
#ifndef DK_BENCH_H
#define DK_BENCH_H

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

/* Seconds on the monotonic clock. */
static inline double
bench_now (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

/* N scaled by DK_BENCH_SCALE, at least 1. */
static inline long
bench_scaled (long n)
{
  const char *scale = g_getenv ("DK_BENCH_SCALE");
  double factor = scale != NULL ? g_ascii_strtod (scale, NULL) : 1.0;
  long scaled = (long) ((double) n * (factor > 0 ? factor : 1.0));
  return scaled > 0 ? scaled : 1;
}

/* One figure with its baseline and the ratio; TARGET is free text
 * (e.g. ">= 0.8") or NULL. */
static inline void
bench_report_ratio (const char *name, double value, double baseline,
                    const char *unit, const char *target)
{
  printf ("%-24s %12.0f %-6s baseline %12.0f %-6s ratio %6.2f%s%s%s\n",
          name, value, unit, baseline, unit,
          baseline > 0 ? value / baseline : 0.0,
          target ? "  (target " : "", target ? target : "", target ? ")" : "");
  fflush (stdout);
}

/* One figure without a baseline (e.g. ns per call). */
static inline void
bench_report (const char *name, double value, const char *unit, const char *note)
{
  printf ("%-24s %12.2f %-6s%s%s\n", name, value, unit,
          note ? "  " : "", note ? note : "");
  fflush (stdout);
}

#endif
