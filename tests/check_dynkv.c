/* check_dynkv.c — the one unit-test runner: adds every module's suite.
 *
 * Run one suite with CK_RUN_SUITE=ring, one test case with CK_RUN_CASE=...
 * (Check's own variables); CK_FORK=no runs in-process, as valgrind wants.
 *
 * The suites run on DK_TEST_JOBS worker processes (default: one per
 * online CPU, at most 4).  Each worker takes the next suite from a pipe,
 * heaviest first, so the workers finish close together; DK_TEST_JOBS=1
 * runs them all in this process, one after another. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include "suites.h"

typedef Suite *(*SuiteFactory) (void);

/* Heaviest first (measured with CK_XML_LOG_FILE_NAME's durations). */
static const SuiteFactory suites[] = {
  pbs_suite, store_suite, store_memkv_suite, merkle_suite, ring_suite, membership_suite,
  wire_suite, version_suite, rng_suite, detector_suite, injected_bugs_suite,
  wedge_suite, checkers_suite, report_suite, vclock_suite, handoff_suite,
  requests_once_suite, net_suite, scenario_suite, node_suite, nemesis_suite,
  eventq_suite, failover_suite, daemon_config_suite, hash_suite,
  coordinator_versions_suite, ring_cache_suite, net_faults_suite,
};
enum { N_SUITES = G_N_ELEMENTS (suites), MAX_JOBS = 4 };

int
dk_test_iterations (int normal)
{
  const char *scale = getenv ("DK_TEST_SCALE");
  if (scale != NULL && strcmp (scale, "valgrind") == 0)
    return normal / 20 > 2 ? normal / 20 : 2;
  return normal;
}

static int
test_jobs (void)
{
  const char *env = getenv ("DK_TEST_JOBS");
  long jobs = env != NULL ? strtol (env, NULL, 10) : sysconf (_SC_NPROCESSORS_ONLN);
  return (int) CLAMP (jobs, 1, MAX_JOBS);
}

/* Runs one suite; returns its number of failed checks. */
static int
run_suite (SuiteFactory factory)
{
  SRunner *runner = srunner_create (factory ());
  srunner_run_all (runner, CK_ENV);
  int failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  fflush (stdout);
  return failed;
}

/* A worker: suite numbers come one byte at a time (a one-byte read of a
 * pipe is atomic), until the pipe is empty and closed. */
static G_NORETURN void
worker (int queue)
{
  int failed = 0;
  unsigned char index;
  ssize_t got;
  while ((got = read (queue, &index, 1)) == 1 || (got < 0 && errno == EINTR))
    if (got == 1 && index < N_SUITES)
      failed += run_suite (suites[index]);
  exit (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);  /* exit, not _exit: LeakSanitizer checks at exit */
}

static int
run_in_workers (int jobs)
{
  int queue[2];
  if (pipe (queue) != 0)
    {
      perror ("check_dynkv: pipe");
      return EXIT_FAILURE;
    }
  for (unsigned char i = 0; i < N_SUITES; i++)
    if (write (queue[1], &i, 1) != 1)
      {
        perror ("check_dynkv: queueing suites");
        return EXIT_FAILURE;
      }
  close (queue[1]);
  fflush (stdout);
  fflush (stderr);

  int started = 0;
  for (int j = 0; j < jobs; j++)
    {
      pid_t pid = fork ();
      if (pid == 0)
        worker (queue[0]);
      if (pid < 0)
        perror ("check_dynkv: fork");
      else
        started++;
    }
  close (queue[0]);

  int result = started > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  int status;
  while (started > 0)
    {
      if (wait (&status) < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("check_dynkv: wait");
          return EXIT_FAILURE;
        }
      started--;
      if (!WIFEXITED (status) || WEXITSTATUS (status) != EXIT_SUCCESS)
        {
          if (WIFSIGNALED (status))
            fprintf (stderr, "check_dynkv: a worker died of signal %d\n",
                     WTERMSIG (status));
          result = EXIT_FAILURE;
        }
    }
  return result;
}

int
main (void)
{
  /* Test cases that set no limit of their own get the hang guard, not
   * Check's 4 s: a loaded machine must not fail a correct test (suites.h).
   * The caller may still set CK_DEFAULT_TIMEOUT or CK_TIMEOUT_MULTIPLIER. */
  setenv ("CK_DEFAULT_TIMEOUT", G_STRINGIFY (DK_TEST_HANG_GUARD_S), 0);
  int jobs = test_jobs ();
  if (jobs > 1)
    return run_in_workers (jobs);

  int failed = 0;
  for (int i = 0; i < N_SUITES; i++)
    failed += run_suite (suites[i]);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
