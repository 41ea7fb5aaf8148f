/* hash.h — dk_hash64, the one stable 64-bit hash of dynkv.
 *
 * Places keys and virtual nodes on the ring and names Merkle tree leaves,
 * so it must give the same answer on every platform, compiler and
 * optimisation level, forever: changing it moves every key.  The
 * algorithm ("dk_hash64 v1") reads the input as little-endian 64-bit
 * words; each word is mixed with the SplitMix64 finaliser and folded into
 * the state with a multiply and a rotation; the byte length seeds the
 * state and the result passes through the finaliser once more.  It is not
 * a cryptographic hash: authentication uses HMAC (GHmac), not this.
 * Pinned test vectors in tests/check_hash.c guard its stability.
 */
#ifndef DK_HASH_H
#define DK_HASH_H

#include <glib.h>

G_BEGIN_DECLS

/* Hash LEN bytes at DATA (DATA may be NULL when LEN is 0) with SEED. */
guint64 dk_hash64_seeded (const void *data, gsize len, guint64 seed);

/* dk_hash64_seeded with seed 0: the ring's key hash. */
guint64 dk_hash64 (const void *data, gsize len);

/* The same hash over input that arrives in pieces, without gathering it:
 * init with the total length the pieces will add up to (the length seeds
 * the state, so it must be known first) and the seed, update with each
 * piece in order, then finish.  The result equals dk_hash64_seeded over
 * the concatenation; updating past TOTAL_LEN, or finishing short of it,
 * is a programmer error.  The struct lives on the caller's stack. */
typedef struct
{
  guint64 state;
  guint64 pending;      /* bytes of an unfinished word, little-endian */
  guint   pending_len;  /* 0 .. 7 */
  gsize   remaining;    /* bytes still to come */
} DkHash64Stream;

void dk_hash64_stream_init (DkHash64Stream *stream, gsize total_len, guint64 seed);
void dk_hash64_stream_update (DkHash64Stream *stream, const void *data, gsize len);
guint64 dk_hash64_stream_finish (DkHash64Stream *stream);

/* The SplitMix64 finaliser: a bijective mix of one 64-bit word. */
guint64 dk_mix64 (guint64 x);

G_END_DECLS

#endif /* DK_HASH_H */
