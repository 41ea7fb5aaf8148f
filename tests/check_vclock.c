/* check_vclock.c — placeholder until the vclock module's tests land. */
#include "suites.h"
Suite *
vclock_suite (void)
{
  return suite_create ("vclock");
}
