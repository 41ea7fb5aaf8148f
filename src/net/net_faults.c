/* net_faults.c — the datagram faults of a UDP environment; see
 * net_faults.h. */
#include "net/net_faults.h"

#include <string.h>
#include "node.h"
#include "rng.h"

/* A model; for a link, the HAS_ fields say which of its fields apply. */
typedef struct
{
  DkNodeId peer;
  gboolean has_loss, has_dup, has_delay;
  double   loss, dup;
  DkDist   delay;
  gint64   extra_us;
} Model;

struct _DkNetFaults
{
  Model  network;
  GArray *links;   /* Model, one per peer */
  DkRng  rng;
};

/* The faults' stream, apart from the node's (which uses the seed as is). */
#define FAULT_STREAM_SALT G_GUINT64_CONSTANT (0x6e65742d6661756c)

DkNetFaults *
dk_net_faults_new (guint64 seed, DkNodeId id)
{
  DkNetFaults *faults = g_new0 (DkNetFaults, 1);
  faults->network.delay = (DkDist) { .kind = DK_DIST_CONST };
  faults->links = g_array_new (FALSE, TRUE, sizeof (Model));
  dk_rng_init (&faults->rng, seed ^ FAULT_STREAM_SALT, id);
  return faults;
}

void
dk_net_faults_free (DkNetFaults *faults)
{
  if (faults == NULL)
    return;
  g_array_unref (faults->links);
  g_free (faults);
}

static gboolean
parse_probability (const char *what, const char *text, double *out, GError **error)
{
  double value;
  if (!dk_number_parse (text, &value) || value < 0 || value > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: expected a probability from 0 to 1, got '%s'", what, text);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
parse_delay (const char *what, const char *text, DkDist *out, GError **error)
{
  if (dk_dist_parse (text, out, error))
    return TRUE;
  g_prefix_error (error, "%s: ", what);
  return FALSE;
}

gboolean
dk_net_faults_set_loss (DkNetFaults *faults, const char *text, GError **error)
{
  return parse_probability ("--net-loss", text, &faults->network.loss, error);
}

gboolean
dk_net_faults_set_dup (DkNetFaults *faults, const char *text, GError **error)
{
  return parse_probability ("--net-dup", text, &faults->network.dup, error);
}

gboolean
dk_net_faults_set_delay (DkNetFaults *faults, const char *text, GError **error)
{
  return parse_delay ("--net-delay", text, &faults->network.delay, error);
}

/* The next FIELD=VALUE of a link's text at *CURSOR, split at a comma
 * outside parentheses (a distribution has commas of its own). */
static char *
next_field (const char **cursor)
{
  const char *start = *cursor, *p = start;
  int depth = 0;
  for (; *p != '\0' && !(*p == ',' && depth == 0); p++)
    depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
  *cursor = *p == ',' ? p + 1 : p;
  return g_strndup (start, (gsize) (p - start));
}

static gboolean
link_field (Model *link, const char *spec, const char *field, GError **error)
{
  g_autofree char *what = g_strdup_printf ("--net-link %s", spec);
  const char *equals = strchr (field, '=');
  g_autofree char *key = equals != NULL ? g_strndup (field, (gsize) (equals - field)) : NULL;
  const char *value = equals != NULL ? equals + 1 : NULL;
  if (key != NULL && strcmp (key, "loss") == 0)
    return (link->has_loss = parse_probability (what, value, &link->loss, error));
  if (key != NULL && strcmp (key, "dup") == 0)
    return (link->has_dup = parse_probability (what, value, &link->dup, error));
  if (key != NULL && strcmp (key, "delay") == 0)
    return (link->has_delay = parse_delay (what, value, &link->delay, error));
  if (key != NULL && strcmp (key, "extra") == 0)
    {
      if (dk_duration_parse (value, &link->extra_us, error)
          && link->extra_us <= DK_DIST_MAX_US)
        return TRUE;
      g_clear_error (error);
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: extra: expected a duration up to 1 hour such as 5ms, got '%s'",
                   what, value);
      return FALSE;
    }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "%s: expected loss=P, dup=P, delay=DIST or extra=DURATION, got '%s'",
               what, field);
  return FALSE;
}

gboolean
dk_net_faults_add_link (DkNetFaults *faults, const char *spec, GError **error)
{
  const char *colon = strchr (spec, ':');
  guint64 peer = 0;
  g_autofree char *id_text = colon != NULL ? g_strndup (spec, (gsize) (colon - spec)) : NULL;
  if (id_text == NULL || !g_ascii_string_to_unsigned (id_text, 10, 1, DK_NODE_ID_LIMIT - 1,
                                                      &peer, NULL)
      || colon[1] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--net-link %s: expected ID:FIELD=VALUE,... (ID a node id)", spec);
      return FALSE;
    }
  Model link = { .peer = (DkNodeId) peer };
  for (const char *cursor = colon + 1; *cursor != '\0';)
    {
      g_autofree char *field = next_field (&cursor);
      if (!link_field (&link, spec, field, error))
        return FALSE;
    }
  for (guint i = 0; i < faults->links->len; i++)
    if (g_array_index (faults->links, Model, i).peer == link.peer)
      {
        g_array_index (faults->links, Model, i) = link;
        return TRUE;
      }
  if (faults->links->len >= DK_NET_FAULTS_MAX_LINKS)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--net-link %s: at most %u links", spec, DK_NET_FAULTS_MAX_LINKS);
      return FALSE;
    }
  g_array_append_val (faults->links, link);
  return TRUE;
}

static gboolean
delays (const DkDist *dist)
{
  return dist->kind != DK_DIST_CONST || dist->a_us != 0;
}

gboolean
dk_net_faults_active (const DkNetFaults *faults)
{
  const Model *network = &faults->network;
  if (network->loss > 0 || network->dup > 0 || delays (&network->delay))
    return TRUE;
  for (guint i = 0; i < faults->links->len; i++)
    {
      const Model *link = &g_array_index (faults->links, Model, i);
      if ((link->has_loss && link->loss > 0) || (link->has_dup && link->dup > 0)
          || (link->has_delay && delays (&link->delay)) || link->extra_us > 0)
        return TRUE;
    }
  return FALSE;
}

/* As the simulator's network_send: one draw for the loss, one delay per
 * copy, one draw for the duplicate. */
guint
dk_net_faults_draw (DkNetFaults *faults, DkNodeId to, gint64 delays_us[2])
{
  Model model = faults->network;
  model.extra_us = 0;
  for (guint i = 0; to != DK_NODE_NONE && i < faults->links->len; i++)
    {
      const Model *link = &g_array_index (faults->links, Model, i);
      if (link->peer != to)
        continue;
      model.loss = link->has_loss ? link->loss : model.loss;
      model.dup = link->has_dup ? link->dup : model.dup;
      model.delay = link->has_delay ? link->delay : model.delay;
      model.extra_us = link->extra_us;
    }
  if (model.loss > 0 && dk_rng_double (&faults->rng) < model.loss)
    return 0;
  delays_us[0] = dk_dist_sample_us (&model.delay, &faults->rng) + model.extra_us;
  if (!(model.dup > 0 && dk_rng_double (&faults->rng) < model.dup))
    return 1;
  delays_us[1] = dk_dist_sample_us (&model.delay, &faults->rng) + model.extra_us;
  return 2;
}
