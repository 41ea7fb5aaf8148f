/* timeseries.c — named per-time-bucket series; see timeseries.h.
 *
 * Each column is a GArray of doubles over the same dense bucket range;
 * NaN marks a cell nothing was written to.  The range grows in either
 * direction as series touch earlier or later buckets.
 */
#include <math.h>
#include <string.h>
#include "timeseries.h"

typedef struct
{
  char        *name;
  DkSeriesKind kind;
  GArray      *cells; /* double, NaN = empty */
} Column;

struct _DkTimeseries
{
  gint64     origin_us;
  gint64     bucket_us;
  gint64     first_bucket; /* bucket number of row 0 */
  guint      n_buckets;
  GPtrArray *columns;      /* Column* */
};

static void
column_free (gpointer data)
{
  Column *column = data;
  g_free (column->name);
  g_array_unref (column->cells);
  g_free (column);
}

DkTimeseries *
dk_timeseries_new (gint64 origin_us, gint64 bucket_us)
{
  g_return_val_if_fail (bucket_us > 0, NULL);
  DkTimeseries *series = g_new0 (DkTimeseries, 1);
  series->origin_us = origin_us;
  series->bucket_us = bucket_us;
  series->columns = g_ptr_array_new_with_free_func (column_free);
  return series;
}

void
dk_timeseries_free (DkTimeseries *series)
{
  if (series == NULL)
    return;
  g_ptr_array_unref (series->columns);
  g_free (series);
}

gint64
dk_timeseries_bucket_us (const DkTimeseries *series)
{
  g_return_val_if_fail (series != NULL, 0);
  return series->bucket_us;
}

static void
fill_empty (GArray *cells, guint at, guint n)
{
  if (n == 0)
    return;
  g_autofree double *empty = g_new (double, n);
  for (guint i = 0; i < n; i++)
    empty[i] = NAN;
  g_array_insert_vals (cells, at, empty, n);
}

guint
dk_timeseries_add_column (DkTimeseries *series, const char *name, DkSeriesKind kind)
{
  g_return_val_if_fail (series != NULL && name != NULL, 0);
  g_return_val_if_fail (strpbrk (name, ",\"\r\n") == NULL, 0);
  g_return_val_if_fail (!dk_timeseries_find_column (series, name, NULL), 0);
  Column *column = g_new0 (Column, 1);
  column->name = g_strdup (name);
  column->kind = kind;
  column->cells = g_array_sized_new (FALSE, FALSE, sizeof (double), series->n_buckets);
  fill_empty (column->cells, 0, series->n_buckets);
  g_ptr_array_add (series->columns, column);
  return series->columns->len - 1;
}

gboolean
dk_timeseries_find_column (const DkTimeseries *series, const char *name,
                           guint *column)
{
  g_return_val_if_fail (series != NULL && name != NULL, FALSE);
  for (guint i = 0; i < series->columns->len; i++)
    if (strcmp (((Column *) g_ptr_array_index (series->columns, i))->name, name) == 0)
      {
        if (column != NULL)
          *column = i;
        return TRUE;
      }
  return FALSE;
}

/* Floor division, so times before the origin land in negative buckets. */
gint64
dk_timeseries_bucket_of (const DkTimeseries *series, gint64 t_us)
{
  g_return_val_if_fail (series != NULL, 0);
  gint64 offset = t_us - series->origin_us;
  gint64 bucket = offset / series->bucket_us;
  if (offset % series->bucket_us != 0 && offset < 0)
    bucket--;
  return bucket;
}

/* The row of the bucket holding T_US, growing the range to include it. */
static guint
row_for (DkTimeseries *series, gint64 t_us)
{
  gint64 bucket = dk_timeseries_bucket_of (series, t_us);
  if (series->n_buckets == 0)
    series->first_bucket = bucket;
  if (bucket < series->first_bucket)
    {
      guint grow = (guint) (series->first_bucket - bucket);
      for (guint i = 0; i < series->columns->len; i++)
        fill_empty (((Column *) g_ptr_array_index (series->columns, i))->cells, 0, grow);
      series->first_bucket = bucket;
      series->n_buckets += grow;
    }
  guint row = (guint) (bucket - series->first_bucket);
  if (row >= series->n_buckets)
    {
      guint grow = row + 1 - series->n_buckets;
      for (guint i = 0; i < series->columns->len; i++)
        {
          GArray *cells = ((Column *) g_ptr_array_index (series->columns, i))->cells;
          fill_empty (cells, cells->len, grow);
        }
      series->n_buckets += grow;
    }
  return row;
}

void
dk_timeseries_add (DkTimeseries *series, guint column, gint64 t_us, double amount)
{
  g_return_if_fail (series != NULL && column < series->columns->len);
  guint row = row_for (series, t_us);
  Column *col = g_ptr_array_index (series->columns, column);
  double *cell = &g_array_index (col->cells, double, row);
  *cell = isnan (*cell) ? amount : *cell + amount;
}

void
dk_timeseries_set (DkTimeseries *series, guint column, gint64 t_us, double value)
{
  g_return_if_fail (series != NULL && column < series->columns->len);
  g_return_if_fail (isfinite (value));
  guint row = row_for (series, t_us);
  Column *col = g_ptr_array_index (series->columns, column);
  g_array_index (col->cells, double, row) = value;
}

guint
dk_timeseries_n_buckets (const DkTimeseries *series)
{
  g_return_val_if_fail (series != NULL, 0);
  return series->n_buckets;
}

gint64
dk_timeseries_bucket_start_us (const DkTimeseries *series, guint row)
{
  g_return_val_if_fail (series != NULL, 0);
  return (series->first_bucket + (gint64) row) * series->bucket_us;
}

gboolean
dk_timeseries_value (const DkTimeseries *series, guint column, guint row,
                     double *value)
{
  g_return_val_if_fail (series != NULL && column < series->columns->len, FALSE);
  g_return_val_if_fail (row < series->n_buckets && value != NULL, FALSE);
  const Column *col = g_ptr_array_index (series->columns, column);
  double cell = g_array_index (col->cells, double, row);
  if (isnan (cell))
    {
      *value = 0;
      return col->kind == DK_SERIES_COUNT;
    }
  *value = cell;
  return TRUE;
}

void
dk_append_number (GString *out, double value)
{
  g_return_if_fail (isfinite (value));
  if (value == floor (value) && fabs (value) < 9007199254740992.0) /* 2^53 */
    {
      g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) value);
      return;
    }
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  for (int precision = 1; precision <= 17; precision++)
    {
      char format[8];
      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  g_string_append (out, buffer);
}

void
dk_timeseries_to_csv (const DkTimeseries *series, GString *out)
{
  g_return_if_fail (series != NULL && out != NULL);
  g_string_append (out, "t_s");
  for (guint i = 0; i < series->columns->len; i++)
    g_string_append_printf (out, ",%s",
                            ((Column *) g_ptr_array_index (series->columns, i))->name);
  g_string_append_c (out, '\n');
  for (guint row = 0; row < series->n_buckets; row++)
    {
      dk_append_number (out, dk_timeseries_bucket_start_us (series, row) / 1e6);
      for (guint i = 0; i < series->columns->len; i++)
        {
          double value;
          g_string_append_c (out, ',');
          if (dk_timeseries_value (series, i, row, &value))
            dk_append_number (out, value);
        }
      g_string_append_c (out, '\n');
    }
}

gboolean
dk_timeseries_save_csv (const DkTimeseries *series, const char *path, GError **error)
{
  g_return_val_if_fail (series != NULL && path != NULL, FALSE);
  g_autoptr (GString) text = g_string_new (NULL);
  dk_timeseries_to_csv (series, text);
  return g_file_set_contents (path, text->str, (gssize) text->len, error);
}
