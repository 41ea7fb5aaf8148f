/* check_ring.c — placeholder until the ring module's tests land. */
#include "suites.h"
Suite *
ring_suite (void)
{
  return suite_create ("ring");
}
