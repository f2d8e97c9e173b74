/* daemon.c: the shared daemon skeleton (see daemon.h): flag parsing,
 * config loading, logging setup, signal self-pipe, ordered init/fini.
 * The only mutable file-static state is the signal self-pipe and the
 * --port-file path, which exist once per process by nature. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define DAEMON_SETS_MAX 256 /* -s KEY=VALUE flags on one command line */
#define DAEMON_ERR_LEN 512

static int stop_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_requested;
static const char *port_file;

/* Parsed command line; strings point into argv. */
struct daemon_args {
	const char *conf;
	const char *sets[DAEMON_SETS_MAX];
	size_t n_sets;
	int dump_config;
	int help;
	int version;
};

int dfs_daemon_stop_fd(void)
{
	return stop_pipe[0];
}

int dfs_daemon_stopping(void)
{
	return stop_requested != 0;
}

void dfs_daemon_request_stop(void)
{
	int saved = errno;
	stop_requested = 1;
	if (stop_pipe[1] >= 0) {
		ssize_t n = write(stop_pipe[1], "x", 1); /* full pipe: already readable */
		(void)n;
	}
	errno = saved;
}

const char *dfs_daemon_port_file(void)
{
	return port_file;
}

static void on_stop_signal(int sig)
{
	(void)sig;
	dfs_daemon_request_stop();
}

/* Creates the self-pipe (once per process), drains it, installs handlers. */
static int setup_signals(void)
{
	if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return DFS_ERRNO();
	char buf[64];
	while (read(stop_pipe[0], buf, sizeof(buf)) > 0)
		;
	stop_requested = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return DFS_ERRNO();
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int dfs_daemon_announce(const char *host, uint16_t port)
{
	if (port_file == NULL)
		return 0;
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", port_file, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return DFS_ERRNO();
	int rc = 0;
	if (fprintf(f, "%s:%u\n", host, (unsigned)port) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = DFS_ERRNO();
	if (rc == 0 && rename(tmp, port_file) < 0)
		rc = DFS_ERRNO();
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static void usage(const struct dfs_daemon *d, FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n%s\n\n"
		"  -c, --conf FILE        read KEY = VALUE settings from FILE\n"
		"  -s, --set KEY=VALUE    override one setting (repeatable)\n"
		"      --dump-config      print the effective configuration and exit\n"
		"      --port-file FILE   write \"host:port\" to FILE once listening\n"
		"  -h, --help             show this help and exit\n"
		"      --version          show the version and exit\n",
		d->name, d->summary ? d->summary : "");
	if (d->flags_help != NULL)
		fprintf(out, "%s", d->flags_help);
}

/* Returns the value of a flag taking an argument ("--conf F", "--conf=F",
 * "-cF"), advancing *i, or NULL if argv[*i] is not that flag. Sets *missing
 * when the flag is present but its value is not. */
static const char *flag_value(int argc, char **argv, int *i, const char *s, const char *l,
			      int *missing)
{
	const char *a = argv[*i];
	size_t ll = strlen(l);
	if ((s != NULL && strcmp(a, s) == 0) || strcmp(a, l) == 0) {
		if (*i + 1 >= argc) {
			*missing = 1;
			return NULL;
		}
		return argv[++*i];
	}
	if (strncmp(a, l, ll) == 0 && a[ll] == '=')
		return a + ll + 1;
	if (s != NULL && strncmp(a, s, 2) == 0 && a[2] != '\0')
		return a + 2;
	return NULL;
}

/* Returns 0, or 2 after printing a usage error. */
static int parse_args(const struct dfs_daemon *d, int argc, char **argv, struct daemon_args *a)
{
	for (int i = 1; i < argc; i++) {
		int missing = 0;
		const char *v;
		if ((v = flag_value(argc, argv, &i, "-c", "--conf", &missing)) != NULL) {
			a->conf = v;
		} else if (!missing && (v = flag_value(argc, argv, &i, "-s", "--set", &missing))) {
			if (a->n_sets >= DAEMON_SETS_MAX) {
				fprintf(stderr, "%s: too many -s flags\n", d->name);
				return 2;
			}
			a->sets[a->n_sets++] = v;
		} else if (!missing && (v = flag_value(argc, argv, &i, NULL, "--port-file", &missing))) {
			port_file = v;
		} else if (missing) {
			fprintf(stderr, "%s: option '%s' needs a value\n", d->name, argv[i]);
			return 2;
		} else if (strcmp(argv[i], "--dump-config") == 0) {
			a->dump_config = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			a->help = 1;
		} else if (strcmp(argv[i], "--version") == 0) {
			a->version = 1;
		} else {
			int rc = d->flag != NULL ? d->flag(d->ctx, argv[i]) : 0;
			if (rc <= 0) {
				fprintf(stderr, "%s: %s option '%s' (see --help)\n", d->name,
					rc == 0 ? "unknown" : "bad", argv[i]);
				return 2;
			}
		}
	}
	return 0;
}

/* Defaults, then the -c file, then -s overrides. Returns 0 or 2. */
static int load_config(const struct dfs_daemon *d, const struct daemon_args *a)
{
	char err[DAEMON_ERR_LEN] = "";
	if (dfs_config_defaults(d->options, d->n_options, d->config) < 0) {
		fprintf(stderr, "%s: out of memory\n", d->name);
		return 2;
	}
	if (a->conf != NULL &&
	    dfs_config_load(d->options, d->n_options, d->config, a->conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", d->name, err);
		return 2;
	}
	for (size_t i = 0; i < a->n_sets; i++) {
		char key[256];
		const char *eq = strchr(a->sets[i], '=');
		size_t kl = eq != NULL ? (size_t)(eq - a->sets[i]) : 0;
		if (eq == NULL || kl == 0 || kl >= sizeof(key)) {
			fprintf(stderr, "%s: -s '%s': expected KEY=VALUE\n", d->name, a->sets[i]);
			return 2;
		}
		memcpy(key, a->sets[i], kl);
		key[kl] = '\0';
		if (dfs_config_set(d->options, d->n_options, d->config, key, eq + 1, err,
				   sizeof(err)) < 0) {
			fprintf(stderr, "%s: -s %s: %s\n", d->name, a->sets[i], err);
			return 2;
		}
	}
	return 0;
}

static const char *config_string(const struct dfs_daemon *d, const char *key)
{
	for (size_t i = 0; i < d->n_options; i++)
		if (strcmp(d->options[i].key, key) == 0 && d->options[i].type == DFS_CFG_STRING)
			return *(char *const *)((const char *)d->config + d->options[i].offset);
	return NULL;
}

/* Returns 0 or 2. */
static int setup_log(const struct dfs_daemon *d)
{
	const char *level_name = config_string(d, "log_level");
	const char *file = config_string(d, "log_file");
	int level = DFS_LOG_INFO;
	if (level_name != NULL && level_name[0] != '\0') {
		level = dfs_log_level_parse(level_name);
		if (level < 0) {
			fprintf(stderr, "%s: log_level: '%s' is not debug, info, notice, warn or err\n",
				d->name, level_name);
			return 2;
		}
	}
	int rc = dfs_log_init(d->name, level, file);
	if (rc < 0) {
		fprintf(stderr, "%s: log_file %s: %s\n", d->name, file, dfs_strerror(rc));
		return 2;
	}
	return 0;
}

/* Runs the init steps, run(), and the fini steps. Returns 0 or 1. */
static int run_steps(const struct dfs_daemon *d)
{
	size_t done = 0;
	int status = 0;
	for (; done < d->n_steps; done++) {
		const struct dfs_daemon_step *s = &d->steps[done];
		int rc = s->init != NULL ? s->init(d->ctx) : 0;
		if (rc < 0) {
			dfs_log_write(DFS_LOG_ERR, rc, "%s failed", s->name);
			status = 1;
			break;
		}
	}
	if (status == 0 && d->run != NULL) {
		int rc = d->run(d->ctx);
		if (rc < 0) {
			dfs_log_write(DFS_LOG_ERR, rc, "%s stopped on an error", d->name);
			status = 1;
		}
	}
	while (done > 0) {
		const struct dfs_daemon_step *s = &d->steps[--done];
		if (s->fini != NULL)
			s->fini(d->ctx);
	}
	return status;
}

int dfs_daemon_main(const struct dfs_daemon *d, int argc, char **argv)
{
	struct daemon_args a;
	memset(&a, 0, sizeof(a));
	port_file = NULL;
	int status = parse_args(d, argc, argv, &a);
	if (status != 0)
		return status;
	if (a.help) {
		usage(d, stdout);
		return 0;
	}
	if (a.version) {
		printf("%s %s\n", d->name, PACKAGE_VERSION);
		return 0;
	}
	status = load_config(d, &a);
	if (status == 0 && a.dump_config) {
		dfs_config_dump(d->options, d->n_options, d->config, stdout);
		fflush(stdout);
	} else if (status == 0) {
		status = setup_log(d);
	}
	if (status != 0 || a.dump_config)
		goto out_free;
	int rc = setup_signals();
	if (rc < 0) {
		dfs_log_write(DFS_LOG_ERR, rc, "signal setup failed");
		status = 1;
		goto out_free;
	}
	DFS_NOTICE("%s starting", d->name);
	status = run_steps(d);
	DFS_NOTICE("%s stopped", d->name);
out_free:
	dfs_config_free(d->options, d->n_options, d->config);
	return status;
}
