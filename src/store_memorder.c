/* store_memorder.c — the memory kv table's rows in primary-key order
 * (store_memkv.c): token (unsigned, the ring's order), then key bytes
 * (memcmp, a shorter key first on a common prefix), as SQLite orders
 * (token, key).
 *
 * A sorted array cut into chunks of at most CHUNK_ROWS rows, each holding
 * its rows' tokens side by side, and a top array of each chunk's last
 * token.  Finding where a scan starts is two binary searches over a few
 * contiguous cache lines (a tree of 300 rows took a dozen cold nodes, and
 * the simulator starts ~600,000 scans at 1,000 nodes); an insert or a
 * removal moves at most a chunk's entries, and a full chunk splits in
 * two.
 */
#include <string.h>
#include "store_private.h"

#define CHUNK_ROWS 32

typedef struct
{
  guint          n;
  guint64        tokens[CHUNK_ROWS];
  DkStoreMemRow *rows[CHUNK_ROWS];
} Chunk;

struct _DkStoreMemOrder
{
  Chunk  **chunks;
  guint64 *last_tokens;   /* the token of each chunk's last row */
  guint    n_chunks;
  guint    capacity;
};

int
dk_store_mem_compare_rows (const DkStoreMemRow *x, const DkStoreMemRow *y)
{
  if (x->token != y->token)
    return x->token < y->token ? -1 : 1;
  int order = memcmp (x->key_bytes, y->key_bytes, MIN (x->key_len, y->key_len));
  if (order != 0 || x->key_len == y->key_len)
    return order;
  return x->key_len < y->key_len ? -1 : 1;
}

DkStoreMemOrder *
dk_store_order_new (void)
{
  return g_new0 (DkStoreMemOrder, 1);
}

void
dk_store_order_free (DkStoreMemOrder *order)
{
  for (guint c = 0; c < order->n_chunks; c++)
    g_free (order->chunks[c]);
  g_free (order->chunks);
  g_free (order->last_tokens);
  g_free (order);
}

/* The first of the N ascending TOKENS that is TOKEN or more; N if none. */
static guint
first_at_least (const guint64 *tokens, guint n, DkToken token)
{
  guint lo = 0, hi = n;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (tokens[mid] < token)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* The first position whose token is TOKEN or more: chunk *C, row *I;
 * *C is n_chunks when there is none. */
static void
seek (const DkStoreMemOrder *order, DkToken token, guint *c, guint *i)
{
  *c = first_at_least (order->last_tokens, order->n_chunks, token);
  /* Chunk *C's last token is TOKEN or more: the row is in it. */
  *i = *c < order->n_chunks ? first_at_least (order->chunks[*c]->tokens, order->chunks[*c]->n,
                                              token) : 0;
}

/* Step to the next position; FALSE past the end. */
static gboolean
step (const DkStoreMemOrder *order, guint *c, guint *i)
{
  if (++*i < order->chunks[*c]->n)
    return TRUE;
  *i = 0;
  return ++*c < order->n_chunks;
}

/* Open a new empty chunk at index C of the top arrays. */
static Chunk *
chunk_open (DkStoreMemOrder *order, guint c)
{
  if (order->n_chunks == order->capacity)
    {
      order->capacity = MAX (4, 2 * order->capacity);
      order->chunks = g_renew (Chunk *, order->chunks, order->capacity);
      order->last_tokens = g_renew (guint64, order->last_tokens, order->capacity);
    }
  memmove (order->chunks + c + 1, order->chunks + c, (order->n_chunks - c) * sizeof (Chunk *));
  memmove (order->last_tokens + c + 1, order->last_tokens + c,
           (order->n_chunks - c) * sizeof (guint64));
  order->n_chunks++;
  order->chunks[c] = g_new0 (Chunk, 1);
  return order->chunks[c];
}

static void
chunk_close (DkStoreMemOrder *order, guint c)
{
  g_free (order->chunks[c]);
  order->n_chunks--;
  memmove (order->chunks + c, order->chunks + c + 1, (order->n_chunks - c) * sizeof (Chunk *));
  memmove (order->last_tokens + c, order->last_tokens + c + 1,
           (order->n_chunks - c) * sizeof (guint64));
}

/* Move the upper half of full chunk C into a new chunk after it. */
static void
split (DkStoreMemOrder *order, guint c)
{
  Chunk *upper = chunk_open (order, c + 1);
  Chunk *lower = order->chunks[c];
  guint keep = CHUNK_ROWS / 2;
  upper->n = lower->n - keep;
  memcpy (upper->tokens, lower->tokens + keep, upper->n * sizeof (guint64));
  memcpy (upper->rows, lower->rows + keep, upper->n * sizeof (DkStoreMemRow *));
  lower->n = keep;
  order->last_tokens[c] = lower->tokens[keep - 1];
  order->last_tokens[c + 1] = upper->tokens[upper->n - 1];
}

void
dk_store_order_insert (DkStoreMemOrder *order, DkStoreMemRow *row)
{
  guint c, i;
  seek (order, row->token, &c, &i);
  /* Past the rows of the same token (a collision) that sort before it. */
  gboolean more = c < order->n_chunks;
  while (more && order->chunks[c]->tokens[i] == row->token
         && dk_store_mem_compare_rows (order->chunks[c]->rows[i], row) < 0)
    more = step (order, &c, &i);
  if (!more)   /* after every row: at the end of the last chunk */
    {
      if (order->n_chunks == 0)
        chunk_open (order, 0);
      c = order->n_chunks - 1;
      i = order->chunks[c]->n;
    }
  if (order->chunks[c]->n == CHUNK_ROWS)
    {
      split (order, c);
      if (i > CHUNK_ROWS / 2)
        {
          c++;
          i -= CHUNK_ROWS / 2;
        }
    }
  Chunk *chunk = order->chunks[c];
  memmove (chunk->tokens + i + 1, chunk->tokens + i, (chunk->n - i) * sizeof (guint64));
  memmove (chunk->rows + i + 1, chunk->rows + i, (chunk->n - i) * sizeof (DkStoreMemRow *));
  chunk->tokens[i] = row->token;
  chunk->rows[i] = row;
  chunk->n++;
  order->last_tokens[c] = chunk->tokens[chunk->n - 1];
}

void
dk_store_order_remove (DkStoreMemOrder *order, DkStoreMemRow *row)
{
  guint c, i;
  seek (order, row->token, &c, &i);
  gboolean found = c < order->n_chunks;
  while (found && order->chunks[c]->rows[i] != row)
    found = step (order, &c, &i) && order->chunks[c]->tokens[i] == row->token;
  g_return_if_fail (found);
  Chunk *chunk = order->chunks[c];
  chunk->n--;
  memmove (chunk->tokens + i, chunk->tokens + i + 1, (chunk->n - i) * sizeof (guint64));
  memmove (chunk->rows + i, chunk->rows + i + 1, (chunk->n - i) * sizeof (DkStoreMemRow *));
  if (chunk->n == 0)
    chunk_close (order, c);
  else
    order->last_tokens[c] = chunk->tokens[chunk->n - 1];
}

gboolean
dk_store_order_scan (const DkStoreMemOrder *order, DkToken first, DkToken last,
                     DkStoreMemVisit visit, gpointer user_data)
{
  guint c, i;
  seek (order, first, &c, &i);
  for (gboolean more = c < order->n_chunks; more; more = step (order, &c, &i))
    {
      const Chunk *chunk = order->chunks[c];
      if (chunk->tokens[i] > last)
        return TRUE;
      if (!visit (chunk->rows[i], user_data))
        return FALSE;
    }
  return TRUE;
}
