/* member_table.h — what never changes about a member, shared by the nodes.
 *
 * Every node keeps a view of every member (node_gossip.c).  The view's
 * immutable part — id, name, address, datacenter, rack, weight — is the
 * same at every node, so it lives once in a table the nodes of one process
 * share (the simulator passes one to all its nodes through DkNodeConfig; a
 * node given none makes its own) and a node's view names it by a 32-bit
 * index: a cluster of N nodes holds about N infos, not N squared copies
 * of four strings.  An info is never changed nor freed before its table:
 * a member whose address changes gets a new one (a table holds one per
 * (id, address) it was given, which the node ids and their addresses
 * bound).  Single-threaded, like the nodes that use it.
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

/* The index of the info with exactly these fields (NULL strings read as
 * ""): the newest one TABLE holds for ID when it matches, else a new one,
 * which becomes the newest for ID. */
guint32 dk_member_table_intern (DkMemberTable *table, DkNodeId id, const char *name,
                                const char *address, const char *datacenter, const char *rack,
                                guint32 vnodes);
/* The info at INDEX (from dk_member_table_intern); valid as long as TABLE. */
const DkMemberInfo *dk_member_table_info (const DkMemberTable *table, guint32 index);

/* Infos TABLE holds. */
guint dk_member_table_size (const DkMemberTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DkMemberTable, dk_member_table_unref)

G_END_DECLS

#endif
