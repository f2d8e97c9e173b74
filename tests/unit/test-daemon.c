/* test-daemon.c: unit tests of the daemon skeleton (common/daemon.c): flag
 * and config handling, exit statuses, init/fini order, the stop fd and the
 * --port-file announcement. dfs_daemon_main() is run in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"

struct t_cfg {
	char *log_level;
	char *log_file;
	int64_t port;
	uint64_t block_size;
};

static const struct dfs_config_option t_opts[] = {
	{ "log_level", DFS_CFG_STRING, "err", offsetof(struct t_cfg, log_level), "level", 0, 0 },
	{ "log_file", DFS_CFG_STRING, "", offsetof(struct t_cfg, log_file), "file", 0, 0 },
	{ "port", DFS_CFG_INT, "8020", offsetof(struct t_cfg, port), "port", 0, 65535 },
	{ "block_size", DFS_CFG_SIZE, "64M", offsetof(struct t_cfg, block_size), "bs", 0, 0 },
};

/* What the steps and run() saw. */
struct t_ctx {
	struct t_cfg *cfg;
	char trace[64];  /* "A" init a, "a" fini a, "R" run */
	int fail_step;   /* index of the step whose init fails, -1 none */
	int64_t seen_port;
	uint64_t seen_block_size;
	int format_flag;
	int signal_in_run;
	int stop_seen;
	const char *announce_host;
};

static void trace(struct t_ctx *c, char ch)
{
	size_t n = strlen(c->trace);
	c->trace[n] = ch;
	c->trace[n + 1] = '\0';
}

#define STEP(X, UP, LOW, IDX)                                            \
	static int init_##X(void *p)                                     \
	{                                                                \
		struct t_ctx *c = p;                                     \
		if (c->fail_step == IDX)                                 \
			return -EADDRINUSE;                              \
		trace(c, UP);                                            \
		return 0;                                                \
	}                                                                \
	static void fini_##X(void *p) { trace(p, LOW); }
STEP(a, 'A', 'a', 0)
STEP(b, 'B', 'b', 1)
STEP(c, 'C', 'c', 2)

static const struct dfs_daemon_step t_steps[] = {
	{ "step a", init_a, fini_a },
	{ "step b", init_b, fini_b },
	{ "step c", init_c, fini_c },
};

static int t_run(void *p)
{
	struct t_ctx *c = p;
	trace(c, 'R');
	c->seen_port = c->cfg->port;
	c->seen_block_size = c->cfg->block_size;
	if (c->announce_host != NULL && dfs_daemon_announce(c->announce_host, 4242) < 0)
		return -EIO;
	if (c->signal_in_run) {
		assert_false(dfs_daemon_stopping());
		raise(SIGTERM);
		struct pollfd pfd = { .fd = dfs_daemon_stop_fd(), .events = POLLIN };
		c->stop_seen = poll(&pfd, 1, 5000) == 1 && dfs_daemon_stopping();
	}
	return 0;
}

static int t_flag(void *p, const char *flag)
{
	struct t_ctx *c = p;
	if (strcmp(flag, "--format") == 0) {
		c->format_flag = 1;
		return 1;
	}
	if (strcmp(flag, "--broken") == 0)
		return -EINVAL;
	return 0;
}

static struct t_cfg g_cfg;
static struct t_ctx g_ctx;
static const struct dfs_daemon t_daemon = {
	.name = "dfs-test", .summary = "a test daemon",
	.options = t_opts, .n_options = sizeof(t_opts) / sizeof(t_opts[0]), .config = &g_cfg,
	.steps = t_steps, .n_steps = 3, .run = t_run, .ctx = &g_ctx, .flag = t_flag,
	.flags_help = "      --format           test flag\n",
};

static int run_main(int argc, const char **argv_c)
{
	char *argv[16];
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)argv_c[i];
	argv[argc] = NULL;
	return dfs_daemon_main(&t_daemon, argc, argv);
}

static int reset(void **state)
{
	(void)state;
	memset(&g_cfg, 0, sizeof(g_cfg));
	memset(&g_ctx, 0, sizeof(g_ctx));
	g_ctx.cfg = &g_cfg;
	g_ctx.fail_step = -1;
	return 0;
}

static void test_clean_run(void **state)
{
	(void)state;
	const char *argv[] = { "dfs-test", "-s", "port=0", "--set=block_size=1M", "--format" };
	assert_int_equal(run_main(5, argv), 0);
	assert_string_equal(g_ctx.trace, "ABCRcba");
	assert_int_equal(g_ctx.seen_port, 0);
	assert_true(g_ctx.seen_block_size == 1u << 20);
	assert_int_equal(g_ctx.format_flag, 1);
}

static void test_init_failure_unwinds(void **state)
{
	(void)state;
	const char *argv[] = { "dfs-test" };
	g_ctx.fail_step = 2;
	assert_int_equal(run_main(1, argv), 1);
	assert_string_equal(g_ctx.trace, "ABba"); /* no run, no fini of the failed step */
	reset(NULL);
	g_ctx.fail_step = 0;
	assert_int_equal(run_main(1, argv), 1);
	assert_string_equal(g_ctx.trace, "");
}

static void test_usage_errors(void **state)
{
	(void)state;
	const char *unknown_key[] = { "dfs-test", "-s", "nope=1" };
	assert_int_equal(run_main(3, unknown_key), 2);
	const char *bad_value[] = { "dfs-test", "-s", "port=99999" };
	assert_int_equal(run_main(3, bad_value), 2);
	const char *no_eq[] = { "dfs-test", "-s", "port" };
	assert_int_equal(run_main(3, no_eq), 2);
	const char *missing[] = { "dfs-test", "-c" };
	assert_int_equal(run_main(2, missing), 2);
	const char *no_file[] = { "dfs-test", "-c", "/nonexistent/x.conf" };
	assert_int_equal(run_main(3, no_file), 2);
	const char *unknown_flag[] = { "dfs-test", "--what" };
	assert_int_equal(run_main(2, unknown_flag), 2);
	const char *bad_flag[] = { "dfs-test", "--broken" };
	assert_int_equal(run_main(2, bad_flag), 2);
	const char *bad_level[] = { "dfs-test", "-s", "log_level=loud" };
	assert_int_equal(run_main(3, bad_level), 2);
	assert_string_equal(g_ctx.trace, ""); /* nothing was initialised */
}

static void test_conf_file_then_overrides(void **state)
{
	(void)state;
	char path[] = "/tmp/dfs-test-daemon.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "# test\nport = 1234\nblock_size = 2M\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	const char *argv[] = { "dfs-test", "-c", path, "-s", "port=77" };
	assert_int_equal(run_main(5, argv), 0);
	assert_int_equal(g_ctx.seen_port, 77);
	assert_true(g_ctx.seen_block_size == 2u << 20);

	FILE *f = fopen(path, "w");
	fprintf(f, "port = 1\nbogus = 2\n");
	fclose(f);
	reset(NULL);
	const char *argv2[] = { "dfs-test", "--conf", path };
	assert_int_equal(run_main(3, argv2), 2);
	unlink(path);
}

static void test_dump_help_version(void **state)
{
	(void)state;
	const char *dump[] = { "dfs-test", "--dump-config", "-s", "port=5" };
	assert_int_equal(run_main(4, dump), 0);
	assert_string_equal(g_ctx.trace, ""); /* dump-config runs nothing */
	const char *help[] = { "dfs-test", "--help" };
	assert_int_equal(run_main(2, help), 0);
	const char *version[] = { "dfs-test", "--version" };
	assert_int_equal(run_main(2, version), 0);
	assert_string_equal(g_ctx.trace, "");
}

static void test_stop_signal(void **state)
{
	(void)state;
	const char *argv[] = { "dfs-test" };
	g_ctx.signal_in_run = 1;
	assert_int_equal(run_main(1, argv), 0);
	assert_int_equal(g_ctx.stop_seen, 1);
	assert_string_equal(g_ctx.trace, "ABCRcba");
	/* a new run starts un-stopped */
	reset(NULL);
	g_ctx.signal_in_run = 1;
	assert_int_equal(run_main(1, argv), 0);
	assert_int_equal(g_ctx.stop_seen, 1);
}

static void test_port_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/dfs-test-port.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/nn.port", dir);
	const char *argv[] = { "dfs-test", "--port-file", path };
	g_ctx.announce_host = "127.0.0.1";
	assert_int_equal(run_main(3, argv), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[64] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "127.0.0.1:4242\n");
	unlink(path);
	rmdir(dir); /* fails if a tmp file was left behind */
	assert_int_equal(access(dir, F_OK), -1);
	/* no --port-file: announce does nothing */
	reset(NULL);
	g_ctx.announce_host = "127.0.0.1";
	const char *argv2[] = { "dfs-test" };
	assert_int_equal(run_main(1, argv2), 0);
	assert_null(dfs_daemon_port_file());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_clean_run, reset),
		cmocka_unit_test_setup(test_init_failure_unwinds, reset),
		cmocka_unit_test_setup(test_usage_errors, reset),
		cmocka_unit_test_setup(test_conf_file_then_overrides, reset),
		cmocka_unit_test_setup(test_dump_help_version, reset),
		cmocka_unit_test_setup(test_stop_signal, reset),
		cmocka_unit_test_setup(test_port_file, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
