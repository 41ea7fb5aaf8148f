/* member_table.h — what never changes about a member, shared by the nodes.
 *
 * Every node keeps a view of every member (node_gossip.c).  The view's
 * immutable part — id, name, address, datacenter, rack, weight — is the
 * same at every node, so it lives once in a table the nodes of one process
 * share (the simulator passes one to all its nodes through DkNodeConfig; a
 * node given none makes its own): a cluster of N nodes holds N of these,
 * not N squared.  An info is never changed; a member whose address
 * changes gets a new one, and the old one lives on while some node still
 * holds it.  Single-threaded, like the nodes that use it.
 */
#ifndef DK_MEMBER_TABLE_H
#define DK_MEMBER_TABLE_H

#include <glib.h>
#include "types.h"

G_BEGIN_DECLS

typedef struct
{
  DkNodeId    id;
  guint32     vnodes;       /* weight: its number of virtual nodes (>= 1) */
  const char *name;         /* never NULL; "" when unknown */
  const char *address;
  const char *datacenter;
  const char *rack;
} DkMemberInfo;

typedef struct _DkMemberTable DkMemberTable;

DkMemberTable *dk_member_table_new (void);
DkMemberTable *dk_member_table_ref (DkMemberTable *table);
void dk_member_table_unref (DkMemberTable *table);

/* A reference to the info with exactly these fields (NULL strings read as
 * ""): the one already in TABLE when it matches, else a new one, which
 * becomes TABLE's info for ID.  Release it with dk_member_info_release. */
const DkMemberInfo *dk_member_table_intern (DkMemberTable *table, DkNodeId id, const char *name,
                                            const char *address, const char *datacenter,
                                            const char *rack, guint32 vnodes);
void dk_member_info_release (const DkMemberInfo *info);

/* Infos TABLE holds (one per id it has seen). */
guint dk_member_table_size (const DkMemberTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkMemberTable, dk_member_table_unref)

G_END_DECLS

#endif
