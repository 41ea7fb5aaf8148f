/* check_scenario.c — placeholder until the scenario module's tests land. */
#include "suites.h"
Suite *
scenario_suite (void)
{
  return suite_create ("scenario");
}
