/* timeseries.h — named per-time-bucket series, written as timeseries.csv.
 *
 * SCENARIOS.md: a run writes "metrics per time bucket".  A DkTimeseries is
 * a table whose rows are consecutive fixed-width time buckets and whose
 * columns are named series; the checkers fill the standard ones (see
 * checkers.h) and the runner may add its own (nodes up, hints queued, ...)
 * before writing, with no change here.  A time T falls in bucket
 * floor((T - origin) / width); rows run densely from the earliest to the
 * latest bucket any series touched.
 *
 * Two kinds of column: a count reads 0 in a bucket nothing was added to;
 * a sample (a gauge, a percentile) is left empty there, so a plot shows a
 * gap rather than a false zero.  Numbers are written in the C locale as
 * the shortest decimal that reads back exactly, so output is
 * byte-identical across runs and machines.
 */
#ifndef DK_TIMESERIES_H
#define DK_TIMESERIES_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  DK_SERIES_COUNT,  /* empty buckets read 0 */
  DK_SERIES_SAMPLE  /* empty buckets stay empty */
} DkSeriesKind;

typedef struct _DkTimeseries DkTimeseries;

/* An empty table of buckets BUCKET_US (> 0) wide, time 0 at ORIGIN_US. */
DkTimeseries *dk_timeseries_new (gint64 origin_us, gint64 bucket_us);
void dk_timeseries_free (DkTimeseries *series);

gint64 dk_timeseries_bucket_us (const DkTimeseries *series);

/* Add a column NAME (copied; a CSV-safe name not already used) of KIND;
 * returns its index, used by the calls below.  Columns keep their order. */
guint dk_timeseries_add_column (DkTimeseries *series, const char *name,
                                DkSeriesKind kind);

/* The index of column NAME, or FALSE when there is none. */
gboolean dk_timeseries_find_column (const DkTimeseries *series, const char *name,
                                    guint *column);

/* The number of the bucket holding T_US: floor ((T_US - origin) / width). */
gint64 dk_timeseries_bucket_of (const DkTimeseries *series, gint64 t_us);

/* Add AMOUNT to COLUMN's value in the bucket holding T_US. */
void dk_timeseries_add (DkTimeseries *series, guint column, gint64 t_us,
                        double amount);

/* Set COLUMN's value in the bucket holding T_US to VALUE (finite). */
void dk_timeseries_set (DkTimeseries *series, guint column, gint64 t_us,
                        double value);

/* Number of rows (buckets), and the start of row ROW relative to origin. */
guint dk_timeseries_n_buckets (const DkTimeseries *series);
gint64 dk_timeseries_bucket_start_us (const DkTimeseries *series, guint row);

/* COLUMN's value in row ROW; FALSE for an empty sample cell. */
gboolean dk_timeseries_value (const DkTimeseries *series, guint column,
                              guint row, double *value);

/* Append the CSV form to OUT: a header "t_s,<columns...>", then one line
 * per bucket, t_s being the bucket's start in seconds from origin. */
void dk_timeseries_to_csv (const DkTimeseries *series, GString *out);

/* Write the CSV form to the file PATH. */
gboolean dk_timeseries_save_csv (const DkTimeseries *series, const char *path,
                                 GError **error);

/* Append VALUE (finite) to OUT as the shortest decimal that reads back as
 * VALUE, C locale; integral values print without a point ("12"). */
void dk_append_number (GString *out, double value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkTimeseries, dk_timeseries_free)

G_END_DECLS

#endif /* DK_TIMESERIES_H */
