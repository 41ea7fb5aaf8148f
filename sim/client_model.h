/* client_model.h — what the simulator's clients (workload.c) and
 * dynkv-cluster's clients over UDP (net_clients.c) do alike, so the two
 * transports run one client model: which node coordinates a request, the
 * request itself, the pages of a large get's set, and how a reply
 * completes its operation in the history.  Each caller keeps its own
 * transport (an event queue or sockets), clock and pending table. */
#ifndef DK_CLIENT_MODEL_H
#define DK_CLIENT_MODEL_H

#include <glib.h>
#include "history.h"
#include "ring.h"
#include "rng.h"
#include "wire.h"
#include "workload.h"

G_BEGIN_DECLS

/* A read whose set keeps changing between its pages gives up after this
 * many fresh starts. */
#define DK_CLIENT_MAX_PAGE_RESTARTS 4

/* The name of the workload's key KEY_INDEX: "k" and the index in decimal
 * ("k0", "k17", ...), NUL-terminated in NAME; returns its length.  Every
 * operation names its key, so this does without printf. */
#define DK_CLIENT_KEY_NAME_SIZE 12
gsize dk_client_key_name (guint32 key_index, char name[DK_CLIENT_KEY_NAME_SIZE]);

/* Where a client stands when it chooses a coordinator. */
typedef struct
{
  const DkWorkloadConfig *config;   /* coordinator (not PROXY), replicas, extended_list */
  const DkRing           *ring;     /* the members' ring now */
  guint                   nodes;    /* node ids 1..nodes ("any" draws among them) */
  DkNodeId                home;     /* the node the client sits beside */
  gboolean (*reachable) (DkNodeId home, DkNodeId node, gpointer user_data);
  gpointer                user_data;
} DkClientChoice;

/* The node a client sends KEY's request to, or DK_NODE_NONE when it
 * reaches none that qualifies (workload.h: coordinator=preference,
 * replica/first, any); draws from RNG. */
DkNodeId dk_client_choose_coordinator (const DkClientChoice *choice, const char *key,
                                       DkRng *rng);

/* The request of operation OP (its history id, also its client request
 * id) of KIND by CLIENT on KEY: a put carries VALUE_BYTES of
 * VALUE_TEMPLATE starting with OP's tag; a put or delete carries CONTEXT
 * (may be NULL), recorded in HISTORY with the get READ_OP that gave it. */
DkWireMessage *dk_client_request_new (DkHistory *history, guint64 op, DkOpKind kind,
                                      guint client, const char *key, const DkVclock *context,
                                      guint64 read_op, GBytes *value_template, gsize value_bytes);

/* One arrival's operation, drawn from RNG: its client, its key's index
 * (from KEY_DIST) and its kind, from CONFIG's read and delete fractions. */
void dk_client_draw_operation (const DkWorkloadConfig *config, DkKeyDist *key_dist, DkRng *rng,
                               guint *client, guint32 *key_index, DkOpKind *kind);

/* The request for page *PAGE + 1 of operation OP's get by CLIENT of key
 * KEY_INDEX, from sibling OFFSET on: a request of its own, whose id
 * (OP | page << DK_WORKLOAD_PAGE_SHIFT) goes to *REQUEST_ID. */
DkWireMessage *dk_client_page_request_new (guint64 op, guint *page, guint client,
                                           guint32 key_index, guint offset,
                                           guint64 *request_id);

/* A paged get's set so far. */
typedef struct
{
  GPtrArray *gathered;    /* the set's siblings so far, in order; NULL before the first */
  guint64    set_digest;  /* ... of the set they belong to */
  guint      restarts;
} DkClientPages;

typedef enum
{
  DK_CLIENT_PAGES_DONE,     /* the whole set is in gathered */
  DK_CLIENT_PAGES_NEXT,     /* ask for the page from gathered->len */
  DK_CLIENT_PAGES_RESTART,  /* another set than the pages so far: ask again from 0 */
  DK_CLIENT_PAGES_GAVE_UP   /* it kept changing: the read fails */
} DkClientPagesStep;

/* REPLY carries part of a get's set: keep its siblings; what to do next. */
DkClientPagesStep dk_client_pages_add (DkClientPages *pages, const DkWireClientReply *reply);
void dk_client_pages_clear (DkClientPages *pages);

/* Complete operation OP_ID in HISTORY at NOW from REPLY (SIBLINGS: the
 * whole set of a paged get, else the reply's): a successful write gets
 * COMMIT_US (when its acknowledgement left the coordinator); a failure is
 * tallied by the status's name. */
void dk_client_complete (DkHistory *history, guint64 op_id, gint64 now,
                         const DkWireClientReply *reply, const GPtrArray *siblings,
                         gint64 commit_us);

G_END_DECLS

#endif /* DK_CLIENT_MODEL_H */
