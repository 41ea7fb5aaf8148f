/* history.c — the operation history, its CSV form, and the final state of
 * the replicas; see history.h for the contract.
 *
 * Operations live in a GPtrArray indexed by id, so dk_history_get is an
 * index and the pointers it hands out stay valid as the history grows.
 * The CSV reader is a small RFC 4180 tokenizer followed by a per-column
 * validation that names the line and column of anything it rejects.
 */
#include <errno.h>
#include <string.h>
#include <gio/gio.h>
#include "history.h"

G_DEFINE_QUARK (dk-history-error-quark, dk_history_error)

struct _DkHistory
{
  GPtrArray *ops; /* DkOp*, index == id */
};

static const char *const op_kind_names[] = { "get", "put", "delete" };
static const char *const outcome_names[] = { "pending", "ok", "failed" };

const char *
dk_op_kind_name (DkOpKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (op_kind_names), NULL);
  return op_kind_names[kind];
}

const char *
dk_outcome_name (DkOutcome outcome)
{
  g_return_val_if_fail ((guint) outcome < G_N_ELEMENTS (outcome_names), NULL);
  return outcome_names[outcome];
}

static void
op_free (gpointer data)
{
  DkOp *op = data;
  g_free (op->key);
  g_free (op->reason);
  g_clear_pointer (&op->written, dk_vclock_free);
  g_clear_pointer (&op->returned, g_ptr_array_unref);
  g_free (op);
}

DkHistory *
dk_history_new (void)
{
  DkHistory *history = g_new0 (DkHistory, 1);
  history->ops = g_ptr_array_new_with_free_func (op_free);
  return history;
}

void
dk_history_free (DkHistory *history)
{
  if (history == NULL)
    return;
  g_ptr_array_unref (history->ops);
  g_free (history);
}

guint64
dk_history_invoke (DkHistory *history, guint32 client, DkNodeId coordinator,
                   DkOpKind kind, const char *key, gint64 invoke_us)
{
  g_return_val_if_fail (history != NULL && key != NULL, G_MAXUINT64);
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (op_kind_names), G_MAXUINT64);
  DkOp *op = g_new0 (DkOp, 1);
  op->id = history->ops->len;
  op->client = client;
  op->coordinator = coordinator;
  op->kind = kind;
  op->key = g_strdup (key);
  op->invoke_us = invoke_us;
  op->complete_us = -1;
  op->outcome = DK_OUTCOME_PENDING;
  g_ptr_array_add (history->ops, op);
  return op->id;
}

guint64
dk_history_len (const DkHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->ops->len;
}

const DkOp *
dk_history_get (const DkHistory *history, guint64 id)
{
  g_return_val_if_fail (history != NULL && id < history->ops->len, NULL);
  return g_ptr_array_index (history->ops, id);
}

/* The pending operation ID, for completing it; NULL (after a critical
 * warning) when ID is unknown or already complete. */
static DkOp *
pending_op (DkHistory *history, guint64 id)
{
  g_return_val_if_fail (history != NULL && id < history->ops->len, NULL);
  DkOp *op = g_ptr_array_index (history->ops, id);
  g_return_val_if_fail (op->outcome == DK_OUTCOME_PENDING, NULL);
  return op;
}

void
dk_history_complete_write_ok (DkHistory *history, guint64 id,
                              gint64 complete_us, const DkVclock *written)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && op->kind != DK_OP_GET);
  op->complete_us = complete_us;
  op->outcome = DK_OUTCOME_OK;
  op->written = written != NULL ? dk_vclock_copy (written) : NULL;
}

void
dk_history_complete_read_ok (DkHistory *history, guint64 id, gint64 complete_us,
                             const DkVclock *const *clocks, guint n_clocks,
                             guint n_values)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && op->kind == DK_OP_GET);
  g_return_if_fail (n_values <= n_clocks && (clocks != NULL || n_clocks == 0));
  op->complete_us = complete_us;
  op->outcome = DK_OUTCOME_OK;
  op->returned = g_ptr_array_new_full (n_clocks, (GDestroyNotify) dk_vclock_free);
  for (guint i = 0; i < n_clocks; i++)
    g_ptr_array_add (op->returned, dk_vclock_copy (clocks[i]));
  op->returned_values = n_values;
}

void
dk_history_complete_failed (DkHistory *history, guint64 id, gint64 complete_us,
                            const char *reason)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL);
  op->complete_us = complete_us;
  op->outcome = DK_OUTCOME_FAILED;
  op->reason = g_strdup (reason != NULL ? reason : "unknown");
}

/* ---- writing CSV -------------------------------------------------------- */

#define CSV_HEADER \
  "id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions"
enum { CSV_COLUMNS = 11 };

/* Append FIELD to OUT, quoted when RFC 4180 requires it. */
static void
append_csv_field (GString *out, const char *field)
{
  if (strpbrk (field, ",\"\r\n") == NULL)
    {
      g_string_append (out, field);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = field; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* The versions column of OP (see history.h). */
static char *
versions_field (const DkOp *op)
{
  GString *text = g_string_new (NULL);
  if (op->written != NULL)
    {
      g_autofree char *clock = dk_vclock_to_string (op->written);
      g_string_append (text, clock);
    }
  for (guint i = 0; op->returned != NULL && i < op->returned->len; i++)
    {
      g_autofree char *clock = dk_vclock_to_string (g_ptr_array_index (op->returned, i));
      if (i > 0)
        g_string_append_c (text, '|');
      g_string_append (text, clock);
    }
  return g_string_free (text, FALSE);
}

static void
append_csv_row (GString *out, const DkOp *op)
{
  g_string_append_printf (out, "%" G_GUINT64_FORMAT ",%u,%u,%s,", op->id,
                          op->client, op->coordinator, dk_op_kind_name (op->kind));
  append_csv_field (out, op->key);
  g_string_append_printf (out, ",%" G_GINT64_FORMAT ",", op->invoke_us);
  if (op->outcome != DK_OUTCOME_PENDING)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, op->complete_us);
  g_string_append_printf (out, ",%s,", dk_outcome_name (op->outcome));
  if (op->reason != NULL)
    append_csv_field (out, op->reason);
  g_string_append_c (out, ',');
  if (op->returned != NULL)
    g_string_append_printf (out, "%u", op->returned_values);
  g_string_append_c (out, ',');
  g_autofree char *versions = versions_field (op);
  append_csv_field (out, versions);
  g_string_append_c (out, '\n');
}

void
dk_history_to_csv (const DkHistory *history, GString *out)
{
  g_return_if_fail (history != NULL && out != NULL);
  g_string_append (out, CSV_HEADER "\n");
  for (guint i = 0; i < history->ops->len; i++)
    append_csv_row (out, g_ptr_array_index (history->ops, i));
}

gboolean
dk_history_write (const DkHistory *history, FILE *out, GError **error)
{
  g_return_val_if_fail (history != NULL && out != NULL, FALSE);
  g_autoptr (GString) row = g_string_new (CSV_HEADER "\n");
  for (guint i = 0; i <= history->ops->len; i++)
    {
      if (fwrite (row->str, 1, row->len, out) != row->len)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "writing the history: %s", g_strerror (saved_errno));
          return FALSE;
        }
      g_string_truncate (row, 0);
      if (i < history->ops->len)
        append_csv_row (row, g_ptr_array_index (history->ops, i));
    }
  return TRUE;
}

gboolean
dk_history_save (const DkHistory *history, const char *path, GError **error)
{
  g_return_val_if_fail (history != NULL && path != NULL, FALSE);
  FILE *out = fopen (path, "wb");
  if (out == NULL)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  g_autoptr (GError) write_error = NULL;
  gboolean written = dk_history_write (history, out, &write_error);
  if (fclose (out) != 0 && written)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "%s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  if (!written)
    {
      g_set_error (error, G_IO_ERROR, write_error->code, "%s: %s", path,
                   write_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- reading CSV -------------------------------------------------------- */

/* A cursor over the input, counting lines for error messages. */
typedef struct
{
  const char *at;
  const char *end;
  const char *name;
  guint line;
} CsvReader;

static gboolean G_GNUC_PRINTF (3, 4)
parse_error (const CsvReader *reader, GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DK_HISTORY_ERROR, DK_HISTORY_ERROR_PARSE, "%s:%u: %s",
               reader->name, reader->line, message);
  return FALSE;
}

/* Read one record into FIELDS (a strv-style GPtrArray of char*); FALSE at
 * a syntax error.  The caller checks reader->at < reader->end first. */
static gboolean
read_record (CsvReader *reader, GPtrArray *fields, GError **error)
{
  g_autoptr (GString) field = g_string_new (NULL);
  for (;;)
    {
      g_string_truncate (field, 0);
      if (reader->at < reader->end && *reader->at == '"')
        {
          guint opened_line = reader->line;
          reader->at++;
          for (;;)
            {
              if (reader->at >= reader->end)
                {
                  reader->line = opened_line;
                  return parse_error (reader, error, "unterminated quoted field");
                }
              char c = *reader->at++;
              if (c == '"' && reader->at < reader->end && *reader->at == '"')
                reader->at++;
              else if (c == '"')
                break;
              else if (c == '\n')
                reader->line++;
              g_string_append_c (field, c);
            }
          if (reader->at < reader->end && !strchr (",\r\n", *reader->at))
            return parse_error (reader, error, "text after a closing quote");
        }
      else
        while (reader->at < reader->end && !strchr (",\r\n\"", *reader->at))
          g_string_append_c (field, *reader->at++);
      if (reader->at < reader->end && *reader->at == '"')
        return parse_error (reader, error, "a quote inside an unquoted field");
      g_ptr_array_add (fields, g_strndup (field->str, field->len));
      if (reader->at < reader->end && *reader->at == ',')
        {
          reader->at++;
          continue;
        }
      if (reader->at < reader->end && *reader->at == '\r')
        reader->at++;
      if (reader->at < reader->end && *reader->at == '\n')
        reader->at++;
      return TRUE;
    }
}

static gboolean
parse_int64 (const CsvReader *reader, const char *column, const char *text,
             gint64 min, gint64 max, gint64 *out, GError **error)
{
  g_autoptr (GError) number_error = NULL;
  if (!g_ascii_string_to_signed (text, 10, min, max, out, &number_error))
    return parse_error (reader, error, "expected an integer in column %s, got '%s'",
                        column, text);
  return TRUE;
}

static gboolean
parse_name (const CsvReader *reader, const char *column, const char *text,
            const char *const *names, guint n_names, guint *out, GError **error)
{
  for (guint i = 0; i < n_names; i++)
    if (strcmp (text, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return parse_error (reader, error, "unknown %s '%s'", column, text);
}

/* Append to ENCODED the entries of TEXT, a clock in dk_vclock_to_string
 * form ("{1:3, 4:1}"), in dk_vclock_encode's layout; FALSE when TEXT is
 * not of that form.  Returns the entry count in *N_ENTRIES. */
static gboolean
encode_clock_text (const char *text, GByteArray *encoded, guint *n_entries)
{
  const char *p = text;
  *n_entries = 0;
  if (*p++ != '{')
    return FALSE;
  while (*p != '}')
    {
      if (*n_entries > 0 && (*p++ != ',' || *p++ != ' '))
        return FALSE;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      char *after = NULL;
      errno = 0;
      guint64 node = g_ascii_strtoull (p, &after, 10);
      if (errno != 0 || *after != ':' || !g_ascii_isdigit (after[1]) || node > G_MAXUINT32)
        return FALSE;
      p = after + 1;
      guint64 counter = g_ascii_strtoull (p, &after, 10);
      if (errno != 0)
        return FALSE;
      p = after;
      guint8 entry[20] = { 0 }; /* u32 node, u64 counter, i64 timestamp 0 */
      for (int b = 0; b < 4; b++)
        entry[b] = (guint8) (node >> (8 * (3 - b)));
      for (int b = 0; b < 8; b++)
        entry[4 + b] = (guint8) (counter >> (8 * (7 - b)));
      g_byte_array_append (encoded, entry, sizeof entry);
      if (++*n_entries > DK_VCLOCK_MAX_ENTRIES)
        return FALSE;
    }
  return p[1] == '\0';
}

/* Parse one clock in dk_vclock_to_string form by building its canonical
 * encoding, so dk_vclock_decode checks order and ranges. */
static DkVclock *
parse_clock (const CsvReader *reader, const char *text, GError **error)
{
  g_autoptr (GByteArray) encoded = g_byte_array_new ();
  guint8 count[2] = { 0, 0 };
  g_byte_array_append (encoded, count, 2);
  guint n_entries = 0;
  if (!encode_clock_text (text, encoded, &n_entries))
    {
      parse_error (reader, error, "expected a clock like '{1:3, 4:1}', got '%s'", text);
      return NULL;
    }
  encoded->data[0] = (guint8) (n_entries >> 8);
  encoded->data[1] = (guint8) n_entries;
  DkVclock *clock = NULL;
  g_autoptr (GError) decode_error = NULL;
  if (!dk_vclock_decode (encoded->data, encoded->len, NULL, &clock, &decode_error))
    {
      parse_error (reader, error, "invalid clock '%s': %s", text, decode_error->message);
      return NULL;
    }
  return clock;
}

/* Parse the versions column into OP (written or returned, per its kind). */
static gboolean
parse_versions (const CsvReader *reader, const char *text, DkOp *op, GError **error)
{
  if (op->kind == DK_OP_GET)
    op->returned = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_vclock_free);
  if (*text == '\0')
    return TRUE;
  g_auto (GStrv) clocks = g_strsplit (text, "|", -1);
  if (op->kind != DK_OP_GET && g_strv_length (clocks) != 1)
    return parse_error (reader, error, "a %s writes one version, got '%s'",
                        dk_op_kind_name (op->kind), text);
  for (guint i = 0; clocks[i] != NULL; i++)
    {
      DkVclock *clock = parse_clock (reader, clocks[i], error);
      if (clock == NULL)
        return FALSE;
      if (op->kind == DK_OP_GET)
        g_ptr_array_add (op->returned, clock);
      else
        op->written = clock;
    }
  return TRUE;
}

/* Fill OP from the CSV_COLUMNS fields of one row; EXPECTED_ID is its index. */
static gboolean
parse_op (const CsvReader *reader, char **fields, guint64 expected_id, DkOp *op,
          GError **error)
{
  gint64 number = 0;
  guint name = 0;
  if (!parse_int64 (reader, "id", fields[0], 0, G_MAXINT64, &number, error))
    return FALSE;
  if ((guint64) number != expected_id)
    return parse_error (reader, error, "expected operation id %" G_GUINT64_FORMAT
                        ", got %s", expected_id, fields[0]);
  op->id = expected_id;
  if (!parse_int64 (reader, "client", fields[1], 0, G_MAXUINT32, &number, error))
    return FALSE;
  op->client = (guint32) number;
  if (!parse_int64 (reader, "coordinator", fields[2], 0, G_MAXUINT32, &number, error))
    return FALSE;
  op->coordinator = (DkNodeId) number;
  if (!parse_name (reader, "kind", fields[3], op_kind_names,
                   G_N_ELEMENTS (op_kind_names), &name, error))
    return FALSE;
  op->kind = (DkOpKind) name;
  op->key = g_strdup (fields[4]);
  if (!parse_int64 (reader, "invoke_us", fields[5], G_MININT64, G_MAXINT64,
                    &op->invoke_us, error))
    return FALSE;
  if (!parse_name (reader, "outcome", fields[7], outcome_names,
                   G_N_ELEMENTS (outcome_names), &name, error))
    return FALSE;
  op->outcome = (DkOutcome) name;
  op->complete_us = -1;
  if (op->outcome == DK_OUTCOME_PENDING)
    {
      if (*fields[6] != '\0' || *fields[8] != '\0' || *fields[9] != '\0'
          || *fields[10] != '\0')
        return parse_error (reader, error, "a pending operation has only "
                            "id, client, coordinator, kind, key and invoke_us");
      return TRUE;
    }
  if (!parse_int64 (reader, "complete_us", fields[6], G_MININT64, G_MAXINT64,
                    &op->complete_us, error))
    return FALSE;
  if (op->outcome == DK_OUTCOME_FAILED)
    {
      if (*fields[9] != '\0' || *fields[10] != '\0')
        return parse_error (reader, error, "a failed operation has no values or versions");
      op->reason = g_strdup (*fields[8] != '\0' ? fields[8] : "unknown");
      return TRUE;
    }
  if (*fields[8] != '\0')
    return parse_error (reader, error, "a successful operation has no reason");
  if (op->kind != DK_OP_GET && *fields[9] != '\0')
    return parse_error (reader, error, "only a get has a values count");
  if (!parse_versions (reader, fields[10], op, error))
    return FALSE;
  if (op->kind == DK_OP_GET)
    {
      if (!parse_int64 (reader, "values", fields[9], 0, op->returned->len,
                        &number, error))
        return FALSE;
      op->returned_values = (guint) number;
    }
  return TRUE;
}

DkHistory *
dk_history_parse (const char *text, gssize len, const char *name, GError **error)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  CsvReader reader = { text, text + (len < 0 ? strlen (text) : (gsize) len),
                       name != NULL ? name : "history", 1 };
  g_autoptr (DkHistory) history = dk_history_new ();
  g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  if (reader.at >= reader.end)
    {
      parse_error (&reader, error, "empty input: expected the header '%s'", CSV_HEADER);
      return NULL;
    }
  if (!read_record (&reader, fields, error))
    return NULL;
  g_ptr_array_add (fields, NULL);
  g_autofree char *header = g_strjoinv (",", (char **) fields->pdata);
  if (strcmp (header, CSV_HEADER) != 0)
    {
      parse_error (&reader, error, "expected the header '%s'", CSV_HEADER);
      return NULL;
    }
  while (reader.at < reader.end)
    {
      reader.line++;
      g_ptr_array_set_size (fields, 0);
      if (!read_record (&reader, fields, error))
        return NULL;
      if (fields->len != CSV_COLUMNS)
        {
          parse_error (&reader, error, "expected %d fields, got %u", CSV_COLUMNS,
                       fields->len);
          return NULL;
        }
      DkOp *op = g_new0 (DkOp, 1);
      g_ptr_array_add (history->ops, op);
      if (!parse_op (&reader, (char **) fields->pdata, history->ops->len - 1, op, error))
        return NULL;
    }
  return g_steal_pointer (&history);
}

DkHistory *
dk_history_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  return dk_history_parse (text, (gssize) len, path, error);
}
