/* suites.h — every Check suite the runner in check_dynkv.c adds. */
#ifndef DK_TEST_SUITES_H
#define DK_TEST_SUITES_H

#include <check.h>

/* Every test is bounded by its own work (virtual time, iteration counts,
 * per-test budgets for real sockets), so a wall-clock limit is only a guard
 * against a hang: far above any run on a loaded machine or under valgrind,
 * never a judgement on speed. */
#define DK_TEST_HANG_GUARD_S 1800
#define dk_tcase_no_wall_limit(tc) tcase_set_timeout ((tc), DK_TEST_HANG_GUARD_S)

Suite *hash_suite (void);
Suite *vclock_suite (void);
Suite *version_suite (void);
Suite *ring_suite (void);
Suite *merkle_suite (void);
Suite *wire_suite (void);
Suite *store_suite (void);
Suite *store_memkv_suite (void);
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
Suite *report_suite (void);
Suite *failover_suite (void);
Suite *handoff_suite (void);
Suite *pbs_suite (void);
Suite *daemon_config_suite (void);
Suite *net_faults_suite (void);

/* Property tests run this many random cases per property; smaller under
 * valgrind (DK_TEST_SCALE=valgrind) so the suite stays quick there too. */
int dk_test_iterations (int normal);

#endif
