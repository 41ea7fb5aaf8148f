/* check_daemon_config.c — dynkvd refuses settings that cannot make a
 * working node, naming the field, and accepts the ones that can; a
 * configuration file's typos are errors with their line; a data directory
 * is locked against a second process.
 *
 * Every check is on the pure functions of daemon_config.h and on
 * data_lock.h with a forked second process; the loopback test
 * tests/deploy-loopback.sh runs the same refusals through dynkvd. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "suites.h"
#include "net/daemon_config.h"
#include "net/data_lock.h"
#include "net/net_config.h"

/* ---- settings --------------------------------------------------------------- */

/* Node 1 of a three-member cluster on 127.0.0.1:7001..7003, nothing else
 * set: what `dynkvd --id 1 --data DIR --peer ...` gives. */
static void
three_members (DkDaemonSettings *settings)
{
  dk_daemon_settings_init (settings);
  settings->id = 1;
  settings->data_dir = g_strdup ("/var/lib/dynkv/n1");
  for (guint id = 1; id <= 3; id++)
    {
      g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", 7000 + id);
      ck_assert (dk_net_peers_add (settings->peers, id, address, NULL));
    }
}

/* Complete and check SETTINGS; TRUE when accepted.  A refusal's message
 * must contain every string of NEEDLES (NULL-terminated). */
static gboolean
settings_accepted (DkDaemonSettings *settings, const char *const *needles)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = dk_daemon_settings_complete (settings, &error)
                && dk_daemon_settings_check (settings, &error);
  if (ok)
    {
      ck_assert_ptr_null (error);
      return TRUE;
    }
  ck_assert_ptr_nonnull (error);
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  for (guint i = 0; needles != NULL && needles[i] != NULL; i++)
    ck_assert_msg (strstr (error->message, needles[i]) != NULL,
                   "'%s' does not name '%s'", error->message, needles[i]);
  return FALSE;
}

#define NEEDLES(...) ((const char *const[]) { __VA_ARGS__, NULL })

START_TEST (daemon_settings_accept_a_three_member_cluster_with_defaults)
{
  DkDaemonSettings settings;
  three_members (&settings);
  ck_assert (settings_accepted (&settings, NULL));
  ck_assert_str_eq (settings.listen, "127.0.0.1:7001");  /* from this node's peer entry */
  ck_assert_uint_eq (settings.peers->len, 3);
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_add_this_node_from_its_listen_address)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.id = 4;
  settings.listen = g_strdup ("127.0.0.1:7004");
  ck_assert (settings_accepted (&settings, NULL));
  ck_assert_uint_eq (settings.peers->len, 4);
  ck_assert_uint_eq (g_array_index (settings.peers, DkNetPeer, 3).id, 4);
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_require_id_data_and_an_address)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.id = DK_DAEMON_UNSET64;
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] id", "--id", "required")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.id = 0;
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] id", "got 0")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  g_clear_pointer (&settings.data_dir, g_free);
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] data", "--data")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.id = 9;  /* not a listed member, and no --listen */
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] listen", "--peer 9=HOST:PORT")));
  dk_daemon_settings_clear (&settings);
}
END_TEST

/* Each numeric setting refuses a negative value and the first value
 * past either end of its range, naming its group, key and flag. */
typedef struct
{
  gsize       offset;
  const char *key, *flag;
  gint        below, above;
} RangeCase;

START_TEST (daemon_settings_refuse_out_of_range_numbers_naming_the_field)
{
  static const RangeCase cases[] = {
    { G_STRUCT_OFFSET (DkDaemonSettings, gossip_ms), "[cluster] gossip_ms", "--gossip-ms", -5, 3600001 },
    { G_STRUCT_OFFSET (DkDaemonSettings, suspect_ms), "[cluster] suspect_ms", "--suspect-ms", 0, 86400001 },
    { G_STRUCT_OFFSET (DkDaemonSettings, anti_entropy_ms), "[cluster] anti_entropy_ms",
      "--anti-entropy-ms", -1, 86400001 },
    { G_STRUCT_OFFSET (DkDaemonSettings, request_timeout_ms), "[cluster] request_timeout_ms",
      "--request-timeout-ms", 0, 3600001 },
    { G_STRUCT_OFFSET (DkDaemonSettings, vnodes), "[cluster] vnodes", "--vnodes", 0, 65537 },
    { G_STRUCT_OFFSET (DkDaemonSettings, n), "[cluster] n", "--n", 0, 256 },
    { G_STRUCT_OFFSET (DkDaemonSettings, r), "[cluster] r", "--r", -2, 256 },
    { G_STRUCT_OFFSET (DkDaemonSettings, replay_window_ms), "[cluster] replay_window_ms",
      "--replay-window-ms", 0, 86400001 },
    { G_STRUCT_OFFSET (DkDaemonSettings, dedup_requests), "[node] dedup_requests",
      "--dedup-requests", 0, 16777217 },
    { G_STRUCT_OFFSET (DkDaemonSettings, dedup_ms), "[node] dedup_ms", "--dedup-ms", -1, 86400001 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int end = 0; end < 2; end++)
      {
        DkDaemonSettings settings;
        three_members (&settings);
        gint value = end == 0 ? cases[i].below : cases[i].above;
        *(gint *) ((char *) &settings + cases[i].offset) = value;
        g_autofree char *got = g_strdup_printf ("got %d", value);
        ck_assert (!settings_accepted (&settings, NEEDLES (cases[i].key, cases[i].flag, got)));
        dk_daemon_settings_clear (&settings);
      }
}
END_TEST

START_TEST (daemon_settings_zero_turns_gossip_and_anti_entropy_off)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.gossip_ms = 0;
  settings.anti_entropy_ms = 0;
  settings.suspect_ms = 1;  /* no gossip: no rounds to outlast */
  ck_assert (settings_accepted (&settings, NULL));
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_refuse_quorums_larger_than_n)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.n = 2;
  settings.w = 3;
  ck_assert (!settings_accepted (&settings, NEEDLES ("[cluster] w=3", "[cluster] n=2")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.n = 1;  /* the default r=2 is too large now */
  ck_assert (!settings_accepted (&settings, NEEDLES ("[cluster] r (--r, default 2)", "n=1")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.n = settings.r = settings.w = 1;
  ck_assert (settings_accepted (&settings, NULL));
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_refuse_n_larger_than_the_members)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.n = 4;
  ck_assert (!settings_accepted (&settings, NEEDLES ("[cluster] n=4", "3 members")));
  dk_daemon_settings_clear (&settings);

  /* One member and the default n=3: refused too. */
  dk_daemon_settings_init (&settings);
  settings.id = 1;
  settings.data_dir = g_strdup ("d");
  settings.listen = g_strdup ("127.0.0.1:7001");
  ck_assert (!settings_accepted (&settings, NEEDLES ("default 3", "1 member ")));
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_refuse_suspect_shorter_than_a_gossip_round)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.suspect_ms = 500;
  ck_assert (!settings_accepted (&settings, NEEDLES ("[cluster] suspect_ms=500",
                                                     "gossip_ms (--gossip-ms, default 1000)")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.gossip_ms = 5000;  /* the default suspect_ms (3000) is now too short */
  ck_assert (!settings_accepted (&settings, NEEDLES ("suspect_ms (--suspect-ms, default 3000)",
                                                     "gossip_ms=5000")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.gossip_ms = settings.suspect_ms = 100;
  ck_assert (settings_accepted (&settings, NULL));
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_refuse_two_members_on_one_address)
{
  DkDaemonSettings settings;
  three_members (&settings);
  ck_assert (dk_net_peers_add (settings.peers, 4, "127.0.0.1:7002", NULL));
  ck_assert (!settings_accepted (&settings, NEEDLES ("nodes 2 and 4", "127.0.0.1:7002")));
  dk_daemon_settings_clear (&settings);

  /* dk_net_peers_add keeps one entry per id; an array built otherwise
   * is still refused. */
  three_members (&settings);
  DkNetPeer again = { .id = 2, .address = g_strdup ("127.0.0.1:7009") };
  g_array_append_val (settings.peers, again);
  ck_assert (!settings_accepted (&settings, NEEDLES ("node 2 is listed twice")));
  dk_daemon_settings_clear (&settings);

  /* IPv6 literals are compared as addresses, not as text. */
  dk_daemon_settings_init (&settings);
  settings.id = 1;
  settings.data_dir = g_strdup ("d");
  settings.n = settings.r = settings.w = 1;
  ck_assert (dk_net_peers_add (settings.peers, 1, "[::1]:7001", NULL));
  ck_assert (dk_net_peers_add (settings.peers, 2, "[0:0::1]:7001", NULL));
  ck_assert (!settings_accepted (&settings, NEEDLES ("nodes 1 and 2")));
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_refuse_listening_on_another_members_address)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.listen = g_strdup ("127.0.0.1:7003");
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] listen=127.0.0.1:7003",
                                                     "node 3's address")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.listen = g_strdup ("0.0.0.0:7001");  /* all interfaces: nobody's address */
  ck_assert (settings_accepted (&settings, NULL));
  dk_daemon_settings_clear (&settings);
}
END_TEST

START_TEST (daemon_settings_refuse_unknown_words)
{
  DkDaemonSettings settings;
  three_members (&settings);
  settings.log_level = g_strdup ("loud");
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] log_level", "loud")));
  dk_daemon_settings_clear (&settings);

  three_members (&settings);
  settings.synchronous = g_strdup ("fsync");
  ck_assert (!settings_accepted (&settings, NEEDLES ("[node] synchronous", "normal or full",
                                                     "'fsync'")));
  dk_daemon_settings_clear (&settings);

  DkStoreSync sync = DK_STORE_SYNC_NORMAL;
  ck_assert (dk_daemon_parse_synchronous ("full", &sync, NULL));
  ck_assert_int_eq (sync, DK_STORE_SYNC_FULL);
  ck_assert (dk_daemon_parse_synchronous ("normal", &sync, NULL));
  ck_assert_int_eq (sync, DK_STORE_SYNC_NORMAL);
}
END_TEST

/* ---- the file's text ------------------------------------------------------------ */

/* dk_daemon_config_check_text on TEXT: TRUE when accepted; a refusal's
 * message must contain NEEDLE. */
static gboolean
text_accepted (const char *text, const char *needle)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = dk_daemon_config_check_text ("n1.conf", text, &error);
  if (ok)
    return TRUE;
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  ck_assert_msg (needle == NULL || strstr (error->message, needle) != NULL,
                 "'%s' does not name '%s'", error->message, needle);
  return FALSE;
}

START_TEST (daemon_config_text_accepts_every_key_dynkvd_reads)
{
  ck_assert (text_accepted ("# dynkvd\n"
                            "[node]\nid=1\nlisten=127.0.0.1:7001\ndata=/var/lib/dynkv\n"
                            "log_level=info\ndedup_requests=16384\ndedup_ms=60000\n"
                            "synchronous=full\n"
                            "\n  # an indented comment\n"
                            "[cluster]\nn=3\nr=2\nw=2\nrequest_timeout_ms=1000\nvnodes=64\n"
                            "gossip_ms=1000\nsuspect_ms=3000\nanti_entropy_ms=10000\n"
                            "replay_window_ms=60000\nkey_file=keys/cluster#1.key\n"
                            "strict_quorum=false\nread_all=true\n"
                            "[peers]\n1=127.0.0.1:7001\n2 = 127.0.0.1:7002\r\n3=127.0.0.1:7003\n",
                            NULL));
}
END_TEST

START_TEST (daemon_config_text_refuses_unknown_groups_and_keys_with_their_line)
{
  ck_assert (!text_accepted ("[node]\nid=1\n[cluster]\ngosip_ms=100\n",
                             "n1.conf:4: [cluster] gosip_ms: unknown key (known: n, r, w"));
  ck_assert (!text_accepted ("[node]\nid=1\nn=3\n", "n1.conf:3: [node] n: unknown key"));
  ck_assert (!text_accepted ("\n[nodes]\nid=1\n", "n1.conf:2: unknown group [nodes]"));
  ck_assert (!text_accepted ("id=1\n[node]\n", "n1.conf:1: 'id=1' comes before any group"));
  ck_assert (!text_accepted ("[node]\nid\n", "n1.conf:2: expected KEY=VALUE"));
  ck_assert (!text_accepted ("[node\n", "n1.conf:1: expected a group"));
  ck_assert (!text_accepted ("[peers]\nn1=127.0.0.1:7001\n", "n1.conf:2: [peers] n1: a key in"));
}
END_TEST

START_TEST (daemon_config_text_refuses_a_key_or_node_given_twice)
{
  ck_assert (!text_accepted ("[cluster]\nn=3\nr=2\n[node]\nid=1\n[cluster]\nn=5\n",
                             "n1.conf:7: [cluster] n is set twice (first on line 2)"));
  ck_assert (!text_accepted ("[peers]\n1=127.0.0.1:7001\n001=127.0.0.1:7009\n",
                             "n1.conf:3: [peers] node 1 is listed twice (first on line 2)"));
  /* The same key in two groups is two settings. */
  ck_assert (text_accepted ("[node]\nid=1\n[peers]\n1=127.0.0.1:7001\n", NULL));
}
END_TEST

START_TEST (daemon_config_text_refuses_trailing_comments)
{
  ck_assert (!text_accepted ("[cluster]\nkey_file=cluster.key   # or: key=<hex>\n",
                             "n1.conf:2: [cluster] key_file: '#' after the value"));
  ck_assert (!text_accepted ("[cluster]\nn=3\t# three\n", "n1.conf:2: [cluster] n"));
  ck_assert (text_accepted ("[cluster]\n# or: key=<hex>\nkey_file=cluster.key\n", NULL));
}
END_TEST

/* ---- the data directory lock ------------------------------------------------------ */

/* In a child process: try to lock DIR, write the error message (or "")
 * to FD, exit 0 when locked, 1 when busy.  Everything is freed before
 * _exit, so that valgrind's leak check does not change the status. */
G_GNUC_NORETURN static void
child_try_lock (const char *dir, int fd)
{
  GError *error = NULL;
  DkDataLock *lock = dk_data_lock_acquire (dir, &error);
  const char *message = lock != NULL ? "" : error->message;
  int status = lock != NULL ? 0 : g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) ? 1 : 2;
  if (write (fd, message, strlen (message)) < 0)
    status = 3;
  dk_data_lock_release (lock);
  g_clear_error (&error);
  _exit (status);
}

/* Fork a child that tries to lock DIR; its exit status, its message in
 * *MESSAGE. */
static int
lock_in_child (const char *dir, char **message)
{
  int pipe_fds[2];
  ck_assert_int_eq (pipe (pipe_fds), 0);
  pid_t child = fork ();
  ck_assert_int_ge (child, 0);
  if (child == 0)
    {
      close (pipe_fds[0]);
      child_try_lock (dir, pipe_fds[1]);
    }
  close (pipe_fds[1]);
  GString *text = g_string_new (NULL);
  char buffer[512];
  ssize_t got;
  while ((got = read (pipe_fds[0], buffer, sizeof buffer)) > 0)
    g_string_append_len (text, buffer, got);
  close (pipe_fds[0]);
  int status = 0;
  ck_assert_int_eq (waitpid (child, &status, 0), child);
  ck_assert (WIFEXITED (status));
  *message = g_string_free (text, FALSE);
  return WEXITSTATUS (status);
}

START_TEST (data_lock_refuses_a_second_process_naming_the_directory_and_holder)
{
  g_autofree char *top = g_dir_make_tmp ("dk-lock-XXXXXX", NULL);
  ck_assert_ptr_nonnull (top);
  g_autofree char *dir = g_build_filename (top, "n1", NULL);   /* created by the lock */
  g_autoptr (GError) error = NULL;
  DkDataLock *lock = dk_data_lock_acquire (dir, &error);
  ck_assert_ptr_nonnull (lock);

  g_autofree char *message = NULL;
  ck_assert_int_eq (lock_in_child (dir, &message), 1);
  g_autofree char *pid = g_strdup_printf ("pid %ld", (long) getpid ());
  ck_assert_msg (strstr (message, dir) != NULL && strstr (message, pid) != NULL,
                 "'%s' names neither %s nor %s", message, dir, pid);

  /* The file holds the holder's pid for people. */
  g_autofree char *lock_path = g_build_filename (dir, "lock", NULL);
  g_autofree char *contents = NULL;
  ck_assert (g_file_get_contents (lock_path, &contents, NULL, NULL));
  ck_assert_int_eq (g_ascii_strtoll (contents, NULL, 10), getpid ());

  /* Released, the next process takes it; the file stays behind harmlessly.
   * (Not under valgrind, whose forked child still finds it held.) */
  dk_data_lock_release (lock);
  g_clear_pointer (&message, g_free);
  if (dk_test_iterations (20) == 20)
    {
      ck_assert_int_eq (lock_in_child (dir, &message), 0);
      ck_assert_str_eq (message, "");
    }

  g_unlink (lock_path);
  g_rmdir (dir);
  g_rmdir (top);
}
END_TEST

START_TEST (data_lock_reports_a_directory_it_cannot_create)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DkDataLock) lock = dk_data_lock_acquire ("/proc/self/no-such-dir/n1", &error);
  ck_assert_ptr_null (lock);
  ck_assert_ptr_nonnull (error);
  ck_assert (strstr (error->message, "/proc/self/no-such-dir/n1") != NULL);
}
END_TEST

Suite *
daemon_config_suite (void)
{
  Suite *suite = suite_create ("daemon_config");
  TCase *settings = tcase_create ("settings");
  tcase_add_test (settings, daemon_settings_accept_a_three_member_cluster_with_defaults);
  tcase_add_test (settings, daemon_settings_add_this_node_from_its_listen_address);
  tcase_add_test (settings, daemon_settings_require_id_data_and_an_address);
  tcase_add_test (settings, daemon_settings_refuse_out_of_range_numbers_naming_the_field);
  tcase_add_test (settings, daemon_settings_zero_turns_gossip_and_anti_entropy_off);
  tcase_add_test (settings, daemon_settings_refuse_quorums_larger_than_n);
  tcase_add_test (settings, daemon_settings_refuse_n_larger_than_the_members);
  tcase_add_test (settings, daemon_settings_refuse_suspect_shorter_than_a_gossip_round);
  tcase_add_test (settings, daemon_settings_refuse_two_members_on_one_address);
  tcase_add_test (settings, daemon_settings_refuse_listening_on_another_members_address);
  tcase_add_test (settings, daemon_settings_refuse_unknown_words);
  suite_add_tcase (suite, settings);
  TCase *text = tcase_create ("file_text");
  tcase_add_test (text, daemon_config_text_accepts_every_key_dynkvd_reads);
  tcase_add_test (text, daemon_config_text_refuses_unknown_groups_and_keys_with_their_line);
  tcase_add_test (text, daemon_config_text_refuses_a_key_or_node_given_twice);
  tcase_add_test (text, daemon_config_text_refuses_trailing_comments);
  suite_add_tcase (suite, text);
  TCase *lock = tcase_create ("data_lock");
  tcase_add_test (lock, data_lock_refuses_a_second_process_naming_the_directory_and_holder);
  tcase_add_test (lock, data_lock_reports_a_directory_it_cannot_create);
  suite_add_tcase (suite, lock);
  return suite;
}
