/* check_store.c — placeholder until the store module's tests land. */
#include "suites.h"
Suite *
store_suite (void)
{
  return suite_create ("store");
}
