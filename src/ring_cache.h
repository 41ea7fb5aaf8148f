/* ring_cache.h — rings shared by everyone who agrees on the membership.
 *
 * A ring of random tokens is a pure function of its members (and the
 * tokens per unit of weight), so every node with the same view of the
 * membership would build the same ring.  In the simulator thousands of
 * nodes live in one process: the cache lets them share one ring per
 * distinct membership instead of holding a copy each.  Rings are handed
 * out reference-counted and freed with their last holder.  Pure data:
 * GLib only, no global state — whoever hosts the nodes owns the cache and
 * passes it in their environment (DkEnv.rings).
 */
#ifndef DK_RING_CACHE_H
#define DK_RING_CACHE_H

#include <glib.h>
#include "ring.h"

G_BEGIN_DECLS

typedef struct _DkRingCache DkRingCache;

/* A cache of random-token rings with TOKENS_PER_WEIGHT tokens per unit of
 * weight.  Free it only after every acquired ring was released. */
DkRingCache *dk_ring_cache_new (guint tokens_per_weight);
void dk_ring_cache_free (DkRingCache *cache);

guint dk_ring_cache_tokens_per_weight (const DkRingCache *cache);

/* The ring of exactly the N_MEMBERS MEMBERS (in any order), built on
 * first use; release it with dk_ring_cache_release.  NULL with the ring's
 * error when the members are invalid (duplicate ids or names, ...). */
const DkRing *dk_ring_cache_acquire (DkRingCache *cache, const DkRingNode *members,
                                     guint n_members, GError **error);

/* Take one more reference on RING (acquired from CACHE). */
const DkRing *dk_ring_cache_ref (DkRingCache *cache, const DkRing *ring);

/* Drop one reference; the ring is freed with its last. */
void dk_ring_cache_release (DkRingCache *cache, const DkRing *ring);

/* Distinct rings alive. */
guint dk_ring_cache_size (const DkRingCache *cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkRingCache, dk_ring_cache_free)

G_END_DECLS

#endif
