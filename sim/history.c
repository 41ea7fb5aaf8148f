/* history.c — the operation history, its CSV form, and the final state of
 * the replicas; see history.h for the contract.
 *
 * Operations live in chunks of CHUNK_OPS, allocated in id order, so
 * dk_history_get is an index, the pointers it hands out stay valid as
 * the history grows, and the checkers' walks in id order read memory in
 * order (a million operations allocated one by one would be scattered
 * among the run's other allocations, a cache miss each).
 * The CSV reader is a small RFC 4180 tokenizer followed by a per-column
 * validation that names the line and column of anything it rejects.
 */
#include <errno.h>
#include <string.h>
#include <gio/gio.h>
#include "history.h"

G_DEFINE_QUARK (dk-history-error-quark, dk_history_error)

#define CHUNK_BITS 10
#define CHUNK_OPS (1u << CHUNK_BITS)

struct _DkHistory
{
  DkOp      **chunks;   /* CHUNK_OPS operations each; op ID is in chunk ID >> CHUNK_BITS */
  guint       n_chunks;
  guint64     len;      /* operations */
  GHashTable *by_dot;   /* DkDot* (in its op) -> its op, for writes that reported one */
};

static inline DkOp *
op_at (const DkHistory *history, guint64 id)
{
  return &history->chunks[id >> CHUNK_BITS][id & (CHUNK_OPS - 1)];
}

/* A new zeroed operation at the end, its id the previous length. */
static DkOp *
op_append (DkHistory *history)
{
  if ((history->len & (CHUNK_OPS - 1)) == 0)
    {
      history->chunks = g_renew (DkOp *, history->chunks, history->n_chunks + 1);
      history->chunks[history->n_chunks++] = g_new0 (DkOp, CHUNK_OPS);
    }
  DkOp *op = op_at (history, history->len++);
  op->id = history->len - 1;
  return op;
}

gsize
dk_value_tag (guint64 id, char buffer[DK_VALUE_TAG_SIZE])
{
  return (gsize) g_snprintf (buffer, DK_VALUE_TAG_SIZE, "op%" G_GUINT64_FORMAT ";", id);
}

guint64
dk_value_id (GBytes *value)
{
  gsize len = 0;
  const char *data = value != NULL ? g_bytes_get_data (value, &len) : NULL;
  if (len < 4 || data[0] != 'o' || data[1] != 'p' || !g_ascii_isdigit (data[2]))
    return DK_VALUE_UNKNOWN;
  guint64 id = 0;
  for (gsize i = 2; i < len && i < DK_VALUE_TAG_SIZE; i++)
    {
      if (data[i] == ';')
        return id;
      if (!g_ascii_isdigit (data[i]) || id > (G_MAXUINT64 - 9) / 10)
        return DK_VALUE_UNKNOWN;
      id = id * 10 + (guint64) (data[i] - '0');
    }
  return DK_VALUE_UNKNOWN;
}

static void
returned_clear (gpointer data)
{
  g_clear_pointer (&((DkReturned *) data)->context, dk_vclock_free);
}

static GArray *
returned_new (guint n)
{
  GArray *returned = g_array_sized_new (FALSE, TRUE, sizeof (DkReturned), n);
  g_array_set_clear_func (returned, returned_clear);
  return returned;
}

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
op_clear (DkOp *op)
{
  g_free (op->key);
  g_free (op->reason);
  g_clear_pointer (&op->context, dk_vclock_free);
  g_clear_pointer (&op->stored_context, dk_vclock_free);
  g_clear_pointer (&op->returned, g_array_unref);
}

DkHistory *
dk_history_new (void)
{
  DkHistory *history = g_new0 (DkHistory, 1);
  history->by_dot = g_hash_table_new (dk_dot_hash, dk_dot_equal);
  return history;
}

void
dk_history_free (DkHistory *history)
{
  if (history == NULL)
    return;
  g_hash_table_unref (history->by_dot);
  for (guint64 id = 0; id < history->len; id++)
    op_clear (op_at (history, id));
  for (guint i = 0; i < history->n_chunks; i++)
    g_free (history->chunks[i]);
  g_free (history->chunks);
  g_free (history);
}

guint64
dk_history_invoke (DkHistory *history, guint32 client, DkNodeId coordinator,
                   DkOpKind kind, const char *key, gint64 invoke_us)
{
  g_return_val_if_fail (history != NULL && key != NULL, G_MAXUINT64);
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (op_kind_names), G_MAXUINT64);
  DkOp *op = op_append (history);
  op->client = client;
  op->coordinator = coordinator;
  op->kind = kind;
  op->key = g_strdup (key);
  op->invoke_us = invoke_us;
  op->complete_us = -1;
  op->commit_us = -1;
  op->outcome = DK_OUTCOME_PENDING;
  op->read = DK_VALUE_UNKNOWN;
  if (kind != DK_OP_GET)
    op->context = dk_vclock_new ();
  return op->id;
}

guint64
dk_history_len (const DkHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->len;
}

const DkOp *
dk_history_get (const DkHistory *history, guint64 id)
{
  g_return_val_if_fail (history != NULL && id < history->len, NULL);
  return op_at (history, id);
}

/* The pending operation ID, for completing it; NULL (after a critical
 * warning) when ID is unknown or already complete. */
static DkOp *
pending_op (DkHistory *history, guint64 id)
{
  g_return_val_if_fail (history != NULL && id < history->len, NULL);
  DkOp *op = op_at (history, id);
  g_return_val_if_fail (op->outcome == DK_OUTCOME_PENDING, NULL);
  return op;
}

void
dk_history_set_side (DkHistory *history, guint64 id, guint8 side)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && side <= 2);
  op->side = side;
}

void
dk_history_set_context (DkHistory *history, guint64 id, const DkVclock *context, guint64 read)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && op->kind != DK_OP_GET);
  g_clear_pointer (&op->context, dk_vclock_free);
  op->context = context != NULL ? dk_vclock_copy (context) : dk_vclock_new ();
  op->read = context != NULL ? read : DK_VALUE_UNKNOWN;
}

/* Note OP's new version (once: a second report of the same write is the
 * same version). */
static void
note_written (DkHistory *history, DkOp *op, const DkVersion *version)
{
  if (version == NULL || op->has_dot)
    return;
  op->has_dot = TRUE;
  op->dot = version->dot;
  op->stored_context = dk_vclock_copy (version->context);
  /* A dot two writes reported names the earlier one, as in a loaded
   * history, whatever order the reports came in. */
  const DkOp *known = g_hash_table_lookup (history->by_dot, &op->dot);
  if (known == NULL || known->id > op->id)
    g_hash_table_replace (history->by_dot, &op->dot, op);
}

void
dk_history_set_written (DkHistory *history, guint64 id, const DkVersion *version)
{
  g_return_if_fail (history != NULL && id < history->len && version != NULL);
  DkOp *op = op_at (history, id);
  g_return_if_fail (op->kind != DK_OP_GET);
  note_written (history, op, version);
}

void
dk_history_set_commit (DkHistory *history, guint64 id, gint64 commit_us)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && op->kind != DK_OP_GET && commit_us >= op->invoke_us);
  op->commit_us = commit_us;
}

void
dk_history_complete_write_ok (DkHistory *history, guint64 id,
                              gint64 complete_us, const DkVersion *written)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && op->kind != DK_OP_GET);
  g_return_if_fail (complete_us >= op->commit_us);
  op->complete_us = complete_us;
  op->outcome = DK_OUTCOME_OK;
  note_written (history, op, written);
}

void
dk_history_complete_read_ok (DkHistory *history, guint64 id, gint64 complete_us,
                             const GPtrArray *siblings)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL && op->kind == DK_OP_GET && siblings != NULL);
  op->complete_us = complete_us;
  op->outcome = DK_OUTCOME_OK;
  op->returned = returned_new (siblings->len);
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) siblings, i);
      DkReturned returned = {
        .value = version->tombstone ? DK_VALUE_UNKNOWN : dk_value_id (version->value),
        .dot = version->dot,
        .tombstone = version->tombstone,
        .context = dk_vclock_copy (version->context),
      };
      g_array_append_val (op->returned, returned);
      op->returned_values += !version->tombstone;
    }
}

/* WRITER's context covers WRITE's dot: necessary for knowing it. */
static gboolean
context_covers (const DkOp *writer, const DkOp *write)
{
  return writer->context != NULL && dk_dot_covered (write->dot, writer->context);
}

/* The successful get WRITER's context came from, or NULL. */
static const DkOp *
read_of (const DkHistory *history, const DkOp *writer)
{
  if (writer->read >= history->len)
    return NULL;
  const DkOp *read = op_at (history, writer->read);
  return read->kind == DK_OP_GET && read->returned != NULL ? read : NULL;
}

/* The writers a walk (dk_history_knew) still has to look at, and those it
 * has queued: the first few inline, the rest on the heap.  Most walks end
 * within a step or two, and a stack and a hash table allocated for each
 * cost more than the walk itself. */
typedef struct
{
  const DkOp **pending;            /* a stack: FEW_PENDING until it outgrows it */
  guint        n_pending;
  guint        size;
  const DkOp  *few_pending[16];
  const DkOp  *few_seen[16];       /* the first writers queued */
  guint        n_seen;
  GHashTable  *seen;               /* every writer queued, once past FEW_SEEN */
} Walk;

static void
walk_init (Walk *walk)
{
  walk->pending = walk->few_pending;
  walk->n_pending = 0;
  walk->size = G_N_ELEMENTS (walk->few_pending);
  walk->n_seen = 0;
  walk->seen = NULL;
}

static void
walk_clear (Walk *walk)
{
  if (walk->pending != walk->few_pending)
    g_free (walk->pending);
  g_clear_pointer (&walk->seen, g_hash_table_unref);
}

static void
walk_push (Walk *walk, const DkOp *op)
{
  if (walk->n_pending == walk->size)
    {
      const DkOp **bigger = g_new (const DkOp *, 2 * walk->size);
      memcpy (bigger, walk->pending, walk->n_pending * sizeof *bigger);
      if (walk->pending != walk->few_pending)
        g_free (walk->pending);
      walk->pending = bigger;
      walk->size *= 2;
    }
  walk->pending[walk->n_pending++] = op;
}

/* TRUE the first time OP is asked about. */
static gboolean
walk_first_visit (Walk *walk, const DkOp *op)
{
  if (walk->seen != NULL)
    return g_hash_table_add (walk->seen, (gpointer) op);
  for (guint i = 0; i < walk->n_seen; i++)
    if (walk->few_seen[i] == op)
      return FALSE;
  if (walk->n_seen < G_N_ELEMENTS (walk->few_seen))
    {
      walk->few_seen[walk->n_seen++] = op;
      return TRUE;
    }
  walk->seen = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < walk->n_seen; i++)
    g_hash_table_add (walk->seen, (gpointer) walk->few_seen[i]);
  return g_hash_table_add (walk->seen, (gpointer) op);
}

/* A walk back through reads: from WRITER to the writers of the values its
 * read returned and its context replaced, and on.  Only writes invoked
 * after WRITE can have known it, which bounds the walk.  (Contexts do not
 * only grow along the walk: pruning drops old entries, so a later writer
 * may know WRITE through a chain of reads without still covering it.) */
static gboolean
walk_knew (const DkHistory *history, Walk *walk, const DkOp *write)
{
  while (walk->n_pending > 0)
    {
      const DkOp *current = walk->pending[--walk->n_pending];
      const DkOp *read = read_of (history, current);
      if (read == NULL)
        {
          /* No read to look through: its context is all we know. */
          if (context_covers (current, write))
            return TRUE;
          continue;
        }
      for (guint i = 0; i < read->returned->len; i++)
        {
          const DkReturned *returned = &g_array_index (read->returned, DkReturned, i);
          if (returned->dot.actor != DK_ACTOR_NONE && current->context != NULL
              && !dk_dot_covered (returned->dot, current->context))
            continue;   /* seen, but not replaced: it stays a sibling */
          guint64 value = dk_history_returned_value (history, returned);
          if (value == write->id)
            return TRUE;
          if (value >= history->len)
            {
              /* A version no write of the history explains (its write
               * never reported it): its stored context is all we know. */
              if (returned->context != NULL && dk_dot_covered (write->dot, returned->context))
                return TRUE;
              continue;
            }
          const DkOp *seen = op_at (history, value);
          if (seen->kind != DK_OP_GET && seen->invoke_us >= write->invoke_us
              && walk_first_visit (walk, seen))
            walk_push (walk, seen);
        }
    }
  return FALSE;
}

gboolean
dk_history_knew (const DkHistory *history, const DkOp *writer, const DkOp *write)
{
  g_return_val_if_fail (history != NULL && writer != NULL && write != NULL, FALSE);
  if (!write->has_dot || writer == write)
    return FALSE;
  Walk walk;
  walk_init (&walk);
  walk_push (&walk, writer);
  gboolean knew = walk_knew (history, &walk, write);
  walk_clear (&walk);
  return knew;
}

guint64
dk_history_write_of_dot (const DkHistory *history, DkDot dot)
{
  g_return_val_if_fail (history != NULL, DK_VALUE_UNKNOWN);
  const DkOp *op = g_hash_table_lookup (history->by_dot, &dot);
  return op != NULL ? op->id : DK_VALUE_UNKNOWN;
}

guint64
dk_history_returned_value (const DkHistory *history, const DkReturned *returned)
{
  g_return_val_if_fail (history != NULL && returned != NULL, DK_VALUE_UNKNOWN);
  if (returned->value != DK_VALUE_UNKNOWN || returned->dot.actor == DK_ACTOR_NONE)
    return returned->value;
  return dk_history_write_of_dot (history, returned->dot);
}

void
dk_history_complete_failed (DkHistory *history, guint64 id, gint64 complete_us,
                            const char *reason)
{
  DkOp *op = pending_op (history, id);
  g_return_if_fail (op != NULL);
  op->complete_us = complete_us;
  op->commit_us = -1;   /* kept for a write that succeeds only */
  op->outcome = DK_OUTCOME_FAILED;
  op->reason = g_strdup (reason != NULL ? reason : "unknown");
}

/* ---- writing CSV -------------------------------------------------------- */

#define CSV_HEADER DK_HISTORY_COLUMNS
enum { CSV_COLUMNS = 16 };

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
static void
append_versions_field (GString *out, const DkOp *op)
{
  g_autoptr (GString) text = g_string_new (NULL);
  if (op->stored_context != NULL)
    dk_vclock_append_string (op->stored_context, text);
  for (guint i = 0; op->returned != NULL && i < op->returned->len; i++)
    {
      const DkReturned *returned = &g_array_index (op->returned, DkReturned, i);
      char dot[DK_DOT_STRING_SIZE];
      g_string_append_printf (text, "%s%s ", i > 0 ? "|" : "", dk_dot_format (returned->dot, dot));
      dk_vclock_append_string (returned->context, text);
    }
  append_csv_field (out, text->str);
}

static void
append_value_id (GString *out, guint64 value)
{
  if (value == DK_VALUE_UNKNOWN)
    g_string_append_c (out, '?');
  else
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, value);
}

static void
append_csv_row (GString *out, const DkHistory *history, const DkOp *op)
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
  append_versions_field (out, op);
  g_string_append_c (out, ',');
  if (op->kind != DK_OP_GET)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, op->id);
  for (guint i = 0; op->returned != NULL && i < op->returned->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, '|');
      append_value_id (out, dk_history_returned_value (history,
                                                      &g_array_index (op->returned, DkReturned, i)));
    }
  g_string_append_c (out, ',');
  if (op->has_dot)
    {
      char dot[DK_DOT_STRING_SIZE];
      g_string_append (out, dk_dot_format (op->dot, dot));
    }
  g_string_append_c (out, ',');
  if (op->context != NULL)
    {
      g_autofree char *context = dk_vclock_to_string (op->context);
      append_csv_field (out, context);
    }
  g_string_append_c (out, ',');
  if (op->kind != DK_OP_GET && op->read != DK_VALUE_UNKNOWN)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, op->read);
  g_string_append_c (out, ',');
  if (op->outcome == DK_OUTCOME_OK && op->commit_us >= 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, op->commit_us);
  g_string_append_c (out, '\n');
}

void
dk_history_to_csv (const DkHistory *history, GString *out)
{
  g_return_if_fail (history != NULL && out != NULL);
  g_string_append (out, CSV_HEADER "\n");
  for (guint64 i = 0; i < history->len; i++)
    append_csv_row (out, history, op_at (history, i));
}

gboolean
dk_history_write (const DkHistory *history, FILE *out, GError **error)
{
  g_return_val_if_fail (history != NULL && out != NULL, FALSE);
  g_autoptr (GString) row = g_string_new (CSV_HEADER "\n");
  for (guint64 i = 0; i <= history->len; i++)
    {
      if (fwrite (row->str, 1, row->len, out) != row->len)
        {
          int saved_errno = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "writing the history: %s", g_strerror (saved_errno));
          return FALSE;
        }
      g_string_truncate (row, 0);
      if (i < history->len)
        append_csv_row (row, history, op_at (history, i));
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

/* Parse the clock TEXT found in COLUMN; NULL (an error naming COLUMN) when
 * it is not one. */
static DkVclock *
parse_clock (const CsvReader *reader, const char *column, const char *text, GError **error)
{
  g_autoptr (GError) clock_error = NULL;
  DkVclock *clock = dk_vclock_parse (text, &clock_error);
  if (clock == NULL)
    parse_error (reader, error, "in column %s: %s", column, clock_error->message);
  return clock;
}

/* Parse the versions and value columns of a get into OP->returned. */
static gboolean
parse_returned (const CsvReader *reader, const char *versions, const char *values,
                DkOp *op, GError **error)
{
  op->returned = returned_new (0);
  if (*versions == '\0' && *values == '\0')
    return TRUE;
  g_auto (GStrv) clocks = g_strsplit (versions, "|", -1);
  g_auto (GStrv) ids = g_strsplit (values, "|", -1);
  if (g_strv_length (clocks) != g_strv_length (ids))
    return parse_error (reader, error, "%u versions but %u value ids",
                        g_strv_length (clocks), g_strv_length (ids));
  for (guint i = 0; clocks[i] != NULL; i++)
    {
      DkReturned returned = { .value = DK_VALUE_UNKNOWN };
      if (strcmp (ids[i], "?") != 0)
        {
          gint64 number;
          if (!parse_int64 (reader, "value", ids[i], 0, G_MAXINT64, &number, error))
            return FALSE;
          returned.value = (guint64) number;
        }
      const char *space = strchr (clocks[i], ' ');
      g_autofree char *dot = space != NULL ? g_strndup (clocks[i], space - clocks[i]) : NULL;
      if (dot == NULL || !dk_dot_parse (dot, &returned.dot))
        return parse_error (reader, error, "expected a returned version like"
                            " '3.9c1f02ab:12 {3.9c1f02ab:11}', got '%s'", clocks[i]);
      if ((returned.context = parse_clock (reader, "versions", space + 1, error)) == NULL)
        return FALSE;
      g_array_append_val (op->returned, returned);
    }
  return TRUE;
}

/* Parse the versions, value, dot and context columns of a put or delete. */
static gboolean
parse_write (const CsvReader *reader, char **fields, DkOp *op, GError **error)
{
  gint64 number;
  if (!parse_int64 (reader, "value", fields[11], 0, G_MAXINT64, &number, error))
    return FALSE;
  if ((guint64) number != op->id)
    return parse_error (reader, error, "a %s's value id is its own id %" G_GUINT64_FORMAT
                        ", got %s", dk_op_kind_name (op->kind), op->id, fields[11]);
  if ((op->context = parse_clock (reader, "context", fields[13], error)) == NULL)
    return FALSE;
  if (*fields[14] != '\0')
    {
      if (!parse_int64 (reader, "read", fields[14], 0, (gint64) op->id - 1, &number, error))
        return FALSE;
      op->read = (guint64) number;
    }
  if (*fields[12] == '\0' && *fields[10] == '\0')
    return TRUE;
  if (!dk_dot_parse (fields[12], &op->dot))
    return parse_error (reader, error, "expected a dot like '3.9c1f02ab:12' in column dot,"
                        " got '%s'", fields[12]);
  if ((op->stored_context = parse_clock (reader, "versions", fields[10], error)) == NULL)
    return FALSE;
  op->has_dot = TRUE;
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
  op->commit_us = -1;
  gboolean is_get = op->kind == DK_OP_GET;
  op->read = DK_VALUE_UNKNOWN;
  if (*fields[15] != '\0' && (is_get || op->outcome != DK_OUTCOME_OK))
    return parse_error (reader, error, "only a successful put or delete has a commit_us");
  if (is_get ? *fields[12] != '\0' || *fields[13] != '\0' || *fields[14] != '\0'
             : *fields[9] != '\0')
    return parse_error (reader, error, is_get ? "a get has no dot, context or read"
                                              : "only a get has a values count");
  if (!is_get && !parse_write (reader, fields, op, error))
    return FALSE;
  if (op->outcome == DK_OUTCOME_PENDING)
    {
      if (*fields[6] != '\0' || *fields[8] != '\0'
          || (is_get && (*fields[9] != '\0' || *fields[10] != '\0' || *fields[11] != '\0')))
        return parse_error (reader, error, "a pending operation has no completion,"
                            " reason or returned values");
      return TRUE;
    }
  if (!parse_int64 (reader, "complete_us", fields[6], G_MININT64, G_MAXINT64,
                    &op->complete_us, error))
    return FALSE;
  if (op->outcome == DK_OUTCOME_FAILED)
    {
      if (is_get && (*fields[9] != '\0' || *fields[10] != '\0' || *fields[11] != '\0'))
        return parse_error (reader, error, "a failed get returned nothing");
      op->reason = g_strdup (*fields[8] != '\0' ? fields[8] : "unknown");
      return TRUE;
    }
  if (*fields[8] != '\0')
    return parse_error (reader, error, "a successful operation has no reason");
  if (!is_get)
    {
      if (*fields[15] == '\0')
        return TRUE;
      if (!parse_int64 (reader, "commit_us", fields[15], G_MININT64, G_MAXINT64, &op->commit_us, error))
        return FALSE;
      if (op->commit_us < op->invoke_us || op->commit_us > op->complete_us)
        return parse_error (reader, error, "commit_us %s is not between invoke_us and"
                            " complete_us", fields[15]);
      return TRUE;
    }
  if (!parse_returned (reader, fields[10], fields[11], op, error))
    return FALSE;
  if (!parse_int64 (reader, "values", fields[9], 0, op->returned->len, &number, error))
    return FALSE;
  op->returned_values = (guint) number;
  return TRUE;
}

/* Tombstones among loaded gets' siblings: those naming a delete. */
static void
mark_loaded_tombstones (DkHistory *history)
{
  for (guint64 i = 0; i < history->len; i++)
    {
      DkOp *op = op_at (history, i);
      if (op->has_dot && !g_hash_table_contains (history->by_dot, &op->dot))
        g_hash_table_insert (history->by_dot, &op->dot, op);
      for (guint k = 0; op->returned != NULL && k < op->returned->len; k++)
        {
          DkReturned *returned = &g_array_index (op->returned, DkReturned, k);
          returned->tombstone = returned->value < history->len
            && op_at (history, returned->value)->kind == DK_OP_DELETE;
        }
    }
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
      DkOp *op = op_append (history);
      if (!parse_op (&reader, (char **) fields->pdata, op->id, op, error))
        return NULL;
    }
  mark_loaded_tombstones (history);
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
