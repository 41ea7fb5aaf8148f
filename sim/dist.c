/* dist.c — durations, delay distributions and key distributions; see dist.h. */
#include <math.h>
#include <string.h>
#include "dist.h"

G_DEFINE_QUARK (dk-dist-error-quark, dk_dist_error)

/* ---- numbers and durations ---------------------------------------------- */

gboolean
dk_number_parse (const char *text, double *out)
{
  const char *p = text;
  gboolean digits = FALSE;
  while (g_ascii_isdigit (*p))
    p++, digits = TRUE;
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++)
      digits = TRUE;
  if (!digits)
    return FALSE;
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p != '\0')
    return FALSE;
  double value = g_ascii_strtod (text, NULL);
  if (!isfinite (value))
    return FALSE;
  *out = value;
  return TRUE;
}

typedef struct
{
  const char *suffix;
  gint64 unit_us;
} DurationUnit;

static const DurationUnit duration_units[] = {
  { "us", 1 },
  { "ms", DK_US_PER_MS },
  { "s", DK_US_PER_S },
  { "m", DK_US_PER_M },
};

#define DURATION_UNIT_LIST "us, ms, s or m"

const char *
dk_duration_problem (const char *text, gint64 *out_us)
{
  const char *p = text;
  if (*p == '\0')
    return "nothing there";
  if (*p == '-')
    return "durations cannot be negative";
  if (!g_ascii_isdigit (*p) && *p != '.')
    return "not a number followed by a unit (" DURATION_UNIT_LIST ")";

  guint64 whole = 0, fraction = 0, fraction_scale = 1;
  gboolean digits = FALSE;
  for (; g_ascii_isdigit (*p); p++, digits = TRUE)
    {
      if (whole > DK_DURATION_MAX_US)
        return "too long (at most 100 days)";
      whole = whole * 10 + (guint64) (*p - '0');
    }
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++, digits = TRUE)
      {
        if (fraction_scale >= G_GUINT64_CONSTANT (1000000000))
          return "too many decimal places";
        fraction = fraction * 10 + (guint64) (*p - '0');
        fraction_scale *= 10;
      }
  if (!digits)
    return "not a number followed by a unit (" DURATION_UNIT_LIST ")";
  if (*p == '\0')
    return "missing unit (" DURATION_UNIT_LIST ")";

  for (gsize i = 0; i < G_N_ELEMENTS (duration_units); i++)
    {
      if (strcmp (p, duration_units[i].suffix) != 0)
        continue;
      guint64 unit_us = (guint64) duration_units[i].unit_us;
      if (whole > (guint64) DK_DURATION_MAX_US / unit_us)
        return "too long (at most 100 days)";
      guint64 fraction_us = fraction * unit_us;
      if (fraction_us % fraction_scale != 0)
        return "finer than one microsecond";
      guint64 total_us = whole * unit_us + fraction_us / fraction_scale;
      if (total_us > (guint64) DK_DURATION_MAX_US)
        return "too long (at most 100 days)";
      *out_us = (gint64) total_us;
      return NULL;
    }
  return "unknown unit (use " DURATION_UNIT_LIST ")";
}

gboolean
dk_duration_parse (const char *text, gint64 *out_us, GError **error)
{
  const char *problem = dk_duration_problem (text, out_us);
  if (problem == NULL)
    return TRUE;
  g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
               "expected a duration such as 10ms or 1.5s, got '%s': %s", text, problem);
  return FALSE;
}

char *
dk_duration_to_string (gint64 duration_us)
{
  g_return_val_if_fail (duration_us >= 0, NULL);
  if (duration_us != 0 && duration_us % DK_US_PER_S == 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", duration_us / DK_US_PER_S);
  if (duration_us != 0 && duration_us % DK_US_PER_MS == 0)
    return g_strdup_printf ("%" G_GINT64_FORMAT "ms", duration_us / DK_US_PER_MS);
  if (duration_us == 0)
    return g_strdup ("0s");
  return g_strdup_printf ("%" G_GINT64_FORMAT "us", duration_us);
}

char *
dk_number_to_string (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  return g_strdup (buffer);
}

/* ---- "name(arg, arg)" ------------------------------------------------------ */

/* Split TEXT of the form NAME or NAME(ARG,...) into the name and the
 * stripped arguments.  Returns FALSE (and a static reason in *PROBLEM)
 * when the parentheses are malformed. */
static gboolean
split_call (const char *text, char **out_name, GStrv *out_args, const char **problem)
{
  const char *open = strchr (text, '(');
  if (open == NULL)
    {
      if (strchr (text, ')') != NULL)
        return *problem = "')' without '('", FALSE;
      *out_name = g_strstrip (g_strdup (text));
      *out_args = g_new0 (char *, 1);
      return TRUE;
    }
  if (strchr (open + 1, '(') != NULL)
    return *problem = "nested '('", FALSE;
  const char *close = strchr (open, ')');
  if (close == NULL)
    return *problem = "missing ')'", FALSE;
  if (close[1] != '\0')
    return *problem = "text after ')'", FALSE;
  g_autofree char *inside = g_strndup (open + 1, (gsize) (close - open - 1));
  *out_name = g_strstrip (g_strndup (text, (gsize) (open - text)));
  if (*g_strstrip (inside) == '\0')
    *out_args = g_new0 (char *, 1);
  else
    {
      *out_args = g_strsplit (inside, ",", -1);
      for (char **arg = *out_args; *arg != NULL; arg++)
        g_strstrip (*arg);
    }
  return TRUE;
}

/* ---- delay distributions --------------------------------------------------- */

typedef enum
{
  ARG_DURATION,  /* a duration with a unit, stored in a_us or b_us */
  ARG_UNITLESS   /* a plain number, stored in shape */
} DistArgKind;

/* One line per distribution form: its name, the meaning of its arguments
 * (as shown in messages) and their kinds. */
typedef struct
{
  const char *name;
  DkDistKind kind;
  const char *usage;
  guint n_args;
  DistArgKind args[2];
  const char *arg_names[2];
} DistForm;

static const DistForm dist_forms[] = {
  { "const", DK_DIST_CONST, "const(X)", 1, { ARG_DURATION }, { "X" } },
  { "uniform", DK_DIST_UNIFORM, "uniform(A,B)", 2, { ARG_DURATION, ARG_DURATION }, { "A", "B" } },
  { "exp", DK_DIST_EXP, "exp(MEAN)", 1, { ARG_DURATION }, { "MEAN" } },
  { "normal", DK_DIST_NORMAL, "normal(MU,SIGMA)", 2, { ARG_DURATION, ARG_DURATION }, { "MU", "SIGMA" } },
  { "lognormal", DK_DIST_LOGNORMAL, "lognormal(MEDIAN,SIGMA)", 2, { ARG_DURATION, ARG_UNITLESS },
    { "MEDIAN", "SIGMA" } },
  { "pareto", DK_DIST_PARETO, "pareto(SCALE,SHAPE)", 2, { ARG_DURATION, ARG_UNITLESS },
    { "SCALE", "SHAPE" } },
};

static const DistForm *
dist_form_for_kind (DkDistKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (dist_forms); i++)
    if (dist_forms[i].kind == kind)
      return &dist_forms[i];
  g_return_val_if_reached (&dist_forms[0]);
}

/* Range checks once the arguments are read; NULL when DIST is acceptable. */
static const char *
dist_range_problem (const DkDistPart *dist)
{
  switch (dist->kind)
    {
    case DK_DIST_CONST:
      return NULL;
    case DK_DIST_UNIFORM:
      return dist->a_us <= dist->b_us ? NULL : "A must not exceed B";
    case DK_DIST_EXP:
      return dist->a_us > 0 ? NULL : "MEAN must be positive";
    case DK_DIST_NORMAL:
      return NULL;
    case DK_DIST_LOGNORMAL:
      if (dist->a_us <= 0)
        return "MEDIAN must be positive";
      return dist->shape <= 10 ? NULL : "SIGMA (log-space spread) must be at most 10";
    case DK_DIST_PARETO:
      if (dist->a_us <= 0)
        return "SCALE must be positive";
      return dist->shape > 0 ? NULL : "SHAPE must be positive";
    case DK_DIST_MIX:
      break;
    }
  return "unknown kind";
}

#define DIST_EXPECTED "expected a distribution such as exp(1ms), got '%s': "

/* One of the simple forms (a mixture's component, or the whole text). */
static gboolean
parse_part (const char *text, DkDistPart *out, GError **error)
{
  g_autofree char *name = NULL;
  g_auto (GStrv) args = NULL;
  const char *problem = NULL;
  if (!split_call (text, &name, &args, &problem))
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX, DIST_EXPECTED "%s", text, problem);
      return FALSE;
    }
  const DistForm *form = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (dist_forms); i++)
    if (strcmp (dist_forms[i].name, name) == 0)
      form = &dist_forms[i];
  if (form == NULL)
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                   DIST_EXPECTED "unknown distribution '%s' (known: const, uniform, exp, "
                   "normal, lognormal, pareto, mix)", text, name);
      return FALSE;
    }
  if (g_strv_length (args) != form->n_args)
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                   DIST_EXPECTED "%s takes %u argument%s, as in %s", text, name,
                   form->n_args, form->n_args == 1 ? "" : "s", form->usage);
      return FALSE;
    }

  DkDistPart dist = { .kind = form->kind };
  gint64 *duration_slots[] = { &dist.a_us, &dist.b_us };
  for (guint i = 0; i < form->n_args; i++)
    {
      if (form->args[i] == ARG_DURATION)
        {
          problem = dk_duration_problem (args[i], duration_slots[i]);
          if (problem != NULL)
            {
              g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                           DIST_EXPECTED "%s '%s' of %s: %s", text, form->arg_names[i],
                           args[i], form->usage, problem);
              return FALSE;
            }
        }
      else if (!dk_number_parse (args[i], &dist.shape))
        {
          g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                       DIST_EXPECTED "%s '%s' of %s must be a plain number without a unit",
                       text, form->arg_names[i], args[i], form->usage);
          return FALSE;
        }
    }
  problem = dist_range_problem (&dist);
  if (problem != NULL)
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_RANGE,
                   DIST_EXPECTED "%s in %s", text, problem, form->usage);
      return FALSE;
    }
  *out = dist;
  return TRUE;
}

#define MIX_USAGE "mix(P:DIST;P:DIST...)"

/* "mix(P:DIST;P:DIST...)": TEXT without its "mix(" and ")" is INSIDE. */
static gboolean
parse_mix (const char *text, const char *inside, DkDist *out, GError **error)
{
  g_auto (GStrv) items = g_strsplit (inside, ";", -1);
  guint n = g_strv_length (items);
  if (n < 1 || n > DK_DIST_MIX_MAX)
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_RANGE,
                   DIST_EXPECTED "a mixture has 1 to %d components, as in " MIX_USAGE, text,
                   DK_DIST_MIX_MAX);
      return FALSE;
    }
  DkDist mix = { .kind = DK_DIST_MIX, .n_parts = n };
  double total = 0;
  for (guint i = 0; i < n; i++)
    {
      char *item = g_strstrip (items[i]);
      char *colon = strchr (item, ':');
      if (colon == NULL)
        {
          g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                       DIST_EXPECTED "component %u '%s' is not P:DIST, as in " MIX_USAGE, text,
                       i + 1, item);
          return FALSE;
        }
      *colon = '\0';
      const char *weight = g_strstrip (item), *part = g_strstrip (colon + 1);
      if (!dk_number_parse (weight, &mix.weights[i]) || mix.weights[i] <= 0
          || mix.weights[i] > 1)
        {
          g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_RANGE,
                       DIST_EXPECTED "component %u's probability '%s' is not a number in (0,1]",
                       text, i + 1, weight);
          return FALSE;
        }
      if (g_str_has_prefix (part, "mix"))
        {
          g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                       DIST_EXPECTED "component %u is a mixture; mixtures do not nest", text,
                       i + 1);
          return FALSE;
        }
      if (!parse_part (part, &mix.parts[i], error))
        {
          g_prefix_error (error, "in mixture '%s', component %u: ", text, i + 1);
          return FALSE;
        }
      total += mix.weights[i];
    }
  if (fabs (total - 1.0) > 1e-6)
    {
      g_autofree char *sum = dk_number_to_string (total);
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_RANGE,
                   DIST_EXPECTED "the probabilities sum to %s, not 1", text, sum);
      return FALSE;
    }
  *out = mix;
  return TRUE;
}

gboolean
dk_dist_parse (const char *text, DkDist *out, GError **error)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  if (g_str_has_prefix (stripped, "mix"))
    {
      const char *open = stripped + 3;
      while (g_ascii_isspace (*open))
        open++;
      gsize len = strlen (open);
      if (*open != '(' || len < 2 || open[len - 1] != ')')
        {
          g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                       DIST_EXPECTED "a mixture is written " MIX_USAGE, text);
          return FALSE;
        }
      g_autofree char *inside = g_strndup (open + 1, len - 2);
      return parse_mix (text, inside, out, error);
    }
  DkDistPart part;
  if (!parse_part (text, &part, error))
    return FALSE;
  *out = (DkDist) { .kind = part.kind, .a_us = part.a_us, .b_us = part.b_us,
                    .shape = part.shape };
  return TRUE;
}

/* The simple form DIST is (not a mixture). */
static DkDistPart
as_part (const DkDist *dist)
{
  return (DkDistPart) { dist->kind, dist->a_us, dist->b_us, dist->shape };
}

/* A standard normal deviate by Marsaglia's polar method (no trigonometry,
 * so fewer libm functions stand between the seed and the result). */
static double
standard_normal (DkRng *rng)
{
  double u, v, s;
  do
    {
      u = 2.0 * dk_rng_double (rng) - 1.0;
      v = 2.0 * dk_rng_double (rng) - 1.0;
      s = u * u + v * v;
    }
  while (s >= 1.0 || s == 0.0);
  return u * sqrt (-2.0 * log (s) / s);
}

/* A uniform draw in (0, 1]: safe to take the logarithm of. */
static double
open_unit (DkRng *rng)
{
  return 1.0 - dk_rng_double (rng);
}

static gint64
clamp_to_delay (double microseconds)
{
  if (!(microseconds >= 0.0))  /* also catches NaN */
    return 0;
  if (microseconds >= (double) DK_DIST_MAX_US)
    return DK_DIST_MAX_US;
  return (gint64) floor (microseconds + 0.5);
}

static gint64
sample_part (const DkDistPart *dist, DkRng *rng)
{
  switch (dist->kind)
    {
    case DK_DIST_CONST:
      return clamp_to_delay ((double) dist->a_us);
    case DK_DIST_UNIFORM:
      return clamp_to_delay ((double) (dist->a_us
                                       + (gint64) dk_rng_below (rng, (guint64) (dist->b_us - dist->a_us) + 1)));
    case DK_DIST_EXP:
      return clamp_to_delay (-(double) dist->a_us * log (open_unit (rng)));
    case DK_DIST_NORMAL:
      return clamp_to_delay ((double) dist->a_us + (double) dist->b_us * standard_normal (rng));
    case DK_DIST_LOGNORMAL:
      return clamp_to_delay ((double) dist->a_us * exp (dist->shape * standard_normal (rng)));
    case DK_DIST_PARETO:
      return clamp_to_delay ((double) dist->a_us * pow (open_unit (rng), -1.0 / dist->shape));
    case DK_DIST_MIX:
      break;
    }
  g_return_val_if_reached (0);
}

gint64
dk_dist_sample_us (const DkDist *dist, DkRng *rng)
{
  if (dist->kind != DK_DIST_MIX)
    {
      DkDistPart part = as_part (dist);
      return sample_part (&part, rng);
    }
  /* One draw picks the component (the last takes any rounding left). */
  double u = dk_rng_double (rng), below = 0;
  guint i = 0;
  for (; i + 1 < dist->n_parts; i++)
    {
      below += dist->weights[i];
      if (u < below)
        break;
    }
  return sample_part (&dist->parts[i], rng);
}

static double
mean_part (const DkDistPart *dist)
{
  switch (dist->kind)
    {
    case DK_DIST_CONST:
    case DK_DIST_EXP:
    case DK_DIST_NORMAL:
      return (double) dist->a_us;
    case DK_DIST_UNIFORM:
      return ((double) dist->a_us + (double) dist->b_us) / 2.0;
    case DK_DIST_LOGNORMAL:
      return (double) dist->a_us * exp (dist->shape * dist->shape / 2.0);
    case DK_DIST_PARETO:
      if (dist->shape <= 1.0)
        return INFINITY;
      return (double) dist->a_us * dist->shape / (dist->shape - 1.0);
    case DK_DIST_MIX:
      break;
    }
  g_return_val_if_reached (0);
}

double
dk_dist_mean_us (const DkDist *dist)
{
  if (dist->kind != DK_DIST_MIX)
    {
      DkDistPart part = as_part (dist);
      return mean_part (&part);
    }
  double mean = 0;
  for (guint i = 0; i < dist->n_parts; i++)
    mean += dist->weights[i] * mean_part (&dist->parts[i]);
  return mean;
}

static char *
part_to_string (const DkDistPart *dist)
{
  const DistForm *form = dist_form_for_kind (dist->kind);
  g_autofree char *first = dk_duration_to_string (dist->a_us);
  if (form->n_args == 1)
    return g_strdup_printf ("%s(%s)", form->name, first);
  g_autofree char *second = form->args[1] == ARG_DURATION
                              ? dk_duration_to_string (dist->b_us)
                              : dk_number_to_string (dist->shape);
  return g_strdup_printf ("%s(%s,%s)", form->name, first, second);
}

char *
dk_dist_to_string (const DkDist *dist)
{
  if (dist->kind != DK_DIST_MIX)
    {
      DkDistPart part = as_part (dist);
      return part_to_string (&part);
    }
  GString *text = g_string_new ("mix(");
  for (guint i = 0; i < dist->n_parts; i++)
    {
      g_autofree char *weight = dk_number_to_string (dist->weights[i]);
      g_autofree char *part = part_to_string (&dist->parts[i]);
      g_string_append_printf (text, "%s%s:%s", i > 0 ? ";" : "", weight, part);
    }
  g_string_append_c (text, ')');
  return g_string_free (text, FALSE);
}

static gboolean
part_equal (const DkDistPart *a, const DkDistPart *b)
{
  return a->kind == b->kind && a->a_us == b->a_us && a->b_us == b->b_us
         && a->shape == b->shape;
}

gboolean
dk_dist_equal (const DkDist *a, const DkDist *b)
{
  DkDistPart pa = as_part (a), pb = as_part (b);
  if (!part_equal (&pa, &pb) || a->n_parts != b->n_parts)
    return FALSE;
  for (guint i = 0; i < a->n_parts; i++)
    if (a->weights[i] != b->weights[i] || !part_equal (&a->parts[i], &b->parts[i]))
      return FALSE;
  return TRUE;
}

/* ---- key-popularity distributions ------------------------------------------ */

#define KEY_DIST_EXPECTED \
  "expected a key distribution (uniform, zipf(S) or hotspot(F,P)), got '%s': "

gboolean
dk_key_dist_spec_parse (const char *text, DkKeyDistSpec *out, GError **error)
{
  g_autofree char *name = NULL;
  g_auto (GStrv) args = NULL;
  const char *problem = NULL;
  if (!split_call (text, &name, &args, &problem))
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX, KEY_DIST_EXPECTED "%s", text, problem);
      return FALSE;
    }
  guint n_args = g_strv_length (args);
  double values[2] = { 0, 0 };
  for (guint i = 0; i < n_args && i < 2; i++)
    if (!dk_number_parse (args[i], &values[i]))
      {
        g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX,
                     KEY_DIST_EXPECTED "argument '%s' is not a number", text, args[i]);
        return FALSE;
      }

  DkKeyDistSpec spec = { 0 };
  if (strcmp (name, "uniform") == 0 && n_args == 0)
    spec.kind = DK_KEY_DIST_UNIFORM;
  else if (strcmp (name, "zipf") == 0 && n_args == 1)
    {
      spec.kind = DK_KEY_DIST_ZIPF;
      spec.zipf_exponent = values[0];
      if (!(spec.zipf_exponent > 0 && spec.zipf_exponent <= 100))
        problem = "the exponent S must be in (0, 100]";
    }
  else if (strcmp (name, "hotspot") == 0 && n_args == 2)
    {
      spec.kind = DK_KEY_DIST_HOTSPOT;
      spec.hot_fraction = values[0];
      spec.hot_probability = values[1];
      if (!(spec.hot_fraction > 0 && spec.hot_fraction <= 1))
        problem = "the hot fraction of keys F must be in (0, 1]";
      else if (!(spec.hot_probability >= 0 && spec.hot_probability <= 1))
        problem = "the fraction of operations P must be in [0, 1]";
    }
  else if (strcmp (name, "uniform") == 0 || strcmp (name, "zipf") == 0
           || strcmp (name, "hotspot") == 0)
    problem = "wrong number of arguments";
  else
    problem = "unknown key distribution";

  if (problem != NULL)
    {
      g_set_error (error, DK_DIST_ERROR, DK_DIST_ERROR_SYNTAX, KEY_DIST_EXPECTED "%s", text, problem);
      return FALSE;
    }
  *out = spec;
  return TRUE;
}

char *
dk_key_dist_spec_to_string (const DkKeyDistSpec *spec)
{
  switch (spec->kind)
    {
    case DK_KEY_DIST_UNIFORM:
      return g_strdup ("uniform");
    case DK_KEY_DIST_ZIPF:
      {
        g_autofree char *exponent = dk_number_to_string (spec->zipf_exponent);
        return g_strdup_printf ("zipf(%s)", exponent);
      }
    case DK_KEY_DIST_HOTSPOT:
      {
        g_autofree char *fraction = dk_number_to_string (spec->hot_fraction);
        g_autofree char *probability = dk_number_to_string (spec->hot_probability);
        return g_strdup_printf ("hotspot(%s,%s)", fraction, probability);
      }
    }
  g_return_val_if_reached (NULL);
}

gboolean
dk_key_dist_spec_equal (const DkKeyDistSpec *a, const DkKeyDistSpec *b)
{
  return a->kind == b->kind && a->zipf_exponent == b->zipf_exponent
         && a->hot_fraction == b->hot_fraction && a->hot_probability == b->hot_probability;
}

struct _DkKeyDist
{
  DkKeyDistSpec spec;
  guint32 keys;
  guint32 hot_keys;          /* hotspot: size of the hot set (keys 0..hot_keys-1) */
  double *cumulative;        /* zipf: P(index <= i); the last entry is exactly 1 */
};

guint32
dk_key_dist_hot_keys (double hot_fraction, guint32 keys)
{
  double hot = floor (hot_fraction * keys + 0.5);
  if (hot < 1)
    return 1;
  if (hot > keys)
    return keys;
  return (guint32) hot;
}

DkKeyDist *
dk_key_dist_new (const DkKeyDistSpec *spec, guint32 keys)
{
  g_return_val_if_fail (keys > 0, NULL);
  DkKeyDist *dist = g_new0 (DkKeyDist, 1);
  dist->spec = *spec;
  dist->keys = keys;
  if (spec->kind == DK_KEY_DIST_HOTSPOT)
    dist->hot_keys = dk_key_dist_hot_keys (spec->hot_fraction, keys);
  if (spec->kind == DK_KEY_DIST_ZIPF)
    {
      dist->cumulative = g_new (double, keys);
      double total = 0;
      for (guint32 i = 0; i < keys; i++)
        {
          total += pow ((double) i + 1.0, -spec->zipf_exponent);
          dist->cumulative[i] = total;
        }
      for (guint32 i = 0; i < keys; i++)
        dist->cumulative[i] /= total;
      dist->cumulative[keys - 1] = 1.0;
    }
  return dist;
}

void
dk_key_dist_free (DkKeyDist *dist)
{
  if (dist == NULL)
    return;
  g_free (dist->cumulative);
  g_free (dist);
}

guint32
dk_key_dist_sample (const DkKeyDist *dist, DkRng *rng)
{
  switch (dist->spec.kind)
    {
    case DK_KEY_DIST_UNIFORM:
      return (guint32) dk_rng_below (rng, dist->keys);
    case DK_KEY_DIST_ZIPF:
      {
        /* The smallest index whose cumulative probability exceeds U. */
        double u = dk_rng_double (rng);
        guint32 low = 0, high = dist->keys - 1;
        while (low < high)
          {
            guint32 middle = low + (high - low) / 2;
            if (dist->cumulative[middle] > u)
              high = middle;
            else
              low = middle + 1;
          }
        return low;
      }
    case DK_KEY_DIST_HOTSPOT:
      {
        if (dist->hot_keys >= dist->keys)
          return (guint32) dk_rng_below (rng, dist->keys);
        if (dk_rng_double (rng) < dist->spec.hot_probability)
          return (guint32) dk_rng_below (rng, dist->hot_keys);
        return dist->hot_keys + (guint32) dk_rng_below (rng, dist->keys - dist->hot_keys);
      }
    }
  g_return_val_if_reached (0);
}

double
dk_key_dist_probability (const DkKeyDist *dist, guint32 index)
{
  if (index >= dist->keys)
    return 0;
  switch (dist->spec.kind)
    {
    case DK_KEY_DIST_UNIFORM:
      return 1.0 / dist->keys;
    case DK_KEY_DIST_ZIPF:
      return dist->cumulative[index] - (index == 0 ? 0.0 : dist->cumulative[index - 1]);
    case DK_KEY_DIST_HOTSPOT:
      if (dist->hot_keys >= dist->keys)
        return 1.0 / dist->keys;
      if (index < dist->hot_keys)
        return dist->spec.hot_probability / dist->hot_keys;
      return (1.0 - dist->spec.hot_probability) / (dist->keys - dist->hot_keys);
    }
  g_return_val_if_reached (0);
}
