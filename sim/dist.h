/* dist.h — durations, delay distributions and key-popularity distributions
 * for the simulator.
 *
 * Three small pieces of the scenario language's vocabulary live here
 * because the network and the workload sample from them at run time:
 *
 * - A duration is written as a number (integer or decimal) and a unit:
 *   `250us`, `1ms`, `1.5s`, `2m` (minutes).  It is held as gint64
 *   microseconds; a written value finer than one microsecond (`0.5us`) is
 *   an error, never a silent rounding.
 *
 * - DkDist is a message-delay distribution, plain data that can be copied
 *   by value.  The forms, every duration argument taking a unit:
 *     const(X)              always X
 *     uniform(A,B)          an integer number of microseconds, uniform on [A,B]
 *     exp(MEAN)             exponential with mean MEAN
 *     normal(MU,SIGMA)      Gaussian; negative draws become 0
 *     lognormal(MEDIAN,S)   exp(N(ln MEDIAN, S^2)): MEDIAN is a duration (the
 *                           median delay), S is the unitless spread in log
 *                           space (0.5 is moderate, 1.5 is very heavy); the
 *                           mean is MEDIAN * exp(S^2 / 2)
 *     pareto(SCALE,SHAPE)   Pareto with minimum SCALE (a duration) and tail
 *                           index SHAPE (unitless, > 0); the mean is finite
 *                           only for SHAPE > 1, the variance for SHAPE > 2
 *     mix(P:DIST;P:DIST...) a mixture of up to DK_DIST_MIX_MAX of the forms
 *                           above: each draw picks DIST with probability P
 *                           (the P are positive and sum to 1), as in the
 *                           PBS paper's production fits, e.g.
 *                           mix(0.9122:pareto(235us,10);0.0878:exp(602us))
 *   A sample is a whole number of microseconds in [0, DK_DIST_MAX_US]:
 *   draws are rounded to the nearest microsecond and clamped, so a heavy
 *   tail cannot overflow the simulator's clock.
 *
 * - DkKeyDistSpec says which keys a workload touches, out of K keys indexed
 *   0..K-1:
 *     uniform               every key equally often
 *     zipf(S)               key i is chosen with probability proportional
 *                           to 1/(i+1)^S, S > 0 (key 0 is the most popular;
 *                           S may be below or above 1)
 *     hotspot(F,P)          the first max(1, round(F*K)) keys (the hot
 *                           set, F in (0,1]) receive a fraction P of the
 *                           operations (P in [0,1]), uniformly among them;
 *                           the other keys share the rest uniformly
 *   DkKeyDist is the sampler built from a spec for one K; for zipf it
 *   precomputes the cumulative distribution (8 bytes per key) and samples
 *   by binary search.
 *
 * Every sampler draws only from the DkRng it is given, so a run stays a
 * pure function of its seed.  Parsers report errors in DK_DIST_ERROR with
 * messages that say what was expected and quote what was found; they do
 * not know file names or lines, which the scenario parser prefixes.
 */
#ifndef DK_DIST_H
#define DK_DIST_H

#include <glib.h>
#include "rng.h"

G_BEGIN_DECLS

#define DK_DIST_ERROR (dk_dist_error_quark ())
GQuark dk_dist_error_quark (void);

typedef enum
{
  DK_DIST_ERROR_SYNTAX,  /* the text is not of the expected form */
  DK_DIST_ERROR_RANGE    /* well formed, but a value is out of range */
} DkDistError;

/* Microseconds in one of each duration unit. */
#define DK_US_PER_MS G_GINT64_CONSTANT (1000)
#define DK_US_PER_S  G_GINT64_CONSTANT (1000000)
#define DK_US_PER_M  G_GINT64_CONSTANT (60000000)

/* No sampled delay exceeds one hour: see the file comment. */
#define DK_DIST_MAX_US (G_GINT64_CONSTANT (3600) * DK_US_PER_S)

/* The longest duration a script may write: 100 days. */
#define DK_DURATION_MAX_US (G_GINT64_CONSTANT (8640000) * DK_US_PER_S)

/* ---- numbers and durations ---------------------------------------------- */

/* When TEXT is a plain finite decimal number ("0.5", "2000", "1e-3"; no
 * sign other than in the exponent, no hex, inf or nan, nothing trailing),
 * store it in *OUT and return TRUE. */
gboolean dk_number_parse (const char *text, double *out);

/* The shortest text ("%.15g", else "%.17g") that dk_number_parse or
 * g_ascii_strtod reads back as exactly VALUE.  Free with g_free. */
char *dk_number_to_string (double value);


/* When TEXT is a duration (a non-negative number and a unit, nothing
 * else), store it in *OUT_US and return NULL; otherwise return a static
 * string saying what is wrong ("missing unit (us, ms, s or m)"), for
 * callers that word the rest of the message themselves. */
const char *dk_duration_problem (const char *text, gint64 *out_us);

/* Parse TEXT as a duration into *OUT_US; on failure set ERROR to
 * "expected a duration such as 10ms or 1.5s, got 'TEXT': <problem>". */
gboolean dk_duration_parse (const char *text, gint64 *out_us, GError **error);

/* The shortest exact text for DURATION_US (>= 0) in the largest unit that
 * divides it (s, ms or us): 90000000 -> "90s", 1500 -> "1500us".
 * dk_duration_parse reads it back unchanged.  Free with g_free. */
char *dk_duration_to_string (gint64 duration_us);

/* ---- delay distributions ------------------------------------------------- */

typedef enum
{
  DK_DIST_CONST,
  DK_DIST_UNIFORM,
  DK_DIST_EXP,
  DK_DIST_NORMAL,
  DK_DIST_LOGNORMAL,
  DK_DIST_PARETO,
  DK_DIST_MIX
} DkDistKind;

/* The most components one mixture may have. */
#define DK_DIST_MIX_MAX 8

/* One of the simple forms (not a mixture). */
typedef struct
{
  DkDistKind kind;
  gint64 a_us;   /* const: the value; uniform: low end; exp: mean;
                    normal: mu; lognormal: median; pareto: scale (minimum) */
  gint64 b_us;   /* uniform: high end; normal: sigma; otherwise 0 */
  double shape;  /* lognormal: sigma in log space; pareto: shape; otherwise 0 */
} DkDistPart;

typedef struct
{
  DkDistKind kind;
  gint64 a_us;   /* a simple form's fields, as in DkDistPart; 0 for mix */
  gint64 b_us;
  double shape;
  guint n_parts;                       /* mix: its components, else 0 */
  double weights[DK_DIST_MIX_MAX];     /* mix: the probability of each */
  DkDistPart parts[DK_DIST_MIX_MAX];
} DkDist;

/* A distribution that may be left unset, falling back to another (a
 * message leg's delay, which defaults to the network latency). */
typedef struct
{
  gboolean set;
  DkDist   dist;
} DkDistOverride;

/* The kinds of message the PBS paper's WARS model times apart, plus the
 * client's own legs (request and reply). */
typedef enum
{
  DK_LEG_WRITE,     /* W: a coordinator's WRITE to a replica */
  DK_LEG_ACK,       /* A: a replica's WRITE_ACK */
  DK_LEG_READ,      /* R: a coordinator's READ to a replica */
  DK_LEG_RESPONSE,  /* S: a replica's READ_REPLY */
  DK_LEG_CLIENT,    /* a client's request, and the answer to it */
  DK_LEG_COUNT
} DkLeg;

/* Parse TEXT ("exp(1ms)", spaces allowed inside the parentheses) into
 * *OUT.  On failure set ERROR to "expected a distribution such as exp(1ms),
 * got 'TEXT': <what is wrong>" and leave *OUT unchanged. */
gboolean dk_dist_parse (const char *text, DkDist *out, GError **error);

/* A delay drawn from DIST: whole microseconds in [0, DK_DIST_MAX_US].
 * Consumes a varying number of draws from RNG (normal and lognormal use a
 * rejection method), deterministically for a given RNG state. */
gint64 dk_dist_sample_us (const DkDist *dist, DkRng *rng);

/* The theoretical mean of DIST in microseconds, ignoring the clamping to
 * [0, DK_DIST_MAX_US] (negligible unless normal's MU < 3 SIGMA or the tail
 * is extreme); INFINITY for pareto with SHAPE <= 1. */
double dk_dist_mean_us (const DkDist *dist);

/* Canonical text for DIST, e.g. "uniform(1ms,5ms)", which dk_dist_parse
 * reads back to an equal DkDist.  Free with g_free. */
char *dk_dist_to_string (const DkDist *dist);

gboolean dk_dist_equal (const DkDist *a, const DkDist *b);

/* ---- key-popularity distributions --------------------------------------- */

typedef enum
{
  DK_KEY_DIST_UNIFORM,
  DK_KEY_DIST_ZIPF,
  DK_KEY_DIST_HOTSPOT
} DkKeyDistKind;

typedef struct
{
  DkKeyDistKind kind;
  double zipf_exponent;    /* zipf: S > 0 */
  double hot_fraction;     /* hotspot: F, fraction of keys that are hot, (0,1] */
  double hot_probability;  /* hotspot: P, fraction of operations on them, [0,1] */
} DkKeyDistSpec;

/* Parse TEXT ("uniform", "zipf(0.99)", "hotspot(0.1,0.9)") into *OUT; on
 * failure set ERROR naming the forms expected and what was found. */
gboolean dk_key_dist_spec_parse (const char *text, DkKeyDistSpec *out, GError **error);

/* Canonical text for SPEC that dk_key_dist_spec_parse reads back.
 * Free with g_free. */
char *dk_key_dist_spec_to_string (const DkKeyDistSpec *spec);

gboolean dk_key_dist_spec_equal (const DkKeyDistSpec *a, const DkKeyDistSpec *b);

typedef struct _DkKeyDist DkKeyDist;

/* A sampler of key indices in [0, KEYS) following SPEC; KEYS must be > 0.
 * Free with dk_key_dist_free. */
DkKeyDist *dk_key_dist_new (const DkKeyDistSpec *spec, guint32 keys);
void dk_key_dist_free (DkKeyDist *dist);

/* A key index in [0, KEYS) drawn with RNG. */
guint32 dk_key_dist_sample (const DkKeyDist *dist, DkRng *rng);

/* The exact probability that dk_key_dist_sample returns INDEX (for tests
 * and reports); 0 for an index out of range. */
double dk_key_dist_probability (const DkKeyDist *dist, guint32 index);

/* How many keys are hot under hotspot(F,P) out of KEYS: max(1, round(F*KEYS)),
 * at most KEYS. */
guint32 dk_key_dist_hot_keys (double hot_fraction, guint32 keys);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkKeyDist, dk_key_dist_free)

G_END_DECLS

#endif /* DK_DIST_H */
