/* check_wire.c — placeholder until the wire module's tests land. */
#include "suites.h"
Suite *
wire_suite (void)
{
  return suite_create ("wire");
}
