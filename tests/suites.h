/* suites.h — every Check suite the runner in check_dynkv.c adds. */
#ifndef DK_TEST_SUITES_H
#define DK_TEST_SUITES_H

#include <check.h>

Suite *hash_suite (void);
Suite *vclock_suite (void);
Suite *version_suite (void);
Suite *ring_suite (void);
Suite *merkle_suite (void);
Suite *wire_suite (void);
Suite *store_suite (void);
Suite *rng_suite (void);
Suite *eventq_suite (void);
Suite *node_suite (void);
Suite *ring_cache_suite (void);
Suite *scenario_suite (void);
Suite *membership_suite (void);
Suite *detector_suite (void);
Suite *nemesis_suite (void);
Suite *checkers_suite (void);
Suite *injected_bugs_suite (void);
Suite *coordinator_versions_suite (void);
Suite *net_suite (void);
Suite *requests_once_suite (void);
Suite *wedge_suite (void);

/* Property tests run this many random cases per property; smaller under
 * valgrind (DK_TEST_SCALE=valgrind) so the suite stays quick there too. */
int dk_test_iterations (int normal);

#endif
