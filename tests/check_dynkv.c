/* check_dynkv.c — the one unit-test runner: adds every module's suite.
 *
 * Run one suite with CK_RUN_SUITE=ring, one test case with CK_RUN_CASE=...
 * (Check's own variables); CK_FORK=no runs in-process, as valgrind wants. */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "suites.h"

int
dk_test_iterations (int normal)
{
  const char *scale = getenv ("DK_TEST_SCALE");
  if (scale != NULL && strcmp (scale, "valgrind") == 0)
    return normal / 20 > 2 ? normal / 20 : 2;
  return normal;
}

int
main (void)
{
  /* Test cases that set no limit of their own get the hang guard, not
   * Check's 4 s: a loaded machine must not fail a correct test (suites.h).
   * The caller may still set CK_DEFAULT_TIMEOUT or CK_TIMEOUT_MULTIPLIER. */
  setenv ("CK_DEFAULT_TIMEOUT", G_STRINGIFY (DK_TEST_HANG_GUARD_S), 0);
  SRunner *runner = srunner_create (hash_suite ());
  srunner_add_suite (runner, vclock_suite ());
  srunner_add_suite (runner, version_suite ());
  srunner_add_suite (runner, ring_suite ());
  srunner_add_suite (runner, merkle_suite ());
  srunner_add_suite (runner, wire_suite ());
  srunner_add_suite (runner, store_suite ());
  srunner_add_suite (runner, rng_suite ());
  srunner_add_suite (runner, eventq_suite ());
  srunner_add_suite (runner, node_suite ());
  srunner_add_suite (runner, ring_cache_suite ());
  srunner_add_suite (runner, scenario_suite ());
  srunner_add_suite (runner, membership_suite ());
  srunner_add_suite (runner, detector_suite ());
  srunner_add_suite (runner, nemesis_suite ());
  srunner_add_suite (runner, checkers_suite ());
  srunner_add_suite (runner, injected_bugs_suite ());
  srunner_add_suite (runner, coordinator_versions_suite ());
  srunner_add_suite (runner, net_suite ());
  srunner_add_suite (runner, requests_once_suite ());
  srunner_add_suite (runner, wedge_suite ());
  srunner_add_suite (runner, report_suite ());
  srunner_add_suite (runner, failover_suite ());
  srunner_add_suite (runner, handoff_suite ());
  srunner_add_suite (runner, pbs_suite ());
  srunner_add_suite (runner, daemon_config_suite ());
  srunner_add_suite (runner, net_faults_suite ());

  srunner_run_all (runner, CK_ENV);
  int failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
