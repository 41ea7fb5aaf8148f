/* member_table.c — immutable member data shared by the nodes; see member_table.h. */
#include <string.h>
#include "member_table.h"

struct _DkMemberTable
{
  gint        refs;
  GHashTable *latest;   /* id -> DkMemberInfo* (a reference), the newest for each id */
};

DkMemberTable *
dk_member_table_new (void)
{
  DkMemberTable *table = g_new0 (DkMemberTable, 1);
  table->refs = 1;
  table->latest = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                         (GDestroyNotify) dk_member_info_release);
  return table;
}

DkMemberTable *
dk_member_table_ref (DkMemberTable *table)
{
  table->refs++;
  return table;
}

void
dk_member_table_unref (DkMemberTable *table)
{
  if (table == NULL || --table->refs > 0)
    return;
  g_hash_table_unref (table->latest);
  g_free (table);
}

static gboolean
info_matches (const DkMemberInfo *info, const char *name, const char *address,
              const char *datacenter, const char *rack, guint32 vnodes)
{
  return info->vnodes == vnodes && strcmp (info->name, name) == 0
         && strcmp (info->address, address) == 0 && strcmp (info->datacenter, datacenter) == 0
         && strcmp (info->rack, rack) == 0;
}

/* One block: the info, then its four strings. */
static DkMemberInfo *
info_new (DkNodeId id, const char *name, const char *address, const char *datacenter,
          const char *rack, guint32 vnodes)
{
  const char *texts[] = { name, address, datacenter, rack };
  gsize lengths[G_N_ELEMENTS (texts)], total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    total += lengths[i] = strlen (texts[i]) + 1;
  DkMemberInfo *info = g_rc_box_alloc0 (sizeof (DkMemberInfo) + total);
  char *cursor = (char *) (info + 1);
  const char **fields[] = { &info->name, &info->address, &info->datacenter, &info->rack };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      memcpy (cursor, texts[i], lengths[i]);
      *fields[i] = cursor;
      cursor += lengths[i];
    }
  info->id = id;
  info->vnodes = vnodes;
  return info;
}

const DkMemberInfo *
dk_member_table_intern (DkMemberTable *table, DkNodeId id, const char *name, const char *address,
                        const char *datacenter, const char *rack, guint32 vnodes)
{
  name = name != NULL ? name : "";
  address = address != NULL ? address : "";
  datacenter = datacenter != NULL ? datacenter : "";
  rack = rack != NULL ? rack : "";
  DkMemberInfo *info = g_hash_table_lookup (table->latest, GUINT_TO_POINTER (id));
  if (info == NULL || !info_matches (info, name, address, datacenter, rack, vnodes))
    {
      info = info_new (id, name, address, datacenter, rack, vnodes);
      g_hash_table_replace (table->latest, GUINT_TO_POINTER (id), info);
    }
  return g_rc_box_acquire (info);
}

void
dk_member_info_release (const DkMemberInfo *info)
{
  if (info != NULL)
    g_rc_box_release ((gpointer) info);
}

guint
dk_member_table_size (const DkMemberTable *table)
{
  return g_hash_table_size (table->latest);
}
