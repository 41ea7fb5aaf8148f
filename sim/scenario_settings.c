/* scenario_settings.c — the registry of scenario settings.
 *
 * Every KEY=VALUE a script can write after cluster, option, network or
 * workload (plus seed, run and settle) is one row of `settings` below:
 * its section, key, type, where it lives in DkScenario, its default (as
 * text, read by the same parser as a script) and a line of help.  Adding
 * an option is a field in DkOptionsSpec plus one row here; --set, sweeps,
 * the parameter list and the help text follow from the row.
 */
#include <stddef.h>
#include <string.h>
#include "scenario_private.h"

typedef enum
{
  SETTING_COUNT,            /* guint, whole number in [min, max] */
  SETTING_SEED,             /* guint64, any */
  SETTING_BOOL,             /* gboolean, on|off */
  SETTING_DURATION,         /* gint64 us, at least min */
  SETTING_DURATION_OR_OFF,  /* gint64 us, off = 0, else at least 1us */
  SETTING_BYTES,            /* guint64, whole bytes with k/m/g, in [min, max] */
  SETTING_FRACTION,         /* double in [0, 1] */
  SETTING_RATE,             /* double per second, N/s */
  SETTING_DIST,             /* DkDist */
  SETTING_LEG,              /* DkDistOverride: a DkDist, or "latency" (unset) */
  SETTING_KEY_DIST,         /* DkKeyDistSpec */
  SETTING_CHOICE            /* an enum: index into the '|'-separated choices */
} SettingType;

struct _DkSettingDescriptor
{
  const char *section;
  const char *key;
  SettingType type;
  gsize offset;             /* of the field in DkScenario */
  const char *default_text; /* NULL: no default (required statement) */
  gint64 min, max;          /* COUNT, BYTES: range; DURATION: minimum */
  const char *choices;      /* CHOICE: "a|b|c", value = index */
  const char *help;
};

#define AT(field) offsetof (DkScenario, field)
#define GiB G_GINT64_CONSTANT (1073741824)

/* Rows are in the order parameters are reported. */
static const DkSettingDescriptor settings[] = {
  { "seed", "seed", SETTING_SEED, AT (seed), "1", 0, 0, NULL, "PRNG seed of the run" },

  { "cluster", "nodes", SETTING_COUNT, AT (cluster.nodes), "5", 1, 10000, NULL,
    "initial nodes, named n1..nK" },
  { "cluster", "vnodes", SETTING_COUNT, AT (cluster.vnodes), "64", 1, 4096, NULL,
    "virtual nodes (tokens) per node" },
  { "cluster", "n", SETTING_COUNT, AT (cluster.n), "3", 1, 64, NULL, "replicas of each key (N)" },
  { "cluster", "r", SETTING_COUNT, AT (cluster.r), "2", 1, 64, NULL, "replies a read waits for (R)" },
  { "cluster", "w", SETTING_COUNT, AT (cluster.w), "2", 1, 64, NULL,
    "acknowledgements a write waits for (W)" },
  { "cluster", "dcs", SETTING_COUNT, AT (cluster.dcs), "1", 1, 64, NULL,
    "datacenters dc1..dcD, nodes dealt round-robin" },
  { "cluster", "racks", SETTING_COUNT, AT (cluster.racks), "1", 1, 1024, NULL,
    "racks per datacenter, nodes dealt round-robin" },
  { "cluster", "ring", SETTING_CHOICE, AT (cluster.ring), "random", 0, 0, "random|partitions",
    "token placement: random vnodes, or Q equal partitions" },
  { "cluster", "partitions", SETTING_COUNT, AT (cluster.partitions), "256", 1, 1000000, NULL,
    "Q, the partition count for ring=partitions" },

  { "option", "sloppy_quorum", SETTING_BOOL, AT (options.sloppy_quorum), "on", 0, 0, NULL,
    "use the first N healthy nodes, not strictly the first N" },
  { "option", "hinted_handoff", SETTING_BOOL, AT (options.hinted_handoff), "on", 0, 0, NULL,
    "stand-in replicas keep hints and hand them back" },
  { "option", "read_repair", SETTING_BOOL, AT (options.read_repair), "on", 0, 0, NULL,
    "a read writes the newest version back to stale replicas" },
  { "option", "read_all", SETTING_BOOL, AT (options.read_all), "on", 0, 0, NULL,
    "a get asks all N replicas and takes the first R (off: R, more only on failure)" },
  { "option", "anti_entropy", SETTING_DURATION_OR_OFF, AT (options.anti_entropy_us), "30s", 1, 0,
    NULL, "Merkle anti-entropy: a full pass over every range this often, or off" },
  { "option", "failover", SETTING_BOOL, AT (options.failover), "on", 0, 0, NULL,
    "a replica silent past its deadline is asked again or replaced (off: one message each)" },
  { "option", "gossip", SETTING_DURATION, AT (options.gossip_us), "1s", 1, 0, NULL,
    "gossip round interval" },
  { "option", "request_timeout", SETTING_DURATION, AT (options.request_timeout_us), "500ms", 1, 0,
    NULL, "how long a coordinator waits for R or W replies" },
  { "option", "coordinator", SETTING_CHOICE, AT (options.coordinator), "preference", 0, 0,
    "preference|first|any|replica|proxy",
    "where clients send: a random reachable preference-list node, the first reachable one,"
    " any node (replica: the old name of first), or a non-replica that coordinates (proxy)" },
  { "option", "suspect_after", SETTING_DURATION, AT (options.suspect_after_us), "5s", 1, 0, NULL,
    "a suspected peer (its probes unanswered) that does not refute it this long is down" },
  { "option", "hint_limit", SETTING_COUNT, AT (options.hint_limit), "10000", 0, 1000000000, NULL,
    "hints a node keeps at most" },
  { "option", "vclock_prune", SETTING_COUNT, AT (options.vclock_prune), "10", 1, 64, NULL,
    "vector clocks are pruned past this many entries" },
  { "option", "versioning", SETTING_CHOICE, AT (options.versioning), "dvv", 0, 0, "dvv|vv",
    "dotted version vectors, or classic server-side vector clocks (which lose updates)" },
  { "option", "clock_skew", SETTING_DIST, AT (options.clock_skew), "const(0ms)", 0, 0, NULL,
    "how far each node's wall clock is off (drawn once per node, ahead or behind)" },
  { "option", "inject_bug", SETTING_CHOICE, AT (options.inject_bug), "none", 0, 0,
    "none|reuse_dot|drop_sibling|ack_unstored|stand_in_only|resurrect|old_value",
    "for testing the checkers: make every node misbehave in one known way" },
  { "option", "tombstone_grace", SETTING_DURATION, AT (options.tombstone_grace_us), "60s", 0, 0,
    NULL, "how long deletes are remembered before purging" },
  { "option", "cache", SETTING_BYTES, AT (options.cache_bytes), "4m", 0, 64 * GiB, NULL,
    "per-node in-memory cache of hot keys (0: none)" },
  { "option", "compress_above", SETTING_BYTES, AT (options.compress_above_bytes), "1k", 0, GiB,
    NULL, "values larger than this are stored compressed" },
  { "option", "autoscale", SETTING_BOOL, AT (options.autoscale), "off", 0, 0, NULL,
    "add and remove nodes by traffic" },
  { "option", "autoscale_target", SETTING_RATE, AT (options.autoscale_target_per_s), "250/s", 0, 0,
    NULL, "autoscale: the load one node should carry (client operations per second)" },
  { "option", "autoscale_min", SETTING_COUNT, AT (options.autoscale_min), "3", 1, 10000, NULL,
    "autoscale: never fewer nodes than this" },
  { "option", "autoscale_max", SETTING_COUNT, AT (options.autoscale_max), "16", 1, 10000, NULL,
    "autoscale: never more nodes than this" },
  { "option", "autoscale_cooldown", SETTING_DURATION, AT (options.autoscale_cooldown_us), "10s", 1,
    0, NULL, "autoscale: the load is measured over, and nodes change at most once per, this" },

  { "network", "latency", SETTING_DIST, AT (network.latency), "exp(1ms)", 0, 0, NULL,
    "one-way delay of each message" },
  { "network", "write", SETTING_LEG, AT (network.legs[DK_LEG_WRITE]), "latency", 0, 0, NULL,
    "delay of a coordinator's WRITE to a replica (PBS W), or the latency" },
  { "network", "ack", SETTING_LEG, AT (network.legs[DK_LEG_ACK]), "latency", 0, 0, NULL,
    "delay of a replica's write acknowledgement (PBS A), or the latency" },
  { "network", "read", SETTING_LEG, AT (network.legs[DK_LEG_READ]), "latency", 0, 0, NULL,
    "delay of a coordinator's READ to a replica (PBS R), or the latency" },
  { "network", "response", SETTING_LEG, AT (network.legs[DK_LEG_RESPONSE]), "latency", 0, 0, NULL,
    "delay of a replica's read reply (PBS S), or the latency" },
  { "network", "client", SETTING_LEG, AT (network.legs[DK_LEG_CLIENT]), "latency", 0, 0, NULL,
    "delay of a client's request and of the answer to it, or the latency" },
  { "network", "loss", SETTING_FRACTION, AT (network.loss), "0", 0, 0, NULL,
    "probability a message is lost" },
  { "network", "dup", SETTING_FRACTION, AT (network.dup), "0", 0, 0, NULL,
    "probability a message is delivered twice" },

  { "workload", "clients", SETTING_COUNT, AT (workload.clients), "10", 1, 100000, NULL,
    "open-loop clients, placed round-robin beside nodes" },
  { "workload", "rate", SETTING_RATE, AT (workload.rate_per_s), "1000/s", 0, 0, NULL,
    "operations per second, all clients together" },
  { "workload", "keys", SETTING_COUNT, AT (workload.keys), "1000", 1, 10000000, NULL,
    "distinct keys" },
  { "workload", "dist", SETTING_KEY_DIST, AT (workload.dist), "uniform", 0, 0, NULL,
    "key popularity: uniform, zipf(S) or hotspot(F,P)" },
  { "workload", "reads", SETTING_FRACTION, AT (workload.reads), "0.5", 0, 0, NULL,
    "fraction of operations that are gets" },
  { "workload", "deletes", SETTING_FRACTION, AT (workload.deletes), "0", 0, 0, NULL,
    "fraction of operations that are deletes (taken from the writes)" },
  { "workload", "value", SETTING_BYTES, AT (workload.value_bytes), "256", 0, DK_VALUE_MAX_BYTES,
    NULL, "bytes in each value written" },
  { "workload", "context", SETTING_BOOL, AT (workload.use_context), "on", 0, 0, NULL,
    "writes are read-modify-writes: get, then put with the get's context" },

  { "run", "run", SETTING_DURATION, AT (run_us), NULL, 1, 0, NULL,
    "how long the workload and faults run" },
  { "run", "settle", SETTING_DURATION, AT (settle_us), "0s", 0, 0, NULL,
    "quiet time after the run, before the final checks" },
};

#undef AT

/* The highest rate a workload may ask for. */
#define MAX_RATE_PER_S 10000000.0

typedef union
{
  guint count;
  guint64 whole;        /* seed, bytes */
  gboolean flag;
  gint64 duration_us;
  double number;        /* fraction, rate */
  DkDist dist;
  DkDistOverride leg;
  DkKeyDistSpec key_dist;
  int choice;
} SettingValue;

const DkSettingDescriptor *
dk_setting_lookup (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    if (strcmp (settings[i].key, key) == 0)
      return &settings[i];
  return NULL;
}

const char *
dk_setting_section (const DkSettingDescriptor *setting)
{
  return setting->section;
}

char *
dk_settings_known (const char *section)
{
  GString *names = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    if (section == NULL || strcmp (settings[i].section, section) == 0)
      g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", settings[i].key);
  return g_string_free (names, FALSE);
}

/* ---- value syntax --------------------------------------------------------- */

gboolean
dk_parse_probability (const char *text, double *out, GError **error)
{
  double value;
  if (!dk_number_parse (text, &value) || value > 1.0)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected a number from 0 to 1, got '%s'", text);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
dk_parse_rate (const char *text, double *out_per_s, GError **error)
{
  gsize length = strlen (text);
  double value;
  g_autofree char *number = length > 2 && g_str_has_suffix (text, "/s")
                              ? g_strndup (text, length - 2) : NULL;
  if (number == NULL || !dk_number_parse (number, &value) || value > MAX_RATE_PER_S)
    {
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "expected a rate such as 2000/s (at most 10000000/s), got '%s'", text);
      return FALSE;
    }
  *out_per_s = value;
  return TRUE;
}

gboolean
dk_parse_latency (const char *text, DkDist *out, GError **error)
{
  g_autoptr (GError) dist_error = NULL;
  if (dk_dist_parse (text, out, &dist_error))
    return TRUE;
  g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX, dist_error->message);
  return FALSE;
}

static gboolean
parse_key_dist (const char *text, DkKeyDistSpec *out, GError **error)
{
  g_autoptr (GError) dist_error = NULL;
  if (dk_key_dist_spec_parse (text, out, &dist_error))
    return TRUE;
  g_set_error_literal (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX, dist_error->message);
  return FALSE;
}

/* Whole bytes with an optional binary suffix: 512, 512b, 64k, 64kb, 64KiB, 1m, 2g. */
static gboolean
parse_bytes (const char *text, guint64 *out)
{
  const char *p = text;
  guint64 value = 0;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    {
      if (value > G_MAXUINT64 / 10 - 10)
        return FALSE;
      value = value * 10 + (guint64) (*p - '0');
    }
  static const struct { const char *suffix; guint64 multiplier; } suffixes[] = {
    { "", 1 }, { "b", 1 },
    { "k", 1u << 10 }, { "kb", 1u << 10 }, { "kib", 1u << 10 },
    { "m", 1u << 20 }, { "mb", 1u << 20 }, { "mib", 1u << 20 },
    { "g", 1u << 30 }, { "gb", 1u << 30 }, { "gib", 1u << 30 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_ascii_strcasecmp (p, suffixes[i].suffix) == 0)
      {
        if (value > G_MAXUINT64 / suffixes[i].multiplier)
          return FALSE;
        *out = value * suffixes[i].multiplier;
        return TRUE;
      }
  return FALSE;
}

static char *
bytes_to_string (guint64 bytes)
{
  static const struct { const char *suffix; guint64 multiplier; } units[] = {
    { "g", 1u << 30 }, { "m", 1u << 20 }, { "k", 1u << 10 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (bytes != 0 && bytes % units[i].multiplier == 0)
      return g_strdup_printf ("%" G_GUINT64_FORMAT "%s", bytes / units[i].multiplier,
                              units[i].suffix);
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

/* The CHOICE's names as "a or b" for messages, and the index of TEXT. */
static int
choice_index (const char *choices, const char *text)
{
  g_auto (GStrv) names = g_strsplit (choices, "|", -1);
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], text) == 0)
      return i;
  return -1;
}

static char *
choice_name (const char *choices, int index)
{
  g_auto (GStrv) names = g_strsplit (choices, "|", -1);
  g_return_val_if_fail (index >= 0 && (guint) index < g_strv_length (names), g_strdup ("?"));
  return g_strdup (names[index]);
}

/* Read TEXT as a value of SETTING's type and range into *OUT. */
static gboolean
parse_value (const DkSettingDescriptor *setting, const char *text, SettingValue *out,
             GError **error)
{
  switch (setting->type)
    {
    case SETTING_COUNT:
      {
        guint64 value;
        if (!g_ascii_string_to_unsigned (text, 10, (guint64) setting->min, (guint64) setting->max,
                                         &value, NULL))
          break;
        out->count = (guint) value;
        return TRUE;
      }
    case SETTING_SEED:
      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &out->whole, NULL))
        break;
      return TRUE;
    case SETTING_BOOL:
      if (strcmp (text, "on") != 0 && strcmp (text, "off") != 0)
        break;
      out->flag = strcmp (text, "on") == 0;
      return TRUE;
    case SETTING_DURATION_OR_OFF:
      if (strcmp (text, "off") == 0)
        {
          out->duration_us = 0;
          return TRUE;
        }
      G_GNUC_FALLTHROUGH;
    case SETTING_DURATION:
      {
        const char *or_off = setting->type == SETTING_DURATION_OR_OFF ? " (or off)" : "";
        const char *problem = dk_duration_problem (text, &out->duration_us);
        if (problem != NULL)
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected a duration such as 10ms or 1.5s%s, got '%s': %s", or_off, text,
                       problem);
        else if (out->duration_us < setting->min)
          g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                       "expected a duration above zero%s, got '%s'", or_off, text);
        return problem == NULL && out->duration_us >= setting->min;
      }
    case SETTING_BYTES:
      if (!parse_bytes (text, &out->whole) || out->whole < (guint64) setting->min
          || out->whole > (guint64) setting->max)
        break;
      return TRUE;
    case SETTING_FRACTION:
      return dk_parse_probability (text, &out->number, error);
    case SETTING_RATE:
      return dk_parse_rate (text, &out->number, error);
    case SETTING_DIST:
      return dk_parse_latency (text, &out->dist, error);
    case SETTING_LEG:
      out->leg.set = strcmp (text, "latency") != 0;
      if (!out->leg.set)
        {
          memset (&out->leg.dist, 0, sizeof out->leg.dist);
          return TRUE;
        }
      return dk_parse_latency (text, &out->leg.dist, error);
    case SETTING_KEY_DIST:
      return parse_key_dist (text, &out->key_dist, error);
    case SETTING_CHOICE:
      out->choice = choice_index (setting->choices, text);
      if (out->choice < 0)
        break;
      return TRUE;
    }

  /* The types that fall out of the switch share one message shape. */
  g_autofree char *expected = NULL;
  switch (setting->type)
    {
    case SETTING_COUNT:
      expected = g_strdup_printf ("a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                                  setting->min, setting->max);
      break;
    case SETTING_SEED:
      expected = g_strdup ("a whole number from 0 to 18446744073709551615");
      break;
    case SETTING_BOOL:
      expected = g_strdup ("on or off");
      break;
    case SETTING_BYTES:
      {
        g_autofree char *max = bytes_to_string ((guint64) setting->max);
        expected = g_strdup_printf ("a size in bytes such as 512 or 64k (at most %s)", max);
        break;
      }
    case SETTING_CHOICE:
      {
        g_auto (GStrv) names = g_strsplit (setting->choices, "|", -1);
        g_autofree char *joined = g_strjoinv (" or ", names);
        expected = g_strdup_printf ("%s", joined);
        break;
      }
    default:
      expected = g_strdup ("a valid value");
      break;
    }
  g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX, "expected %s, got '%s'",
               expected, text);
  return FALSE;
}

static void
store_value (DkScenario *scenario, const DkSettingDescriptor *setting, const SettingValue *value)
{
  char *field = (char *) scenario + setting->offset;
  switch (setting->type)
    {
    case SETTING_COUNT:
      memcpy (field, &value->count, sizeof value->count);
      break;
    case SETTING_SEED:
    case SETTING_BYTES:
      memcpy (field, &value->whole, sizeof value->whole);
      break;
    case SETTING_BOOL:
      memcpy (field, &value->flag, sizeof value->flag);
      break;
    case SETTING_DURATION:
    case SETTING_DURATION_OR_OFF:
      memcpy (field, &value->duration_us, sizeof value->duration_us);
      break;
    case SETTING_FRACTION:
    case SETTING_RATE:
      memcpy (field, &value->number, sizeof value->number);
      break;
    case SETTING_DIST:
      memcpy (field, &value->dist, sizeof value->dist);
      break;
    case SETTING_LEG:
      memcpy (field, &value->leg, sizeof value->leg);
      break;
    case SETTING_KEY_DIST:
      memcpy (field, &value->key_dist, sizeof value->key_dist);
      break;
    case SETTING_CHOICE:
      memcpy (field, &value->choice, sizeof value->choice);
      break;
    }
}

/* The current value of SETTING in SCENARIO, as a script would write it. */
static char *
format_value (const DkScenario *scenario, const DkSettingDescriptor *setting)
{
  const char *field = (const char *) scenario + setting->offset;
  SettingValue value;
  switch (setting->type)
    {
    case SETTING_COUNT:
      memcpy (&value.count, field, sizeof value.count);
      return g_strdup_printf ("%u", value.count);
    case SETTING_SEED:
      memcpy (&value.whole, field, sizeof value.whole);
      return g_strdup_printf ("%" G_GUINT64_FORMAT, value.whole);
    case SETTING_BYTES:
      memcpy (&value.whole, field, sizeof value.whole);
      return bytes_to_string (value.whole);
    case SETTING_BOOL:
      memcpy (&value.flag, field, sizeof value.flag);
      return g_strdup (value.flag ? "on" : "off");
    case SETTING_DURATION:
    case SETTING_DURATION_OR_OFF:
      memcpy (&value.duration_us, field, sizeof value.duration_us);
      if (setting->type == SETTING_DURATION_OR_OFF && value.duration_us == 0)
        return g_strdup ("off");
      return dk_duration_to_string (value.duration_us);
    case SETTING_FRACTION:
      memcpy (&value.number, field, sizeof value.number);
      return dk_number_to_string (value.number);
    case SETTING_RATE:
      {
        memcpy (&value.number, field, sizeof value.number);
        g_autofree char *number = dk_number_to_string (value.number);
        return g_strdup_printf ("%s/s", number);
      }
    case SETTING_DIST:
      memcpy (&value.dist, field, sizeof value.dist);
      return dk_dist_to_string (&value.dist);
    case SETTING_LEG:
      memcpy (&value.leg, field, sizeof value.leg);
      return value.leg.set ? dk_dist_to_string (&value.leg.dist) : g_strdup ("latency");
    case SETTING_KEY_DIST:
      memcpy (&value.key_dist, field, sizeof value.key_dist);
      return dk_key_dist_spec_to_string (&value.key_dist);
    case SETTING_CHOICE:
      memcpy (&value.choice, field, sizeof value.choice);
      return choice_name (setting->choices, value.choice);
    }
  g_return_val_if_reached (NULL);
}

/* A JSON string of TEXT (setting values are plain ASCII, but escape
 * anyway). */
static void
append_json_text (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\u%04x", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_json_double (GString *out, double value)
{
  g_autofree char *text = dk_number_to_string (value);
  g_string_append (out, text);
}

/* SETTING in SCENARIO as one JSON member: numbers as numbers, with the
 * unit in the name (gossip_ms, value_bytes, rate_per_s), switches as
 * booleans, a duration that is off as null, the rest as text. */
static void
append_json_member (GString *out, const DkScenario *scenario, const DkSettingDescriptor *setting)
{
  const char *field = (const char *) scenario + setting->offset;
  SettingValue value;
  const char *unit = "";
  switch (setting->type)
    {
    case SETTING_BYTES:
      unit = "_bytes";
      break;
    case SETTING_DURATION:
    case SETTING_DURATION_OR_OFF:
      unit = "_ms";
      break;
    case SETTING_RATE:
      unit = "_per_s";
      break;
    default:
      break;
    }
  g_autofree char *name = g_strconcat (setting->key, unit, NULL);
  append_json_text (out, name);
  g_string_append (out, ": ");
  switch (setting->type)
    {
    case SETTING_COUNT:
      memcpy (&value.count, field, sizeof value.count);
      g_string_append_printf (out, "%u", value.count);
      return;
    case SETTING_SEED:
    case SETTING_BYTES:
      memcpy (&value.whole, field, sizeof value.whole);
      g_string_append_printf (out, "%" G_GUINT64_FORMAT, value.whole);
      return;
    case SETTING_BOOL:
      memcpy (&value.flag, field, sizeof value.flag);
      g_string_append (out, value.flag ? "true" : "false");
      return;
    case SETTING_DURATION:
    case SETTING_DURATION_OR_OFF:
      memcpy (&value.duration_us, field, sizeof value.duration_us);
      if (setting->type == SETTING_DURATION_OR_OFF && value.duration_us == 0)
        g_string_append (out, "null");
      else
        append_json_double (out, (double) value.duration_us / 1000.0);
      return;
    case SETTING_FRACTION:
    case SETTING_RATE:
      memcpy (&value.number, field, sizeof value.number);
      append_json_double (out, value.number);
      return;
    case SETTING_LEG:
      {
        /* What the run uses (dk_scenario_leg), not only what was written. */
        DkDistOverride leg;
        memcpy (&leg, field, sizeof leg);
        gsize first = offsetof (DkScenario, network.legs);
        gsize index = (setting->offset - first) / sizeof (DkDistOverride);
        if (setting->offset >= first && index < DK_LEG_COUNT)
          leg = dk_scenario_leg (scenario, (DkLeg) index);
        g_autofree char *text = leg.set ? dk_dist_to_string (&leg.dist) : g_strdup ("latency");
        append_json_text (out, text);
        return;
      }
    case SETTING_DIST:
    case SETTING_KEY_DIST:
    case SETTING_CHOICE:
      {
        g_autofree char *text = format_value (scenario, setting);
        append_json_text (out, text);
        return;
      }
    }
}

DkDistOverride
dk_scenario_leg (const DkScenario *scenario, DkLeg leg)
{
  g_return_val_if_fail (leg < DK_LEG_COUNT, (DkDistOverride) { 0 });
  DkDistOverride chosen = scenario->network.legs[leg];
  if (leg == DK_LEG_CLIENT && !chosen.set
      && scenario->options.coordinator == DK_SCENARIO_COORDINATOR_PROXY)
    chosen = (DkDistOverride) { .set = TRUE, .dist = { .kind = DK_DIST_CONST, .a_us = 0 } };
  return chosen;
}

void
dk_scenario_parameters_to_json (const DkScenario *scenario, GString *out)
{
  g_string_append_c (out, '{');
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_json_member (out, scenario, &settings[i]);
    }
  g_string_append_c (out, '}');
}

/* ---- the public face ------------------------------------------------------ */

gboolean
dk_setting_check (const DkSettingDescriptor *setting, const char *value, GError **error)
{
  SettingValue parsed;
  return parse_value (setting, value, &parsed, error);
}

gboolean
dk_setting_apply (DkScenario *scenario, const DkSettingDescriptor *setting, const char *value,
                  GError **error)
{
  SettingValue parsed;
  if (!parse_value (setting, value, &parsed, error))
    return FALSE;
  store_value (scenario, setting, &parsed);
  return TRUE;
}

void
dk_scenario_apply_defaults (DkScenario *scenario)
{
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    if (settings[i].default_text != NULL)
      {
        gboolean applied = dk_setting_apply (scenario, &settings[i], settings[i].default_text, NULL);
        g_assert (applied);
      }
}

gboolean
dk_scenario_set (DkScenario *scenario, const char *key, const char *value, GError **error)
{
  g_return_val_if_fail (scenario != NULL && key != NULL && value != NULL, FALSE);
  const DkSettingDescriptor *setting = dk_setting_lookup (key);
  if (setting == NULL)
    {
      g_autofree char *known = dk_settings_known (NULL);
      g_set_error (error, DK_SCENARIO_ERROR, DK_SCENARIO_ERROR_SYNTAX,
                   "%s=%s: unknown setting '%s' (known: %s)", key, value, key, known);
      return FALSE;
    }
  if (!dk_setting_apply (scenario, setting, value, error))
    {
      g_prefix_error (error, "%s=%s: ", key, value);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
dk_scenario_parameters (const DkScenario *scenario)
{
  GPtrArray *parameters = g_ptr_array_new_with_free_func ((GDestroyNotify) dk_setting_free);
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      DkSetting *parameter = g_new (DkSetting, 1);
      parameter->key = g_strdup (settings[i].key);
      parameter->value = format_value (scenario, &settings[i]);
      g_ptr_array_add (parameters, parameter);
    }
  return parameters;
}

char *
dk_scenario_describe (const DkScenario *scenario)
{
  g_autoptr (GPtrArray) parameters = dk_scenario_parameters (scenario);
  GString *line = g_string_new (NULL);
  for (guint i = 0; i < parameters->len; i++)
    {
      const DkSetting *parameter = g_ptr_array_index (parameters, i);
      g_string_append_printf (line, "%s%s=%s", i > 0 ? " " : "", parameter->key, parameter->value);
    }
  /* The nemesis is no setting (parameters stay KEY=VALUE pairs for --set). */
  if (scenario->nemesis.enabled)
    {
      g_autofree char *nemesis = dk_nemesis_spec_to_string (&scenario->nemesis);
      g_string_append_printf (line, "; %s", nemesis);
    }
  return g_string_free (line, FALSE);
}

char *
dk_scenario_settings_help (void)
{
  GString *help = g_string_new (NULL);
  const char *section = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      if (section == NULL || strcmp (section, settings[i].section) != 0)
        g_string_append_printf (help, "%s%s:\n", section != NULL ? "\n" : "", settings[i].section);
      section = settings[i].section;
      g_autofree char *with_default = settings[i].default_text != NULL
                                        ? g_strdup_printf ("%s=%s", settings[i].key,
                                                           settings[i].default_text)
                                        : g_strdup_printf ("%s (required)", settings[i].key);
      g_string_append_printf (help, "  %-24s %s\n", with_default, settings[i].help);
    }
  return g_string_free (help, FALSE);
}

void
dk_setting_free (DkSetting *setting)
{
  if (setting == NULL)
    return;
  g_free (setting->key);
  g_free (setting->value);
  g_free (setting);
}
