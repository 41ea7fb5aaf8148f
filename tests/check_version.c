/* check_version.c — dots, versions and sibling sets (version.h) against a
 * reference model, the issuing rules, and the version header codec.
 *
 * The reference model: a key's state is a set of (dot, payload) pairs,
 * and a write whose context is C replaces exactly the pairs whose dot C
 * covers.  A replica that received the versions S must hold exactly the
 * versions of S that no version of S replaces, whatever the order and
 * grouping they arrived in.  The simulated worlds below (World) drive
 * several coordinators and replicas through random writes (blind, or with
 * the context of a fresh or an earlier read), shipments delivered in any
 * order and sometimes twice, anti-entropy merges, crashes (a replica
 * loses its set) and wipes (a coordinator loses its disk and comes back
 * as a new actor), and hold every replica to that model.
 *
 * Like the node, a coordinator stores its write first and ships its whole
 * reconciled set, never a lone version: a context covers an actor's dots
 * by counter, which is sound only because every set holding a dot of an
 * actor also holds that actor's earlier dots of the key, or versions
 * replacing them (node_coordinator.c, coordinate_write).  Shipping lone
 * versions out of order breaks that and the model with it.
 *
 * Property tests run one case per seed (seed = case number); a failure
 * names the seed and the step, so it replays exactly. */
#include <stdlib.h>
#include <string.h>
#include "suites.h"
#include "version.h"

/* ---- helpers ------------------------------------------------------------ */

/* ck_assert_msg without its cost: Check reports every passed assertion
 * through a pipe, a system call each, which the model tests would make
 * millions of times. */
#define require(condition, ...) \
  do { if (G_UNLIKELY (!(condition))) ck_abort_msg (__VA_ARGS__); } while (0)

static DkDot
dot_of (DkActor actor, guint64 counter, gint64 wall_us)
{
  return (DkDot) { actor, counter, wall_us };
}

/* A clock in its written form ("{1.a:2, 3.b:1}"); asserts it parses. */
static DkVclock *
clock_of (const char *text)
{
  g_autoptr (GError) error = NULL;
  DkVclock *clock = dk_vclock_parse (text, &error);
  require (clock != NULL, "%s", error ? error->message : "?");
  return clock;
}

/* A version of DOT with context CONTEXT_TEXT (NULL: empty) holding VALUE,
 * or a tombstone when VALUE is NULL. */
static DkVersion *
version_of (DkDot dot, const char *context_text, const char *value)
{
  g_autoptr (GBytes) bytes = value != NULL ? g_bytes_new (value, strlen (value)) : NULL;
  DkVclock *context = context_text != NULL ? clock_of (context_text) : NULL;
  return dk_version_new (dot, context, bytes, value == NULL);
}

static gboolean
holds_value (const DkVersion *version, const char *value)
{
  gsize len;
  const char *data = g_bytes_get_data (version->value, &len);
  return !version->tombstone && len == strlen (value) && (len == 0 || memcmp (data, value, len) == 0);
}

/* "{3.a:1=x, 3.a:2=<tombstone>}" for failure messages.  Free with g_free. */
static char *
set_to_string (const GPtrArray *set)
{
  GString *text = g_string_new ("{");
  for (guint i = 0; i < set->len; i++)
    {
      const DkVersion *version = g_ptr_array_index ((GPtrArray *) set, i);
      char dot[DK_DOT_STRING_SIZE];
      gsize len;
      const char *data = g_bytes_get_data (version->value, &len);
      g_string_append_printf (text, "%s%s=", i > 0 ? ", " : "", dk_dot_format (version->dot, dot));
      if (version->tombstone)
        g_string_append (text, "<tombstone>");
      else
        g_string_append_len (text, data != NULL ? data : "", (gssize) len);
      g_string_append (text, " ctx ");
      dk_vclock_append_string (version->context, text);
    }
  g_string_append_c (text, '}');
  return g_string_free (text, FALSE);
}

static void
shuffle (GRand *rand, GPtrArray *items)
{
  for (guint i = items->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      gpointer swap = items->pdata[i - 1];
      items->pdata[i - 1] = items->pdata[j];
      items->pdata[j] = swap;
    }
}

/* A reconciled set built by adding copies of VERSIONS in order. */
static GPtrArray *
siblings_from (const GPtrArray *versions, guint64 *collisions)
{
  GPtrArray *siblings = dk_siblings_new ();
  for (guint i = 0; i < versions->len; i++)
    dk_siblings_add (siblings, dk_version_copy (g_ptr_array_index ((GPtrArray *) versions, i)),
                     collisions);
  return siblings;
}

/* The model's rule, written independently of version.c: Y replaces X
 * when their dots differ and Y's context covers X's dot. */
static gboolean
model_replaces (const DkVersion *y, const DkVersion *x)
{
  gboolean same_dot = y->dot.actor == x->dot.actor && y->dot.counter == x->dot.counter;
  return !same_dot && dk_vclock_get (y->context, x->dot.actor) >= x->dot.counter;
}

static int
compare_versions (gconstpointer a, gconstpointer b)
{
  return dk_version_compare (*(DkVersion *const *) a, *(DkVersion *const *) b);
}

/* A reconciled set: canonical order, no member replaced by another, no
 * two members with one dot, no context covering its own dot. */
static void
assert_reconciled (const GPtrArray *siblings, const char *where)
{
  for (guint i = 0; i < siblings->len; i++)
    {
      const DkVersion *a = g_ptr_array_index ((GPtrArray *) siblings, i);
      require (!dk_dot_covered (a->dot, a->context), "%s: member %u covers its own dot", where, i);
      if (i > 0)
        require (dk_version_compare (g_ptr_array_index ((GPtrArray *) siblings, i - 1), a) < 0,
                 "%s: members %u and %u out of canonical order", where, i - 1, i);
      for (guint j = 0; j < siblings->len; j++)
        {
          const DkVersion *b = g_ptr_array_index ((GPtrArray *) siblings, j);
          require (i == j || !model_replaces (a, b), "%s: member %u replaces member %u",
                   where, i, j);
          require (i == j || a->dot.actor != b->dot.actor || a->dot.counter != b->dot.counter,
                   "%s: members %u and %u share a dot", where, i, j);
        }
    }
}

/* ---- the simulated world ------------------------------------------------- */

#define WORLD_NODES       3   /* coordinators; node I is also replica I */
#define WORLD_REPLICAS    4
#define WORLD_MAX_WRITES 40
#define WORLD_STEPS     140
#define WORLD_READS      16   /* contexts of earlier reads kept for stale writes */
G_STATIC_ASSERT (WORLD_MAX_WRITES <= 64);  /* write ids as bits of a guint64 */

/* A coordinator's whole reconciled set on its way to a replica, with
 * the write ids the coordinator had received (the node ships whole sets:
 * see coordinate_write in node_coordinator.c). */
typedef struct
{
  GPtrArray *set;
  gboolean   received[WORLD_MAX_WRITES];
} Shipment;

static void
shipment_free (Shipment *shipment)
{
  g_ptr_array_unref (shipment->set);
  g_free (shipment);
}

typedef struct
{
  GRand       *rand;
  int          seed;
  guint        step;
  DkVersioning versioning;
  gint64       now_us;
  DkActor      actor[WORLD_NODES];     /* current incarnation of each coordinator */
  guint64      counter[WORLD_NODES];   /* its last issued counter */
  GArray      *actors_used;            /* DkActor: never reissued after a wipe */
  GPtrArray   *writes;                 /* DkVersion*, every version issued, by write id */
  GPtrArray   *set[WORLD_REPLICAS];    /* each replica's reconciled set */
  gboolean     received[WORLD_REPLICAS][WORLD_MAX_WRITES];
  GPtrArray   *inbox[WORLD_REPLICAS];  /* Shipment*: sets in flight to the replica */
  GPtrArray   *reads;                  /* DkVclock*: contexts clients got from reads */
  guint64      read_seen[WORLD_READS];  /* ... and the write ids each read saw */
  guint64      history[WORLD_MAX_WRITES]; /* bit X of write W: W's writer saw X */
  guint64      unseen_replacements;    /* writes replacing a version their writer never saw */
  guint64      collisions;
  guint        touched;                /* bit R: the last step changed replica R */
  /* What happened, so tests can insist the interesting cases did. */
  guint        crashes, wipes, merges, duplicates, replacing_writes, sibling_sets;
} World;

static World *
world_new (int seed, DkVersioning versioning)
{
  World *world = g_new0 (World, 1);
  world->rand = g_rand_new_with_seed ((guint32) seed);
  world->seed = seed;
  world->versioning = versioning;
  world->now_us = 1000;
  world->actors_used = g_array_new (FALSE, FALSE, sizeof (DkActor));
  for (guint node = 0; node < WORLD_NODES; node++)
    {
      world->actor[node] = dk_actor_make (node + 1, 0x100u + node);
      g_array_append_val (world->actors_used, world->actor[node]);
    }
  world->writes = dk_siblings_new ();
  for (guint r = 0; r < WORLD_REPLICAS; r++)
    {
      world->set[r] = dk_siblings_new ();
      world->inbox[r] = g_ptr_array_new_with_free_func ((GDestroyNotify) shipment_free);
    }
  world->reads = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_vclock_free);
  return world;
}

static void
world_free (World *world)
{
  for (guint r = 0; r < WORLD_REPLICAS; r++)
    {
      g_ptr_array_unref (world->set[r]);
      g_ptr_array_unref (world->inbox[r]);
    }
  g_ptr_array_unref (world->writes);
  g_ptr_array_unref (world->reads);
  g_array_unref (world->actors_used);
  g_rand_free (world->rand);
  g_free (world);
}

static guint
world_pick (World *world, guint bound)
{
  return (guint) g_rand_int_range (world->rand, 0, (gint32) bound);
}

static const DkVersion *
world_write_of (World *world, guint id)
{
  return g_ptr_array_index (world->writes, id);
}

/* The model: the versions of RECEIVED that no version of RECEIVED
 * replaces, in canonical order (pointers into world->writes). */
static GPtrArray *
model_survivors (World *world, const gboolean received[WORLD_MAX_WRITES])
{
  GPtrArray *expected = g_ptr_array_new ();
  for (guint i = 0; i < world->writes->len; i++)
    {
      if (!received[i])
        continue;
      gboolean replaced = FALSE;
      for (guint j = 0; j < world->writes->len && !replaced; j++)
        replaced = received[j] && model_replaces (world_write_of (world, j), world_write_of (world, i));
      if (!replaced)
        g_ptr_array_add (expected, (gpointer) world_write_of (world, i));
    }
  g_ptr_array_sort (expected, compare_versions);
  return expected;
}

static gboolean
same_versions (const GPtrArray *a, const GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (dk_version_compare (g_ptr_array_index ((GPtrArray *) a, i),
                            g_ptr_array_index ((GPtrArray *) b, i)) != 0)
      return FALSE;
  return TRUE;
}

static void
world_assert_matches_model (World *world, guint replica)
{
  g_autoptr (GPtrArray) expected = model_survivors (world, world->received[replica]);
  GPtrArray *actual = world->set[replica];
  if (!same_versions (actual, expected))
    {
      g_autofree char *actual_text = set_to_string (actual);
      g_autofree char *expected_text = set_to_string (expected);
      ck_abort_msg ("%s seed %d step %u: replica %u holds %s, the model %s",
                    dk_versioning_name (world->versioning), world->seed, world->step, replica,
                    actual_text, expected_text);
    }
}

/* The id of the issued write VERSION is a copy of. */
static guint
world_id_of (World *world, const DkVersion *version)
{
  for (guint id = 0; id < world->writes->len; id++)
    {
      const DkVersion *write = world_write_of (world, id);
      if (write->dot.actor == version->dot.actor && write->dot.counter == version->dot.counter)
        return id;
    }
  ck_abort_msg ("seed %d: a version nobody wrote", world->seed);
  return 0;
}

/* What a client gets from reading one or two replicas (a quorum read
 * merges the replies): the context of the versions read, and in *SEEN
 * (may be NULL) the writes it saw: those read and their histories. */
static DkVclock *
world_read (World *world, GPtrArray **read_set, guint64 *seen)
{
  g_autoptr (GPtrArray) merged = dk_siblings_copy (world->set[world_pick (world, WORLD_REPLICAS)]);
  if (g_rand_boolean (world->rand))
    dk_siblings_merge (merged, world->set[world_pick (world, WORLD_REPLICAS)], NULL);
  DkVclock *context = dk_siblings_context (merged);
  if (seen != NULL)
    {
      *seen = 0;
      for (guint i = 0; i < merged->len; i++)
        *seen |= world->history[world_id_of (world, g_ptr_array_index (merged, i))];
    }
  if (read_set != NULL)
    *read_set = g_steal_pointer (&merged);
  return context;
}

static void
world_remember_read (World *world)
{
  guint64 seen;
  DkVclock *context = world_read (world, NULL, &seen);
  guint slot = world->reads->len;
  if (slot < WORLD_READS)
    g_ptr_array_add (world->reads, context);
  else
    {
      slot = world_pick (world, WORLD_READS);
      dk_vclock_free (world->reads->pdata[slot]);
      world->reads->pdata[slot] = context;
    }
  world->read_seen[slot] = seen;
}

/* Replica INTO takes SET, holding the write ids RECEIVED. */
static void
world_take (World *world, guint into, const GPtrArray *set, const gboolean received[WORLD_MAX_WRITES])
{
  dk_siblings_merge (world->set[into], set, &world->collisions);
  for (guint i = 0; i < WORLD_MAX_WRITES; i++)
    world->received[into][i] |= received[i];
  world->touched |= 1u << into;
  world->sibling_sets += world->set[into]->len > 1;
}

/* A client writes through a random coordinator with a context from no
 * read (blind), an earlier read, or a fresh one; the coordinator issues
 * the next dot of its actor, stores the version, and ships its whole set
 * to each other replica with probability 3/4 (the rest is left to
 * anti-entropy). */
static void
world_write (World *world)
{
  guint node = world_pick (world, WORLD_NODES);
  guint id = world->writes->len;
  g_autoptr (DkVclock) context = NULL;
  guint64 seen = 0;
  guint how = world_pick (world, 10);
  if (how >= 2 && how < 7 && world->reads->len > 0)
    {
      guint slot = world_pick (world, world->reads->len);
      context = dk_vclock_copy (world->reads->pdata[slot]);
      seen = world->read_seen[slot];
    }
  else if (how >= 7)
    context = world_read (world, NULL, &seen);
  DkDot dot = dot_of (world->actor[node], ++world->counter[node], world->now_us);
  g_autofree char *value = g_strdup_printf ("w%u", id);
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));
  gboolean tombstone = world_pick (world, 8) == 0;
  guint pruned = 99;
  DkVersion *version = dk_version_issue (world->versioning, dot, world->set[node], context,
                                         bytes, tombstone, 0, &pruned);
  require (pruned == 0, "seed %d: pruned without a bound", world->seed);
  require (!dk_dot_covered (version->dot, version->context),
           "seed %d step %u: an issued version covers its own dot", world->seed, world->step);
  require (version->tombstone == tombstone && (tombstone || holds_value (version, value)),
           "seed %d step %u: issued the wrong payload", world->seed, world->step);
  for (guint i = 0; i < world->set[node]->len; i++)
    world->replacing_writes += dk_version_replaces (version, g_ptr_array_index (world->set[node], i));
  for (guint x = 0; x < id; x++)
    world->unseen_replacements += model_replaces (version, world_write_of (world, x))
                                  && (seen & (G_GUINT64_CONSTANT (1) << x)) == 0;
  world->history[id] = seen | (G_GUINT64_CONSTANT (1) << id);
  g_ptr_array_add (world->writes, version);

  g_autoptr (GPtrArray) just_this = dk_siblings_new ();
  g_ptr_array_add (just_this, dk_version_copy (version));
  gboolean this_id[WORLD_MAX_WRITES] = { FALSE };
  this_id[id] = TRUE;
  world_take (world, node, just_this, this_id);
  for (guint r = 0; r < WORLD_REPLICAS; r++)
    if (r != node && world_pick (world, 4) != 0)
      {
        Shipment *shipment = g_new (Shipment, 1);
        shipment->set = dk_siblings_copy (world->set[node]);
        memcpy (shipment->received, world->received[node], sizeof shipment->received);
        g_ptr_array_add (world->inbox[r], shipment);
      }
}

/* One shipment in flight reaches its replica, in random order; one in
 * eight stays in flight as well (a duplicate). */
static void
world_deliver (World *world)
{
  guint start = world_pick (world, WORLD_REPLICAS);
  for (guint k = 0; k < WORLD_REPLICAS; k++)
    {
      guint replica = (start + k) % WORLD_REPLICAS;
      GPtrArray *inbox = world->inbox[replica];
      if (inbox->len == 0)
        continue;
      guint slot = world_pick (world, inbox->len);
      Shipment *shipment = g_ptr_array_index (inbox, slot);
      world_take (world, replica, shipment->set, shipment->received);
      if (world_pick (world, 8) == 0)
        world->duplicates++;
      else
        g_ptr_array_remove_index_fast (inbox, slot);
      return;
    }
}

/* Anti-entropy (or read repair): replica INTO takes replica FROM's set. */
static void
world_merge (World *world, guint into, guint from)
{
  if (into == from)
    return;
  world_take (world, into, world->set[from], world->received[from]);
  world->merges++;
}

/* The node loses its disk: its replica is empty and, when it is a
 * coordinator, it comes back as a new actor (a new random incarnation,
 * never one used before), so it never reissues a dot. */
static void
world_wipe (World *world, guint replica)
{
  g_ptr_array_set_size (world->set[replica], 0);
  memset (world->received[replica], 0, sizeof world->received[replica]);
  world->touched |= 1u << replica;
  if (replica >= WORLD_NODES)
    {
      world->crashes++;
      return;
    }
  DkActor fresh;
  gboolean used;
  do
    {
      fresh = dk_actor_make (replica + 1, g_rand_int (world->rand) | 1u);
      used = FALSE;
      for (guint i = 0; i < world->actors_used->len; i++)
        used |= g_array_index (world->actors_used, DkActor, i) == fresh;
    }
  while (used);
  g_array_append_val (world->actors_used, fresh);
  world->actor[replica] = fresh;
  world->counter[replica] = 0;
  world->wipes++;
}

/* One random event. */
static void
world_step (World *world)
{
  world->touched = 0;
  world->now_us += 1 + world_pick (world, 50);
  guint roll = world_pick (world, 100);
  if (roll < 20)
    world_remember_read (world);
  else if (roll < 48 && world->writes->len < WORLD_MAX_WRITES)
    world_write (world);
  else if (roll < 85)
    world_deliver (world);
  else if (roll < 95)
    world_merge (world, world_pick (world, WORLD_REPLICAS), world_pick (world, WORLD_REPLICAS));
  else if (roll < 97)
    world_wipe (world, WORLD_NODES + world_pick (world, WORLD_REPLICAS - WORLD_NODES));
  else
    world_wipe (world, world_pick (world, WORLD_NODES));
  world->step++;
}

/* Deliver everything in flight (in random order), then anti-entropy:
 * random pairwise merges, then gather into replica 0 and scatter back. */
static void
world_settle (World *world)
{
  for (guint r = 0; r < WORLD_REPLICAS; r++)
    while (world->inbox[r]->len > 0)
      {
        guint slot = world_pick (world, world->inbox[r]->len);
        Shipment *shipment = g_ptr_array_index (world->inbox[r], slot);
        world_take (world, r, shipment->set, shipment->received);
        g_ptr_array_remove_index_fast (world->inbox[r], slot);
      }
  for (guint k = 0; k < 2 * WORLD_REPLICAS; k++)
    world_merge (world, world_pick (world, WORLD_REPLICAS), world_pick (world, WORLD_REPLICAS));
  for (guint r = 1; r < WORLD_REPLICAS; r++)
    world_merge (world, 0, r);
  for (guint r = 1; r < WORLD_REPLICAS; r++)
    world_merge (world, r, 0);
}

/* Every replica matches the model after every step that touched it, and
 * after the settle all replicas hold one set: the model's survivors of
 * everything any of them received. */
static void
assert_worlds_match_the_model (DkVersioning versioning, int seeds)
{
  guint crashes = 0, wipes = 0, sibling_sets = 0, replacing_writes = 0, duplicates = 0, writes = 0;
  for (int seed = 0; seed < seeds; seed++)
    {
      World *world = world_new (seed, versioning);
      for (guint step = 0; step < WORLD_STEPS; step++)
        {
          world_step (world);
          for (guint r = 0; r < WORLD_REPLICAS; r++)
            if (world->touched & (1u << r))
              world_assert_matches_model (world, r);
        }
      world_settle (world);
      for (guint r = 0; r < WORLD_REPLICAS; r++)
        {
          world_assert_matches_model (world, r);
          require (dk_siblings_equal (world->set[r], world->set[0]),
                   "%s seed %d: replica %u did not converge", dk_versioning_name (versioning),
                   seed, r);
          require (dk_siblings_digest (world->set[r]) == dk_siblings_digest (world->set[0]),
                   "seed %d", seed);
          assert_reconciled (world->set[r], "settled");
        }
      require (world->collisions == 0, "seed %d: %" G_GUINT64_FORMAT " collisions without a reused dot",
               seed, world->collisions);
      crashes += world->crashes;
      wipes += world->wipes;
      sibling_sets += world->sibling_sets;
      replacing_writes += world->replacing_writes;
      duplicates += world->duplicates;
      writes += world->writes->len;
      world_free (world);
    }
  ck_assert_uint_gt (crashes, 0);
  ck_assert_uint_gt (wipes, 0);
  ck_assert_uint_gt (sibling_sets, 0);
  ck_assert_uint_gt (replacing_writes, 0);
  ck_assert_uint_gt (duplicates, 0);
  ck_assert_uint_gt (writes, (guint) seeds * 10);
}

START_TEST (version_sets_match_the_reference_model)
{
  assert_worlds_match_the_model (DK_VERSIONING_DVV, dk_test_iterations (300));
}
END_TEST

/* Merging replica sets is commutative, associative and idempotent, any
 * grouping (one by one, or set by set) gives one result, and that result
 * is the model's survivors of what both sides received.  Merge and add
 * report exactly when the set changed. */
START_TEST (version_merge_is_commutative_associative_and_idempotent)
{
  int seeds = dk_test_iterations (150);
  guint nontrivial = 0;
  for (int seed = 0; seed < seeds; seed++)
    {
      World *world = world_new (seed, DK_VERSIONING_DVV);
      for (guint step = 0; step < WORLD_STEPS; step++)
        {
          world_step (world);
          if (step % 4 != 3)
            continue;
          guint a = world_pick (world, WORLD_REPLICAS), b = world_pick (world, WORLD_REPLICAS);
          guint c = world_pick (world, WORLD_REPLICAS);
          GPtrArray *set_a = world->set[a], *set_b = world->set[b], *set_c = world->set[c];

          g_autoptr (GPtrArray) ab = dk_siblings_copy (set_a);
          gboolean changed = dk_siblings_merge (ab, set_b, NULL);
          require (changed == !dk_siblings_equal (ab, set_a), "seed %d step %u", seed, step);
          g_autoptr (GPtrArray) ba = dk_siblings_copy (set_b);
          dk_siblings_merge (ba, set_a, NULL);
          require (dk_siblings_equal (ab, ba), "seed %d step %u: not commutative", seed, step);
          nontrivial += !dk_siblings_equal (ab, set_a) && !dk_siblings_equal (ab, set_b);

          gboolean both[WORLD_MAX_WRITES];
          for (guint i = 0; i < WORLD_MAX_WRITES; i++)
            both[i] = world->received[a][i] || world->received[b][i];
          g_autoptr (GPtrArray) expected = model_survivors (world, both);
          require (same_versions (ab, expected), "seed %d step %u: merge differs from the model",
                   seed, step);

          g_autoptr (GPtrArray) ab_c = dk_siblings_copy (ab);
          dk_siblings_merge (ab_c, set_c, NULL);
          g_autoptr (GPtrArray) bc = dk_siblings_copy (set_b);
          dk_siblings_merge (bc, set_c, NULL);
          g_autoptr (GPtrArray) a_bc = dk_siblings_copy (set_a);
          dk_siblings_merge (a_bc, bc, NULL);
          require (dk_siblings_equal (ab_c, a_bc), "seed %d step %u: not associative", seed, step);

          /* One by one, in a random order, from the three sets' members. */
          g_autoptr (GPtrArray) members = g_ptr_array_new ();
          GPtrArray *sources[] = { set_a, set_b, set_c };
          for (guint s = 0; s < G_N_ELEMENTS (sources); s++)
            for (guint i = 0; i < sources[s]->len; i++)
              g_ptr_array_add (members, sources[s]->pdata[i]);
          shuffle (world->rand, members);
          g_autoptr (GPtrArray) one_by_one = siblings_from (members, NULL);
          require (dk_siblings_equal (ab_c, one_by_one), "seed %d step %u: grouping matters", seed, step);

          g_autoptr (GPtrArray) again = dk_siblings_copy (ab_c);
          require (!dk_siblings_merge (again, ab_c, NULL) && !dk_siblings_merge (again, set_a, NULL),
                   "seed %d step %u: merging what is already there changed the set", seed, step);
          require (dk_siblings_equal (again, ab_c), "seed %d step %u: not idempotent", seed, step);
          assert_reconciled (ab_c, "merged");
        }
      world_free (world);
    }
  ck_assert_uint_gt (nontrivial, 0);
}
END_TEST

/* Every version a replica received is still there or replaced by a
 * member of its set; in particular a version that nothing it received
 * replaces is never dropped. */
START_TEST (version_merge_never_drops_a_version_nobody_replaces)
{
  int seeds = dk_test_iterations (200);
  guint kept_concurrent = 0;
  for (int seed = 0; seed < seeds; seed++)
    {
      World *world = world_new (seed, DK_VERSIONING_DVV);
      for (guint step = 0; step <= WORLD_STEPS; step++)
        {
          if (step < WORLD_STEPS)
            world_step (world);
          else
            world_settle (world);
          for (guint r = 0; r < WORLD_REPLICAS; r++)
            {
              GPtrArray *set = world->set[r];
              for (guint id = 0; id < world->writes->len; id++)
                {
                  if (!world->received[r][id])
                    continue;
                  const DkVersion *version = world_write_of (world, id);
                  gboolean present = FALSE, replaced_by_member = FALSE, replaced_by_anyone = FALSE;
                  for (guint i = 0; i < set->len; i++)
                    {
                      const DkVersion *member = g_ptr_array_index (set, i);
                      present |= dk_version_compare (member, version) == 0;
                      replaced_by_member |= model_replaces (member, version);
                    }
                  for (guint j = 0; j < world->writes->len; j++)
                    replaced_by_anyone |= world->received[r][j]
                                          && model_replaces (world_write_of (world, j), version);
                  char dot[DK_DOT_STRING_SIZE];
                  require (present || replaced_by_anyone,
                           "seed %d step %u: replica %u dropped %s, which nothing replaces",
                           seed, step, r, dk_dot_format (version->dot, dot));
                  require (present || replaced_by_member,
                           "seed %d step %u: replica %u dropped %s, and no member replaces it",
                           seed, step, r, dk_dot_format (version->dot, dot));
                  kept_concurrent += present && set->len > 1;
                }
            }
        }
      world_free (world);
    }
  ck_assert_uint_gt (kept_concurrent, 0);
}
END_TEST

/* A read's context covers every dot (and every context) it returned, so
 * a write carrying it, through any coordinator and under either rule,
 * replaces every version the read returned (version.h,
 * dk_siblings_context). */
START_TEST (version_read_context_covers_every_returned_dot)
{
  int seeds = dk_test_iterations (150);
  guint checked = 0;
  for (int seed = 0; seed < seeds; seed++)
    {
      World *world = world_new (seed, DK_VERSIONING_DVV);
      for (guint step = 0; step < WORLD_STEPS; step++)
        {
          world_step (world);
          g_autoptr (GPtrArray) read = NULL;
          g_autoptr (DkVclock) context = world_read (world, &read, NULL);
          for (guint i = 0; i < read->len; i++)
            {
              const DkVersion *version = g_ptr_array_index (read, i);
              require (dk_dot_covered (version->dot, context), "seed %d step %u", seed, step);
              require (dk_vclock_descends (context, version->context), "seed %d step %u", seed, step);
              g_autoptr (DkVclock) clock = dk_version_clock (version);
              require (dk_vclock_descends (context, clock), "seed %d step %u", seed, step);
            }
          if (read->len == 0)
            continue;
          guint node = world_pick (world, WORLD_NODES);
          DkVersioning rule = g_rand_boolean (world->rand) ? DK_VERSIONING_DVV : DK_VERSIONING_VV;
          DkDot dot = dot_of (world->actor[node], world->counter[node] + 1, world->now_us);
          g_autoptr (DkVersion) write = dk_version_issue (rule, dot, world->set[node], context, NULL,
                                                          FALSE, 0, NULL);
          for (guint i = 0; i < read->len; i++)
            require (dk_version_replaces (write, g_ptr_array_index (read, i)),
                     "seed %d step %u: a write with the read's context keeps a version read",
                     seed, step);
          g_autoptr (GPtrArray) after = dk_siblings_copy (read);
          require (dk_siblings_add (after, dk_version_copy (write), NULL) && after->len == 1,
                   "seed %d step %u: the write left more than itself", seed, step);
          checked++;
        }
      world_free (world);
    }
  ck_assert_uint_gt (checked, 0);
}
END_TEST

/* No lost updates: under DVV a write replaces only versions its writer
 * saw (read, or in the history of what it read), however stale its
 * context and in whatever order the shipments arrive.  Under VV a coordinator's
 * raise replaces its own concurrent writes unseen: the anomaly VV is kept
 * to show, which the same worlds must find. */
START_TEST (version_dvv_write_replaces_only_versions_its_writer_saw)
{
  guint64 dvv_unseen = 0, vv_unseen = 0;
  for (int seed = 0; seed < dk_test_iterations (200); seed++)
    {
      DkVersioning rules[] = { DK_VERSIONING_DVV, DK_VERSIONING_VV };
      for (gsize k = 0; k < G_N_ELEMENTS (rules); k++)
        {
          World *world = world_new (seed, rules[k]);
          for (guint step = 0; step < WORLD_STEPS; step++)
            {
              world_step (world);
              require (rules[k] != DK_VERSIONING_DVV || world->unseen_replacements == 0,
                       "dvv seed %d step %u: a write replaced a version its writer never saw",
                       seed, step);
            }
          *(rules[k] == DK_VERSIONING_DVV ? &dvv_unseen : &vv_unseen) += world->unseen_replacements;
          world_free (world);
        }
    }
  ck_assert_uint_eq (dvv_unseen, 0);
  ck_assert_uint_gt (vv_unseen, 0);
}
END_TEST

/* Why sets travel whole (node_coordinator.c, coordinate_write): a context
 * covers an actor's dots by counter, so a replica holding a coordinator's
 * later dot but not its earlier, concurrent one hands out a context that
 * covers the earlier one unseen, and a write with it loses that update.
 * With the whole set the read returns both. */
START_TEST (version_context_covers_earlier_dots_by_counter_so_sets_must_travel_whole)
{
  DkActor a = dk_actor_make (1, 0xa), b = dk_actor_make (2, 0xb);
  g_autoptr (GPtrArray) at_a = dk_siblings_new ();
  g_autoptr (GBytes) x = g_bytes_new_static ("x", 1), v = g_bytes_new_static ("v", 1);
  dk_siblings_add (at_a, dk_version_issue (DK_VERSIONING_DVV, dot_of (a, 1, 1), at_a, NULL, x, FALSE, 0, NULL), NULL);
  dk_siblings_add (at_a, dk_version_issue (DK_VERSIONING_DVV, dot_of (a, 2, 2), at_a, NULL, v, FALSE, 0, NULL), NULL);
  ck_assert_uint_eq (at_a->len, 2);  /* two blind writes: concurrent */
  const DkVersion *earlier = g_ptr_array_index (at_a, 0), *later = g_ptr_array_index (at_a, 1);

  /* Only the later one arrives: the read's context covers both. */
  g_autoptr (GPtrArray) partial = dk_siblings_new ();
  dk_siblings_add (partial, dk_version_copy (later), NULL);
  g_autoptr (DkVclock) partial_read = dk_siblings_context (partial);
  ck_assert (dk_dot_covered (earlier->dot, partial_read));
  g_autoptr (DkVersion) lost = dk_version_issue (DK_VERSIONING_DVV, dot_of (b, 1, 3), partial, partial_read,
                                                 NULL, FALSE, 0, NULL);
  ck_assert (dk_version_replaces (lost, earlier));  /* x is gone, never read */

  /* The whole set arrives: the read returns x too. */
  g_autoptr (GPtrArray) whole = dk_siblings_copy (at_a);
  ck_assert_uint_eq (whole->len, 2);
  ck_assert (holds_value (g_ptr_array_index (whole, 0), "x"));
}
END_TEST

/* ---- issuing ------------------------------------------------------------- */

/* Two clients read the same state and both write through one
 * coordinator.  Under DVV each write gets its own dot and the read's
 * context, which covers neither: two siblings.  Under VV the second
 * write's context is raised to the coordinator's own latest counter, so
 * it silently replaces the first: one survives (the lost update VV is
 * kept to show). */
START_TEST (version_concurrent_writes_through_one_coordinator_are_siblings)
{
  DkActor coordinator = dk_actor_make (1, 0xc0ffee);
  DkVersioning rules[] = { DK_VERSIONING_DVV, DK_VERSIONING_VV };
  for (gsize k = 0; k < G_N_ELEMENTS (rules); k++)
    {
      g_autoptr (GPtrArray) local = dk_siblings_new ();
      ck_assert (dk_siblings_add (local, version_of (dot_of (coordinator, 1, 10), NULL, "v0"), NULL));
      g_autoptr (DkVclock) first_read = dk_siblings_context (local);
      g_autoptr (DkVclock) second_read = dk_siblings_context (local);

      g_autoptr (GBytes) x = g_bytes_new_static ("x", 1), y = g_bytes_new_static ("y", 1);
      DkVersion *first = dk_version_issue (rules[k], dot_of (coordinator, 2, 20), local, first_read,
                                           x, FALSE, 0, NULL);
      ck_assert (dk_siblings_add (local, first, NULL));
      ck_assert_uint_eq (local->len, 1);  /* v0 is replaced by either rule */
      DkVersion *second = dk_version_issue (rules[k], dot_of (coordinator, 3, 30), local, second_read,
                                            y, FALSE, 0, NULL);
      ck_assert (dk_siblings_add (local, second, NULL));

      g_autofree char *text = set_to_string (local);
      if (rules[k] == DK_VERSIONING_DVV)
        {
          require (local->len == 2, "dvv: %s", text);
          ck_assert (holds_value (g_ptr_array_index (local, 0), "x"));
          ck_assert (holds_value (g_ptr_array_index (local, 1), "y"));
          /* A read of both and a write with its context resolves them. */
          g_autoptr (DkVclock) both = dk_siblings_context (local);
          g_autoptr (GBytes) xy = g_bytes_new_static ("xy", 2);
          DkVersion *resolved = dk_version_issue (rules[k], dot_of (coordinator, 4, 40), local, both,
                                                  xy, FALSE, 0, NULL);
          ck_assert (dk_siblings_add (local, resolved, NULL));
          ck_assert_uint_eq (local->len, 1);
          ck_assert (holds_value (g_ptr_array_index (local, 0), "xy"));
        }
      else
        {
          require (local->len == 1, "vv: %s", text);
          ck_assert (holds_value (g_ptr_array_index (local, 0), "y"));
        }
    }
}
END_TEST

/* Concurrent writes through different coordinators are siblings under
 * either rule; a stale context keeps a concurrent write. */
START_TEST (version_writes_through_different_coordinators_are_siblings_under_either_rule)
{
  DkActor a = dk_actor_make (1, 0xa), b = dk_actor_make (2, 0xb), c = dk_actor_make (3, 0xc);
  DkVersioning rules[] = { DK_VERSIONING_DVV, DK_VERSIONING_VV };
  for (gsize k = 0; k < G_N_ELEMENTS (rules); k++)
    {
      g_autoptr (GPtrArray) replica = dk_siblings_new ();
      dk_siblings_add (replica, version_of (dot_of (a, 1, 1), NULL, "d1"), NULL);
      g_autoptr (DkVclock) stale = dk_siblings_context (replica);
      g_autoptr (GBytes) d2 = g_bytes_new_static ("d2", 2), d3 = g_bytes_new_static ("d3", 2);
      ck_assert (dk_siblings_add (replica, dk_version_issue (rules[k], dot_of (b, 1, 2), replica, stale,
                                                             d2, FALSE, 0, NULL), NULL));
      ck_assert_uint_eq (replica->len, 1);  /* d2 replaced d1 */
      ck_assert (dk_siblings_add (replica, dk_version_issue (rules[k], dot_of (c, 1, 3), replica, stale,
                                                             d3, FALSE, 0, NULL), NULL));
      ck_assert_uint_eq (replica->len, 2);  /* d3 never saw d2 */
      /* A late copy of d1 changes nothing. */
      ck_assert (!dk_siblings_add (replica, version_of (dot_of (a, 1, 1), NULL, "d1"), NULL));
      g_autoptr (DkVclock) context = dk_siblings_context (replica);
      g_autofree char *text = dk_vclock_to_string (context);
      ck_assert_str_eq (text, "{1.a:1, 2.b:1, 3.c:1}");
    }
}
END_TEST

/* DVV issues exactly the client's context; VV raises it to cover every
 * version of the coordinator's own actor it holds (and only its own). */
START_TEST (version_issue_builds_the_context_each_rule_documents)
{
  int vv_raised = 0;
  for (int seed = 0; seed < dk_test_iterations (500); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      DkActor own = dk_actor_make (1, 7), other = dk_actor_make (2, 9);
      g_autoptr (GPtrArray) local = dk_siblings_new ();
      guint64 own_counter = 0, other_counter = 0;
      for (int k = g_rand_int_range (rand, 0, 5); k > 0; k--)
        {
          gboolean mine = g_rand_boolean (rand);
          DkDot dot = mine ? dot_of (own, ++own_counter, k) : dot_of (other, ++other_counter, k);
          dk_siblings_add (local, version_of (dot, NULL, "v"), NULL);
        }
      g_autoptr (DkVclock) client = dk_vclock_new ();
      if (other_counter > 0 && g_rand_boolean (rand))
        dk_vclock_raise (client, other, (guint64) g_rand_int_range (rand, 1, (gint32) other_counter + 1), 5);
      DkDot dot = dot_of (own, own_counter + 1, 100);
      g_autoptr (DkVersion) dvv = dk_version_issue (DK_VERSIONING_DVV, dot, local, client, NULL, TRUE, 0, NULL);
      g_autoptr (DkVersion) vv = dk_version_issue (DK_VERSIONING_VV, dot, local, client, NULL, TRUE, 0, NULL);
      require (dk_vclock_equal (dvv->context, client), "seed %d", seed);
      ck_assert (dvv->tombstone && g_bytes_get_size (dvv->value) == 0);
      ck_assert (dvv->dot.actor == dot.actor && dvv->dot.counter == dot.counter && dvv->dot.wall_us == 100);
      require (dk_vclock_descends (vv->context, client), "seed %d", seed);
      for (guint i = 0; i < local->len; i++)
        {
          const DkVersion *held = g_ptr_array_index (local, i);
          gboolean expected = held->dot.actor == own || dk_dot_covered (held->dot, client);
          require (dk_version_replaces (vv, held) == expected, "seed %d: vv", seed);
          require (dk_version_replaces (dvv, held) == dk_dot_covered (held->dot, client),
                   "seed %d: dvv", seed);
        }
      ck_assert_uint_eq (dk_vclock_get (vv->context, other), dk_vclock_get (client, other));
      ck_assert (!dk_dot_covered (vv->dot, vv->context));
      vv_raised += !dk_vclock_equal (vv->context, client);
      /* A blind write (NULL context) under DVV replaces nothing. */
      g_autoptr (DkVersion) blind = dk_version_issue (DK_VERSIONING_DVV, dot, local, NULL, NULL, TRUE, 0, NULL);
      ck_assert_uint_eq (dk_vclock_size (blind->context), 0);
    }
  ck_assert_int_gt (vv_raised, 0);
}
END_TEST

/* Pruning an issued context by age never drops the entry of an actor
 * whose local version the context replaces, however old: the write
 * still replaces exactly the local versions the client saw.  (Dropping
 * it would leave that version beside its own replacement forever.) */
START_TEST (version_prune_keeps_entries_covering_replaced_siblings)
{
  int naive_would_lose = 0, pruned_any = 0;
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      DkVersioning rule = seed % 3 == 0 ? DK_VERSIONING_VV : DK_VERSIONING_DVV;
      DkActor own = dk_actor_make (99, 0x1234);
      g_autoptr (GPtrArray) local = dk_siblings_new ();
      g_autoptr (DkVclock) client = dk_vclock_new ();
      /* Old local siblings by distinct actors (own among them sometimes);
       * the client saw some of them. */
      guint n_local = (guint) g_rand_int_range (rand, 1, DK_SIBLINGS_MAX + 1);
      guint64 own_counter = 0;
      for (guint i = 0; i < n_local; i++)
        {
          gboolean mine = i == 0 && g_rand_boolean (rand);
          DkActor actor = mine ? own : dk_actor_make (10 + i, 0xa0 + i);
          guint64 counter = mine ? ++own_counter : (guint64) g_rand_int_range (rand, 1, 5);
          DkDot dot = dot_of (actor, counter, 10 + i);
          dk_siblings_add (local, version_of (dot, NULL, "old"), NULL);
          if (g_rand_boolean (rand))
            dk_vclock_raise (client, actor, counter, dot.wall_us);
        }
      /* Many younger entries the client also saw. */
      for (int k = g_rand_int_range (rand, 0, 16); k > 0; k--)
        dk_vclock_raise (client, dk_actor_make (200 + (DkNodeId) g_rand_int_range (rand, 0, 30), 1),
                         (guint64) g_rand_int_range (rand, 1, 9), 1000 + g_rand_int_range (rand, 0, 100));
      guint prune_entries = (guint) g_rand_int_range (rand, 1, 8);

      guint pruned = 99;
      DkDot dot = dot_of (own, own_counter + 1, 5000);
      g_autoptr (DkVersion) unpruned = dk_version_issue (rule, dot, local, client, NULL, FALSE, 0, NULL);
      g_autoptr (DkVersion) issued = dk_version_issue (rule, dot, local, client, NULL, FALSE,
                                                       prune_entries, &pruned);
      guint full = dk_vclock_size (unpruned->context);
      ck_assert_uint_eq (pruned, full - dk_vclock_size (issued->context));
      require (dk_vclock_descends (unpruned->context, issued->context), "seed %d", seed);
      pruned_any += pruned > 0;

      guint n_replaced_actors = 0;
      for (guint i = 0; i < local->len; i++)
        {
          const DkVersion *held = g_ptr_array_index (local, i);
          gboolean seen = dk_version_replaces (unpruned, held);
          n_replaced_actors += seen;  /* one local version per actor here */
          require (dk_version_replaces (issued, held) == seen,
                   "seed %d: pruning changed whether local version %u is replaced", seed, i);
        }
      if (full > prune_entries)
        ck_assert_uint_eq (dk_vclock_size (issued->context), MAX (prune_entries, n_replaced_actors));
      else
        ck_assert_uint_eq (pruned, 0);

      /* Storing it leaves it and exactly the local versions it did not replace. */
      g_autoptr (GPtrArray) after = dk_siblings_copy (local);
      dk_siblings_add (after, dk_version_copy (issued), NULL);
      ck_assert_uint_eq (after->len, 1 + local->len - n_replaced_actors);

      /* A naive prune by age alone would have lost a replaced sibling. */
      g_autoptr (DkVclock) naive = dk_vclock_copy (unpruned->context);
      dk_vclock_prune (naive, prune_entries, NULL, 0);
      for (guint i = 0; i < local->len; i++)
        {
          const DkVersion *held = g_ptr_array_index (local, i);
          if (dk_version_replaces (unpruned, held) && !dk_dot_covered (held->dot, naive))
            {
              naive_would_lose++;
              break;
            }
        }
    }
  ck_assert_int_gt (pruned_any, 0);
  ck_assert_int_gt (naive_would_lose, 0);
}
END_TEST

/* ---- collisions ---------------------------------------------------------- */

/* One dot with several payloads (value, tombstone, wall time) under one
 * context, among other versions: every arrival order and grouping gives
 * one set, holding the payload that sorts last, and each meeting of two
 * payloads of the dot counts one collision (K payloads: K - 1). */
START_TEST (version_equal_dots_with_different_payloads_are_collisions_resolved_regardless_of_order)
{
  int collided = 0;
  for (int seed = 0; seed < dk_test_iterations (500); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      DkActor reused = dk_actor_make (1, 0xdead), b = dk_actor_make (2, 0xb), c = dk_actor_make (3, 0xc);
      g_autoptr (GPtrArray) versions = dk_siblings_new ();
      /* Others: b's and c's versions, some replacing earlier ones. */
      for (guint64 k = 1; k <= 3; k++)
        {
          g_autofree char *context = g_strdup_printf ("{2.b:%" G_GUINT64_FORMAT "}", k - 1);
          g_ptr_array_add (versions, version_of (dot_of (b, k, (gint64) k), k > 1 && g_rand_boolean (rand)
                                                 ? context : NULL, "b"));
          g_ptr_array_add (versions, version_of (dot_of (c, k, (gint64) k), NULL, "c"));
        }
      /* K distinct payloads of one dot, all with one context (covering
       * b's first version). */
      g_autoptr (GPtrArray) colliding = dk_siblings_new ();
      static const char *const payloads[] = { "p", "q", "pq", "", NULL /* tombstone */ };
      guint combos[G_N_ELEMENTS (payloads) * 2];
      for (guint i = 0; i < G_N_ELEMENTS (combos); i++)
        combos[i] = i;
      guint k = (guint) g_rand_int_range (rand, 2, 7), repeats = 0;
      for (guint i = 0; i < k; i++)
        {
          guint pick = i + (guint) g_rand_int_range (rand, 0, (gint32) (G_N_ELEMENTS (combos) - i));
          guint combo = combos[pick];
          combos[pick] = combos[i];
          DkVersion *version = version_of (dot_of (reused, 5, combo % 2), "{2.b:1}", payloads[combo / 2]);
          g_ptr_array_add (colliding, version);
          g_ptr_array_add (versions, dk_version_copy (version));
          /* Repeats of a payload are no collision of their own. */
          if (g_rand_int_range (rand, 0, 3) == 0)
            {
              g_ptr_array_add (versions, dk_version_copy (version));
              repeats++;
            }
        }
      g_autoptr (GPtrArray) distinct = siblings_from (colliding, NULL);
      ck_assert_uint_eq (distinct->len, 1);
      const DkVersion *winner = g_ptr_array_index (distinct, 0);
      for (guint i = 0; i < colliding->len; i++)
        ck_assert (dk_version_compare (winner, colliding->pdata[i]) >= 0);

      guint64 first_collisions = 0;
      g_autoptr (GPtrArray) first = siblings_from (versions, &first_collisions);
      assert_reconciled (first, "collisions");
      require (repeats > 0 || first_collisions == k - 1, "seed %d", seed);
      gboolean has_winner = FALSE;
      for (guint i = 0; i < first->len; i++)
        has_winner |= dk_version_compare (first->pdata[i], winner) == 0;
      require (has_winner, "seed %d", seed);
      collided++;

      for (int order = 0; order < 6; order++)
        {
          shuffle (rand, versions);
          guint64 collisions = 0;
          g_autoptr (GPtrArray) again = siblings_from (versions, &collisions);
          require (dk_siblings_equal (first, again), "seed %d order %d", seed, order);
          /* Each payload but the first to arrive met another: K - 1,
           * or more when a losing payload came back after a later one. */
          require (repeats > 0 ? collisions >= k - 1 && collisions <= k - 1 + repeats
                               : collisions == k - 1,
                   "seed %d order %d: %" G_GUINT64_FORMAT " collisions of %u payloads",
                   seed, order, collisions, k);
          /* Two halves merged, either way round. */
          guint split = (guint) g_rand_int_range (rand, 0, (gint32) versions->len + 1);
          g_autoptr (GPtrArray) head = dk_siblings_new (), tail = dk_siblings_new ();
          for (guint i = 0; i < versions->len; i++)
            dk_siblings_add (i < split ? head : tail, dk_version_copy (versions->pdata[i]), NULL);
          g_autoptr (GPtrArray) head_tail = dk_siblings_copy (head);
          dk_siblings_merge (head_tail, tail, NULL);
          dk_siblings_merge (tail, head, NULL);
          require (dk_siblings_equal (first, head_tail) && dk_siblings_equal (first, tail),
                   "seed %d order %d: merge", seed, order);
        }
    }
  ck_assert_int_gt (collided, 0);
}
END_TEST

/* Documented example: the payload sorting last wins; a tombstone sorts
 * after a value of the same dot, wall time and context. */
START_TEST (version_collision_example_keeps_the_payload_sorting_last)
{
  DkActor actor = dk_actor_make (1, 1);
  guint64 collisions = 0;
  g_autoptr (GPtrArray) forward = dk_siblings_new ();
  g_autoptr (GPtrArray) backward = dk_siblings_new ();
  dk_siblings_add (forward, version_of (dot_of (actor, 1, 5), NULL, "x"), &collisions);
  dk_siblings_add (forward, version_of (dot_of (actor, 1, 5), NULL, "y"), &collisions);
  ck_assert_uint_eq (collisions, 1);
  dk_siblings_add (backward, version_of (dot_of (actor, 1, 5), NULL, "y"), &collisions);
  ck_assert (!dk_siblings_add (backward, version_of (dot_of (actor, 1, 5), NULL, "x"), &collisions));
  ck_assert_uint_eq (collisions, 2);
  ck_assert_uint_eq (forward->len, 1);
  ck_assert (dk_siblings_equal (forward, backward));
  ck_assert (holds_value (g_ptr_array_index (forward, 0), "y"));

  /* An identical copy is no collision. */
  ck_assert (!dk_siblings_add (forward, version_of (dot_of (actor, 1, 5), NULL, "y"), &collisions));
  ck_assert_uint_eq (collisions, 2);

  ck_assert (dk_siblings_add (forward, version_of (dot_of (actor, 1, 5), NULL, NULL), NULL));
  ck_assert_uint_eq (forward->len, 1);
  ck_assert (((const DkVersion *) g_ptr_array_index (forward, 0))->tombstone);
}
END_TEST

/* ---- versions: examples and canonical order ------------------------------- */

START_TEST (version_new_fills_defaults_and_copies_deeply)
{
  DkActor actor = dk_actor_make (4, 0x44);
  g_autoptr (DkVersion) tombstone = dk_version_new (dot_of (actor, 3, 7), NULL, NULL, TRUE);
  ck_assert (tombstone->value != NULL && tombstone->context != NULL);
  ck_assert_uint_eq (g_bytes_get_size (tombstone->value), 0);
  ck_assert_uint_eq (dk_vclock_size (tombstone->context), 0);
  ck_assert (tombstone->tombstone);
  g_autoptr (DkVersion) copy = dk_version_copy (tombstone);
  ck_assert_int_eq (dk_version_compare (copy, tombstone), 0);
  ck_assert (copy->context != tombstone->context);

  g_autoptr (DkVersion) value = version_of (dot_of (actor, 5, 9), "{1.1:2, 4.44:4}", "v");
  g_autoptr (DkVclock) clock = dk_version_clock (value);
  g_autofree char *text = dk_vclock_to_string (clock);
  ck_assert_str_eq (text, "{1.1:2, 4.44:5}");
  ck_assert (dk_version_replaces (value, tombstone));   /* 4.44:5's context has 4.44:4 >= 3 */
  ck_assert (!dk_version_replaces (tombstone, value));
  ck_assert (!dk_version_replaces (value, value));      /* one dot never replaces itself */
  ck_assert_str_eq (dk_versioning_name (DK_VERSIONING_DVV), "dvv");
  ck_assert_str_eq (dk_versioning_name (DK_VERSIONING_VV), "vv");
  DkVersioning rule = DK_VERSIONING_VV;
  ck_assert (dk_versioning_from_name ("dvv", &rule) && rule == DK_VERSIONING_DVV);
  ck_assert (dk_versioning_from_name ("vv", &rule) && rule == DK_VERSIONING_VV);
  ck_assert (!dk_versioning_from_name ("DVV", &rule) && !dk_versioning_from_name ("", &rule)
             && !dk_versioning_from_name ("vvv", &rule));
}
END_TEST

START_TEST (version_dot_format_and_parse_round_trip)
{
  char buffer[DK_DOT_STRING_SIZE];
  ck_assert_str_eq (dk_dot_format (dot_of (dk_actor_make (3, 0x9c1f02ab), 17, 5), buffer), "3.9c1f02ab:17");
  ck_assert_str_eq (dk_dot_format (dot_of (dk_actor_make (G_MAXUINT32, G_MAXUINT32), DK_DOT_COUNTER_MAX, 0), buffer),
                    "4294967295.ffffffff:4611686018427387904");
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      guint64 counter = seed % 3 == 0 ? DK_DOT_COUNTER_MAX
                        : 1 + ((((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)) % DK_DOT_COUNTER_MAX);
      DkDot dot = dot_of (dk_actor_make (g_rand_int (rand) | 1, g_rand_int (rand) | 1), counter, 77);
      DkDot parsed = { 0 };
      require (dk_dot_parse (dk_dot_format (dot, buffer), &parsed), "seed %d: %s", seed, buffer);
      ck_assert (parsed.actor == dot.actor && parsed.counter == dot.counter && parsed.wall_us == 0);
    }
  static const char *const bad[] = {
    "", "1.1", "1.1:", "1.1:0", "1.1:x", "1.1:5x", "1.1:5 ", "1.1:-5", "0.1:1", "1.0:1", "1:1",
    "1.1:4611686018427387905", "1.1:99999999999999999999999",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DkDot dot = dot_of (7, 7, 7);
      require (!dk_dot_parse (bad[i], &dot), "'%s' parsed", bad[i]);
    }
}
END_TEST

/* Lexicographic order of (header encoding, tombstone byte, value). */
static int
encoding_order (const DkVersion *a, const DkVersion *b)
{
  g_autoptr (GByteArray) bytes_a = g_byte_array_new (), bytes_b = g_byte_array_new ();
  const DkVersion *versions[] = { a, b };
  GByteArray *outs[] = { bytes_a, bytes_b };
  for (int k = 0; k < 2; k++)
    {
      gsize size = dk_version_header_size (versions[k]);
      g_byte_array_set_size (outs[k], (guint) size);
      ck_assert_uint_eq (dk_version_header_encode_to (versions[k], outs[k]->data), size);
      guint8 flag = versions[k]->tombstone;
      g_byte_array_append (outs[k], &flag, 1);
      gsize len;
      const guint8 *data = g_bytes_get_data (versions[k]->value, &len);
      if (len > 0)
        g_byte_array_append (outs[k], data, (guint) len);
    }
  int order = memcmp (bytes_a->data, bytes_b->data, MIN (bytes_a->len, bytes_b->len));
  if (order == 0)
    order = bytes_a->len < bytes_b->len ? -1 : bytes_a->len > bytes_b->len;
  return (order > 0) - (order < 0);
}

static gboolean
digests_of_singletons_match (const DkVersion *a, const DkVersion *b)
{
  g_autoptr (GPtrArray) set_a = dk_siblings_new (), set_b = dk_siblings_new ();
  dk_siblings_add (set_a, dk_version_copy (a), NULL);
  dk_siblings_add (set_b, dk_version_copy (b), NULL);
  return dk_siblings_digest (set_a) == dk_siblings_digest (set_b);
}

/* A version from small pools (so equal dots, contexts and payloads are
 * common), wall times and timestamps negative too. */
static DkVersion *
small_random_version (GRand *rand)
{
  static const char *const values[] = { "apple", "banana", "", "app" };
  DkActor actor = dk_actor_make ((DkNodeId) g_rand_int_range (rand, 1, 3), 1);
  DkDot dot = dot_of (actor, (guint64) g_rand_int_range (rand, 1, 3), g_rand_int_range (rand, -1, 2));
  DkVclock *context = dk_vclock_new ();
  for (DkNodeId node = 1; node <= 3; node++)
    if (g_rand_boolean (rand) && node != dk_actor_node (actor))
      dk_vclock_raise (context, dk_actor_make (node, 1), (guint64) g_rand_int_range (rand, 1, 3),
                       g_rand_int_range (rand, -2, 2));
  gboolean tombstone = g_rand_int_range (rand, 0, 5) == 0;
  const char *value = values[g_rand_int_range (rand, 0, G_N_ELEMENTS (values))];
  g_autoptr (GBytes) bytes = tombstone ? NULL : g_bytes_new (value, strlen (value));
  return dk_version_new (dot, context, bytes, tombstone);
}

/* The canonical order is the lexicographic order of the version's
 * encoding (dot, wall time, context, tombstone, value), so replicas agree
 * on it byte for byte; 0 exactly for identical versions, which are
 * exactly those whose one-version sets have one digest. */
START_TEST (version_compare_is_the_lexicographic_order_of_the_encoding)
{
  int equal = 0, wall_only = 0;
  for (int seed = 0; seed < dk_test_iterations (3000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVersion) a = small_random_version (rand);
      g_autoptr (DkVersion) b = g_rand_int_range (rand, 0, 4) == 0 ? dk_version_copy (a)
                                                                   : small_random_version (rand);
      int order = dk_version_compare (a, b);
      int sign = (order > 0) - (order < 0);
      require (sign == encoding_order (a, b), "seed %d", seed);
      require (dk_version_compare (b, a) == -order || ((dk_version_compare (b, a) > 0) - (dk_version_compare (b, a) < 0)) == -sign,
               "seed %d: not antisymmetric", seed);
      require ((order == 0) == digests_of_singletons_match (a, b), "seed %d", seed);
      equal += order == 0;
      wall_only += order != 0 && a->dot.actor == b->dot.actor && a->dot.counter == b->dot.counter
                   && a->dot.wall_us != b->dot.wall_us;
    }
  ck_assert_int_gt (equal, 0);
  ck_assert_int_gt (wall_only, 0);
}
END_TEST

START_TEST (version_digest_separates_different_sets)
{
  int compared = 0;
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GPtrArray) a = dk_siblings_new (), b = dk_siblings_new ();
      for (int k = g_rand_int_range (rand, 0, 5); k > 0; k--)
        dk_siblings_add (a, small_random_version (rand), NULL);
      for (int k = g_rand_int_range (rand, 0, 5); k > 0; k--)
        dk_siblings_add (b, small_random_version (rand), NULL);
      g_autoptr (GPtrArray) a_copy = dk_siblings_copy (a);
      ck_assert (dk_siblings_equal (a, a_copy) && dk_siblings_digest (a) == dk_siblings_digest (a_copy));
      if (dk_siblings_equal (a, b))
        continue;
      compared++;
      require (dk_siblings_digest (a) != dk_siblings_digest (b), "seed %d", seed);
    }
  ck_assert_int_gt (compared, 0);
}
END_TEST

/* Adding versions reports exactly when the set changed, and the result
 * of adding arbitrary versions (from the small pools, so replacement,
 * equal dots and repeats are common) never depends on their order when
 * each dot carries one payload. */
START_TEST (version_siblings_add_reports_exactly_when_the_set_changed)
{
  for (int seed = 0; seed < dk_test_iterations (1000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GPtrArray) versions = dk_siblings_new ();
      for (int k = g_rand_int_range (rand, 1, 14); k > 0; k--)
        g_ptr_array_add (versions, small_random_version (rand));
      g_autoptr (GPtrArray) set = dk_siblings_new ();
      for (guint i = 0; i < versions->len; i++)
        {
          g_autoptr (GPtrArray) before = dk_siblings_copy (set);
          gboolean changed = dk_siblings_add (set, dk_version_copy (versions->pdata[i]), NULL);
          require (changed == !dk_siblings_equal (before, set), "seed %d", seed);
          assert_reconciled (set, "add");
        }
    }
}
END_TEST

/* ---- the header codec ----------------------------------------------------- */

static guint64
random_u64 (GRand *rand)
{
  return ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
}

/* A valid version over the whole range: any actor, counters 1 ..
 * DK_DOT_COUNTER_MAX (the edges often), any wall time and timestamps, a
 * context of 0..12 entries that does not cover the dot. */
static DkVersion *
random_header_version (GRand *rand)
{
  DkVclock *context = dk_vclock_new ();
  for (int k = g_rand_int_range (rand, 0, 13); k > 0; k--)
    {
      guint64 counter = g_rand_boolean (rand) ? (guint64) g_rand_int_range (rand, 1, 100)
                                              : 1 + random_u64 (rand) % DK_DOT_COUNTER_MAX;
      dk_vclock_raise (context, random_u64 (rand) | 1, counter, (gint64) random_u64 (rand));
    }
  DkDot dot = { 0, 0, (gint64) random_u64 (rand) };
  guint n;
  const DkVclockEntry *entries = dk_vclock_entries (context, &n);
  if (n > 0 && g_rand_boolean (rand) && entries[0].counter < DK_DOT_COUNTER_MAX)
    {
      /* The writer's own actor is in the context, below the dot. */
      dot.actor = entries[0].actor;
      dot.counter = entries[0].counter + 1 + random_u64 (rand) % (DK_DOT_COUNTER_MAX - entries[0].counter);
    }
  else
    {
      do
        dot.actor = random_u64 (rand) | 1;
      while (dk_vclock_get (context, dot.actor) != 0);
      switch (g_rand_int_range (rand, 0, 3))
        {
        case 0: dot.counter = 1; break;
        case 1: dot.counter = DK_DOT_COUNTER_MAX; break;
        default: dot.counter = 1 + random_u64 (rand) % DK_DOT_COUNTER_MAX; break;
        }
    }
  return dk_version_new (dot, context, NULL, FALSE);
}

static GByteArray *
encode_header (const DkVersion *version)
{
  GByteArray *out = g_byte_array_new ();
  g_byte_array_set_size (out, (guint) dk_version_header_size (version));
  ck_assert_uint_eq (dk_version_header_encode_to (version, out->data), out->len);
  return out;
}

static void
put_be64_at (guint8 *out, guint64 value)
{
  for (int b = 0; b < 8; b++)
    out[b] = (guint8) (value >> (56 - 8 * b));
}

START_TEST (version_header_round_trips)
{
  for (int seed = 0; seed < dk_test_iterations (2000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVersion) version = random_header_version (rand);
      g_autoptr (GByteArray) header = encode_header (version);
      ck_assert_uint_eq (header->len, 24 + dk_vclock_encoded_size (version->context));
      /* Dot first: u64 actor, u64 counter, i64 wall time, big-endian. */
      guint8 dot_bytes[24];
      put_be64_at (dot_bytes, version->dot.actor);
      put_be64_at (dot_bytes + 8, version->dot.counter);
      put_be64_at (dot_bytes + 16, (guint64) version->dot.wall_us);
      ck_assert_mem_eq (header->data, dot_bytes, 24);

      g_autoptr (GByteArray) framed = g_byte_array_new ();
      guint8 prefix = 0xAB;
      g_byte_array_append (framed, &prefix, 1);
      g_byte_array_append (framed, header->data, header->len);
      g_byte_array_append (framed, (const guint8 *) "trailing", 8);
      DkDot dot = { 0 };
      g_autoptr (DkVclock) context = NULL;
      g_autoptr (GError) error = NULL;
      gsize consumed = 0;
      require (dk_version_header_decode (framed->data + 1, framed->len - 1, &consumed, &dot,
                                         &context, &error),
               "seed %d: %s", seed, error ? error->message : "");
      ck_assert_uint_eq (consumed, header->len);
      ck_assert (dot.actor == version->dot.actor && dot.counter == version->dot.counter
                 && dot.wall_us == version->dot.wall_us);
      g_autoptr (GByteArray) context_again = g_byte_array_new ();
      g_autoptr (GByteArray) context_before = g_byte_array_new ();
      dk_vclock_encode (context, context_again);
      dk_vclock_encode (version->context, context_before);
      require (context_again->len == context_before->len
               && memcmp (context_again->data, context_before->data, context_before->len) == 0,
               "seed %d: context changed", seed);
    }
}
END_TEST

START_TEST (version_header_decode_refuses_every_truncation)
{
  for (int seed = 0; seed < dk_test_iterations (200); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (DkVersion) version = random_header_version (rand);
      g_autoptr (GByteArray) header = encode_header (version);
      for (guint len = 0; len < header->len; len++)
        {
          /* An exact-size heap copy, so an overread trips valgrind/ASan. */
          g_autofree guint8 *exact = len > 0 ? g_memdup2 (header->data, len) : NULL;
          g_autoptr (GError) error = NULL;
          DkDot dot = { 0 };
          DkVclock *context = NULL;
          require (!dk_version_header_decode (exact, len, NULL, &dot, &context, &error),
                   "seed %d: %u of %u bytes decoded", seed, len, header->len);
          ck_assert (context == NULL);
          require (g_error_matches (error, DK_VCLOCK_ERROR, DK_VCLOCK_ERROR_TRUNCATED),
                   "seed %d len %u: %s", seed, len, error->message);
        }
    }
}
END_TEST

/* Decode HEADER, expecting CODE and FRAGMENT in the message. */
static void
assert_header_refused (const GByteArray *header, DkVclockError code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  DkDot dot = { 0 };
  DkVclock *context = NULL;
  require (!dk_version_header_decode (header->data, header->len, NULL, &dot, &context, &error),
           "decoded despite \"%s\"", fragment);
  ck_assert (context == NULL);
  require (g_error_matches (error, DK_VCLOCK_ERROR, code), "%s", error->message);
  require (strstr (error->message, fragment) != NULL, "'%s' lacks '%s'", error->message, fragment);
}

static gboolean
header_decodes (const GByteArray *header)
{
  DkDot dot = { 0 };
  g_autoptr (DkVclock) context = NULL;
  return dk_version_header_decode (header->data, header->len, NULL, &dot, &context, NULL);
}

/* A header of the dot (ACTOR, COUNTER) with context CONTEXT_TEXT,
 * hand-built so it can hold what the API never issues. */
static GByteArray *
hand_header (DkActor actor, guint64 counter, const char *context_text)
{
  g_autoptr (DkVclock) context = clock_of (context_text);
  GByteArray *out = g_byte_array_new ();
  g_byte_array_set_size (out, 24);
  put_be64_at (out->data, actor);
  put_be64_at (out->data + 8, counter);
  put_be64_at (out->data + 16, 12345);
  dk_vclock_encode (context, out);
  return out;
}

START_TEST (version_header_decode_refuses_bad_fields)
{
  DkActor actor = dk_actor_make (3, 0x33);
  g_autoptr (GByteArray) fine = hand_header (actor, 7, "{1.1:4, 3.33:6}");
  ck_assert (header_decodes (fine));
  g_autoptr (GByteArray) at_max = hand_header (actor, DK_DOT_COUNTER_MAX, "{3.33:4611686018427387903}");
  ck_assert (header_decodes (at_max));

  g_autoptr (GByteArray) actor_zero = hand_header (DK_ACTOR_NONE, 7, "{}");
  assert_header_refused (actor_zero, DK_VCLOCK_ERROR_INVALID, "actor 0");
  g_autoptr (GByteArray) counter_zero = hand_header (actor, 0, "{}");
  assert_header_refused (counter_zero, DK_VCLOCK_ERROR_INVALID, "counter 0");
  g_autoptr (GByteArray) past_max = hand_header (actor, DK_DOT_COUNTER_MAX + 1, "{}");
  assert_header_refused (past_max, DK_VCLOCK_ERROR_INVALID, "counter 4611686018427387905");
  g_autoptr (GByteArray) all_ones = hand_header (actor, G_MAXUINT64, "{}");
  assert_header_refused (all_ones, DK_VCLOCK_ERROR_INVALID, "counter 18446744073709551615");

  g_autoptr (GByteArray) covers_own = hand_header (actor, 7, "{1.1:4, 3.33:7}");
  assert_header_refused (covers_own, DK_VCLOCK_ERROR_INVALID, "3.33:7 has a context that covers its own dot");
  g_autoptr (GByteArray) beyond_own = hand_header (actor, 7, "{3.33:4000}");
  assert_header_refused (beyond_own, DK_VCLOCK_ERROR_INVALID, "covers its own dot");

  /* The context's own faults, as the clock decoder names them. */
  g_autoptr (GByteArray) context_actor_zero = hand_header (actor, 7, "{1.1:4}");
  memset (context_actor_zero->data + 24 + 2, 0, 8);
  assert_header_refused (context_actor_zero, DK_VCLOCK_ERROR_INVALID, "actor 0");
  g_autoptr (GByteArray) context_counter_zero = hand_header (actor, 7, "{1.1:4}");
  memset (context_counter_zero->data + 24 + 2 + 8, 0, 8);
  assert_header_refused (context_counter_zero, DK_VCLOCK_ERROR_INVALID, "counter 0");
  g_autoptr (GByteArray) context_unsorted = hand_header (actor, 7, "{1.1:4, 2.1:1}");
  put_be64_at (context_unsorted->data + 24 + 2 + 24, dk_actor_make (1, 1));
  assert_header_refused (context_unsorted, DK_VCLOCK_ERROR_INVALID, "repeats actor 1.1");
  g_autoptr (GByteArray) context_too_large = hand_header (actor, 7, "{}");
  context_too_large->data[24] = 0;
  context_too_large->data[25] = DK_VCLOCK_MAX_ENTRIES + 1;
  assert_header_refused (context_too_large, DK_VCLOCK_ERROR_TOO_LARGE, "at most");
}
END_TEST

/* Random bytes and damaged valid headers either fail with a
 * DK_VCLOCK_ERROR or decode to a valid dot and context that re-encode to
 * exactly the bytes consumed. */
START_TEST (version_header_decode_of_arbitrary_bytes_fails_cleanly_or_round_trips)
{
  int successes = 0, failures = 0;
  for (int seed = 0; seed < dk_test_iterations (3000); seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr (GByteArray) bytes = NULL;
      if (g_rand_boolean (rand))
        {
          g_autoptr (DkVersion) version = random_header_version (rand);
          bytes = encode_header (version);
          for (int k = g_rand_int_range (rand, 0, 3); k > 0; k--)
            bytes->data[g_rand_int_range (rand, 0, (gint32) bytes->len)] = (guint8) g_rand_int (rand);
        }
      else
        {
          bytes = g_byte_array_new ();
          for (int k = g_rand_int_range (rand, 0, 160); k > 0; k--)
            {
              guint8 byte = (guint8) (g_rand_int_range (rand, 0, 3) == 0 ? 0 : g_rand_int (rand));
              g_byte_array_append (bytes, &byte, 1);
            }
          if (bytes->len >= 26 && g_rand_boolean (rand))
            {
              bytes->data[8] &= 0x3f;  /* a counter in range, a small context count */
              bytes->data[24] = 0;
              bytes->data[25] = (guint8) g_rand_int_range (rand, 0, 5);
            }
        }
      gsize len = bytes->len;
      g_autofree guint8 *exact = len > 0 ? g_memdup2 (bytes->data, len) : NULL;
      DkDot dot = { 0 };
      g_autoptr (DkVclock) context = NULL;
      g_autoptr (GError) error = NULL;
      gsize consumed = 0;
      if (dk_version_header_decode (exact, len, &consumed, &dot, &context, &error))
        {
          successes++;
          ck_assert_uint_le (consumed, len);
          ck_assert (dot.actor != DK_ACTOR_NONE && dot.counter >= 1 && dot.counter <= DK_DOT_COUNTER_MAX);
          ck_assert (!dk_dot_covered (dot, context));
          g_autoptr (DkVersion) version = dk_version_new (dot, g_steal_pointer (&context), NULL, FALSE);
          g_autoptr (GByteArray) again = encode_header (version);
          ck_assert_uint_eq (again->len, consumed);
          ck_assert_mem_eq (again->data, exact, consumed);
        }
      else
        {
          failures++;
          ck_assert (context == NULL);
          ck_assert (error != NULL && error->domain == DK_VCLOCK_ERROR && error->message[0] != '\0');
        }
    }
  ck_assert_int_gt (successes, 0);
  ck_assert_int_gt (failures, 0);
}
END_TEST

/* ---- regressions: bugs these properties found ------------------------- */

/* Under VV the coordinator raises the context to its own latest counter
 * without taking the history of the versions that raise covers: a2 (a
 * blind VV write at A, which holds a1) replaces a1 but not b1, which a1
 * replaced.  A replica that gets a2 before a1 and b1 keeps b1 for ever;
 * one that gets them in issue order drops it: the set depends on arrival
 * order (b1 resurrects).  The world test finds this on seed 0. */
START_TEST (version_vv_sets_match_the_reference_model)
{
  DkActor a = dk_actor_make (1, 1), b = dk_actor_make (2, 1);
  g_autoptr (DkVersion) b1 = version_of (dot_of (b, 1, 1), NULL, "b1");
  g_autoptr (DkVersion) a1 = version_of (dot_of (a, 1, 2), "{2.1:1}", "a1");  /* saw b1 */
  g_autoptr (GPtrArray) at_a = dk_siblings_new ();
  dk_siblings_add (at_a, dk_version_copy (a1), NULL);
  g_autoptr (DkVersion) a2 = dk_version_issue (DK_VERSIONING_VV, dot_of (a, 2, 3), at_a, NULL, NULL,
                                               FALSE, 0, NULL);
  ck_assert (dk_version_replaces (a2, a1));
  g_autoptr (GPtrArray) in_issue_order = dk_siblings_new (), a2_first = dk_siblings_new ();
  const DkVersion *forward[] = { b1, a1, a2 }, *backward[] = { a2, a1, b1 };
  for (guint i = 0; i < 3; i++)
    {
      dk_siblings_add (in_issue_order, dk_version_copy (forward[i]), NULL);
      dk_siblings_add (a2_first, dk_version_copy (backward[i]), NULL);
    }
  g_autofree char *first_text = set_to_string (in_issue_order);
  g_autofree char *second_text = set_to_string (a2_first);
  ck_assert_msg (dk_siblings_equal (in_issue_order, a2_first), "issue order gives %s, a2 first %s",
                 first_text, second_text);
  assert_worlds_match_the_model (DK_VERSIONING_VV, dk_test_iterations (300));
}
END_TEST

/* Two payloads of one dot with different contexts: the one sorting last
 * wins, but the loser's context dies with it, so what the loser replaced
 * survives or not depending on arrival order.  (A winner taking the
 * union of both contexts would make this a join; see the report.) */
START_TEST (version_collisions_across_contexts_resolve_regardless_of_order)
{
  DkActor a = dk_actor_make (1, 1), b = dk_actor_make (2, 1);
  g_autoptr (GPtrArray) versions = dk_siblings_new ();
  g_ptr_array_add (versions, version_of (dot_of (b, 1, 1), NULL, "w"));
  g_ptr_array_add (versions, version_of (dot_of (a, 1, 1), "{2.1:1}", "x1"));  /* replaces w */
  g_ptr_array_add (versions, version_of (dot_of (a, 1, 1), "{3.1:5}", "x2"));  /* sorts last */
  g_autoptr (GPtrArray) forward = siblings_from (versions, NULL);
  g_ptr_array_add (versions, g_ptr_array_steal_index (versions, 0));           /* x1, x2, w */
  g_autoptr (GPtrArray) backward = siblings_from (versions, NULL);
  g_autofree char *forward_text = set_to_string (forward);
  g_autofree char *backward_text = set_to_string (backward);
  ck_assert_msg (dk_siblings_equal (forward, backward), "w, x1, x2 gives %s; x1, x2, w gives %s",
                 forward_text, backward_text);
}
END_TEST

/* version.h: counters above DK_DOT_COUNTER_MAX "are refused in
 * contexts", but the header decoder checks only the dot's counter. */
START_TEST (version_header_decode_refuses_context_counters_past_the_limit)
{
  g_autoptr (GByteArray) at_max = hand_header (dk_actor_make (3, 0x33), 7, "{1.1:4611686018427387904}");
  ck_assert (header_decodes (at_max));
  g_autoptr (GByteArray) past_max = hand_header (dk_actor_make (3, 0x33), 7, "{1.1:4611686018427387905}");
  assert_header_refused (past_max, DK_VCLOCK_ERROR_INVALID, "4611686018427387905");
}
END_TEST

Suite *
version_suite (void)
{
  Suite *suite = suite_create ("version");

  TCase *model = tcase_create ("model");
  dk_tcase_no_wall_limit (model);
  tcase_add_test (model, version_sets_match_the_reference_model);
  tcase_add_test (model, version_merge_is_commutative_associative_and_idempotent);
  tcase_add_test (model, version_merge_never_drops_a_version_nobody_replaces);
  tcase_add_test (model, version_read_context_covers_every_returned_dot);
  tcase_add_test (model, version_dvv_write_replaces_only_versions_its_writer_saw);
  suite_add_tcase (suite, model);

  TCase *issuing = tcase_create ("issue");
  dk_tcase_no_wall_limit (issuing);
  tcase_add_test (issuing, version_concurrent_writes_through_one_coordinator_are_siblings);
  tcase_add_test (issuing, version_writes_through_different_coordinators_are_siblings_under_either_rule);
  tcase_add_test (issuing, version_issue_builds_the_context_each_rule_documents);
  tcase_add_test (issuing, version_prune_keeps_entries_covering_replaced_siblings);
  tcase_add_test (issuing, version_context_covers_earlier_dots_by_counter_so_sets_must_travel_whole);
  suite_add_tcase (suite, issuing);

  TCase *collisions = tcase_create ("collision");
  dk_tcase_no_wall_limit (collisions);
  tcase_add_test (collisions, version_equal_dots_with_different_payloads_are_collisions_resolved_regardless_of_order);
  tcase_add_test (collisions, version_collision_example_keeps_the_payload_sorting_last);
  suite_add_tcase (suite, collisions);

  TCase *versions = tcase_create ("version");
  dk_tcase_no_wall_limit (versions);
  tcase_add_test (versions, version_new_fills_defaults_and_copies_deeply);
  tcase_add_test (versions, version_dot_format_and_parse_round_trip);
  tcase_add_test (versions, version_compare_is_the_lexicographic_order_of_the_encoding);
  tcase_add_test (versions, version_digest_separates_different_sets);
  tcase_add_test (versions, version_siblings_add_reports_exactly_when_the_set_changed);
  suite_add_tcase (suite, versions);

  TCase *codec = tcase_create ("codec");
  dk_tcase_no_wall_limit (codec);
  tcase_add_test (codec, version_header_round_trips);
  tcase_add_test (codec, version_header_decode_refuses_every_truncation);
  tcase_add_test (codec, version_header_decode_refuses_bad_fields);
  tcase_add_test (codec, version_header_decode_of_arbitrary_bytes_fails_cleanly_or_round_trips);
  suite_add_tcase (suite, codec);

  /* Bugs the property tests found in the first version of version.c,
   * kept as regressions. */
  TCase *found = tcase_create ("regressions");
  dk_tcase_no_wall_limit (found);
  tcase_add_test (found, version_vv_sets_match_the_reference_model);
  tcase_add_test (found, version_collisions_across_contexts_resolve_regardless_of_order);
  tcase_add_test (found, version_header_decode_refuses_context_counters_past_the_limit);
  suite_add_tcase (suite, found);
  return suite;
}

