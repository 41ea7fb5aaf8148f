/* check_checkers.c — the history, its CSV forms, and every checker.
 *
 * The checkers identify a write by its value and by the contexts clients
 * sent, never by its clock alone (DESIGN.md "Measurement vocabulary").
 * First hand-written histories that must and must not count as
 * violations, several built so that a checker reading clocks alone would
 * judge them wrongly; then properties over concurrent histories of a
 * reference model of a correct DVV store (no violations, and reads judged
 * as the model judges them), into which exactly one violation of each kind
 * is injected and must be found, with its operation id. */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "suites.h"
#include "checkers.h"
#include "final_collect.h"
#include "eventq.h"
#include "rng.h"

/* ---- versions and histories by hand -------------------------------------- */

/* Every hand-made actor is node NODE's store under this incarnation. */
#define INCARNATION 0xa0u
/* A blind write: no get gave its context. */
#define NO_READ DK_VALUE_UNKNOWN

static DkActor
actor_of (DkNodeId node)
{
  return dk_actor_make (node, INCARNATION);
}

static DkDot
dot_of (DkNodeId node, guint64 counter)
{
  return (DkDot) { actor_of (node), counter, 0 };
}

/* A context from "NODE:COUNTER ..." ("1:2 3:1" covers actor_of (1) up to
 * 2 and actor_of (3) up to 1); "" is the empty context. */
static DkVclock *
context_of (const char *spec)
{
  DkVclock *context = dk_vclock_new ();
  g_auto (GStrv) entries = g_strsplit (spec, " ", -1);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      guint node = 0, counter = 0;
      if (*entries[i] == '\0')
        continue;
      g_assert (sscanf (entries[i], "%u:%u", &node, &counter) == 2);
      dk_vclock_raise (context, actor_of (node), counter, 0);
    }
  return context;
}

/* The value the put WRITER stores: its tag (dk_value_tag), then PAYLOAD. */
static GBytes *
tagged_value (guint64 writer, const char *payload)
{
  char tag[DK_VALUE_TAG_SIZE];
  gsize tag_len = dk_value_tag (writer, tag);
  GByteArray *bytes = g_byte_array_new ();
  g_byte_array_append (bytes, (const guint8 *) tag, (guint) tag_len);
  g_byte_array_append (bytes, (const guint8 *) payload, (guint) strlen (payload));
  return g_byte_array_free_to_bytes (bytes);
}

/* A version the put or delete WRITER (of KIND) wrote: DOT, CONTEXT (taken)
 * and the value naming WRITER, or a tombstone. */
static DkVersion *
make_version (guint64 writer, DkOpKind kind, DkDot dot, DkVclock *context)
{
  if (kind == DK_OP_DELETE)
    return dk_version_new (dot, context, NULL, TRUE);
  g_autoptr (GBytes) value = tagged_value (writer, "v");
  return dk_version_new (dot, context, value, FALSE);
}

/* The version write ID reported, rebuilt from the history as a replica
 * holds it. */
static DkVersion *
version_of (const DkHistory *h, guint64 id)
{
  const DkOp *op = dk_history_get (h, id);
  ck_assert_msg (op->has_dot, "write %" G_GUINT64_FORMAT " reported no version", id);
  return make_version (id, op->kind, op->dot, dk_vclock_copy (op->stored_context));
}

/* The context the successful get GET handed its client: the clock of every
 * version it returned (dk_siblings_context, from the history). */
static DkVclock *
reply_context (const DkHistory *h, guint64 get)
{
  const DkOp *op = dk_history_get (h, get);
  ck_assert (op->kind == DK_OP_GET && op->returned != NULL);
  DkVclock *context = dk_vclock_new ();
  for (guint i = 0; i < op->returned->len; i++)
    {
      const DkReturned *returned = &g_array_index (op->returned, DkReturned, i);
      dk_vclock_merge (context, returned->context);
      dk_vclock_raise (context, returned->dot.actor, returned->dot.counter, 0);
    }
  return context;
}

/* Invoke a put or delete of KEY as sim/workload.c does: a read-modify-write
 * sends the reply context of its get GET, a blind write (NO_READ) none. */
static guint64
write_invoke (DkHistory *h, DkOpKind kind, const char *key, gint64 invoke_us, guint64 get)
{
  guint64 id = dk_history_invoke (h, 1, 1, kind, key, invoke_us);
  if (get == NO_READ)
    dk_history_set_context (h, id, NULL, NO_READ);
  else
    {
      g_autoptr (DkVclock) context = reply_context (h, get);
      dk_history_set_context (h, id, context, get);
    }
  return id;
}

/* Invoke a write sending the context SPEC, whatever GET (NO_READ: no get
 * known) returned. */
static guint64
write_invoke_sending (DkHistory *h, DkOpKind kind, const char *key, gint64 invoke_us,
                      const char *spec, guint64 get)
{
  guint64 id = dk_history_invoke (h, 1, 1, kind, key, invoke_us);
  g_autoptr (DkVclock) context = context_of (spec);
  dk_history_set_context (h, id, context, get);
  return id;
}

/* The version write ID issues with DOT, stored with the context its client
 * sent (versioning=dvv), or with STORED (a spec) when not NULL. */
static DkVersion *
issued (const DkHistory *h, guint64 id, DkDot dot, const char *stored)
{
  const DkOp *op = dk_history_get (h, id);
  DkVclock *context = stored != NULL ? context_of (stored) : dk_vclock_copy (op->context);
  return make_version (id, op->kind, dot, context);
}

/* Acknowledge write ID at COMPLETE_US; the reply names its version. */
static void
ack (DkHistory *h, guint64 id, gint64 complete_us, DkDot dot, const char *stored)
{
  g_autoptr (DkVersion) version = issued (h, id, dot, stored);
  dk_history_complete_write_ok (h, id, complete_us, version);
}

/* Fail write ID at COMPLETE_US after its version was issued (so some
 * replicas may have applied it); the failure still names the version. */
static void
fail_issued (DkHistory *h, guint64 id, gint64 complete_us, DkDot dot)
{
  g_autoptr (DkVersion) version = issued (h, id, dot, NULL);
  dk_history_set_written (h, id, version);
  dk_history_complete_failed (h, id, complete_us, "timeout");
}

/* An acknowledged put of KEY with DOT, from the get GET (NO_READ: blind). */
static guint64
put (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us, guint64 get,
     DkDot dot)
{
  guint64 id = write_invoke (h, DK_OP_PUT, key, invoke_us, get);
  ack (h, id, complete_us, dot, NULL);
  return id;
}

/* An acknowledged put stored with the context STORED (a spec), not the
 * one its client sent: what a versioning=vv coordinator does. */
static guint64
put_stored (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us, guint64 get,
            DkDot dot, const char *stored)
{
  guint64 id = write_invoke (h, DK_OP_PUT, key, invoke_us, get);
  ack (h, id, complete_us, dot, stored);
  return id;
}

/* An acknowledged delete of KEY with DOT, from the get GET. */
static guint64
del (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us, guint64 get,
     DkDot dot)
{
  guint64 id = write_invoke (h, DK_OP_DELETE, key, invoke_us, get);
  ack (h, id, complete_us, dot, NULL);
  return id;
}

/* An operation that failed before any version was issued. */
static guint64
failed (DkHistory *h, DkOpKind kind, const char *key, gint64 invoke_us, gint64 complete_us,
        const char *reason)
{
  guint64 id = dk_history_invoke (h, 3, 2, kind, key, invoke_us);
  if (kind != DK_OP_GET)
    dk_history_set_context (h, id, NULL, NO_READ);
  dk_history_complete_failed (h, id, complete_us, reason);
  return id;
}

/* The versions the N writes that follow (guint64 ids) reported, in that
 * order (reconciled or not: that is up to the caller). */
static GPtrArray *
versions_va (const DkHistory *h, guint n, va_list args)
{
  GPtrArray *versions = dk_siblings_new ();
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (versions, version_of (h, va_arg (args, guint64)));
  return versions;
}

/* A successful get of KEY returning VERSIONS (taken). */
static guint64
get_returning (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us,
               GPtrArray *versions)
{
  guint64 id = dk_history_invoke (h, 2, 1, DK_OP_GET, key, invoke_us);
  dk_history_complete_read_ok (h, id, complete_us, versions);
  g_ptr_array_unref (versions);
  return id;
}

/* A successful get of KEY returning the versions of the N writes that
 * follow (guint64 ids). */
static guint64
get (DkHistory *h, const char *key, gint64 invoke_us, gint64 complete_us, guint n, ...)
{
  va_list args;
  va_start (args, n);
  GPtrArray *versions = versions_va (h, n, args);
  va_end (args);
  return get_returning (h, key, invoke_us, complete_us, versions);
}

/* One version in a new set (for get_returning). */
static GPtrArray *
just (DkVersion *version)
{
  GPtrArray *versions = dk_siblings_new ();
  g_ptr_array_add (versions, version);
  return versions;
}

/* Record that NODE holds KEY as the versions of the N writes that follow. */
static void
hold (DkFinalState *final, const DkHistory *h, const char *key, DkNodeId node, guint n, ...)
{
  va_list args;
  va_start (args, n);
  g_autoptr (GPtrArray) versions = versions_va (h, n, args);
  va_end (args);
  dk_final_state_add_siblings (final, key, node, versions);
}

/* KEY's preference list is nodes 1, 2 and 3. */
static void
replicas_123 (DkFinalState *final, const char *key)
{
  static const DkNodeId nodes[] = { 1, 2, 3 };
  dk_final_state_set_replicas (final, key, nodes, G_N_ELEMENTS (nodes));
}

static const DkOp *
op_of (const DkHistory *h, guint64 id)
{
  return dk_history_get (h, id);
}

static gboolean
knew (const DkHistory *h, guint64 writer, guint64 write)
{
  return dk_history_knew (h, op_of (h, writer), op_of (h, write));
}

static double
metric (const DkMetrics *m, const char *name)
{
  double value = -1;
  ck_assert_msg (dk_metrics_get (m, name, &value), "metric %s not measured", name);
  return value;
}

/* Operation ids as text, "3 5" (g_free it). */
static char *
ids_text (const guint64 *ids, guint n)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s%" G_GUINT64_FORMAT, i > 0 ? " " : "", ids[i]);
  return g_string_free (text, FALSE);
}

/* The N ids that follow (guint64 each) as ids_text writes them. */
static char *
ids (guint n, ...)
{
  guint64 list[16];
  g_assert (n <= G_N_ELEMENTS (list));
  va_list args;
  va_start (args, n);
  for (guint i = 0; i < n; i++)
    list[i] = va_arg (args, guint64);
  va_end (args);
  return ids_text (list, n);
}

typedef const guint64 *(*IdList) (const DkMetrics *metrics, guint *n);

static char *
listed (const DkMetrics *m, IdList list)
{
  guint n = 0;
  const guint64 *found = list (m, &n);
  return ids_text (found, n);
}

/* Assert that LIST (dk_metrics_stale_reads, ...) gives EXPECTED (an
 * allocated string, taken). */
#define assert_listed(m, list, expected) \
  do \
    { \
      g_autofree char *listed_ = listed ((m), (list)); \
      g_autofree char *expected_ = (expected); \
      ck_assert_str_eq (listed_, expected_); \
    } \
  while (0)

static char *
divergent_text (const DkMetrics *m)
{
  guint n = 0;
  const char *const *keys = dk_metrics_divergent_keys (m, &n);
  return g_strjoinv ("|", (char **) keys);
}

/* ---- stale reads ---------------------------------------------------------- */

/* A replica answering with an old value under the newest dot and context
 * looks fresh to a checker reading clocks; by value it is stale, and the
 * dot now carries two values. */
START_TEST (stale_read_of_an_old_value_under_the_newest_dot_is_stale_and_a_dot_collision)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 p2 = put (h, "k", 40, 50, g1, dot_of (1, 2));
  guint64 old_under_new = get_returning (h, "k", 60, 70,
                                         just (make_version (p0, DK_OP_PUT, dot_of (1, 2),
                                                             context_of ("1:1"))));
  guint64 fresh = get (h, "k", 60, 70, 1, p2);
  guint64 plain_old = get (h, "k", 60, 70, 1, p0);
  const DkOp *forged = op_of (h, old_under_new);
  ck_assert_uint_eq (dk_history_returned_value (h, &g_array_index (forged->returned,
                                                                   DkReturned, 0)), p0);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  assert_listed (m, dk_metrics_stale_reads, ids (2, old_under_new, plain_old));
  ck_assert_double_eq (metric (m, "stale_read_count"), 2);
  ck_assert_double_eq (metric (m, "stale_reads"), 0.5);
  ck_assert_double_eq (metric (m, "dot_collisions"), 1);
  g_autoptr (GString) json = g_string_new (NULL);
  dk_metrics_to_json (m, json);
  g_autofree char *listed_ids = g_strdup_printf ("\"stale_read_ids\": [%" G_GUINT64_FORMAT
                                                 ", %" G_GUINT64_FORMAT "]",
                                                 old_under_new, plain_old);
  ck_assert_msg (strstr (json->str, listed_ids) != NULL, "%s", json->str);
  (void) fresh;
}
END_TEST

/* A value whose writer had seen the acknowledged write satisfies it, even
 * when that writer failed, and through a chain of reads; a value whose
 * writer saw nothing does not. */
START_TEST (stale_read_returning_a_value_whose_writer_knew_the_acked_write_is_fresh)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 x2 = write_invoke (h, DK_OP_PUT, "k", 40, g1);  /* read p0, applied, failed */
  fail_issued (h, x2, 300, dot_of (2, 1));
  guint64 g3 = get (h, "k", 60, 70, 1, x2);
  guint64 y4 = put (h, "k", 80, 90, g3, dot_of (3, 1));    /* saw x2, so p0 */
  guint64 g5 = get (h, "k", 100, 110, 1, y4);
  guint64 z6 = write_invoke (h, DK_OP_PUT, "k", 120, NO_READ); /* saw nothing */
  fail_issued (h, z6, 130, dot_of (4, 1));
  guint64 g7 = get (h, "k", 140, 150, 1, z6);
  guint64 g8 = get (h, "k", 140, 150, 2, y4, z6);
  ck_assert (knew (h, x2, p0));
  ck_assert (knew (h, y4, p0));
  ck_assert (knew (h, y4, x2));
  ck_assert (!knew (h, z6, p0));
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  assert_listed (m, dk_metrics_stale_reads, ids (1, g7));
  (void) g5;
  (void) g8;
}
END_TEST

/* Nothing at all satisfies an acknowledged delete (its tombstone may be
 * collected) but never a put: not even after a blind delete, which did
 * not replace the put it never saw. */
START_TEST (stale_read_returning_nothing_is_stale_after_a_put_but_not_after_a_delete_that_saw_it)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "a", 0, 10, NO_READ, dot_of (1, 1));
  guint64 nothing_after_put = get (h, "a", 20, 30, 0);

  guint64 p2 = put (h, "b", 0, 10, NO_READ, dot_of (1, 2));
  guint64 g3 = get (h, "b", 20, 30, 1, p2);
  guint64 d4 = del (h, "b", 40, 50, g3, dot_of (1, 3));
  get (h, "b", 60, 70, 0);                               /* fresh */
  guint64 tombstone = get (h, "b", 60, 70, 1, d4);       /* fresh */
  guint64 deleted_value = get (h, "b", 60, 70, 1, p2);   /* stale */

  guint64 p8 = put (h, "c", 0, 10, NO_READ, dot_of (2, 1));
  guint64 d9 = del (h, "c", 20, 30, NO_READ, dot_of (2, 2));
  guint64 nothing_after_blind_delete = get (h, "c", 40, 50, 0);
  get (h, "c", 40, 50, 2, p8, d9);                       /* fresh: both siblings */

  get (h, "d", 40, 50, 0);                               /* no write: fresh */
  const DkOp *op = op_of (h, tombstone);
  const DkReturned *returned = &g_array_index (op->returned, DkReturned, 0);
  ck_assert (returned->tombstone);
  ck_assert_uint_eq (returned->value, DK_VALUE_UNKNOWN);
  ck_assert_uint_eq (dk_history_returned_value (h, returned), d4);
  ck_assert_uint_eq (op->returned_values, 0);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  assert_listed (m, dk_metrics_stale_reads,
                 ids (3, nothing_after_put, deleted_value, nothing_after_blind_delete));
}
END_TEST

/* Two read-modify-writes from one read are concurrent (DVV keeps both as
 * siblings): a read must show both.  A vv coordinator that stored the
 * second with a context raised over the first makes its clock descend
 * from the first's; its client still never saw the first. */
START_TEST (stale_read_missing_one_of_two_concurrent_acked_writes_is_stale)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 w2 = put (h, "k", 40, 50, g1, dot_of (1, 2));
  guint64 w3 = put (h, "k", 40, 55, g1, dot_of (2, 1));
  get (h, "k", 60, 70, 2, w2, w3);
  guint64 only_w2 = get (h, "k", 60, 70, 1, w2);
  guint64 only_w3 = get (h, "k", 60, 70, 1, w3);

  guint64 q7 = put (h, "vv", 0, 10, NO_READ, dot_of (3, 1));
  guint64 g8 = get (h, "vv", 20, 30, 1, q7);
  guint64 a9 = put (h, "vv", 40, 50, g8, dot_of (4, 1));
  guint64 b10 = put_stored (h, "vv", 40, 55, g8, dot_of (4, 2), "3:1 4:1");
  guint64 only_b10 = get (h, "vv", 60, 70, 1, b10);
  g_autoptr (DkVersion) va = version_of (h, a9);
  g_autoptr (DkVersion) vb = version_of (h, b10);
  ck_assert (dk_version_replaces (vb, va));   /* by clock b10 descends from a9 */
  ck_assert (!knew (h, b10, a9));             /* its client never saw a9 */
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  assert_listed (m, dk_metrics_stale_reads, ids (3, only_w2, only_w3, only_b10));
  ck_assert_double_eq (metric (m, "conflict_count"), 1);
}
END_TEST

/* A vector clock assumes a writer that saw counter 2 of an actor saw
 * counter 1: w3's context covers p0's dot only because its read returned
 * q1, a later dot of the same actor.  w3 never saw p0.  A writer whose
 * read is unknown is taken to know what its context covers. */
START_TEST (stale_read_judges_knowing_by_reads_not_by_clock_contiguity)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 q1 = put (h, "k", 0, 12, NO_READ, dot_of (1, 2));   /* a sibling of p0 */
  guint64 g2 = get (h, "k", 20, 30, 1, q1);   /* a replica without p0: stale itself */
  guint64 w3 = put (h, "k", 40, 50, g2, dot_of (2, 1));
  guint64 g4 = get (h, "k", 60, 70, 1, w3);                    /* stale: never saw p0 */
  ck_assert (dk_dot_covered (op_of (h, p0)->dot, op_of (h, w3)->context));
  ck_assert (!knew (h, w3, p0));
  ck_assert (knew (h, w3, q1));

  guint64 p5 = put (h, "k2", 0, 10, NO_READ, dot_of (5, 1));
  guint64 q6 = put (h, "k2", 0, 12, NO_READ, dot_of (5, 2));
  guint64 b7 = write_invoke_sending (h, DK_OP_PUT, "k2", 40, "5:2", NO_READ);
  ack (h, b7, 50, dot_of (6, 1), NULL);
  get (h, "k2", 60, 70, 1, b7);                                /* fresh */
  ck_assert (knew (h, b7, p5));
  ck_assert (knew (h, b7, q6));
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  assert_listed (m, dk_metrics_stale_reads, ids (2, g2, g4));
}
END_TEST

/* "Before" is strict; failed, pending and unreported writes never make a
 * read stale. */
START_TEST (stale_read_needs_a_write_acknowledged_strictly_before_its_invoke)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 100, NO_READ, dot_of (1, 1));
  get (h, "k", 50, 60, 0);
  get (h, "k", 100, 110, 0);
  guint64 after = get (h, "k", 101, 110, 0);
  failed (h, DK_OP_PUT, "j", 0, 10, "unavailable");
  guint64 x = write_invoke (h, DK_OP_PUT, "j", 0, NO_READ);
  fail_issued (h, x, 20, dot_of (2, 1));
  write_invoke (h, DK_OP_PUT, "j", 0, NO_READ);            /* pending */
  guint64 unreported = write_invoke (h, DK_OP_DELETE, "j", 0, NO_READ);
  dk_history_complete_write_ok (h, unreported, 30, NULL);
  get (h, "j", 50, 60, 0);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  assert_listed (m, dk_metrics_stale_reads, ids (1, after));
  ck_assert_double_eq (metric (m, "stale_reads"), 0.25);
}
END_TEST

/* Acknowledged writes without a reported version cannot be judged: they
 * are counted apart, and never called lost or made to stale a read. */
START_TEST (unchecked_writes_are_counted_and_never_judged)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 u0 = write_invoke (h, DK_OP_PUT, "k", 0, NO_READ);
  dk_history_complete_write_ok (h, u0, 10, NULL);
  guint64 u1 = write_invoke (h, DK_OP_DELETE, "k", 20, NO_READ);
  dk_history_complete_write_ok (h, u1, 30, NULL);
  failed (h, DK_OP_PUT, "k", 0, 40, "timeout");
  get (h, "k", 50, 60, 0);
  ck_assert (!op_of (h, u0)->has_dot);
  ck_assert_ptr_null (op_of (h, u0)->stored_context);
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  replicas_123 (final, "k");
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "unchecked_writes"), 2);
  ck_assert_double_eq (metric (m, "acknowledged_writes"), 1);
  ck_assert_double_eq (metric (m, "lost_writes"), 0);
  ck_assert_double_eq (metric (m, "lost_updates"), 0);
  ck_assert_double_eq (metric (m, "under_replicated_writes"), 0);
  ck_assert_double_eq (metric (m, "stale_read_count"), 0);
}
END_TEST

/* Values name their writers; knowing follows reads and values. */
START_TEST (history_knew_follows_reads_and_values_not_clocks)
{
  char tag[DK_VALUE_TAG_SIZE];
  ck_assert_uint_eq (dk_value_tag (42, tag), 5);
  ck_assert_str_eq (tag, "op42;");
  static const struct { const char *bytes; guint64 id; } values[] = {
    { "op42;payload", 42 }, { "op7;", 7 }, { "op0;x", 0 }, { "op42", DK_VALUE_UNKNOWN },
    { "op;x", DK_VALUE_UNKNOWN }, { "xp1;", DK_VALUE_UNKNOWN }, { "op1x;", DK_VALUE_UNKNOWN },
    { "", DK_VALUE_UNKNOWN }, { "op99999999999999999999;", DK_VALUE_UNKNOWN },
  };
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (values[i].bytes, strlen (values[i].bytes));
      ck_assert_msg (dk_value_id (bytes) == values[i].id, "%s", values[i].bytes);
    }
  ck_assert_uint_eq (dk_value_id (NULL), DK_VALUE_UNKNOWN);

  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 x2 = write_invoke (h, DK_OP_PUT, "k", 40, g1);
  fail_issued (h, x2, 50, dot_of (2, 1));
  guint64 g3 = get (h, "k", 60, 70, 1, x2);
  guint64 y4 = put (h, "k", 80, 90, g3, dot_of (3, 1));
  guint64 u5 = write_invoke (h, DK_OP_PUT, "k", 100, NO_READ);
  dk_history_complete_failed (h, u5, 110, "timeout");      /* never reported */
  guint64 b6 = write_invoke_sending (h, DK_OP_PUT, "k", 120, "1:1", NO_READ);
  ck_assert (knew (h, y4, p0));
  ck_assert (knew (h, y4, x2));
  ck_assert (knew (h, x2, p0));
  ck_assert (!knew (h, p0, p0));
  ck_assert (!knew (h, p0, y4));
  ck_assert (!knew (h, x2, y4));
  ck_assert (!knew (h, y4, u5));
  ck_assert (knew (h, b6, p0));
  ck_assert (!knew (h, b6, x2));
  ck_assert_uint_eq (op_of (h, y4)->read, g3);
  ck_assert_uint_eq (op_of (h, u5)->read, NO_READ);
  ck_assert_uint_eq (dk_history_write_of_dot (h, dot_of (2, 1)), x2);
  ck_assert_uint_eq (dk_history_write_of_dot (h, dot_of (9, 9)), DK_VALUE_UNKNOWN);
}
END_TEST

/* ---- lost writes and lost updates ------------------------------------------ */

START_TEST (lost_write_is_an_acked_value_no_replica_holds_and_no_accounted_writer_knew)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  guint64 lost = put (h, "lost", 0, 10, NO_READ, dot_of (1, 1));
  guint64 other = put (h, "lost", 0, 10, NO_READ, dot_of (2, 1));
  guint64 replaced = put (h, "replaced", 0, 10, NO_READ, dot_of (1, 2));
  guint64 g3 = get (h, "replaced", 20, 30, 1, replaced);
  guint64 replacer = put (h, "replaced", 40, 50, g3, dot_of (1, 3));
  guint64 held = put (h, "held", 0, 10, NO_READ, dot_of (1, 4));
  guint64 unacked = write_invoke (h, DK_OP_PUT, "failed", 0, NO_READ);
  fail_issued (h, unacked, 10, dot_of (1, 5));
  del (h, "deleted", 0, 10, NO_READ, dot_of (1, 6));
  static const char *const keys[] = { "lost", "replaced", "held", "failed", "deleted" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    replicas_123 (final, keys[i]);
  for (DkNodeId node = 1; node <= 3; node++)
    {
      hold (final, h, "lost", node, 1, other);
      hold (final, h, "replaced", node, 1, replacer);
      hold (final, h, "held", node, 1, held);
    }
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, ids (1, lost));
  ck_assert_double_eq (metric (m, "lost_writes"), 1);
  ck_assert_double_eq (metric (m, "acknowledged_writes"), 5);
  ck_assert_double_eq (metric (m, "lost_updates"), 0);
  ck_assert_double_eq (metric (m, "under_replicated_writes"), 0);
  ck_assert_double_eq (metric (m, "divergent_keys"), 0);
}
END_TEST

/* Accounted for through writes that are not held themselves: one that
 * failed after being applied, and one that never reported its dot (known
 * by its value). */
START_TEST (lost_write_replaced_knowingly_through_unacknowledged_writes_is_accounted_for)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 x2 = write_invoke (h, DK_OP_PUT, "k", 40, g1);
  fail_issued (h, x2, 50, dot_of (2, 1));
  guint64 g3 = get (h, "k", 60, 70, 1, x2);
  guint64 y4 = put (h, "k", 80, 90, g3, dot_of (3, 1));

  guint64 p5 = put (h, "u", 0, 10, NO_READ, dot_of (1, 2));
  guint64 g6 = get (h, "u", 20, 30, 1, p5);
  guint64 x7 = write_invoke (h, DK_OP_PUT, "u", 40, g6);
  dk_history_complete_failed (h, x7, 50, "timeout");    /* applied, dot never reported */
  guint64 g8 = get_returning (h, "u", 60, 70,
                              just (make_version (x7, DK_OP_PUT, dot_of (4, 1),
                                                  dk_vclock_copy (op_of (h, x7)->context))));
  guint64 y9 = put (h, "u", 80, 90, g8, dot_of (5, 1));
  ck_assert (knew (h, y9, p5));
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  replicas_123 (final, "k");
  replicas_123 (final, "u");
  for (DkNodeId node = 1; node <= 3; node++)
    {
      hold (final, h, "k", node, 1, y4);
      hold (final, h, "u", node, 1, y9);
    }
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, g_strdup (""));
  ck_assert_double_eq (metric (m, "under_replicated_writes"), 0);
}
END_TEST

/* A delete that reported its dot is accounted for whether or not its
 * tombstone is still held (collecting it keeps its effect), and so is what
 * it knew; a delete whose dot never came back accounts for nothing. */
START_TEST (lost_write_replaced_by_a_reported_delete_is_accounted_for_without_its_tombstone)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  guint64 p0 = put (h, "collected", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "collected", 20, 30, 1, p0);
  del (h, "collected", 40, 50, g1, dot_of (1, 2));
  guint64 p3 = put (h, "failed", 0, 10, NO_READ, dot_of (2, 1));
  guint64 g4 = get (h, "failed", 20, 30, 1, p3);
  guint64 d5 = write_invoke (h, DK_OP_DELETE, "failed", 40, g4);
  fail_issued (h, d5, 50, dot_of (2, 2));
  guint64 p6 = put (h, "unreported", 0, 10, NO_READ, dot_of (3, 1));
  guint64 g7 = get (h, "unreported", 20, 30, 1, p6);
  guint64 d8 = write_invoke (h, DK_OP_DELETE, "unreported", 40, g7);
  dk_history_complete_write_ok (h, d8, 50, NULL);
  replicas_123 (final, "collected");
  replicas_123 (final, "failed");
  replicas_123 (final, "unreported");
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, ids (1, p6));
  ck_assert_double_eq (metric (m, "resurrected_deletes"), 0);
}
END_TEST

START_TEST (lost_write_held_only_by_a_non_replica_is_lost)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 q1 = put (h, "k", 0, 10, NO_READ, dot_of (2, 1));
  guint64 r2 = put (h, "chain", 0, 10, NO_READ, dot_of (1, 2));
  guint64 g3 = get (h, "chain", 20, 30, 1, r2);
  guint64 w4 = put (h, "chain", 40, 50, g3, dot_of (1, 3));
  replicas_123 (final, "k");
  replicas_123 (final, "chain");
  hold (final, h, "k", 4, 2, p0, q1);        /* a hinted copy, not a replica */
  hold (final, h, "k", 1, 1, q1);
  hold (final, h, "chain", 5, 1, w4);
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, ids (3, p0, r2, w4));
  ck_assert_double_eq (metric (m, "under_replicated_writes"), 1);   /* q1 */
  ck_assert_double_eq (metric (m, "divergent_keys"), 1);            /* k */
}
END_TEST

/* The contiguity trap again: w3 was stored with a context covering p0's
 * dot, so replicas dropped p0, but w3's client never saw p0: p0 is lost,
 * replaced by a write that never saw it.  q1, which w3's read returned,
 * is accounted for; and a writer whose read is unknown knew what it sent. */
START_TEST (lost_write_covered_only_by_clock_contiguity_is_lost_and_a_lost_update)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 q1 = put (h, "k", 0, 12, NO_READ, dot_of (1, 2));
  guint64 g2 = get (h, "k", 20, 30, 1, q1);
  guint64 w3 = put (h, "k", 40, 50, g2, dot_of (2, 1));
  put (h, "no-read", 0, 10, NO_READ, dot_of (3, 1));
  put (h, "no-read", 0, 12, NO_READ, dot_of (3, 2));
  guint64 b6 = write_invoke_sending (h, DK_OP_PUT, "no-read", 40, "3:2", NO_READ);
  ack (h, b6, 50, dot_of (4, 1), NULL);
  replicas_123 (final, "k");
  replicas_123 (final, "no-read");
  for (DkNodeId node = 1; node <= 3; node++)
    {
      hold (final, h, "k", node, 1, w3);
      hold (final, h, "no-read", node, 1, b6);
    }
  ck_assert (!knew (h, w3, p0));
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, ids (1, p0));
  assert_listed (m, dk_metrics_lost_updates, ids (1, p0));
  (void) q1;
}
END_TEST

/* w2 read p0 but sent a context that does not cover it, so w2 did not
 * replace p0: p0 vanishing from every replica is unexplained. */
START_TEST (lost_write_whose_replacer_sent_a_context_not_covering_it_is_lost)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 w2 = write_invoke_sending (h, DK_OP_PUT, "k", 40, "", g1);
  ack (h, w2, 50, dot_of (2, 1), NULL);
  replicas_123 (final, "k");
  for (DkNodeId node = 1; node <= 3; node++)
    hold (final, h, "k", node, 1, w2);
  ck_assert_uint_eq (op_of (h, w2)->read, g1);
  ck_assert (!knew (h, w2, p0));
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, ids (1, p0));
  assert_listed (m, dk_metrics_lost_updates, g_strdup (""));
}
END_TEST

/* The server-side vector clock anomaly: a coordinator storing a context
 * raised over a sibling its client never saw replaces that sibling. */
START_TEST (lost_updates_are_writes_replaced_by_a_context_their_replacer_never_saw)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  /* two read-modify-writes from one read through coordinator 4 (vv) */
  guint64 p0 = put (h, "vv", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "vv", 20, 30, 1, p0);
  guint64 a2 = put (h, "vv", 40, 50, g1, dot_of (4, 1));
  guint64 b3 = put_stored (h, "vv", 40, 55, g1, dot_of (4, 2), "1:1 4:1");
  /* a blind put stored over an acknowledged put */
  guint64 p4 = put (h, "blind", 0, 10, NO_READ, dot_of (2, 1));
  guint64 x5 = put_stored (h, "blind", 20, 30, NO_READ, dot_of (2, 2), "2:1");
  /* dvv: the stored context is the one sent, which saw p6 */
  guint64 p6 = put (h, "dvv", 0, 10, NO_READ, dot_of (3, 1));
  guint64 g7 = get (h, "dvv", 20, 30, 1, p6);
  guint64 x8 = put (h, "dvv", 40, 50, g7, dot_of (3, 2));
  /* a delete no held write knew, stored over by a write that never saw
   * it: a lost update, though as an issued delete not a lost write */
  guint64 d9 = del (h, "delete", 0, 10, NO_READ, dot_of (5, 1));
  guint64 x10 = put_stored (h, "delete", 20, 30, NO_READ, dot_of (5, 2), "5:1");
  /* still held: whatever covers it, it is not lost */
  guint64 p11 = put (h, "held", 0, 10, NO_READ, dot_of (6, 1));
  guint64 x12 = put_stored (h, "held", 20, 30, NO_READ, dot_of (6, 2), "6:1");
  static const char *const keys[] = { "vv", "blind", "dvv", "delete", "held" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    replicas_123 (final, keys[i]);
  for (DkNodeId node = 1; node <= 3; node++)
    {
      hold (final, h, "vv", node, 1, b3);
      hold (final, h, "blind", node, 1, x5);
      hold (final, h, "dvv", node, 1, x8);
      hold (final, h, "delete", node, 1, x10);
      hold (final, h, "held", node, 2, p11, x12);
    }
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  assert_listed (m, dk_metrics_lost_writes, ids (2, a2, p4));
  assert_listed (m, dk_metrics_lost_updates, ids (3, a2, p4, d9));
  ck_assert_double_eq (metric (m, "lost_updates"), 3);
}
END_TEST

/* ---- resurrected deletes, dot collisions, replication, divergence -------- */

START_TEST (resurrected_deletes_are_acked_deletes_whose_known_values_a_replica_holds)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  /* a: replica 2 missed the delete */
  guint64 p0 = put (h, "a", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "a", 20, 30, 1, p0);
  guint64 d2 = del (h, "a", 40, 50, g1, dot_of (1, 2));
  /* b: a blind delete never replaced p3: both are siblings */
  guint64 p3 = put (h, "b", 0, 10, NO_READ, dot_of (2, 1));
  guint64 d4 = del (h, "b", 20, 30, NO_READ, dot_of (2, 2));
  /* c: only a non-replica still holds the value */
  guint64 p5 = put (h, "c", 0, 10, NO_READ, dot_of (3, 1));
  guint64 g6 = get (h, "c", 20, 30, 1, p5);
  guint64 d7 = del (h, "c", 40, 50, g6, dot_of (3, 2));
  /* d: the delete failed */
  guint64 p8 = put (h, "d", 0, 10, NO_READ, dot_of (4, 1));
  guint64 g9 = get (h, "d", 20, 30, 1, p8);
  guint64 d10 = write_invoke (h, DK_OP_DELETE, "d", 40, g9);
  fail_issued (h, d10, 50, dot_of (4, 2));
  /* e: every replica holds the tombstone */
  guint64 p11 = put (h, "e", 0, 10, NO_READ, dot_of (5, 1));
  guint64 g12 = get (h, "e", 20, 30, 1, p11);
  guint64 d13 = del (h, "e", 40, 50, g12, dot_of (5, 2));
  /* f: the delete knew p14 through w16 */
  guint64 p14 = put (h, "f", 0, 10, NO_READ, dot_of (6, 1));
  guint64 g15 = get (h, "f", 20, 30, 1, p14);
  guint64 w16 = put (h, "f", 40, 50, g15, dot_of (6, 2));
  guint64 g17 = get (h, "f", 60, 70, 1, w16);
  guint64 d18 = del (h, "f", 80, 90, g17, dot_of (6, 3));
  static const char *const keys[] = { "a", "b", "c", "d", "e", "f" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    replicas_123 (final, keys[i]);
  for (DkNodeId node = 1; node <= 3; node++)
    {
      if (node == 2)
        hold (final, h, "a", node, 1, p0);
      else
        hold (final, h, "a", node, 1, d2);
      hold (final, h, "b", node, 2, p3, d4);
      hold (final, h, "c", node, 1, d7);
      hold (final, h, "d", node, 1, p8);
      hold (final, h, "e", node, 1, d13);
      hold (final, h, "f", node, 1, node == 3 ? p14 : d18);
    }
  hold (final, h, "c", 4, 1, p5);
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "resurrected_deletes"), 2);
  assert_listed (m, dk_metrics_lost_writes, g_strdup (""));
}
END_TEST

START_TEST (dot_collisions_are_dots_seen_with_two_values)
{
  /* two writes reporting one dot: from the history alone */
  g_autoptr (DkHistory) reused = dk_history_new ();
  guint64 a = put (reused, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 b = put (reused, "k", 20, 30, NO_READ, dot_of (1, 1));
  get (reused, "k", 40, 50, 1, a);
  get (reused, "k", 40, 50, 1, b);
  put (reused, "k", 60, 70, NO_READ, dot_of (2, 1));
  guint64 c = put (reused, "j", 60, 70, NO_READ, dot_of (2, 1));   /* a second dot */
  g_autoptr (DkMetrics) two = dk_check_history (reused, NULL, NULL);
  ck_assert_double_eq (metric (two, "dot_collisions"), 2);
  ck_assert_uint_eq (dk_history_write_of_dot (reused, dot_of (1, 1)), a);
  (void) c;

  /* a replica holding another value under a write's dot */
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 q1 = put (h, "k", 0, 10, NO_READ, dot_of (2, 1));
  get (h, "k", 20, 30, 2, p0, q1);
  guint64 d3 = del (h, "j", 0, 10, NO_READ, dot_of (3, 1));
  get (h, "j", 20, 30, 1, d3);
  g_autoptr (DkMetrics) clean = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (clean, "dot_collisions"), 0);
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  hold (final, h, "k", 1, 2, p0, q1);
  g_autoptr (GPtrArray) forged = dk_siblings_new ();
  g_ptr_array_add (forged, make_version (q1, DK_OP_PUT, dot_of (1, 1), dk_vclock_new ()));
  dk_final_state_add_siblings (final, "k", 2, forged);
  /* a tombstone under a put's dot has no bytes to compare */
  g_autoptr (GPtrArray) tombstone = dk_siblings_new ();
  g_ptr_array_add (tombstone, make_version (d3, DK_OP_DELETE, dot_of (2, 1), dk_vclock_new ()));
  dk_final_state_add_siblings (final, "k", 3, tombstone);
  g_autoptr (DkMetrics) held = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (held, "dot_collisions"), 1);
}
END_TEST

/* Accounted-for puts that some preference-list replica lacks (neither
 * their value nor a value whose writer knew them). */
START_TEST (under_replicated_writes_are_accounted_puts_short_of_their_replicas)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  guint64 full = put (h, "full", 0, 10, NO_READ, dot_of (1, 1));
  guint64 short_put = put (h, "short", 0, 10, NO_READ, dot_of (1, 2));
  guint64 r2 = put (h, "replaced", 0, 10, NO_READ, dot_of (1, 3));
  guint64 g3 = get (h, "replaced", 20, 30, 1, r2);
  guint64 w4 = put (h, "replaced", 40, 50, g3, dot_of (1, 4));
  guint64 s5 = put (h, "replaced-short", 0, 10, NO_READ, dot_of (1, 5));
  guint64 g6 = get (h, "replaced-short", 20, 30, 1, s5);
  guint64 w7 = put (h, "replaced-short", 40, 50, g6, dot_of (1, 6));
  guint64 lost = put (h, "lost", 0, 10, NO_READ, dot_of (1, 7));
  guint64 u9 = put (h, "unlisted", 0, 10, NO_READ, dot_of (1, 8));
  static const char *const keys[] = { "full", "short", "replaced", "replaced-short", "lost" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    replicas_123 (final, keys[i]);
  for (DkNodeId node = 1; node <= 3; node++)
    {
      hold (final, h, "full", node, 1, full);
      if (node != 3)
        hold (final, h, "short", node, 1, short_put);
      hold (final, h, "replaced", node, 1, w4);
      if (node != 3)
        hold (final, h, "replaced-short", node, 1, w7);
    }
  hold (final, h, "short", 4, 1, short_put);   /* not a replica */
  hold (final, h, "unlisted", 6, 1, u9);       /* no list: its holders */
  hold (final, h, "unlisted", 7, 1, u9);
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "under_replicated_writes"), 3);
  assert_listed (m, dk_metrics_lost_writes, ids (1, lost));
}
END_TEST

START_TEST (divergent_keys_compare_preference_list_replicas)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 a = put (h, "x", 0, 10, NO_READ, dot_of (1, 1));
  guint64 b = put (h, "x", 0, 10, NO_READ, dot_of (1, 2));
  guint64 c = put (h, "x", 0, 10, NO_READ, dot_of (2, 1));
  guint64 d = del (h, "x", 0, 10, NO_READ, dot_of (1, 3));
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  static const char *const keys[] = { "same", "differs", "missing", "deleted",
                                      "tombstone-vs-value", "siblings" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    replicas_123 (final, keys[i]);
  for (DkNodeId node = 1; node <= 3; node++)
    {
      hold (final, h, "same", node, 1, a);
      hold (final, h, "differs", node, 1, node == 3 ? b : a);
      if (node != 3)
        {
          hold (final, h, "missing", node, 1, a);
          hold (final, h, "deleted", node, 1, d);   /* tombstones vs absent: agree */
        }
      if (node == 1)
        hold (final, h, "tombstone-vs-value", node, 1, d);
      else
        hold (final, h, "tombstone-vs-value", node, 1, a);
      hold (final, h, "siblings", node, 2, a, c);
    }
  hold (final, h, "same", 4, 1, b);                 /* not a replica */
  hold (final, h, "unlisted", 5, 1, a);             /* no list: the holders */
  hold (final, h, "unlisted", 6, 1, c);
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_double_eq (metric (m, "divergent_keys"), 4);
  g_autofree char *divergent = divergent_text (m);
  ck_assert_str_eq (divergent, "differs|missing|tombstone-vs-value|unlisted");
}
END_TEST

START_TEST (final_state_metrics_are_unknown_without_a_final_state)
{
  static const char *const needs_final[] = { "lost_writes", "lost_updates",
                                             "resurrected_deletes", "under_replicated_writes",
                                             "divergent_keys" };
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "a", 0, 10, NO_READ, dot_of (1, 1));
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  g_autoptr (GString) json = g_string_new (NULL);
  dk_metrics_to_json (m, json);
  for (guint i = 0; i < G_N_ELEMENTS (needs_final); i++)
    {
      double value;
      ck_assert_msg (dk_metric_name_valid (needs_final[i]), "%s", needs_final[i]);
      ck_assert_msg (!dk_metrics_get (m, needs_final[i], &value), "%s", needs_final[i]);
      g_autofree char *member = g_strdup_printf ("\"%s\": null", needs_final[i]);
      ck_assert_msg (strstr (json->str, member) != NULL, "%s in %s", member, json->str);
    }
  double value;
  ck_assert (!dk_metrics_get (m, "no_such_metric", &value));
  ck_assert_double_eq (metric (m, "dot_collisions"), 0);
  ck_assert_double_eq (metric (m, "unchecked_writes"), 0);
  guint n = 99;
  dk_metrics_lost_writes (m, &n);
  ck_assert_uint_eq (n, 0);
  g_autoptr (GString) summary = g_string_new (NULL);
  dk_metrics_summary (m, summary);
  ck_assert_ptr_nonnull (strstr (summary->str, "lost writes     n/a of 1 acknowledged puts"));
}
END_TEST

START_TEST (final_state_records_held_versions_sorted_by_key_and_node)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 d1 = del (h, "k", 0, 10, NO_READ, dot_of (1, 2));
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  hold (final, h, "k", 3, 1, p0);
  hold (final, h, "k", 1, 1, p0);
  hold (final, h, "k", 3, 2, p0, d1);        /* replaces node 3's record */
  hold (final, h, "j", 2, 0);
  guint n;
  const DkHolding *holdings = dk_final_state_holdings (final, "k", &n);
  ck_assert_uint_eq (n, 2);
  ck_assert_uint_eq (holdings[0].node, 1);
  ck_assert_uint_eq (holdings[1].node, 3);
  ck_assert_uint_eq (holdings[1].n_versions, 2);
  ck_assert_uint_eq (holdings[1].n_values, 1);
  const DkHeld *value = &holdings[1].versions[0];
  const DkHeld *tombstone = &holdings[1].versions[1];
  ck_assert_uint_eq (value->value, p0);
  ck_assert (!value->tombstone);
  ck_assert_uint_eq (value->dot.counter, 1);
  ck_assert_uint_eq (tombstone->value, DK_VALUE_UNKNOWN);
  ck_assert (tombstone->tombstone);
  ck_assert_uint_eq (dk_vclock_size (tombstone->context), 0);
  g_autoptr (GPtrArray) same = dk_siblings_new ();
  g_ptr_array_add (same, version_of (h, p0));
  g_ptr_array_add (same, version_of (h, d1));
  ck_assert_uint_eq (holdings[1].digest, dk_siblings_digest (same));
  g_autofree const char **keys = dk_final_state_keys (final, &n);
  ck_assert_uint_eq (n, 2);
  ck_assert_str_eq (keys[0], "j");
  ck_assert_str_eq (keys[1], "k");
  ck_assert_ptr_null (keys[2]);
  ck_assert_ptr_null (dk_final_state_replicas (final, "k", &n));
  ck_assert_uint_eq (n, 0);
  ck_assert_ptr_null (dk_final_state_holdings (final, "none", &n));
  ck_assert_uint_eq (n, 0);
  replicas_123 (final, "k");
  const DkNodeId *list = dk_final_state_replicas (final, "k", &n);
  ck_assert_uint_eq (n, 3);
  ck_assert_uint_eq (list[2], 3);
}
END_TEST

/* ---- conflicts, availability, latency -------------------------------------- */

START_TEST (conflicts_count_gets_with_several_value_siblings)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 1, NO_READ, dot_of (1, 1));
  guint64 p1 = put (h, "k", 0, 1, NO_READ, dot_of (2, 1));
  guint64 d2 = del (h, "k", 0, 1, NO_READ, dot_of (3, 1));
  get (h, "k", 0, 1, 2, p0, p1);          /* a conflict */
  get (h, "k", 0, 1, 2, p0, d2);          /* a value and a tombstone */
  get (h, "k", 0, 1, 1, p0);
  get (h, "k", 0, 1, 0);
  failed (h, DK_OP_GET, "k", 0, 1, "timeout");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "conflict_count"), 1);
  ck_assert_double_eq (metric (m, "conflicts"), 0.25);
}
END_TEST

START_TEST (availability_counts_pending_as_not_ok_and_tallies_reasons)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  get (h, "k", 0, 1, 0);
  get (h, "k", 0, 1, 0);
  failed (h, DK_OP_GET, "k", 0, 1, "timeout");
  dk_history_invoke (h, 1, 1, DK_OP_GET, "k", 5); /* still pending */
  put (h, "k", 0, 1, NO_READ, dot_of (1, 1));
  failed (h, DK_OP_DELETE, "k", 0, 1, "unavailable");
  failed (h, DK_OP_PUT, "k", 0, 1, "timeout");
  failed (h, DK_OP_PUT, "k", 0, 1, "b-reason");
  failed (h, DK_OP_PUT, "k", 0, 1, "a-reason");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "ops"), 9);
  ck_assert_double_eq (metric (m, "ok_ops"), 3);
  ck_assert_double_eq (metric (m, "failed_ops"), 5);
  ck_assert_double_eq (metric (m, "pending_ops"), 1);
  ck_assert_double_eq_tol (metric (m, "availability"), 3.0 / 9, 1e-12);
  ck_assert_double_eq (metric (m, "get_availability"), 0.5);
  ck_assert_double_eq (metric (m, "put_availability"), 0.2);
  guint n;
  const DkReasonCount *reasons = dk_metrics_failure_reasons (m, &n);
  ck_assert_uint_eq (n, 4);
  ck_assert_str_eq (reasons[0].reason, "timeout");
  ck_assert_uint_eq (reasons[0].count, 2);
  ck_assert_str_eq (reasons[1].reason, "a-reason");
  ck_assert_str_eq (reasons[2].reason, "b-reason");
  ck_assert_str_eq (reasons[3].reason, "unavailable");

  g_autoptr (DkHistory) empty = dk_history_new ();
  g_autoptr (DkMetrics) none = dk_check_history (empty, NULL, NULL);
  ck_assert_double_eq (metric (none, "availability"), 1);
  ck_assert_double_eq (metric (none, "stale_reads"), 0);
  ck_assert_double_eq (metric (none, "latency_p99_ms"), 0);
}
END_TEST

/* Gets take 1..100 ms, puts 1 s: nearest rank gives p50 = 50 ms, p99 =
 * 99 ms, p999 = 100 ms for gets. */
START_TEST (latency_percentiles_use_nearest_rank)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  for (int i = 100; i >= 1; i--)
    get (h, "k", 0, i * 1000, 0);
  put (h, "k", 0, 1000000, NO_READ, dot_of (1, 1));
  failed (h, DK_OP_PUT, "k", 0, 5000000, "timeout");
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "get_latency_p50_ms"), 50);
  ck_assert_double_eq (metric (m, "get_latency_p99_ms"), 99);
  ck_assert_double_eq (metric (m, "get_latency_p999_ms"), 100);
  ck_assert_double_eq (metric (m, "put_latency_p50_ms"), 1000);
  ck_assert_double_eq (metric (m, "put_latency_p999_ms"), 1000);
  ck_assert_double_eq (metric (m, "latency_p50_ms"), 51);
  ck_assert_double_eq (metric (m, "latency_p99_ms"), 100);
  ck_assert_double_eq (metric (m, "latency_p999_ms"), 1000);
}
END_TEST

/* ---- t-visibility and the timeseries --------------------------------------- */

/* The curve looks at the latest acknowledged write only: on key "c" a get
 * returning the latest of two concurrent puts is fresh on the curve but a
 * stale read (it misses the other). */
START_TEST (visibility_buckets_time_since_latest_acked_write)
{
  ck_assert_uint_eq (dk_visibility_n_buckets (), 551);
  ck_assert_uint_eq (dk_visibility_bucket_of (0), 0);
  ck_assert_uint_eq (dk_visibility_bucket_of (99), 0);
  ck_assert_uint_eq (dk_visibility_bucket_of (100), 1);
  ck_assert_uint_eq (dk_visibility_bucket_of (1000), 10);
  ck_assert_uint_eq (dk_visibility_bucket_of (15000), 150);
  ck_assert_uint_eq (dk_visibility_bucket_of (19999), 199);
  ck_assert_uint_eq (dk_visibility_bucket_of (20000), 200);
  ck_assert_int_eq (dk_visibility_bucket_start_us (150), 15000);
  ck_assert_int_eq (dk_visibility_bucket_start_us (dk_visibility_bucket_of (999999)), 990000);
  ck_assert_uint_eq (dk_visibility_bucket_of (G_GINT64_CONSTANT (3600000000)), 550);
  /* Every bucket starts where the one before it ends. */
  for (guint b = 1; b < dk_visibility_n_buckets (); b++)
    {
      gint64 start = dk_visibility_bucket_start_us (b);
      ck_assert_uint_eq (dk_visibility_bucket_of (start), b);
      ck_assert_uint_eq (dk_visibility_bucket_of (start - 1), b - 1);
    }

  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 1000, NO_READ, dot_of (1, 1));
  guint64 r1 = get (h, "k", 1000, 1001, 1, p0);    /* at the ack: not on the curve */
  guint64 p2 = put (h, "k", 1000, 2000, r1, dot_of (1, 2));
  guint64 misses_latest = get (h, "k", 2500, 3000, 1, p0); /* t 0.5 ms */
  get (h, "k", 2700, 3000, 1, p2);                 /* t 0.7 ms, fresh */
  get (h, "k", 17000, 18000, 1, p2);               /* t 15 ms */
  get (h, "k", 15002000, 15003000, 1, p2);         /* t 15 s */
  get (h, "j", 5000, 6000, 0);                     /* no write: not on the curve */
  put (h, "c", 0, 100, NO_READ, dot_of (3, 1));
  guint64 latest = put (h, "c", 0, 200, NO_READ, dot_of (3, 2));
  guint64 misses_one = get (h, "c", 300, 400, 1, latest);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_visibility_to_csv (dk_metrics_visibility (m), csv);
  ck_assert_str_eq (csv->str, "t_ms,reads,stale\n0.1,1,0\n0.5,1,1\n0.7,1,0\n15,1,0\n15000,1,0\n");
  assert_listed (m, dk_metrics_stale_reads, ids (2, misses_latest, misses_one));
}
END_TEST

/* With a commit time recorded (the coordinator's acknowledgement), t
 * counts from it, as in the PBS paper: a get invoked after the commit but
 * before the client heard the acknowledgement is on the curve, judged
 * against that write, while the stale-read verdict still only counts
 * writes acknowledged before the get. */
START_TEST (visibility_counts_t_from_the_commit_when_recorded)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 1000, NO_READ, dot_of (1, 1));       /* no commit: t from 1000 */
  guint64 r1 = get (h, "k", 4000, 4500, 1, p0);                     /* t 3 ms, fresh */
  guint64 p1 = write_invoke (h, DK_OP_PUT, "k", 5000, r1);          /* knew p0 */
  dk_history_set_commit (h, p1, 5200);
  ack (h, p1, 9000, dot_of (1, 2), NULL);
  get (h, "k", 5100, 5500, 1, p0);                   /* before p1's commit: t 4.1 ms, fresh */
  guint64 misses = get (h, "k", 5700, 6000, 1, p0);  /* t 0.5 ms from p1's commit, stale on the curve */
  get (h, "k", 5900, 6000, 1, p1);                   /* t 0.7 ms, fresh */
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_visibility_to_csv (dk_metrics_visibility (m), csv);
  ck_assert_str_eq (csv->str, "t_ms,reads,stale\n0.5,1,1\n0.7,1,0\n3,1,0\n4.1,1,0\n");
  /* p1 was not acknowledged when they were invoked: no stale read */
  assert_listed (m, dk_metrics_stale_reads, ids (0));
  ck_assert_uint_gt (misses, p1);
}
END_TEST

/* The 99.9% window: the earliest bucket from which on the monotone fit of
 * the curve (pools of at least 1,000 reads) stays at or above 0.999. */
START_TEST (visibility_window_is_where_the_curve_stays_above_p)
{
  g_autoptr (DkVisibility) curve = dk_visibility_new ();
  gint64 window = -1;
  ck_assert (!dk_visibility_window_us (curve, 0.999, &window));   /* no reads */
  for (int i = 0; i < 2000; i++)
    dk_visibility_record (curve, 50, i >= 10);                    /* 99.5% */
  for (int i = 0; i < 2000; i++)
    dk_visibility_record (curve, 1200, i >= 1);                   /* 99.95% */
  for (int i = 0; i < 3000; i++)
    dk_visibility_record (curve, 5000, TRUE);
  ck_assert (dk_visibility_window_us (curve, 0.999, &window));
  ck_assert_int_eq (window, 1200);
  ck_assert (dk_visibility_window_us (curve, 0.99, &window));
  ck_assert_int_eq (window, 0);
  /* A small bucket is pooled with the next: 300 reads at 2 ms with one
   * stale, then 800 fresh at 3 ms, pass together (1 in 1,100). */
  for (int i = 0; i < 300; i++)
    dk_visibility_record (curve, 2000, i >= 1);
  for (int i = 0; i < 800; i++)
    dk_visibility_record (curve, 3000, TRUE);
  ck_assert (dk_visibility_window_us (curve, 0.999, &window));
  ck_assert_int_eq (window, 1200);
  /* A late pool a little below p (5 stale in 1,000) is chance: the
   * monotone fit averages it with its neighbours (7 in 7,100 from 1.2 ms
   * on) and the window stays.  A late pool far below (20 in 1,000) pulls
   * the fit from 1.2 ms on under p: the window moves past it. */
  for (int i = 0; i < 1000; i++)
    dk_visibility_record (curve, 8000, i >= 5);
  for (int i = 0; i < 1000; i++)
    dk_visibility_record (curve, 9000, TRUE);
  ck_assert (dk_visibility_window_us (curve, 0.999, &window));
  ck_assert_int_eq (window, 1200);
  for (int i = 0; i < 1000; i++)
    dk_visibility_record (curve, 8500, i >= 20);
  ck_assert (dk_visibility_window_us (curve, 0.999, &window));
  ck_assert_int_eq (window, 9000);
  /* A failing end has none. */
  for (int i = 0; i < 10; i++)
    dk_visibility_record (curve, G_GINT64_CONSTANT (200000000), FALSE);
  ck_assert (!dk_visibility_window_us (curve, 0.999, &window));
}
END_TEST

/* Property: reads fresh with probability at most 0.99 before a random
 * T and 0.9997 from T on (a stale read in 3,300: a pool of 1,000 to 3,000
 * reads often holds two or more by chance).  The window is never before T, and at
 * most 3 ms after it on every seed (an unlucky first pool or two after T
 * can fail on their own): the chance pools further on are averaged into
 * the fit, not read as failures that push the window out. */
START_TEST (visibility_window_is_the_step_of_a_noisy_curve)
{
  int iterations = dk_test_iterations (100);
  for (int seed = 1; seed <= iterations; seed++)
    {
      DkRng rng;
      dk_rng_init (&rng, (guint64) seed, 41);
      g_autoptr (DkVisibility) curve = dk_visibility_new ();
      gint64 step_us = 1000 * (1 + (gint64) dk_rng_below (&rng, 20));
      double before = 0.9 + 0.09 * dk_rng_double (&rng);
      for (gint64 t_us = 0; t_us < 40000; t_us += 1000)
        {
          double fresh = t_us < step_us ? before : 0.9997;
          guint reads = 1000 + (guint) dk_rng_below (&rng, 2000);
          for (guint i = 0; i < reads; i++)
            dk_visibility_record (curve, t_us, dk_rng_double (&rng) < fresh);
        }
      gint64 window = -1;
      ck_assert_msg (dk_visibility_window_us (curve, 0.999, &window), "seed %d: no window", seed);
      ck_assert_msg (window >= step_us && window <= step_us + 3000,
                     "seed %d: window %" G_GINT64_FORMAT " us, step at %" G_GINT64_FORMAT " us",
                     seed, window, step_us);
    }
}
END_TEST

/* k-staleness: how many versions back the newest write a read satisfies
 * is, in acknowledgement order (1: the latest). */
START_TEST (k_staleness_counts_versions_behind)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 1000, NO_READ, dot_of (1, 1));
  guint64 r0 = get (h, "k", 1500, 1600, 1, p0);
  guint64 p1 = put (h, "k", 1700, 2000, r0, dot_of (1, 2));
  guint64 r1 = get (h, "k", 2500, 2600, 1, p1);
  guint64 p2 = put (h, "k", 2700, 3000, r1, dot_of (1, 3));
  get (h, "k", 4000, 4100, 1, p2);      /* the latest: k = 1 */
  get (h, "k", 4000, 4100, 1, p0);      /* two behind: k = 3 */
  get (h, "k", 4000, 4100, 1, p1);      /* k = 2 */
  get (h, "k", 4000, 4100, 0);          /* nothing: k = 4 */
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  /* r0 and r1 read the latest (k = 1) too: 3 of 6 reads at k = 1. */
  guint k = 0;
  ck_assert (dk_visibility_k_staleness (dk_metrics_visibility (m), 0.5, &k));
  ck_assert_uint_eq (k, 1);
  ck_assert (dk_visibility_k_staleness (dk_metrics_visibility (m), 0.6, &k));
  ck_assert_uint_eq (k, 2);
  ck_assert (dk_visibility_k_staleness (dk_metrics_visibility (m), 0.8, &k));
  ck_assert_uint_eq (k, 3);
  ck_assert (dk_visibility_k_staleness (dk_metrics_visibility (m), 1.0, &k));
  ck_assert_uint_eq (k, 4);
  double value;
  ck_assert (dk_metrics_get (m, "k_staleness_999", &value));
  ck_assert_double_eq (value, 4);
  g_autoptr (DkHistory) empty = dk_history_new ();
  g_autoptr (DkMetrics) none = dk_check_history (empty, NULL, NULL);
  ck_assert (!dk_metrics_get (none, "k_staleness_999", &value));
  ck_assert (!dk_metrics_get (none, "visibility_999_ms", &value));
}
END_TEST

/* Availability per side of a partition counts the operations whose
 * client was on that side when it invoked them; the rest count in
 * availability only. */
static void
side_get (DkHistory *h, gint64 at_us, guint8 side, gboolean ok)
{
  guint64 id = dk_history_invoke (h, 4, 1, DK_OP_GET, "s", at_us);
  dk_history_set_side (h, id, side);
  if (ok)
    {
      g_autoptr (GPtrArray) nothing = dk_siblings_new ();
      dk_history_complete_read_ok (h, id, at_us + 1000, nothing);
    }
  else
    dk_history_complete_failed (h, id, at_us + 1000, "timeout");
}

START_TEST (availability_by_partition_side)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  side_get (h, 1000, 0, FALSE);
  side_get (h, 2000, 1, TRUE);
  side_get (h, 3000, 1, FALSE);
  side_get (h, 4000, 1, FALSE);
  side_get (h, 5000, 2, TRUE);
  side_get (h, 6000, 2, TRUE);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  double value;
  ck_assert (dk_metrics_get (m, "minority_availability", &value));
  ck_assert_double_eq_tol (value, 1.0 / 3.0, 1e-12);
  ck_assert (dk_metrics_get (m, "majority_availability", &value));
  ck_assert_double_eq (value, 1);
  ck_assert (dk_metrics_get (m, "availability", &value));
  ck_assert_double_eq_tol (value, 0.5, 1e-12);
}
END_TEST

START_TEST (timeseries_buckets_by_invoke_time_and_takes_runner_columns)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 100000, 102000, NO_READ, dot_of (1, 1));
  get (h, "k", 200000, 201000, 0);                 /* stale */
  failed (h, DK_OP_GET, "k", 2500000, 3500000, "timeout");
  DkCheckOptions options;
  dk_check_options_init (&options);
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, &options);
  DkTimeseries *series = dk_metrics_timeseries (m);
  guint nodes_up = dk_timeseries_add_column (series, "nodes_up", DK_SERIES_SAMPLE);
  dk_timeseries_set (series, nodes_up, 0, 5);
  dk_timeseries_set (series, nodes_up, 3200000, 4);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_timeseries_to_csv (series, csv);
  ck_assert_str_eq (csv->str,
                    "t_s,invoked,ok,failed,gets,puts,stale_reads,latency_p50_ms,"
                    "latency_p99_ms,nodes_up\n"
                    "0,2,2,0,1,1,1,1,2,5\n"
                    "1,0,0,0,0,0,0,,,\n"
                    "2,1,0,1,1,0,0,,,\n"
                    "3,0,0,0,0,0,0,,,4\n");
  guint column;
  ck_assert (dk_timeseries_find_column (series, "stale_reads", &column));
  ck_assert_uint_eq (column, 5);
}
END_TEST

START_TEST (timeseries_grows_both_ways_and_floors_negative_times)
{
  g_autoptr (DkTimeseries) series = dk_timeseries_new (1000, 500);
  guint count = dk_timeseries_add_column (series, "count", DK_SERIES_COUNT);
  dk_timeseries_add (series, count, 2000, 1.5);
  dk_timeseries_add (series, count, 999, 1);
  dk_timeseries_add (series, count, 2400, 1);
  ck_assert_int_eq (dk_timeseries_bucket_of (series, 999), -1);
  ck_assert_uint_eq (dk_timeseries_n_buckets (series), 4);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_timeseries_to_csv (series, csv);
  ck_assert_str_eq (csv->str, "t_s,count\n-0.0005,1\n0,0\n0.0005,0\n0.001,2.5\n");
}
END_TEST

/* ---- output ------------------------------------------------------------------ */

START_TEST (metrics_json_names_every_metric_in_a_fixed_order)
{
  static const char *const names[] = {
    "availability", "stale_reads", "stale_read_count", "lost_writes", "lost_updates",
    "resurrected_deletes", "dot_collisions", "unchecked_writes", "under_replicated_writes",
    "acknowledged_writes", "conflicts", "conflict_count", "max_siblings", "divergent_keys",
    "ops", "ok_ops",
    "failed_ops", "pending_ops", "gets", "ok_gets", "puts", "ok_puts", "get_availability",
    "put_availability", "latency_p50_ms", "latency_p99_ms", "latency_p999_ms",
    "get_latency_p50_ms", "get_latency_p99_ms", "get_latency_p999_ms", "put_latency_p50_ms",
    "put_latency_p99_ms", "put_latency_p999_ms", "visibility_999_ms", "k_staleness_999",
    "minority_availability", "majority_availability" };
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 1500, NO_READ, dot_of (1, 1));
  get (h, "k", 2000, 2250, 1, p0);
  failed (h, DK_OP_GET, "k", 3000, 4000, "say \"no\"");
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  hold (final, h, "k", 1, 1, p0);
  g_autoptr (DkMetrics) m = dk_check_history (h, final, NULL);
  ck_assert_uint_eq (dk_metric_count (), G_N_ELEMENTS (names));
  g_autoptr (GString) json = g_string_new (NULL);
  dk_metrics_to_json (m, json);
  const char *at = json->str;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      double value;
      ck_assert_str_eq (dk_metric_name (i), names[i]);
      ck_assert_msg (dk_metric_name_valid (names[i]), "%s", names[i]);
      /* No partition in this history: the sides are not measured, and
       * say so (null), every other metric is. */
      gboolean by_side = g_str_has_suffix (names[i], "ority_availability");
      ck_assert_msg (dk_metrics_get (m, names[i], &value) == !by_side, "%s", names[i]);
      g_autofree char *member = g_strdup_printf ("\"%s\": ", names[i]);
      const char *found = strstr (at, member);
      ck_assert_msg (found != NULL, "%s out of order in %s", names[i], json->str);
      at = found + strlen (member);
      if (by_side)
        ck_assert_msg (g_str_has_prefix (at, "null"), "%s: %s", names[i], at);
    }
  ck_assert_msg (g_str_has_prefix (json->str, "{\"availability\": 0.6666666666666666, "
                                   "\"stale_reads\": 0, "), "%s", json->str);
  ck_assert_ptr_nonnull (strstr (json->str, "\"put_latency_p50_ms\": 1.5, "));
  ck_assert_ptr_nonnull (strstr (json->str, "\"get_latency_p50_ms\": 0.25, "));
  ck_assert_msg (g_str_has_suffix (json->str, "\"failure_reasons\": {\"say \\\"no\\\"\": 1}, "
                                   "\"lost_write_ids\": [], \"lost_update_ids\": [], "
                                   "\"stale_read_ids\": []}"), "%s", json->str);
  g_autoptr (GString) again = g_string_new (NULL);
  g_autoptr (DkMetrics) m2 = dk_check_history (h, final, NULL);
  dk_metrics_to_json (m2, again);
  ck_assert_str_eq (json->str, again->str);
  g_autoptr (GString) summary = g_string_new (NULL);
  dk_metrics_summary (m, summary);
  ck_assert_ptr_nonnull (strstr (summary->str, "lost writes     0 of 1 acknowledged puts"));
}
END_TEST

/* The JSON names the operations behind the counts, the first 100 of each. */
START_TEST (metrics_json_lists_the_first_100_ids_of_each_violation)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  for (guint i = 0; i < 101; i++)
    get (h, "k", 20, 30, 0);                     /* ids 1..101, all stale */
  g_autoptr (DkMetrics) m = dk_check_history (h, NULL, NULL);
  ck_assert_double_eq (metric (m, "stale_read_count"), 101);
  g_autoptr (GString) json = g_string_new (NULL);
  dk_metrics_to_json (m, json);
  g_autoptr (GString) listed_ids = g_string_new ("\"stale_read_ids\": [");
  for (guint64 id = 1; id <= 100; id++)
    g_string_append_printf (listed_ids, "%s%" G_GUINT64_FORMAT, id > 1 ? ", " : "", id);
  g_string_append (listed_ids, "]}");
  ck_assert_msg (g_str_has_suffix (json->str, listed_ids->str), "%s", json->str);
  /* Without a final state lost writes were not measured: null, as the count. */
  ck_assert_ptr_nonnull (strstr (json->str, "\"lost_write_ids\": null, "));
}
END_TEST

/* ---- history.csv and final.csv --------------------------------------------- */

/* A history with every outcome, awkward keys and reasons, a returned
 * tombstone, a value that names no write, reported and unreported dots. */
static DkHistory *
awkward_history (void)
{
  DkHistory *h = dk_history_new ();
  guint64 p0 = dk_history_invoke (h, 1, 1, DK_OP_PUT, "comma,key", 0);
  dk_history_set_context (h, p0, NULL, NO_READ);
  ack (h, p0, 10, dot_of (1, 1), NULL);
  guint64 g1 = get (h, "comma,key", 20, 30, 1, p0);
  guint64 d2 = write_invoke (h, DK_OP_DELETE, "comma,key", 40, g1);
  dk_history_set_commit (h, d2, 45);
  ack (h, d2, 50, dot_of (1, 2), NULL);
  guint64 g3 = get (h, "comma,key", 60, 70, 2, p0, d2);
  get (h, "quote\"d\nline", 80, 90, 0);
  guint64 f5 = dk_history_invoke (h, 3, 2, DK_OP_DELETE, "k", 100);
  dk_history_set_context (h, f5, NULL, NO_READ);
  dk_history_set_commit (h, f5, 105);   /* kept only for a write that succeeds */
  dk_history_complete_failed (h, f5, 110, "unavailable: 1 of 2 \"replicas\"");
  dk_history_invoke (h, 9, 0, DK_OP_GET, "pending", 120);
  guint64 w7 = dk_history_invoke (h, 4, 3, DK_OP_PUT, "comma,key", 130);
  g_autoptr (DkVclock) context = reply_context (h, g1);
  dk_history_set_context (h, w7, context, g1);
  guint64 u8 = write_invoke (h, DK_OP_PUT, "k", 140, NO_READ);
  dk_history_complete_write_ok (h, u8, 150, NULL);
  guint64 x9 = write_invoke (h, DK_OP_PUT, "comma,key", 160, g3);
  g_autoptr (DkVersion) raised = issued (h, x9, dot_of (2, 1), "1:2 3:4");
  dk_history_set_written (h, x9, raised);
  dk_history_complete_failed (h, x9, 170, "timeout");
  g_autoptr (GBytes) short_value = g_bytes_new ("x", 1);
  get_returning (h, "k", 180, 190, just (dk_version_new (dot_of (4, 1), NULL, short_value, FALSE)));
  return h;
}

START_TEST (history_csv_writes_every_column_and_round_trips_every_outcome)
{
  g_autoptr (DkHistory) h = awkward_history ();
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_history_to_csv (h, csv);
  ck_assert_str_eq (csv->str,
    "id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions,"
    "value,dot,context,read,commit_us\n"
    "0,1,1,put,\"comma,key\",0,10,ok,,,{},0,1.a0:1,{},,\n"
    "1,2,1,get,\"comma,key\",20,30,ok,,1,1.a0:1 {},0,,,,\n"
    "2,1,1,delete,\"comma,key\",40,50,ok,,,{1.a0:1},2,1.a0:2,{1.a0:1},1,45\n"
    "3,2,1,get,\"comma,key\",60,70,ok,,1,1.a0:1 {}|1.a0:2 {1.a0:1},0|2,,,,\n"
    "4,2,1,get,\"quote\"\"d\nline\",80,90,ok,,0,,,,,,\n"
    "5,3,2,delete,k,100,110,failed,\"unavailable: 1 of 2 \"\"replicas\"\"\",,,5,,{},,\n"
    "6,9,0,get,pending,120,,pending,,,,,,,,\n"
    "7,4,3,put,\"comma,key\",130,,pending,,,,7,,{1.a0:1},1,\n"
    "8,1,1,put,k,140,150,ok,,,,8,,{},,\n"
    "9,1,1,put,\"comma,key\",160,170,failed,timeout,,\"{1.a0:2, 3.a0:4}\",9,2.a0:1,"
    "{1.a0:2},3,\n"
    "10,2,1,get,k,180,190,ok,,1,4.a0:1 {},?,,,,\n");

  g_autoptr (GError) error = NULL;
  g_autoptr (DkHistory) back = dk_history_parse (csv->str, -1, "test", &error);
  ck_assert_msg (back != NULL, "%s", error != NULL ? error->message : "");
  ck_assert_uint_eq (dk_history_len (back), dk_history_len (h));
  ck_assert_str_eq (op_of (back, 4)->key, "quote\"d\nline");
  const DkOp *siblings = op_of (back, 3);
  ck_assert_uint_eq (siblings->returned->len, 2);
  ck_assert_uint_eq (siblings->returned_values, 1);
  ck_assert (!g_array_index (siblings->returned, DkReturned, 0).tombstone);
  ck_assert (g_array_index (siblings->returned, DkReturned, 1).tombstone);
  ck_assert_uint_eq (dk_history_returned_value (back, &g_array_index (siblings->returned,
                                                                      DkReturned, 1)), 2);
  const DkOp *raised = op_of (back, 9);
  ck_assert (raised->has_dot);
  ck_assert_int_eq (raised->outcome, DK_OUTCOME_FAILED);
  ck_assert_uint_eq (raised->dot.actor, actor_of (2));
  ck_assert_uint_eq (raised->dot.counter, 1);
  ck_assert_uint_eq (dk_vclock_get (raised->stored_context, actor_of (3)), 4);
  ck_assert_uint_eq (dk_vclock_get (raised->context, actor_of (1)), 2);
  ck_assert_uint_eq (raised->read, 3);
  ck_assert_int_eq (op_of (back, 2)->commit_us, 45);
  ck_assert_int_eq (op_of (back, 5)->commit_us, -1);
  ck_assert_int_eq (op_of (back, 0)->commit_us, -1);
  ck_assert (!op_of (back, 8)->has_dot);
  ck_assert_int_eq (op_of (back, 8)->outcome, DK_OUTCOME_OK);
  ck_assert_int_eq (op_of (back, 7)->complete_us, -1);
  ck_assert_uint_eq (op_of (back, 7)->read, 1);
  ck_assert_uint_eq (op_of (back, 0)->read, NO_READ);
  ck_assert_uint_eq (dk_vclock_size (op_of (back, 0)->context), 0);
  ck_assert_ptr_null (op_of (back, 1)->context);
  ck_assert_str_eq (op_of (back, 5)->reason, "unavailable: 1 of 2 \"replicas\"");
  ck_assert_uint_eq (g_array_index (op_of (back, 10)->returned, DkReturned, 0).value,
                     DK_VALUE_UNKNOWN);
  ck_assert (knew (back, 9, 0));
  ck_assert (knew (back, 2, 0));
  g_autoptr (GString) again = g_string_new (NULL);
  dk_history_to_csv (back, again);
  ck_assert_str_eq (csv->str, again->str);

  /* the checkers see the same thing in both */
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  replicas_123 (final, "comma,key");
  hold (final, h, "comma,key", 1, 1, (guint64) 9);
  hold (final, h, "comma,key", 2, 1, (guint64) 2);
  g_autoptr (DkMetrics) m1 = dk_check_history (h, final, NULL);
  g_autoptr (DkMetrics) m2 = dk_check_history (back, final, NULL);
  g_autoptr (GString) json1 = g_string_new (NULL);
  g_autoptr (GString) json2 = g_string_new (NULL);
  dk_metrics_to_json (m1, json1);
  dk_metrics_to_json (m2, json2);
  ck_assert_str_eq (json1->str, json2->str);

  /* through a file, too */
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "dk-history-XXXXXX", NULL);
  int fd = g_mkstemp (path);
  ck_assert_int_ge (fd, 0);
  close (fd);
  ck_assert (dk_history_save (h, path, &error));
  g_autoptr (DkHistory) loaded = dk_history_load (path, &error);
  ck_assert_msg (loaded != NULL, "%s", error != NULL ? error->message : "");
  g_string_truncate (again, 0);
  dk_history_to_csv (loaded, again);
  ck_assert_str_eq (csv->str, again->str);
  g_unlink (path);
}
END_TEST

#define HISTORY_HEADER \
  "id,client,coordinator,kind,key,invoke_us,complete_us,outcome,reason,values,versions," \
  "value,dot,context,read,commit_us\n"

START_TEST (history_parse_rejects_malformed_rows_naming_the_line_and_column)
{
  /* Each row follows a valid put (line 2), so it is line 3. */
  static const struct { const char *row; const char *message; } cases[] = {
    { "2,1,1,get,k,20,30,ok,,0,,,,,,", "test:3: expected operation id 1, got 2" },
    { "1,x,1,get,k,20,30,ok,,0,,,,,,", "test:3: expected an integer in column client, got 'x'" },
    { "1,1,-3,get,k,20,30,ok,,0,,,,,,", "test:3: expected an integer in column coordinator" },
    { "1,1,1,post,k,20,30,ok,,0,,,,,,", "test:3: unknown kind 'post'" },
    { "1,1,1,get,k,soon,30,ok,,0,,,,,,", "test:3: expected an integer in column invoke_us, got 'soon'" },
    { "1,1,1,get,k,20,later,ok,,0,,,,,,", "test:3: expected an integer in column complete_us" },
    { "1,1,1,get,k,20,30,done,,0,,,,,,", "test:3: unknown outcome 'done'" },
    { "1,1,1,get,k,20,30,ok,,2,1.a0:1 {},0,,,,", "test:3: expected an integer in column values, got '2'" },
    { "1,1,1,get,k,20,30,ok,,1,1.a0:1 {},zero,,,,", "test:3: expected an integer in column value, got 'zero'" },
    { "1,1,1,get,k,20,30,ok,,1,1.a0:1,0,,,,", "test:3: expected a returned version like" },
    { "1,1,1,get,k,20,30,ok,,1,1.a0:1 {}|2.a0:1 {},0,,,,", "test:3: 2 versions but 1 value ids" },
    { "1,1,1,get,k,20,30,ok,,1,1.a0:1 {1.a0:x},0,,,,", "test:3: in column versions: '{1.a0:x}' is not a clock" },
    { "1,1,1,put,k,20,30,ok,,,{},5,1.a0:2,{},,", "test:3: a put's value id is its own id 1, got 5" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0,{},,", "test:3: expected a dot like '3.9c1f02ab:12' in column dot, got '1.a0'" },
    { "1,1,1,put,k,20,30,ok,,,{},1,0.a0:2,{},,", "test:3: expected a dot like '3.9c1f02ab:12' in column dot, got '0.a0:2'" },
    { "1,1,1,put,k,20,30,ok,,,{1.a0:1},1,,{},,", "test:3: expected a dot like '3.9c1f02ab:12' in column dot, got ''" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,\"{1.a0:1,}\",,", "test:3: in column context: '{1.a0:1,}' is not a clock" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,,,", "test:3: in column context: '' is not a clock" },
    { "1,1,1,put,k,20,30,ok,,,\"{2.a0:1, 1.a0:1}\",1,1.a0:2,{},,", "test:3: in column versions: '{2.a0:1, 1.a0:1}' is not a clock" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,{},1,", "test:3: expected an integer in column read, got '1'" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,{},x,", "test:3: expected an integer in column read, got 'x'" },
    { "1,1,1,put,k,20,30,ok,,0,{},1,1.a0:2,{},,", "test:3: only a get has a values count" },
    { "1,1,1,get,k,20,30,ok,,0,,,1.a0:1,,,", "test:3: a get has no dot, context or read" },
    { "1,1,1,get,k,20,30,ok,,0,,,,{},0,", "test:3: a get has no dot, context or read" },
    { "1,1,1,get,k,20,,pending,,0,,,,,,", "test:3: a pending operation has no completion" },
    { "1,1,1,get,k,20,30,pending,,,,,,,,", "test:3: a pending operation has no completion" },
    { "1,1,1,get,k,20,30,failed,timeout,1,1.a0:1 {},0,,,,", "test:3: a failed get returned nothing" },
    { "1,1,1,put,k,20,30,ok,why,,{},1,1.a0:2,{},,", "test:3: a successful operation has no reason" },
    { "1,1,1,get,k,20,30,ok,,0,,,,,", "test:3: expected 16 fields, got 15" },
    { "1,1,1,get,\"k\"x,20,30,ok,,0,,,,,,", "test:3: text after a closing quote" },
    { "1,1,1,get,\"k,20,30,ok,,0,,,,,,", "test:3: unterminated quoted field" },
    { "1,1,1,get,k\"q,20,30,ok,,0,,,,,,", "test:3: a quote inside an unquoted field" },
    { "1,1,1,get,k,20,30,ok,,0,,,,,,25", "test:3: only a successful put or delete has a commit_us" },
    { "1,1,1,put,k,20,30,failed,timeout,,,1,,{},,25", "test:3: only a successful put or delete has a commit_us" },
    { "1,1,1,put,k,20,,pending,,,,1,,{},,25", "test:3: only a successful put or delete has a commit_us" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,{},,soon", "test:3: expected an integer in column commit_us, got 'soon'" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,{},,31", "test:3: commit_us 31 is not between invoke_us and complete_us" },
    { "1,1,1,put,k,20,30,ok,,,{},1,1.a0:2,{},,19", "test:3: commit_us 19 is not between invoke_us and complete_us" },
  };
  const char *valid = "0,1,1,put,k,0,10,ok,,,{},0,1.a0:1,{},,\n";
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat (HISTORY_HEADER, valid, cases[i].row, "\n", NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (DkHistory) h = dk_history_parse (text, -1, "test", &error);
      ck_assert_msg (h == NULL, "accepted %s", cases[i].row);
      ck_assert_msg (g_error_matches (error, DK_HISTORY_ERROR, DK_HISTORY_ERROR_PARSE),
                     "%s", cases[i].row);
      ck_assert_msg (g_str_has_prefix (error->message, cases[i].message),
                     "%s: got '%s'", cases[i].row, error->message);
    }
  /* the valid rows alone, and a get row, parse */
  g_autofree char *fine = g_strconcat (HISTORY_HEADER, valid,
                                       "1,2,1,get,k,20,30,ok,,1,1.a0:1 {},0,,,,\n", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (DkHistory) parsed = dk_history_parse (fine, -1, "test", &error);
  ck_assert_msg (parsed != NULL, "%s", error != NULL ? error->message : "");
  ck_assert_uint_eq (dk_history_len (parsed), 2);

  /* a quoted field spanning lines moves the line count on */
  g_autofree char *multi = g_strconcat (HISTORY_HEADER, "0,1,1,get,\"two\nlines\",0,10,ok,,0,,,,,,\n",
                                        "1,1,1,get,k,soon,30,ok,,0,,,,,,\n", NULL);
  ck_assert_ptr_null (dk_history_parse (multi, -1, "run/history.csv", &error));
  ck_assert_msg (g_str_has_prefix (error->message, "run/history.csv:4: expected an integer in"
                                   " column invoke_us"), "%s", error->message);
  g_clear_error (&error);
  ck_assert_ptr_null (dk_history_parse ("id,kind\n", -1, "test", &error));
  ck_assert (g_str_has_prefix (error->message, "test:1: expected the header"));
  g_clear_error (&error);
  ck_assert_ptr_null (dk_history_parse ("", 0, "test", &error));
  ck_assert (g_str_has_prefix (error->message, "test:1: empty input"));
  g_autoptr (DkHistory) only_header = dk_history_parse (HISTORY_HEADER, -1, "test", NULL);
  ck_assert_ptr_nonnull (only_header);
  ck_assert_uint_eq (dk_history_len (only_header), 0);
}
END_TEST

/* Two writes reporting one dot (a collision): the dot names the earlier
 * one whatever order the reports came in, as in a loaded history, so a
 * round trip keeps every verdict on a replica holding that dot. */
/* A history far longer than one block of its storage: every operation
 * keeps its id, its fields and its address as the history grows, and the
 * CSV round trip keeps them all. */
START_TEST (history_keeps_every_operation_of_a_long_history)
{
  enum { N_OPS = 5000 };
  g_autoptr (DkHistory) h = dk_history_new ();
  const DkOp *first = NULL;
  for (guint i = 0; i < N_OPS; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i);
      guint64 id = dk_history_invoke (h, i, 1, i % 2 ? DK_OP_PUT : DK_OP_GET, key, i);
      ck_assert_uint_eq (id, i);
      if (i == 0)
        first = dk_history_get (h, 0);
    }
  ck_assert_ptr_eq (dk_history_get (h, 0), first);
  ck_assert_uint_eq (dk_history_len (h), N_OPS);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_history_to_csv (h, csv);
  g_autoptr (GError) error = NULL;
  g_autoptr (DkHistory) loaded = dk_history_parse (csv->str, (gssize) csv->len, "long", &error);
  ck_assert_msg (loaded != NULL, "%s", error != NULL ? error->message : "");
  ck_assert_uint_eq (dk_history_len (loaded), N_OPS);
  for (guint i = 0; i < N_OPS; i++)
    for (guint copy = 0; copy < 2; copy++)
      {
        const DkOp *op = dk_history_get (copy == 0 ? h : loaded, i);
        g_autofree char *key = g_strdup_printf ("k%u", i);
        ck_assert_uint_eq (op->id, i);
        ck_assert_uint_eq (op->client, i);
        ck_assert_int_eq (op->invoke_us, i);
        ck_assert_str_eq (op->key, key);
        ck_assert_int_eq (op->kind, i % 2 ? DK_OP_PUT : DK_OP_GET);
      }
}
END_TEST

START_TEST (history_csv_round_trip_keeps_a_reused_dot_naming_its_earliest_write)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 y = write_invoke (h, DK_OP_PUT, "k", 0, NO_READ);      /* reports last */
  guint64 x = write_invoke (h, DK_OP_DELETE, "k", 0, NO_READ);   /* reports first */
  ack (h, x, 10, dot_of (1, 1), NULL);
  ack (h, y, 20, dot_of (1, 1), NULL);
  ck_assert_uint_eq (dk_history_write_of_dot (h, dot_of (1, 1)), y);
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_history_to_csv (h, csv);
  g_autoptr (GError) error = NULL;
  g_autoptr (DkHistory) back = dk_history_parse (csv->str, -1, "test", &error);
  ck_assert_msg (back != NULL, "%s", error != NULL ? error->message : "");
  ck_assert_uint_eq (dk_history_write_of_dot (back, dot_of (1, 1)), y);
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  replicas_123 (final, "k");
  for (DkNodeId node = 1; node <= 3; node++)
    hold (final, h, "k", node, 1, x);          /* the tombstone under the shared dot */
  g_autoptr (GString) final_live = g_string_new (NULL);
  g_autoptr (GString) final_loaded = g_string_new (NULL);
  dk_final_state_to_csv (final, h, final_live);
  dk_final_state_to_csv (final, back, final_loaded);
  ck_assert_str_eq (final_live->str, final_loaded->str);
  g_autoptr (DkMetrics) live = dk_check_history (h, final, NULL);
  g_autoptr (DkMetrics) loaded = dk_check_history (back, final, NULL);
  g_autoptr (GString) json1 = g_string_new (NULL);
  g_autoptr (GString) json2 = g_string_new (NULL);
  dk_metrics_to_json (live, json1);
  dk_metrics_to_json (loaded, json2);
  ck_assert_str_eq (json1->str, json2->str);
  ck_assert_double_eq (metric (live, "dot_collisions"), 1);
}
END_TEST

/* Split the CSV record at *AT (RFC 4180 quoting) into FIELDS; *AT moves
 * past its line end. */
static void
csv_record (const char **at, const char *end, GPtrArray *fields)
{
  g_autoptr (GString) field = g_string_new (NULL);
  g_ptr_array_set_size (fields, 0);
  for (;;)
    {
      if (*at < end && **at == '"')
        for ((*at)++; *at < end; (*at)++)
          {
            if (**at == '"' && *at + 1 < end && (*at)[1] == '"')
              (*at)++;
            else if (**at == '"')
              {
                (*at)++;
                break;
              }
            g_string_append_c (field, **at);
          }
      else
        while (*at < end && **at != ',' && **at != '\n')
          g_string_append_c (field, *(*at)++);
      g_ptr_array_add (fields, g_strndup (field->str, field->len));
      g_string_truncate (field, 0);
      if (*at < end && **at == ',')
        {
          (*at)++;
          continue;
        }
      if (*at < end && **at == '\n')
        (*at)++;
      return;
    }
}

/* Stands in for a key's preference list when none of its nodes holds it. */
#define ABSENT_NODE ((DkNodeId) 0xfffffff0u)

/* Rebuild a final state from final.csv TEXT: each row one held version (a
 * value rebuilt as the tag of its id alone), each key's preference list
 * the nodes its rows mark as replicas.  A key none of whose rows is on the
 * list had a list none of whose nodes holds it: ABSENT_NODE stands in. */
static DkFinalState *
final_state_from_csv (const char *text)
{
  DkFinalState *state = dk_final_state_new ();
  const char *at = text, *end = text + strlen (text);
  g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  csv_record (&at, end, fields);
  ck_assert_uint_eq (fields->len, 7);
  ck_assert_str_eq (g_ptr_array_index (fields, 0), "node");
  g_autofree char *key = NULL;
  DkNodeId node = DK_NODE_NONE;
  g_autoptr (GPtrArray) versions = NULL;
  g_autoptr (GArray) list = g_array_new (FALSE, FALSE, sizeof (DkNodeId));
  for (gboolean more = TRUE; more;)
    {
      more = at < end;
      DkNodeId row_node = DK_NODE_NONE;
      if (more)
        {
          csv_record (&at, end, fields);
          ck_assert_uint_eq (fields->len, 7);
          row_node = (DkNodeId) g_ascii_strtoull (g_ptr_array_index (fields, 0), NULL, 10);
        }
      gboolean new_key = !more || key == NULL
        || strcmp (key, g_ptr_array_index (fields, 1)) != 0;
      if (versions != NULL && (new_key || row_node != node))
        {
          dk_final_state_add_siblings (state, key, node, versions);
          g_clear_pointer (&versions, g_ptr_array_unref);
        }
      if (key != NULL && new_key)
        {
          DkNodeId absent = ABSENT_NODE;
          if (list->len == 0)
            g_array_append_val (list, absent);
          dk_final_state_set_replicas (state, key, (const DkNodeId *) list->data, list->len);
          g_array_set_size (list, 0);
        }
      if (!more)
        break;
      if (new_key)
        {
          g_free (key);
          key = g_strdup (g_ptr_array_index (fields, 1));
        }
      if (strcmp (g_ptr_array_index (fields, 6), "1") == 0
          && (list->len == 0 || g_array_index (list, DkNodeId, list->len - 1) != row_node))
        g_array_append_val (list, row_node);
      if (*(const char *) g_ptr_array_index (fields, 2) == '\0')
        continue;   /* a replica holding nothing: only its place on the list */
      if (versions == NULL)
        versions = dk_siblings_new ();
      node = row_node;
      DkDot dot;
      ck_assert (dk_dot_parse (g_ptr_array_index (fields, 2), &dot));
      g_autoptr (GError) error = NULL;
      DkVclock *context = dk_vclock_parse (g_ptr_array_index (fields, 3), &error);
      ck_assert_msg (context != NULL, "%s", error != NULL ? error->message : "");
      const char *value = g_ptr_array_index (fields, 4);
      gboolean tombstone = strcmp (g_ptr_array_index (fields, 5), "1") == 0;
      g_autoptr (GBytes) bytes = NULL;
      if (!tombstone && strcmp (value, "?") == 0)
        bytes = g_bytes_new ("?", 1);
      else if (!tombstone)
        bytes = tagged_value (g_ascii_strtoull (value, NULL, 10), "");
      g_ptr_array_add (versions, dk_version_new (dot, context, bytes, tombstone));
    }
  return state;
}

START_TEST (final_csv_lists_every_held_version_and_round_trips)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 g1 = get (h, "k", 20, 30, 1, p0);
  guint64 d2 = del (h, "k", 40, 50, g1, dot_of (1, 2));
  guint64 p3 = put (h, "a,\"b\"", 0, 10, NO_READ, dot_of (2, 1));
  g_autoptr (DkFinalState) final = dk_final_state_new ();
  replicas_123 (final, "k");
  hold (final, h, "k", 2, 2, p0, d2);
  hold (final, h, "k", 1, 1, d2);
  hold (final, h, "k", 3, 1, d2);
  hold (final, h, "k", 4, 1, p0);                /* not a replica */
  hold (final, h, "a,\"b\"", 3, 1, p3);          /* no list recorded */
  const DkNodeId z_list[] = { 2 };
  dk_final_state_set_replicas (final, "z", z_list, 1);
  g_autoptr (GPtrArray) unknown = dk_siblings_new ();
  g_autoptr (GBytes) short_value = g_bytes_new ("x", 1);
  g_ptr_array_add (unknown, dk_version_new (dot_of (5, 1), NULL, short_value, FALSE));
  g_ptr_array_add (unknown, dk_version_new (dot_of (9, 9), NULL, NULL, TRUE));
  dk_final_state_add_siblings (final, "z", 1, unknown);
  const char *expected =
    "node,key,dot,context,value,tombstone,replica\n"
    "3,\"a,\"\"b\"\"\",2.a0:1,\"{}\",3,0,1\n"
    "1,k,1.a0:2,\"{1.a0:1}\",2,1,1\n"
    "2,k,1.a0:1,\"{}\",0,0,1\n"
    "2,k,1.a0:2,\"{1.a0:1}\",2,1,1\n"
    "3,k,1.a0:2,\"{1.a0:1}\",2,1,1\n"
    "4,k,1.a0:1,\"{}\",0,0,0\n"
    "2,z,,,,,1\n"
    "1,z,5.a0:1,\"{}\",?,0,0\n"
    "1,z,9.a0:9,\"{}\",?,1,0\n";
  g_autoptr (GString) csv = g_string_new (NULL);
  dk_final_state_to_csv (final, h, csv);
  ck_assert_str_eq (csv->str, expected);
  g_autoptr (GString) without_history = g_string_new (NULL);
  dk_final_state_to_csv (final, NULL, without_history);
  ck_assert_ptr_nonnull (strstr (without_history->str, "1,k,1.a0:2,\"{1.a0:1}\",?,1,1\n"));

  g_autoptr (DkFinalState) back = final_state_from_csv (csv->str);
  g_autoptr (GString) again = g_string_new (NULL);
  dk_final_state_to_csv (back, h, again);
  ck_assert_str_eq (again->str, expected);
  g_autoptr (DkMetrics) m1 = dk_check_history (h, final, NULL);
  g_autoptr (DkMetrics) m2 = dk_check_history (h, back, NULL);
  g_autoptr (GString) json1 = g_string_new (NULL);
  g_autoptr (GString) json2 = g_string_new (NULL);
  dk_metrics_to_json (m1, json1);
  dk_metrics_to_json (m2, json2);
  ck_assert_str_eq (json1->str, json2->str);
  ck_assert_double_eq (metric (m1, "resurrected_deletes"), 1);   /* node 2 kept p0 */
}
END_TEST

/* ---- properties: a reference model of a correct DVV store ----------------- */

/* MODEL_CLIENTS clients run overlapping operations on MODEL_KEYS keys, each
 * replicated on MODEL_REPLICAS of MODEL_NODES nodes.  A write's coordinator
 * (one of its key's replicas, chosen at random) issues a dot from its own
 * counter with the context the client sent (versioning=dvv), adds the
 * version to its set with dk_siblings_add, and ships its whole set, as Riak
 * does, to the other replicas, which merge it in whatever order it arrives
 * (if at all).  A write is acknowledged once MODEL_QUORUM replicas applied
 * it; requests and replies get lost and time out.  Anti-entropy merges two
 * replicas now and then; a get reads one random replica; a non-replica
 * keeps a stale hinted copy.  After the clients stop, every key's replicas
 * merge (settle).
 *
 * The model keeps its own account of what each write knew — the writes its
 * read returned and what their writers knew, as ids, never clocks — and
 * derives every expectation from it (model_expect): which reads are stale,
 * which writes are lost, and so on.  Shipping whole sets keeps a vector
 * context from covering a dot its writer never saw, so a correct run has
 * no lost write at all. */

enum
{
  MODEL_NODES = 5,
  MODEL_REPLICAS = 3,
  MODEL_QUORUM = 2,
  MODEL_KEYS = 3,
  MODEL_CLIENTS = 4,
  MODEL_MAX_OPS = 320,
  MODEL_WORDS = MODEL_MAX_OPS / 64,
};

#define MODEL_CLIENT_PHASE_US G_GINT64_CONSTANT (120000)
#define MODEL_TIMEOUT_US G_GINT64_CONSTANT (9000)
#define MODEL_NONE G_MAXUINT64

/* Awkward on purpose: they go through both CSV forms. */
static const char *const model_keys[MODEL_KEYS] = { "alpha", "be,ta", "ga\"m\nma" };

typedef enum
{
  INJECT_NOTHING,
  INJECT_LOST_WRITE,        /* drop an acked version from every replica */
  INJECT_LOST_UPDATE,       /* a coordinator stores a context over a sibling its client never saw */
  INJECT_DOT_REUSE,         /* a coordinator issues one dot twice, for two values */
  INJECT_OLD_VALUE,         /* a get returns an old value under a newer version's dot */
  INJECT_RESURRECTION,      /* a replica keeps a value an acked delete replaced */
  INJECT_NON_REPLICA,       /* an acked write survives only on a non-replica */
  INJECT_DIVERGENCE,        /* a replica misses one version */
  N_INJECTIONS
} Injection;

static const char *const injection_names[N_INJECTIONS] = {
  "nothing", "lost write", "lost update", "dot reuse", "old value under a new dot",
  "resurrection", "non-replica", "divergence" };

typedef struct
{
  DkOpKind   kind;
  guint      key;
  guint      client;
  gint64     invoke_us;
  gboolean   done;
  gboolean   ok;
  /* a get */
  gboolean   then_write;      /* the read of a read-modify-write ... */
  DkOpKind   write_kind;      /* ... of this kind */
  GArray    *returned;        /* guint64: the writer of each returned version */
  guint      returned_values;
  /* a put or delete */
  DkNodeId   coordinator;
  DkVclock  *sent;            /* the context its client sent (empty: blind) */
  DkVersion *version;         /* as issued; NULL until issued */
  gboolean   reported;        /* its dot reaches the history */
  gboolean   acked;
  gint64     ack_us;
  gint64     commit_us;       /* when the quorum had applied it */
  guint      applied;         /* replicas that applied it, the coordinator included */
  guint64    knew[MODEL_WORDS]; /* writes its client had seen, transitively */
} ModelOp;

typedef struct
{
  DkRng         rng;
  DkEventQueue *queue;
  DkHistory    *history;
  DkFinalState *final;
  Injection     inject;
  gboolean      injected;
  guint64       injected_op;    /* the write or get the injection is about */
  guint         injected_key;
  gboolean      hinted;
  guint         n_ops;
  ModelOp       ops[MODEL_MAX_OPS];   /* index == history id */
  GPtrArray    *sets[MODEL_KEYS][MODEL_NODES + 1]; /* a node's set of a key; NULL: none */
  guint64       counters[MODEL_NODES + 1];
  guint64       last_write[MODEL_NODES + 1];       /* the write that got the last dot */
  GHashTable   *writer_of_dot;  /* DkDot* (in a version) -> writer id + 1 */
} Model;

static guint
dot_hash (gconstpointer key)
{
  const DkDot *dot = key;
  return g_int64_hash (&dot->actor) ^ g_int64_hash (&dot->counter);
}

static gboolean
dot_equal (gconstpointer a, gconstpointer b)
{
  const DkDot *x = a, *y = b;
  return x->actor == y->actor && x->counter == y->counter;
}

static void
bit_set (guint64 *set, guint64 id)
{
  g_assert (id < MODEL_MAX_OPS);
  set[id / 64] |= G_GUINT64_CONSTANT (1) << (id % 64);
}

static gboolean
bit_get (const guint64 *set, guint64 id)
{
  return id < MODEL_MAX_OPS && ((set[id / 64] >> (id % 64)) & 1) != 0;
}

static DkNodeId
model_replica (guint key, guint r)
{
  return 1 + (key + r) % MODEL_NODES;
}

static DkActor
model_actor (DkNodeId node)
{
  return dk_actor_make (node, 0xc0de0000u | node);
}

static gint64
model_between (Model *model, gint64 low, gint64 high)
{
  return low + (gint64) dk_rng_below (&model->rng, (guint64) (high - low + 1));
}

static DkNodeId
model_random_replica (Model *model, guint key)
{
  return model_replica (key, (guint) dk_rng_below (&model->rng, MODEL_REPLICAS));
}

static DkNodeId
model_non_replica (Model *model, guint key)
{
  guint r = MODEL_REPLICAS + (guint) dk_rng_below (&model->rng, MODEL_NODES - MODEL_REPLICAS);
  return model_replica (key, r);
}

static gint64
model_now (const Model *model)
{
  return dk_eventq_now (model->queue);
}

/* The write a version names: its value's tag, a tombstone's dot. */
static guint64
model_writer (const Model *model, const DkVersion *version)
{
  if (!version->tombstone)
    return dk_value_id (version->value);
  gpointer found = g_hash_table_lookup (model->writer_of_dot, &version->dot);
  return found != NULL ? GPOINTER_TO_SIZE (found) - 1 : MODEL_NONE;
}

/* The index in SET (may be NULL) of the version WRITER wrote, or -1. */
static gint
model_find (const Model *model, const GPtrArray *set, guint64 writer)
{
  for (guint i = 0; set != NULL && i < set->len; i++)
    if (model_writer (model, g_ptr_array_index ((GPtrArray *) set, i)) == writer)
      return (gint) i;
  return -1;
}

static GPtrArray **
model_set (Model *model, guint key, DkNodeId node)
{
  GPtrArray **set = &model->sets[key][node];
  if (*set == NULL)
    *set = dk_siblings_new ();
  return set;
}

typedef enum
{
  EVENT_CLIENT_NEXT,
  EVENT_GET_SERVE,
  EVENT_GET_REPLY,
  EVENT_GET_TIMEOUT,
  EVENT_WRITE_ISSUE,
  EVENT_DELIVER,
  EVENT_WRITE_REPLY,
  EVENT_WRITE_TIMEOUT,
  EVENT_ANTI_ENTROPY,
  EVENT_HINT,
} ModelEventKind;

typedef struct
{
  Model          *model;
  ModelEventKind  kind;
  guint64         op;
  guint           client;
  DkNodeId        node;
  GPtrArray      *siblings;   /* owned; may be NULL */
} ModelEvent;

static void
model_event_free (gpointer data)
{
  ModelEvent *event = data;
  g_clear_pointer (&event->siblings, g_ptr_array_unref);
  g_free (event);
}

static void model_event_run (gpointer data);

static void
model_schedule (Model *model, gint64 after_us, ModelEventKind kind, guint64 op, guint client,
                DkNodeId node, GPtrArray *siblings)
{
  ModelEvent *event = g_new0 (ModelEvent, 1);
  *event = (ModelEvent) { model, kind, op, client, node, siblings };
  dk_eventq_schedule_full (model->queue, model_now (model) + after_us, model_event_run, event,
                           model_event_free);
}

static guint64
model_invoke (Model *model, guint client, guint key, DkOpKind kind, DkNodeId coordinator)
{
  guint64 id = dk_history_invoke (model->history, client, coordinator, kind, model_keys[key],
                                  model_now (model));
  g_assert (id == model->n_ops && id < MODEL_MAX_OPS);
  ModelOp *op = &model->ops[model->n_ops++];
  op->kind = kind;
  op->key = key;
  op->client = client;
  op->invoke_us = model_now (model);
  op->coordinator = coordinator;
  return id;
}

static void
model_think (Model *model, guint client)
{
  model_schedule (model, model_between (model, 0, 3000), EVENT_CLIENT_NEXT, MODEL_NONE, client,
                  DK_NODE_NONE, NULL);
}

static void
model_get_invoke (Model *model, guint client, guint key, gboolean then_write, DkOpKind write_kind)
{
  DkNodeId replica = model_random_replica (model, key);
  guint64 id = model_invoke (model, client, key, DK_OP_GET, replica);
  model->ops[id].then_write = then_write;
  model->ops[id].write_kind = write_kind;
  if (dk_rng_below (&model->rng, 20) == 0)
    model_schedule (model, MODEL_TIMEOUT_US, EVENT_GET_TIMEOUT, id, client, replica, NULL);
  else
    model_schedule (model, model_between (model, 100, 2000), EVENT_GET_SERVE, id, client,
                    replica, NULL);
}

/* Invoke a put or delete sending CONTEXT, which the get READ_ID returned
 * (MODEL_NONE and NULL: a blind write), as sim/workload.c does. */
static void
model_write_invoke (Model *model, guint client, guint key, DkOpKind kind, guint64 read_id,
                    const DkVclock *context)
{
  DkNodeId coordinator = model_random_replica (model, key);
  guint64 id = model_invoke (model, client, key, kind, coordinator);
  ModelOp *op = &model->ops[id];
  dk_history_set_context (model->history, id, context, read_id);
  op->sent = context != NULL ? dk_vclock_copy (context) : dk_vclock_new ();
  if (read_id != MODEL_NONE)
    {
      const ModelOp *read = &model->ops[read_id];
      for (guint i = 0; i < read->returned->len; i++)
        {
          guint64 seen = g_array_index (read->returned, guint64, i);
          if (seen >= model->n_ops)
            continue;
          bit_set (op->knew, seen);
          for (guint w = 0; w < MODEL_WORDS; w++)
            op->knew[w] |= model->ops[seen].knew[w];
        }
    }
  op->reported = kind == DK_OP_DELETE || dk_rng_below (&model->rng, 10) != 0;
  if (dk_rng_below (&model->rng, 20) != 0)   /* else the request is lost */
    model_schedule (model, model_between (model, 100, 1500), EVENT_WRITE_ISSUE, id, client,
                    coordinator, NULL);
  model_schedule (model, MODEL_TIMEOUT_US, EVENT_WRITE_TIMEOUT, id, client, coordinator, NULL);
}

static void
model_client_next (Model *model, guint client)
{
  if (model_now (model) >= MODEL_CLIENT_PHASE_US
      || model->n_ops + 2 * MODEL_CLIENTS + 4 > MODEL_MAX_OPS)
    return;
  guint key = (guint) dk_rng_below (&model->rng, MODEL_KEYS);
  double roll = dk_rng_double (&model->rng);
  if (roll < 0.35)
    model_get_invoke (model, client, key, FALSE, DK_OP_GET);
  else if (roll < 0.60)
    model_get_invoke (model, client, key, TRUE, DK_OP_PUT);
  else if (roll < 0.75)
    model_write_invoke (model, client, key, DK_OP_PUT, MODEL_NONE, NULL);
  else if (roll < 0.90)
    model_get_invoke (model, client, key, TRUE, DK_OP_DELETE);
  else
    model_write_invoke (model, client, key, DK_OP_DELETE, MODEL_NONE, NULL);
}

/* INJECT_OLD_VALUE: in the reply SIBLINGS of the plain get GET, put the
 * value of an older put under the dot and context of a version whose
 * writer knew that put and was acknowledged before GET was invoked. */
static void
model_forge_old_value (Model *model, guint64 get, GPtrArray *siblings)
{
  const ModelOp *op = &model->ops[get];
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (siblings, i);
      guint64 writer = model_writer (model, version);
      if (version->tombstone || writer >= model->n_ops)
        continue;
      const ModelOp *newer = &model->ops[writer];
      if (!newer->reported || !newer->acked || newer->ack_us >= op->invoke_us)
        continue;
      for (guint64 older = 0; older < model->n_ops; older++)
        if (bit_get (newer->knew, older) && model->ops[older].kind == DK_OP_PUT)
          {
            g_autoptr (GBytes) value = tagged_value (older, model_keys[op->key]);
            DkVersion *forged = dk_version_new (version->dot, dk_vclock_copy (version->context),
                                                value, FALSE);
            dk_version_free (g_ptr_array_index (siblings, i));
            g_ptr_array_index (siblings, i) = forged;
            model->injected = TRUE;
            model->injected_op = get;
            return;
          }
    }
}

static void
model_get_reply (Model *model, guint64 id, GPtrArray *siblings)
{
  ModelOp *op = &model->ops[id];
  if (model->inject == INJECT_OLD_VALUE && !model->injected && !op->then_write)
    model_forge_old_value (model, id, siblings);
  dk_history_complete_read_ok (model->history, id, model_now (model), siblings);
  op->done = op->ok = TRUE;
  op->returned = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *version = g_ptr_array_index (siblings, i);
      guint64 writer = model_writer (model, version);
      g_array_append_val (op->returned, writer);
      op->returned_values += !version->tombstone;
    }
  if (op->then_write)
    {
      g_autoptr (DkVclock) context = dk_siblings_context (siblings);
      model_write_invoke (model, op->client, op->key, op->write_kind, id, context);
    }
  else
    model_think (model, op->client);
}

/* INJECT_LOST_UPDATE: raise CONTEXT, the one write ID stores, over a
 * sibling its coordinator holds that its client never saw, as a vv
 * coordinator would; the write must then report its version. */
static void
model_raise_over_unseen_sibling (Model *model, guint64 id, DkVclock *context)
{
  ModelOp *op = &model->ops[id];
  const GPtrArray *local = model->sets[op->key][op->coordinator];
  for (guint i = 0; local != NULL && i < local->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) local, i);
      guint64 sibling = model_writer (model, version);
      if (version->tombstone || sibling >= model->n_ops || !model->ops[sibling].acked
          || !model->ops[sibling].reported || bit_get (op->knew, sibling)
          || dk_dot_covered (version->dot, context))
        continue;
      dk_vclock_raise (context, version->dot.actor, version->dot.counter, version->dot.wall_us);
      model->injected = TRUE;
      model->injected_op = sibling;
      op->reported = TRUE;
      return;
    }
}

static void
model_write_issue (Model *model, guint64 id)
{
  ModelOp *op = &model->ops[id];
  DkNodeId coordinator = op->coordinator;
  DkVclock *context = dk_vclock_copy (op->sent);
  guint64 last = model->last_write[coordinator];
  DkDot dot;
  if (model->inject == INJECT_DOT_REUSE && !model->injected && last != MODEL_NONE
      && model->ops[last].reported)
    {
      dot = model->ops[last].version->dot;
      model->injected = TRUE;
      model->injected_op = id;
      op->reported = TRUE;
    }
  else
    dot = (DkDot) { model_actor (coordinator), ++model->counters[coordinator], model_now (model) };
  if (model->inject == INJECT_LOST_UPDATE && !model->injected)
    model_raise_over_unseen_sibling (model, id, context);
  model->last_write[coordinator] = id;
  g_autoptr (GBytes) value = tagged_value (id, model_keys[op->key]);
  gboolean tombstone = op->kind == DK_OP_DELETE;
  op->version = dk_version_new (dot, context, tombstone ? NULL : value, tombstone);
  if (!g_hash_table_contains (model->writer_of_dot, &op->version->dot))
    g_hash_table_insert (model->writer_of_dot, &op->version->dot, GSIZE_TO_POINTER (id + 1));
  GPtrArray **local = model_set (model, op->key, coordinator);
  dk_siblings_add (*local, dk_version_copy (op->version), NULL);
  op->applied = 1;
  for (guint r = 0; r < MODEL_REPLICAS; r++)
    {
      DkNodeId replica = model_replica (op->key, r);
      if (replica != coordinator && dk_rng_below (&model->rng, 100) < 85)
        model_schedule (model, model_between (model, 50, 6000), EVENT_DELIVER, id, op->client,
                        replica, dk_siblings_copy (*local));
    }
}

static void
model_anti_entropy (Model *model)
{
  if (model_now (model) >= MODEL_CLIENT_PHASE_US)
    return;
  guint key = (guint) dk_rng_below (&model->rng, MODEL_KEYS);
  guint a = (guint) dk_rng_below (&model->rng, MODEL_REPLICAS);
  guint b = (a + 1 + (guint) dk_rng_below (&model->rng, MODEL_REPLICAS - 1)) % MODEL_REPLICAS;
  GPtrArray **x = model_set (model, key, model_replica (key, a));
  GPtrArray **y = model_set (model, key, model_replica (key, b));
  dk_siblings_merge (*x, *y, NULL);
  dk_siblings_merge (*y, *x, NULL);
  model_schedule (model, model_between (model, 2000, 8000), EVENT_ANTI_ENTROPY, MODEL_NONE, 0,
                  DK_NODE_NONE, NULL);
}

/* A non-replica keeps a copy of a replica's set, as a hint left behind. */
static void
model_hint (Model *model)
{
  guint key = (guint) dk_rng_below (&model->rng, MODEL_KEYS);
  guint source_replica = (guint) dk_rng_below (&model->rng, MODEL_REPLICAS);
  const GPtrArray *source = model->sets[key][model_replica (key, source_replica)];
  DkNodeId node = model_non_replica (model, key);
  if (source == NULL || source->len == 0)
    {
      model_schedule (model, 5000, EVENT_HINT, MODEL_NONE, 0, DK_NODE_NONE, NULL);
      return;
    }
  g_clear_pointer (&model->sets[key][node], g_ptr_array_unref);
  model->sets[key][node] = dk_siblings_copy (source);
  model->hinted = TRUE;
}

static void
model_event_run (gpointer data)
{
  ModelEvent *event = data;
  Model *model = event->model;
  ModelOp *op = event->op != MODEL_NONE ? &model->ops[event->op] : NULL;
  switch (event->kind)
    {
    case EVENT_CLIENT_NEXT:
      model_client_next (model, event->client);
      break;
    case EVENT_GET_SERVE:
      {
        const GPtrArray *set = model->sets[op->key][event->node];
        model_schedule (model, model_between (model, 100, 2000), EVENT_GET_REPLY, event->op,
                        event->client, event->node,
                        set != NULL ? dk_siblings_copy (set) : dk_siblings_new ());
      }
      break;
    case EVENT_GET_REPLY:
      model_get_reply (model, event->op, event->siblings);
      break;
    case EVENT_GET_TIMEOUT:
      op->done = TRUE;
      dk_history_complete_failed (model->history, event->op, model_now (model), "timeout");
      if (op->then_write)
        model_write_invoke (model, op->client, op->key, op->write_kind, MODEL_NONE, NULL);
      else
        model_think (model, op->client);
      break;
    case EVENT_WRITE_ISSUE:
      model_write_issue (model, event->op);
      break;
    case EVENT_DELIVER:
      dk_siblings_merge (*model_set (model, op->key, event->node), event->siblings, NULL);
      if (!op->done && ++op->applied == MODEL_QUORUM)
        {
          op->commit_us = model_now (model);
          model_schedule (model, model_between (model, 50, 800), EVENT_WRITE_REPLY, event->op,
                          event->client, event->node, NULL);
        }
      break;
    case EVENT_WRITE_REPLY:
      if (op->done)
        break;
      op->done = op->ok = op->acked = TRUE;
      op->ack_us = model_now (model);
      dk_history_set_commit (model->history, event->op, op->commit_us);
      dk_history_complete_write_ok (model->history, event->op, op->ack_us,
                                    op->reported ? op->version : NULL);
      model_think (model, op->client);
      break;
    case EVENT_WRITE_TIMEOUT:
      if (op->done)
        break;
      op->done = TRUE;
      if (op->version != NULL && op->reported)
        dk_history_set_written (model->history, event->op, op->version);
      dk_history_complete_failed (model->history, event->op, model_now (model),
                                  op->version != NULL ? "timeout" : "unavailable");
      model_think (model, op->client);
      break;
    case EVENT_ANTI_ENTROPY:
      model_anti_entropy (model);
      break;
    case EVENT_HINT:
      model_hint (model);
      break;
    }
  model_event_free (event);
}

/* Every key's replicas merge: they all end up holding the union. */
static void
model_settle (Model *model)
{
  for (guint key = 0; key < MODEL_KEYS; key++)
    {
      g_autoptr (GPtrArray) all = dk_siblings_new ();
      for (guint r = 0; r < MODEL_REPLICAS; r++)
        if (model->sets[key][model_replica (key, r)] != NULL)
          dk_siblings_merge (all, model->sets[key][model_replica (key, r)], NULL);
      for (guint r = 0; r < MODEL_REPLICAS && all->len > 0; r++)
        {
          GPtrArray **set = &model->sets[key][model_replica (key, r)];
          g_clear_pointer (set, g_ptr_array_unref);
          *set = dk_siblings_copy (all);
        }
    }
}

/* INJECT_LOST_WRITE, INJECT_NON_REPLICA: an acknowledged put the replicas
 * hold vanishes from all of them (and survives on a non-replica). */
static void
model_drop_held_put (Model *model, gboolean keep_on_non_replica)
{
  guint64 start = dk_rng_below (&model->rng, MAX (model->n_ops, 1));
  for (guint64 i = 0; i < model->n_ops; i++)
    {
      guint64 id = (start + i) % model->n_ops;
      const ModelOp *op = &model->ops[id];
      if (op->kind != DK_OP_PUT || !op->acked || !op->reported
          || model_find (model, model->sets[op->key][model_replica (op->key, 0)], id) < 0)
        continue;
      for (guint r = 0; r < MODEL_REPLICAS; r++)
        {
          GPtrArray *set = model->sets[op->key][model_replica (op->key, r)];
          gint at = model_find (model, set, id);
          if (at >= 0)
            g_ptr_array_remove_index (set, (guint) at);
        }
      if (keep_on_non_replica)
        {
          DkNodeId node = model_non_replica (model, op->key);
          dk_siblings_add (*model_set (model, op->key, node), dk_version_copy (op->version), NULL);
        }
      model->injected = TRUE;
      model->injected_op = id;
      model->injected_key = op->key;
      return;
    }
}

/* INJECT_RESURRECTION: a replica holds again a put an acknowledged delete
 * knew (and so replaced), as if it had missed the delete. */
static void
model_resurrect (Model *model)
{
  guint64 start = dk_rng_below (&model->rng, MAX (model->n_ops, 1));
  for (guint64 i = 0; i < model->n_ops; i++)
    {
      guint64 id = (start + i) % model->n_ops;
      const ModelOp *op = &model->ops[id];
      if (op->kind != DK_OP_DELETE || !op->acked || !op->reported)
        continue;
      for (guint64 p = 0; p < model->n_ops; p++)
        {
          const ModelOp *value = &model->ops[p];
          if (!bit_get (op->knew, p) || value->kind != DK_OP_PUT || !value->reported
              || value->version == NULL
              || model_find (model, model->sets[op->key][model_replica (op->key, 0)], p) >= 0)
            continue;
          DkNodeId node = model_random_replica (model, op->key);
          g_ptr_array_add (*model_set (model, op->key, node), dk_version_copy (value->version));
          model->injected = TRUE;
          model->injected_op = id;
          model->injected_key = op->key;
          return;
        }
    }
}

/* INJECT_DIVERGENCE: one replica misses one value. */
static void
model_diverge (Model *model)
{
  guint start = (guint) dk_rng_below (&model->rng, MODEL_KEYS);
  for (guint k = 0; k < MODEL_KEYS; k++)
    {
      guint key = (start + k) % MODEL_KEYS;
      GPtrArray *set = model->sets[key][model_random_replica (model, key)];
      for (guint i = 0; set != NULL && i < set->len; i++)
        if (!((DkVersion *) g_ptr_array_index (set, i))->tombstone)
          {
            g_ptr_array_remove_index (set, i);
            model->injected = TRUE;
            model->injected_key = key;
            return;
          }
    }
}

static void
model_record_final (Model *model)
{
  for (guint key = 0; key < MODEL_KEYS; key++)
    {
      DkNodeId list[MODEL_REPLICAS];
      for (guint r = 0; r < MODEL_REPLICAS; r++)
        list[r] = model_replica (key, r);
      dk_final_state_set_replicas (model->final, model_keys[key], list, MODEL_REPLICAS);
      for (DkNodeId node = 1; node <= MODEL_NODES; node++)
        if (model->sets[key][node] != NULL && model->sets[key][node]->len > 0)
          dk_final_state_add_siblings (model->final, model_keys[key], node,
                                       model->sets[key][node]);
    }
}

static void
model_free (Model *model)
{
  if (model == NULL)
    return;
  g_hash_table_unref (model->writer_of_dot);
  for (guint i = 0; i < model->n_ops; i++)
    {
      g_clear_pointer (&model->ops[i].returned, g_array_unref);
      g_clear_pointer (&model->ops[i].sent, dk_vclock_free);
      g_clear_pointer (&model->ops[i].version, dk_version_free);
    }
  for (guint key = 0; key < MODEL_KEYS; key++)
    for (guint node = 0; node <= MODEL_NODES; node++)
      g_clear_pointer (&model->sets[key][node], g_ptr_array_unref);
  dk_eventq_free (model->queue);
  dk_history_free (model->history);
  dk_final_state_free (model->final);
  g_free (model);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Model, model_free)

/* One run of the model under SEED with INJECT (at most once). */
static Model *
model_run (guint64 seed, Injection inject)
{
  Model *model = g_new0 (Model, 1);
  dk_rng_init (&model->rng, seed, 11);
  model->queue = dk_eventq_new ();
  model->history = dk_history_new ();
  model->final = dk_final_state_new ();
  model->inject = inject;
  model->writer_of_dot = g_hash_table_new (dot_hash, dot_equal);
  for (guint node = 0; node <= MODEL_NODES; node++)
    model->last_write[node] = MODEL_NONE;
  for (guint client = 0; client < MODEL_CLIENTS; client++)
    model_schedule (model, model_between (model, 0, 2000), EVENT_CLIENT_NEXT, MODEL_NONE,
                    client, DK_NODE_NONE, NULL);
  model_schedule (model, model_between (model, 2000, 8000), EVENT_ANTI_ENTROPY, MODEL_NONE, 0,
                  DK_NODE_NONE, NULL);
  model_schedule (model, model_between (model, 10000, MODEL_CLIENT_PHASE_US), EVENT_HINT,
                  MODEL_NONE, 0, DK_NODE_NONE, NULL);
  while (dk_eventq_pending (model->queue) > 0)
    dk_eventq_run_until (model->queue, model_now (model) + G_USEC_PER_SEC);
  /* two operations still pending at the end, never processed */
  model_invoke (model, 0, 0, DK_OP_GET, model_replica (0, 0));
  guint64 pending = model_invoke (model, 1, 1, DK_OP_PUT, model_replica (1, 0));
  dk_history_set_context (model->history, pending, NULL, MODEL_NONE);
  model->ops[pending].sent = dk_vclock_new ();
  model_settle (model);
  if (inject == INJECT_LOST_WRITE || inject == INJECT_NON_REPLICA)
    model_drop_held_put (model, inject == INJECT_NON_REPLICA);
  else if (inject == INJECT_RESURRECTION)
    model_resurrect (model);
  else if (inject == INJECT_DIVERGENCE)
    model_diverge (model);
  model_record_final (model);
  return model;
}

/* ---- what the model expects --------------------------------------------------- */

typedef struct
{
  char    *stale;          /* ids, as ids_text writes them */
  char    *lost_writes;
  char    *lost_updates;
  char    *divergent;      /* key names joined by '|' */
  guint    resurrected;
  guint    under_replicated;
  guint    unchecked;
  guint    conflicts;
  guint    ok_ops, failed_ops, pending_ops;
  guint64  explained[MODEL_WORDS];  /* held, or known to a held write */
  guint64  accounted[MODEL_WORDS];  /* ... or to an issued delete */
} Expected;

static void
expected_clear (Expected *expected)
{
  g_free (expected->stale);
  g_free (expected->lost_writes);
  g_free (expected->lost_updates);
  g_free (expected->divergent);
}

/* Judged: an acknowledged put or delete that reported its dot. */
static gboolean
model_judged (const ModelOp *op)
{
  return op->kind != DK_OP_GET && op->acked && op->reported;
}

static gboolean
model_satisfies (const Model *model, const ModelOp *get, guint64 write)
{
  if (model->ops[write].kind == DK_OP_DELETE && get->returned->len == 0)
    return TRUE;
  for (guint i = 0; i < get->returned->len; i++)
    {
      guint64 writer = g_array_index (get->returned, guint64, i);
      if (writer == write || (writer < model->n_ops && bit_get (model->ops[writer].knew, write)))
        return TRUE;
    }
  return FALSE;
}

/* Stale: some judged write acknowledged before the get's invoke, which no
 * other such write knew, is not satisfied (staleness.h). */
static gboolean
model_stale (const Model *model, const ModelOp *get)
{
  guint64 before[MODEL_MAX_OPS];
  guint n = 0;
  for (guint64 w = 0; w < model->n_ops; w++)
    if (model_judged (&model->ops[w]) && model->ops[w].key == get->key
        && model->ops[w].ack_us < get->invoke_us)
      before[n++] = w;
  for (guint i = 0; i < n; i++)
    {
      gboolean known = FALSE;
      for (guint j = 0; j < n && !known; j++)
        known = j != i && bit_get (model->ops[before[j]].knew, before[i]);
      if (!known && !model_satisfies (model, get, before[i]))
        return TRUE;
    }
  return FALSE;
}

/* Some reported write of LOST's key was stored with a context covering
 * LOST's dot although its client never saw LOST. */
static gboolean
model_replaced_unknowingly (const Model *model, guint64 lost)
{
  const ModelOp *op = &model->ops[lost];
  for (guint64 w = 0; w < model->n_ops; w++)
    {
      const ModelOp *write = &model->ops[w];
      if (w != lost && write->version != NULL && write->reported && write->key == op->key
          && dk_dot_covered (op->version->dot, write->version->context)
          && !bit_get (write->knew, lost))
        return TRUE;
    }
  return FALSE;
}

static gboolean
model_has_values (const GPtrArray *set)
{
  for (guint i = 0; set != NULL && i < set->len; i++)
    if (!((const DkVersion *) g_ptr_array_index ((GPtrArray *) set, i))->tombstone)
      return TRUE;
  return FALSE;
}

/* Every metric a run should give, from the model's own account. */
static void
model_expect (const Model *model, Expected *expected)
{
  memset (expected, 0, sizeof *expected);
  guint64 held[MODEL_WORDS] = { 0 };
  for (guint key = 0; key < MODEL_KEYS; key++)
    for (guint r = 0; r < MODEL_REPLICAS; r++)
      {
        const GPtrArray *set = model->sets[key][model_replica (key, r)];
        for (guint i = 0; set != NULL && i < set->len; i++)
          {
            guint64 writer = model_writer (model, g_ptr_array_index ((GPtrArray *) set, i));
            if (writer < model->n_ops)
              bit_set (held, writer);
          }
      }
  /* explained: held, or known to a held write; accounted for: explained,
   * or an issued delete, or known to one */
  for (guint64 id = 0; id < model->n_ops; id++)
    {
      const ModelOp *op = &model->ops[id];
      if (bit_get (held, id))
        {
          bit_set (expected->explained, id);
          for (guint w = 0; w < MODEL_WORDS; w++)
            expected->explained[w] |= op->knew[w];
        }
    }
  memcpy (expected->accounted, expected->explained, sizeof expected->accounted);
  for (guint64 id = 0; id < model->n_ops; id++)
    {
      const ModelOp *op = &model->ops[id];
      if (op->kind == DK_OP_DELETE && op->version != NULL && op->reported)
        {
          bit_set (expected->accounted, id);
          for (guint w = 0; w < MODEL_WORDS; w++)
            expected->accounted[w] |= op->knew[w];
        }
    }
  g_autoptr (GArray) stale = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GArray) lost = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GArray) updates = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint64 id = 0; id < model->n_ops; id++)
    {
      const ModelOp *op = &model->ops[id];
      expected->pending_ops += !op->done;
      expected->ok_ops += op->ok;
      expected->failed_ops += op->done && !op->ok;
      if (op->kind == DK_OP_GET)
        {
          if (op->ok && op->returned_values > 1)
            expected->conflicts++;
          if (op->ok && model_stale (model, op))
            g_array_append_val (stale, id);
          continue;
        }
      expected->unchecked += op->acked && !op->reported;
      if (!model_judged (op))
        continue;
      gboolean accounted = bit_get (expected->accounted, id);
      if (!accounted && op->kind == DK_OP_PUT)
        g_array_append_val (lost, id);
      if (!bit_get (expected->explained, id) && model_replaced_unknowingly (model, id))
        g_array_append_val (updates, id);
      if (op->kind == DK_OP_DELETE)
        for (guint64 p = 0; p < model->n_ops; p++)
          if (model->ops[p].kind == DK_OP_PUT && model->ops[p].reported
              && model->ops[p].key == op->key && model->ops[p].version != NULL
              && bit_get (held, p) && bit_get (op->knew, p))
            {
              expected->resurrected++;
              break;
            }
      if (op->kind == DK_OP_PUT && accounted)
        {
          guint holding = 0;
          for (guint r = 0; r < MODEL_REPLICAS; r++)
            {
              const GPtrArray *set = model->sets[op->key][model_replica (op->key, r)];
              for (guint i = 0; set != NULL && i < set->len; i++)
                {
                  guint64 writer = model_writer (model, g_ptr_array_index ((GPtrArray *) set, i));
                  if (writer == id
                      || (writer < model->n_ops && bit_get (model->ops[writer].knew, id)))
                    {
                      holding++;
                      break;
                    }
                }
            }
          expected->under_replicated += holding < MODEL_REPLICAS;
        }
    }
  expected->stale = ids_text ((const guint64 *) stale->data, stale->len);
  expected->lost_writes = ids_text ((const guint64 *) lost->data, lost->len);
  expected->lost_updates = ids_text ((const guint64 *) updates->data, updates->len);
  g_autoptr (GPtrArray) divergent = g_ptr_array_new ();
  for (guint key = 0; key < MODEL_KEYS; key++)
    {
      const GPtrArray *first = model->sets[key][model_replica (key, 0)];
      for (guint r = 1; r < MODEL_REPLICAS; r++)
        {
          const GPtrArray *set = model->sets[key][model_replica (key, r)];
          if (model_has_values (set) != model_has_values (first)
              || (model_has_values (set) && !dk_siblings_equal (set, first)))
            {
              g_ptr_array_add (divergent, (gpointer) model_keys[key]);
              break;
            }
        }
    }
  g_ptr_array_add (divergent, NULL);
  expected->divergent = g_strjoinv ("|", (char **) divergent->pdata);
}

/* Assert that the checkers' verdicts on MODEL's run are EXPECTED's; under
 * INJECT_DOT_REUSE two writes share an identity, so only the counts that
 * do not depend on telling writes apart are compared. */
static void
assert_checkers_agree (const Model *model, const DkMetrics *m, const Expected *expected,
                       guint64 seed)
{
  const char *what = injection_names[model->inject];
  g_autofree char *stale = listed (m, dk_metrics_stale_reads);
  g_autofree char *lost = listed (m, dk_metrics_lost_writes);
  g_autofree char *updates = listed (m, dk_metrics_lost_updates);
  g_autofree char *divergent = divergent_text (m);
  ck_assert_msg (metric (m, "unchecked_writes") == expected->unchecked,
                 "seed %" G_GUINT64_FORMAT " (%s): unchecked", seed, what);
  ck_assert_msg (metric (m, "conflict_count") == expected->conflicts,
                 "seed %" G_GUINT64_FORMAT " (%s): conflicts", seed, what);
  ck_assert_msg (metric (m, "ok_ops") == expected->ok_ops
                 && metric (m, "failed_ops") == expected->failed_ops
                 && metric (m, "pending_ops") == expected->pending_ops,
                 "seed %" G_GUINT64_FORMAT " (%s): outcomes", seed, what);
  if (model->inject == INJECT_DOT_REUSE)
    return;
  ck_assert_msg (strcmp (stale, expected->stale) == 0,
                 "seed %" G_GUINT64_FORMAT " (%s): stale reads '%s', the model says '%s'",
                 seed, what, stale, expected->stale);
  ck_assert_msg (strcmp (lost, expected->lost_writes) == 0,
                 "seed %" G_GUINT64_FORMAT " (%s): lost writes '%s', the model says '%s'",
                 seed, what, lost, expected->lost_writes);
  ck_assert_msg (strcmp (updates, expected->lost_updates) == 0,
                 "seed %" G_GUINT64_FORMAT " (%s): lost updates '%s', the model says '%s'",
                 seed, what, updates, expected->lost_updates);
  ck_assert_msg (strcmp (divergent, expected->divergent) == 0,
                 "seed %" G_GUINT64_FORMAT " (%s): divergent '%s', the model says '%s'",
                 seed, what, divergent, expected->divergent);
  ck_assert_msg (metric (m, "resurrected_deletes") == expected->resurrected,
                 "seed %" G_GUINT64_FORMAT " (%s): %g resurrected, the model says %u", seed,
                 what, metric (m, "resurrected_deletes"), expected->resurrected);
  ck_assert_msg (metric (m, "under_replicated_writes") == expected->under_replicated,
                 "seed %" G_GUINT64_FORMAT " (%s): %g under-replicated, the model says %u",
                 seed, what, metric (m, "under_replicated_writes"), expected->under_replicated);
  double collisions = model->inject == INJECT_OLD_VALUE && model->injected ? 1 : 0;
  ck_assert_msg (metric (m, "dot_collisions") == collisions,
                 "seed %" G_GUINT64_FORMAT " (%s): %g dot collisions", seed, what,
                 metric (m, "dot_collisions"));
}

/* TRUE when ID is in the space-separated id list TEXT. */
static gboolean
listed_id (const char *text, guint64 id)
{
  g_auto (GStrv) parts = g_strsplit (text, " ", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0' && g_ascii_strtoull (parts[i], NULL, 10) == id)
      return TRUE;
  return FALSE;
}

START_TEST (property_correct_dvv_store_has_no_violations_and_reads_judged_as_the_model_does)
{
  int iterations = dk_test_iterations (200);
  guint stale_reads = 0, conflicts = 0, unchecked = 0, failed_ops = 0, hinted = 0;
  for (int seed = 1; seed <= iterations; seed++)
    {
      g_autoptr (Model) model = model_run ((guint64) seed, INJECT_NOTHING);
      Expected expected;
      model_expect (model, &expected);
      /* the model is a correct store */
      ck_assert_msg (*expected.lost_writes == '\0' && *expected.lost_updates == '\0'
                     && expected.resurrected == 0 && expected.under_replicated == 0
                     && *expected.divergent == '\0',
                     "seed %d: the model itself lost '%s' / '%s'", seed,
                     expected.lost_writes, expected.lost_updates);
      g_autoptr (DkMetrics) m = dk_check_history (model->history, model->final, NULL);
      assert_checkers_agree (model, m, &expected, (guint64) seed);
      ck_assert_msg (metric (m, "lost_writes") == 0 && metric (m, "lost_updates") == 0
                     && metric (m, "dot_collisions") == 0
                     && metric (m, "resurrected_deletes") == 0
                     && metric (m, "under_replicated_writes") == 0
                     && metric (m, "divergent_keys") == 0, "seed %d", seed);
      ck_assert_msg (metric (m, "pending_ops") == 2, "seed %d", seed);
      stale_reads += (guint) metric (m, "stale_read_count");
      conflicts += expected.conflicts;
      unchecked += expected.unchecked;
      failed_ops += expected.failed_ops;
      hinted += model->hinted;
      expected_clear (&expected);
    }
  /* the runs were concurrent enough to matter */
  ck_assert_uint_gt (stale_reads, 0);
  ck_assert_uint_gt (conflicts, 0);
  ck_assert_uint_gt (unchecked, 0);
  ck_assert_uint_gt (failed_ops, 0);
  ck_assert_uint_gt (hinted * 2, (guint) iterations);
}
END_TEST

START_TEST (property_each_injected_violation_is_found_with_its_op_id)
{
  int iterations = dk_test_iterations (120);
  for (Injection inject = INJECT_LOST_WRITE; inject < N_INJECTIONS; inject++)
    {
      int found = 0;
      for (int seed = 1; seed <= iterations; seed++)
        {
          g_autoptr (Model) model = model_run ((guint64) seed, inject);
          Expected expected;
          model_expect (model, &expected);
          g_autoptr (DkMetrics) m = dk_check_history (model->history, model->final, NULL);
          assert_checkers_agree (model, m, &expected, (guint64) seed);
          g_autofree char *stale = listed (m, dk_metrics_stale_reads);
          g_autofree char *lost = listed (m, dk_metrics_lost_writes);
          g_autofree char *updates = listed (m, dk_metrics_lost_updates);
          g_autofree char *divergent = divergent_text (m);
          guint64 target = model->injected_op;
          gboolean hit = FALSE;
          switch (inject)
            {
            case INJECT_LOST_WRITE:
            case INJECT_NON_REPLICA:
              hit = model->injected && listed_id (lost, target);
              ck_assert_msg (hit || !model->injected, "seed %d (%s): op %" G_GUINT64_FORMAT
                             " not among lost writes '%s'", seed, injection_names[inject],
                             target, lost);
              break;
            case INJECT_LOST_UPDATE:
              /* effective unless a write still held knew the sibling; a lost
               * write too unless a delete knew it */
              if (model->injected && !bit_get (expected.explained, target))
                {
                  gboolean also_lost = !bit_get (expected.accounted, target);
                  ck_assert_msg (listed_id (updates, target)
                                 && listed_id (lost, target) == also_lost,
                                 "seed %d: op %" G_GUINT64_FORMAT " not a lost update '%s'"
                                 " / lost write '%s'", seed, target, updates, lost);
                  hit = TRUE;
                }
              break;
            case INJECT_DOT_REUSE:
              {
                g_autoptr (DkMetrics) history_only = dk_check_history (model->history, NULL, NULL);
                double collisions = model->injected ? 1 : 0;
                ck_assert_msg (metric (m, "dot_collisions") == collisions
                               && metric (history_only, "dot_collisions") == collisions,
                               "seed %d: %g dot collisions", seed, metric (m, "dot_collisions"));
                hit = model->injected;
              }
              break;
            case INJECT_OLD_VALUE:
              hit = model->injected && listed_id (stale, target)
                && metric (m, "dot_collisions") == 1;
              ck_assert_msg (hit || !model->injected, "seed %d: get %" G_GUINT64_FORMAT
                             " not among stale reads '%s'", seed, target, stale);
              break;
            case INJECT_RESURRECTION:
              hit = model->injected && metric (m, "resurrected_deletes") >= 1
                && strstr (divergent, model_keys[model->injected_key]) != NULL;
              ck_assert_msg (hit || !model->injected, "seed %d: delete %" G_GUINT64_FORMAT
                             " not resurrected", seed, target);
              break;
            case INJECT_DIVERGENCE:
              hit = model->injected && strcmp (divergent, model_keys[model->injected_key]) == 0;
              ck_assert_msg (hit || !model->injected, "seed %d: divergent '%s'", seed,
                             divergent);
              break;
            case INJECT_NOTHING:
            case N_INJECTIONS:
              g_assert_not_reached ();
            }
          found += hit;
          expected_clear (&expected);
        }
      /* the injection really happened, and mattered, in most runs */
      ck_assert_msg (found * 2 > iterations, "%s found in only %d of %d runs",
                     injection_names[inject], found, iterations);
    }
}
END_TEST

START_TEST (property_history_and_final_csv_round_trips_keep_checker_results)
{
  int iterations = dk_test_iterations (96);
  for (int seed = 1; seed <= iterations; seed++)
    {
      Injection inject = (Injection) (seed % N_INJECTIONS);
      g_autoptr (Model) model = model_run ((guint64) seed, inject);
      g_autoptr (GString) csv = g_string_new (NULL);
      dk_history_to_csv (model->history, csv);
      g_autoptr (GError) error = NULL;
      g_autoptr (DkHistory) back = dk_history_parse (csv->str, (gssize) csv->len, "model",
                                                     &error);
      ck_assert_msg (back != NULL, "seed %d: %s", seed, error->message);
      g_autoptr (GString) again = g_string_new (NULL);
      dk_history_to_csv (back, again);
      ck_assert_msg (strcmp (csv->str, again->str) == 0, "seed %d: history.csv differs", seed);

      g_autoptr (GString) final_csv = g_string_new (NULL);
      dk_final_state_to_csv (model->final, model->history, final_csv);
      g_autoptr (DkFinalState) final_back = final_state_from_csv (final_csv->str);
      g_autoptr (GString) final_again = g_string_new (NULL);
      dk_final_state_to_csv (final_back, back, final_again);
      ck_assert_msg (strcmp (final_csv->str, final_again->str) == 0,
                     "seed %d (%s): final.csv differs", seed, injection_names[inject]);

      /* final.csv lists replicas that hold nothing too, so the reloaded
       * state judges exactly as the original, divergence included. */
      g_autoptr (DkMetrics) original = dk_check_history (model->history, model->final, NULL);
      g_autoptr (DkMetrics) reloaded = dk_check_history (back, final_back, NULL);
      g_autoptr (GString) json1 = g_string_new (NULL);
      g_autoptr (GString) json2 = g_string_new (NULL);
      dk_metrics_to_json (original, json1);
      dk_metrics_to_json (reloaded, json2);
      ck_assert_msg (strcmp (json1->str, json2->str) == 0, "seed %d (%s):\n%s\n%s", seed,
                     injection_names[inject], json1->str, json2->str);
      static const IdList lists[] = { dk_metrics_stale_reads, dk_metrics_lost_writes,
                                      dk_metrics_lost_updates };
      for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
        {
          g_autofree char *before = listed (original, lists[l]);
          g_autofree char *after = listed (reloaded, lists[l]);
          ck_assert_msg (strcmp (before, after) == 0, "seed %d list %u: '%s' / '%s'", seed,
                         l, before, after);
        }
      g_autofree char *divergent_before = divergent_text (original);
      g_autofree char *divergent_after = divergent_text (reloaded);
      ck_assert_str_eq (divergent_before, divergent_after);
    }
}
END_TEST

/* FINAL as final.csv text, for comparing two states. */
static char *
final_csv (const DkFinalState *final)
{
  GString *csv = g_string_new (NULL);
  dk_final_state_to_csv (final, NULL, csv);
  return g_string_free (csv, FALSE);
}

/* GOT is EXPECTED; else fail naming the first line that differs (whole
 * texts are too long for Check's messages). */
static void
assert_same_csv (const char *got, const char *expected)
{
  gsize at = 0, line = 1;
  while (got[at] != '\0' && got[at] == expected[at])
    line += got[at++] == '\n';
  if (got[at] == expected[at])
    return;
  gsize start = at;
  while (start > 0 && got[start - 1] != '\n')
    start--;
  ck_abort_msg ("final.csv line %" G_GSIZE_FORMAT " differs: got \"%.60s\", expected \"%.60s\"",
                line, got + start, expected + start);
}

START_TEST (final_state_merge_is_adding_the_second_states_records_after_the_first)
{
  g_autoptr (DkHistory) h = dk_history_new ();
  guint64 p0 = put (h, "k", 0, 10, NO_READ, dot_of (1, 1));
  guint64 p1 = put (h, "j", 0, 10, NO_READ, dot_of (2, 1));
  guint64 p2 = put (h, "m", 0, 10, NO_READ, dot_of (3, 1));
  guint64 d3 = del (h, "j", 20, 30, NO_READ, dot_of (2, 2));
  static const DkNodeId list_j[] = { 4, 2 };
  /* One state given everything, in this order ... */
  g_autoptr (DkFinalState) whole = dk_final_state_new ();
  hold (whole, h, "k", 1, 1, p0);
  hold (whole, h, "k", 3, 1, p0);
  hold (whole, h, "j", 2, 1, p1);
  replicas_123 (whole, "k");
  hold (whole, h, "k", 2, 1, p0);
  hold (whole, h, "m", 4, 1, p2);
  hold (whole, h, "j", 2, 2, p1, d3);      /* replaces node 2's set of j */
  dk_final_state_set_replicas (whole, "j", list_j, G_N_ELEMENTS (list_j));
  /* ... and the same split in two, the second merged into the first. */
  g_autoptr (DkFinalState) low = dk_final_state_new ();
  hold (low, h, "k", 1, 1, p0);
  hold (low, h, "k", 3, 1, p0);
  hold (low, h, "j", 2, 1, p1);
  replicas_123 (low, "k");
  DkFinalState *high = dk_final_state_new ();
  hold (high, h, "k", 2, 1, p0);
  hold (high, h, "m", 4, 1, p2);
  hold (high, h, "j", 2, 2, p1, d3);
  dk_final_state_set_replicas (high, "j", list_j, G_N_ELEMENTS (list_j));
  dk_final_state_merge (low, high);
  g_autofree char *expected = final_csv (whole);
  g_autofree char *merged = final_csv (low);
  assert_same_csv (merged, expected);
  DkFinalKey k;
  ck_assert (dk_final_state_lookup (low, "k", &k));
  ck_assert_uint_eq (k.n_holdings, 3);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (k.holdings[i].node, i + 1);
  ck_assert_uint_eq (k.n_replicas, 3);
  DkFinalKey j;
  ck_assert (dk_final_state_lookup (low, "j", &j));
  ck_assert_uint_eq (j.n_holdings, 1);
  ck_assert_uint_eq (j.holdings[0].n_versions, 2);
  ck_assert_uint_eq (j.holdings[0].n_values, 1);
  ck_assert_uint_eq (j.n_replicas, 2);
  ck_assert_uint_eq (j.replicas[0], 4);
  ck_assert (!dk_final_key_is_replica (&j, 1));
  ck_assert (dk_final_key_is_replica (&j, 2));
  guint n;
  g_autofree DkFinalKey *sorted = dk_final_state_sorted (low, &n);
  ck_assert_uint_eq (n, 3);
  ck_assert_str_eq (sorted[0].key, "j");
  ck_assert_str_eq (sorted[1].key, "k");
  ck_assert_str_eq (sorted[2].key, "m");
  ck_assert (!dk_final_state_lookup (low, "absent", &j));
  ck_assert_uint_eq (j.n_holdings, 0);
  ck_assert_ptr_null (j.replicas);
}
END_TEST

typedef struct
{
  DkCollectShare *share;
  DkFinalState   *final;
  gboolean        ok;
} TopCollector;

static gpointer
collect_from_top (gpointer data)
{
  TopCollector *top = data;
  top->ok = dk_final_state_collect_shared (top->final, top->share, TRUE, NULL);
  return NULL;
}

START_TEST (final_state_collected_by_two_threads_is_the_one_collected_in_node_order)
{
  enum { NODES = 12, KEYS = 300 };
  g_autoptr (DkHistory) h = dk_history_new ();
  DkStore *stores[NODES] = { NULL };
  DkStoreOptions options;
  dk_store_options_init (&options);
  options.kv_in_memory = TRUE;
  for (guint node = 0; node < NODES; node++)
    if (node % 5 != 3)   /* some nodes have no store (never joined, or left) */
      {
        stores[node] = dk_store_open (":memory:", &options, NULL);
        ck_assert_ptr_nonnull (stores[node]);
      }
  for (guint i = 0; i < KEYS; i++)
    {
      g_autofree char *key = g_strdup_printf ("key%u", i);
      guint64 id = put (h, key, 0, 10, NO_READ, dot_of (1 + i % 7, 1 + i));
      g_autoptr (GPtrArray) versions = just (version_of (h, id));
      g_autoptr (GBytes) name = g_bytes_new (key, strlen (key));
      for (guint r = 0; r < 3; r++)
        {
          DkStore *store = stores[(i * 7 + r * 5) % NODES];
          if (store != NULL)
            ck_assert (dk_store_put (store, name, versions, 0, NULL, NULL));
        }
    }
  g_autoptr (DkFinalState) serial = dk_final_state_new ();
  for (guint node = 0; node < NODES; node++)
    if (stores[node] != NULL)
      ck_assert (dk_final_state_collect_store (serial, node + 1, stores[node], NULL));
  /* The last round frees each store's rows once collected, as a run's
   * end does: the state is the same, and the stores are left empty. */
  for (guint round = 0; round < 21; round++)
    {
      gboolean discard = round == 20;
      g_autoptr (DkCollectShare) share = dk_collect_share_new (stores, NODES, discard);
      TopCollector top = { share, dk_final_state_new (), FALSE };
      GThread *thread = g_thread_new ("collect-top", collect_from_top, &top);
      g_autoptr (DkFinalState) final = dk_final_state_new ();
      ck_assert (dk_final_state_collect_shared (final, share, FALSE, NULL));
      g_thread_join (thread);
      ck_assert (top.ok);
      dk_final_state_merge (final, top.final);
      g_autofree char *expected = final_csv (serial);
      g_autofree char *got = final_csv (final);
      assert_same_csv (got, expected);
      for (guint node = 0; node < NODES && discard; node++)
        if (stores[node] != NULL)
          {
            guint64 rows = 1;
            ck_assert (dk_store_count_keys (stores[node], &rows, NULL));
            ck_assert_uint_eq (rows, 0);
          }
    }
  for (guint node = 0; node < NODES; node++)
    g_clear_pointer (&stores[node], dk_store_close);
}
END_TEST

Suite *
checkers_suite (void)
{
  Suite *suite = suite_create ("checkers");
  TCase *stale = tcase_create ("stale_reads");
  dk_tcase_no_wall_limit (stale);
  tcase_add_test (stale, stale_read_of_an_old_value_under_the_newest_dot_is_stale_and_a_dot_collision);
  tcase_add_test (stale, stale_read_returning_a_value_whose_writer_knew_the_acked_write_is_fresh);
  tcase_add_test (stale, stale_read_returning_nothing_is_stale_after_a_put_but_not_after_a_delete_that_saw_it);
  tcase_add_test (stale, stale_read_missing_one_of_two_concurrent_acked_writes_is_stale);
  tcase_add_test (stale, stale_read_judges_knowing_by_reads_not_by_clock_contiguity);
  tcase_add_test (stale, stale_read_needs_a_write_acknowledged_strictly_before_its_invoke);
  tcase_add_test (stale, unchecked_writes_are_counted_and_never_judged);
  tcase_add_test (stale, history_knew_follows_reads_and_values_not_clocks);
  suite_add_tcase (suite, stale);

  TCase *lost = tcase_create ("lost_writes");
  dk_tcase_no_wall_limit (lost);
  tcase_add_test (lost, lost_write_is_an_acked_value_no_replica_holds_and_no_accounted_writer_knew);
  tcase_add_test (lost, lost_write_replaced_knowingly_through_unacknowledged_writes_is_accounted_for);
  tcase_add_test (lost, lost_write_replaced_by_a_reported_delete_is_accounted_for_without_its_tombstone);
  tcase_add_test (lost, lost_write_held_only_by_a_non_replica_is_lost);
  tcase_add_test (lost, lost_write_covered_only_by_clock_contiguity_is_lost_and_a_lost_update);
  tcase_add_test (lost, lost_write_whose_replacer_sent_a_context_not_covering_it_is_lost);
  tcase_add_test (lost, lost_updates_are_writes_replaced_by_a_context_their_replacer_never_saw);
  suite_add_tcase (suite, lost);

  TCase *final = tcase_create ("final_state");
  dk_tcase_no_wall_limit (final);
  tcase_add_test (final, resurrected_deletes_are_acked_deletes_whose_known_values_a_replica_holds);
  tcase_add_test (final, dot_collisions_are_dots_seen_with_two_values);
  tcase_add_test (final, under_replicated_writes_are_accounted_puts_short_of_their_replicas);
  tcase_add_test (final, divergent_keys_compare_preference_list_replicas);
  tcase_add_test (final, final_state_metrics_are_unknown_without_a_final_state);
  tcase_add_test (final, final_state_records_held_versions_sorted_by_key_and_node);
  tcase_add_test (final, final_state_merge_is_adding_the_second_states_records_after_the_first);
  tcase_add_test (final, final_state_collected_by_two_threads_is_the_one_collected_in_node_order);
  suite_add_tcase (suite, final);

  TCase *counts = tcase_create ("counts");
  dk_tcase_no_wall_limit (counts);
  tcase_add_test (counts, conflicts_count_gets_with_several_value_siblings);
  tcase_add_test (counts, availability_counts_pending_as_not_ok_and_tallies_reasons);
  tcase_add_test (counts, latency_percentiles_use_nearest_rank);
  tcase_add_test (counts, visibility_buckets_time_since_latest_acked_write);
  tcase_add_test (counts, visibility_counts_t_from_the_commit_when_recorded);
  tcase_add_test (counts, visibility_window_is_where_the_curve_stays_above_p);
  tcase_add_test (counts, visibility_window_is_the_step_of_a_noisy_curve);
  tcase_add_test (counts, k_staleness_counts_versions_behind);
  tcase_add_test (counts, availability_by_partition_side);
  tcase_add_test (counts, timeseries_buckets_by_invoke_time_and_takes_runner_columns);
  tcase_add_test (counts, timeseries_grows_both_ways_and_floors_negative_times);
  tcase_add_test (counts, metrics_json_names_every_metric_in_a_fixed_order);
  tcase_add_test (counts, metrics_json_lists_the_first_100_ids_of_each_violation);
  suite_add_tcase (suite, counts);

  TCase *csv = tcase_create ("csv");
  dk_tcase_no_wall_limit (csv);
  tcase_add_test (csv, history_csv_writes_every_column_and_round_trips_every_outcome);
  tcase_add_test (csv, history_parse_rejects_malformed_rows_naming_the_line_and_column);
  tcase_add_test (csv, final_csv_lists_every_held_version_and_round_trips);
  tcase_add_test (csv, history_csv_round_trip_keeps_a_reused_dot_naming_its_earliest_write);
  tcase_add_test (csv, history_keeps_every_operation_of_a_long_history);
  suite_add_tcase (suite, csv);

  TCase *properties = tcase_create ("properties");
  dk_tcase_no_wall_limit (properties);
  tcase_add_test (properties, property_correct_dvv_store_has_no_violations_and_reads_judged_as_the_model_does);
  tcase_add_test (properties, property_each_injected_violation_is_found_with_its_op_id);
  tcase_add_test (properties, property_history_and_final_csv_round_trips_keep_checker_results);
  suite_add_tcase (suite, properties);
  return suite;
}
