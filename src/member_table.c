/* member_table.c — immutable member data shared by the nodes; see member_table.h. */
#include <string.h>
#include "member_table.h"

struct _DkMemberTable
{
  gint        refs;
  GPtrArray  *infos;    /* DkMemberInfo*, each one block with its strings; owned */
  GHashTable *newest;   /* id -> index + 1 of the newest info for it */
};

DkMemberTable *
dk_member_table_new (void)
{
  DkMemberTable *table = g_new0 (DkMemberTable, 1);
  table->refs = 1;
  table->infos = g_ptr_array_new_with_free_func (g_free);
  table->newest = g_hash_table_new (g_direct_hash, g_direct_equal);
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
  g_hash_table_unref (table->newest);
  g_ptr_array_unref (table->infos);
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
  DkMemberInfo *info = g_malloc0 (sizeof (DkMemberInfo) + total);
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

guint32
dk_member_table_intern (DkMemberTable *table, DkNodeId id, const char *name, const char *address,
                        const char *datacenter, const char *rack, guint32 vnodes)
{
  name = name != NULL ? name : "";
  address = address != NULL ? address : "";
  datacenter = datacenter != NULL ? datacenter : "";
  rack = rack != NULL ? rack : "";
  guint index_plus_one = GPOINTER_TO_UINT (g_hash_table_lookup (table->newest, GUINT_TO_POINTER (id)));
  if (index_plus_one > 0
      && info_matches (table->infos->pdata[index_plus_one - 1], name, address, datacenter, rack,
                       vnodes))
    return index_plus_one - 1;
  g_ptr_array_add (table->infos, info_new (id, name, address, datacenter, rack, vnodes));
  g_hash_table_replace (table->newest, GUINT_TO_POINTER (id), GUINT_TO_POINTER (table->infos->len));
  return table->infos->len - 1;
}

const DkMemberInfo *
dk_member_table_info (const DkMemberTable *table, guint32 index)
{
  g_return_val_if_fail (index < table->infos->len, NULL);
  return table->infos->pdata[index];
}

guint
dk_member_table_size (const DkMemberTable *table)
{
  return table->infos->len;
}
