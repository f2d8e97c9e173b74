/* test-cli-util.c: unit tests of the dfs tool's pure helpers
 * (tools/util.c, tools/progress.c): chmod mode parsing (octal and
 * symbolic), mode strings, human sizes, size parsing, remote path
 * normalisation and joining, Hadoop spellings and the progress line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tools/progress.h"
#include "tools/util.h"

static uint32_t mode_of(const char *spec, uint32_t old)
{
	uint32_t m = 0xdeadbeef;
	assert_int_equal(cli_mode_parse(spec, old, &m), 0);
	return m;
}

static void test_mode_octal(void **state)
{
	(void)state;
	assert_int_equal(mode_of("644", S_IFREG | 0777), 0644);
	assert_int_equal(mode_of("0", S_IFREG | 0777), 0);
	assert_int_equal(mode_of("1777", S_IFDIR), 01777);
	assert_int_equal(mode_of("04755", S_IFREG), 04755);
	uint32_t m;
	assert_int_equal(cli_mode_parse("8", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("17777", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("012345", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("64a", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("", S_IFREG, &m), -EINVAL);
}

static void test_mode_symbolic(void **state)
{
	(void)state;
	assert_int_equal(mode_of("u+x", S_IFREG | 0644), 0744);
	assert_int_equal(mode_of("u+x,g+r", S_IFREG | 0600), 0740);
	assert_int_equal(mode_of("+x", S_IFREG | 0644), 0755);
	assert_int_equal(mode_of("a-w", S_IFREG | 0666), 0444);
	assert_int_equal(mode_of("go=", S_IFREG | 0777), 0700);
	assert_int_equal(mode_of("o=r", S_IFREG | 0777), 0774);
	assert_int_equal(mode_of("u=rw,go=r", S_IFREG), 0644);
	assert_int_equal(mode_of("g=u", S_IFREG | 0750), 0770);
	assert_int_equal(mode_of("u+s", S_IFREG | 0755), 04755);
	assert_int_equal(mode_of("+t", S_IFDIR | 0777), 01777);
	assert_int_equal(mode_of("o-rwx+r", S_IFREG | 0777), 0774);
	/* X: execute only for directories or already executable files */
	assert_int_equal(mode_of("a+X", S_IFREG | 0644), 0644);
	assert_int_equal(mode_of("a+X", S_IFREG | 0744), 0755);
	assert_int_equal(mode_of("a+X", S_IFDIR | 0600), 0711);
	uint32_t m;
	assert_int_equal(cli_mode_parse("u", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("u+q", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("z+x", S_IFREG, &m), -EINVAL);
	assert_int_equal(cli_mode_parse("u+x,", S_IFREG, &m), -EINVAL);
}

static void test_mode_string(void **state)
{
	(void)state;
	char s[11];
	cli_mode_string(S_IFREG | 0644, s);
	assert_string_equal(s, "-rw-r--r--");
	cli_mode_string(S_IFDIR | 0755, s);
	assert_string_equal(s, "drwxr-xr-x");
	cli_mode_string(S_IFLNK | 0777, s);
	assert_string_equal(s, "lrwxrwxrwx");
	cli_mode_string(S_IFDIR | 01777, s);
	assert_string_equal(s, "drwxrwxrwt");
	cli_mode_string(S_IFREG | 06644, s);
	assert_string_equal(s, "-rwSr-Sr--");
	cli_mode_string(S_IFREG | 04755, s);
	assert_string_equal(s, "-rwsr-xr-x");
	assert_string_equal(cli_type_name(S_IFDIR), "directory");
	assert_string_equal(cli_type_name(S_IFREG), "regular file");
}

static void expect_human(uint64_t n, const char *want)
{
	char buf[16];
	cli_human_size(n, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_human_size(void **state)
{
	(void)state;
	expect_human(0, "0");
	expect_human(1023, "1023");
	expect_human(1024, "1.0K");
	expect_human(1025, "1.1K"); /* rounds up, like ls -h */
	expect_human(1536, "1.5K");
	expect_human(10240, "10K");
	expect_human(10241, "11K");
	expect_human(1048575, "1.0M");
	expect_human(1048576, "1.0M");
	expect_human(3000000, "2.9M");
	expect_human(5ull << 30, "5.0G");
	expect_human(UINT64_MAX, "16E");
}

static void test_parse_size(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(cli_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_size("123", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(cli_parse_size("1k", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(cli_parse_size("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(cli_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(cli_parse_size("1TB", &v), 0);
	assert_int_equal(v, 1ull << 40);
	assert_int_equal(cli_parse_size("", &v), -EINVAL);
	assert_int_equal(cli_parse_size("-1", &v), -EINVAL);
	assert_int_equal(cli_parse_size("12X", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1Mx", &v), -EINVAL);
	assert_int_equal(cli_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(cli_parse_size("99999999999P", &v), -ERANGE);
}

static void expect_norm(const char *in, const char *want)
{
	char buf[CLI_PATH_MAX];
	assert_int_equal(cli_path_normalize(in, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_path_normalize(void **state)
{
	(void)state;
	expect_norm("/", "/");
	expect_norm("/a/b", "/a/b");
	expect_norm("a/b/", "/a/b");
	expect_norm("//a///b//", "/a/b");
	expect_norm("/a/./b/.", "/a/b");
	expect_norm("/a/b/../c", "/a/c");
	expect_norm("/..", "/");
	expect_norm("/a/../..", "/");
	expect_norm("dfs://nn:8020/x/y", "/x/y");
	expect_norm("dfs://nn:8020", "/");
	char small[4];
	assert_int_equal(cli_path_normalize("/abcd", small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(cli_path_normalize("", small, sizeof(small)), -EINVAL);
}

static void expect_join(const char *dir, const char *name, const char *want)
{
	char buf[CLI_PATH_MAX];
	assert_int_equal(cli_path_join(dir, name, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_path_join(void **state)
{
	(void)state;
	expect_join("/", "a", "/a");
	expect_join("/a", "b", "/a/b");
	expect_join("/a/", "b", "/a/b");
	expect_join("/a", "/b", "/a/b");
	expect_join("local", "x.txt", "local/x.txt");
	expect_join("/a", "", "/a");
	expect_join("/", "", "/");
	char small[5];
	assert_int_equal(cli_path_join("/abc", "d", small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(cli_path_join("/ab", "c", small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(cli_path_join("/a", "b", small, sizeof(small)), 0);
	assert_string_equal(small, "/a/b");
}

static void expect_base(const char *in, const char *want)
{
	char buf[CLI_PATH_MAX];
	assert_int_equal(cli_path_basename(in, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_path_basename(void **state)
{
	(void)state;
	expect_base("/a/b", "b");
	expect_base("/a/b/", "b");
	expect_base("b", "b");
	expect_base("/", "/");
	expect_base("-", "-");
	expect_base("./dir//", "dir");
}

static void expect_hadoop(const char *arg, const char *cmd, const char *flag)
{
	const char *f = "junk";
	const char *c = cli_hadoop_command(arg, &f);
	if (cmd == NULL) {
		assert_null(c);
	} else {
		assert_non_null(c);
		assert_string_equal(c, cmd);
	}
	if (flag == NULL)
		assert_null(f);
	else
		assert_string_equal(f, flag);
}

static void test_hadoop(void **state)
{
	(void)state;
	expect_hadoop("-ls", "ls", NULL);
	expect_hadoop("-put", "put", NULL);
	expect_hadoop("-copyFromLocal", "put", NULL);
	expect_hadoop("-copyToLocal", "get", NULL);
	expect_hadoop("-touchz", "touchz", NULL);
	expect_hadoop("-rmr", "rm", "-r");
	expect_hadoop("-lsr", "ls", "-R");
	expect_hadoop("-dus", "du", "-s");
	expect_hadoop("-test", "test", NULL);
	expect_hadoop("-setrep", "setrep", NULL);
	expect_hadoop("ls", NULL, NULL);    /* not a Hadoop spelling */
	expect_hadoop("-v", NULL, NULL);    /* a global flag */
	expect_hadoop("--help", NULL, NULL);
	expect_hadoop("-", NULL, NULL);
}

static void test_progress_format(void **state)
{
	(void)state;
	struct progress p;
	memset(&p, 0, sizeof(p));
	strcpy(p.label, "/big");
	p.total = 100ull << 20;
	p.done = 50ull << 20;
	char line[160];
	progress_format(&p, 5000, line, sizeof(line)); /* 50 MiB in 5 s */
	assert_non_null(strstr(line, "/big"));
	assert_non_null(strstr(line, "50M / 100M"));
	assert_non_null(strstr(line, " 50%"));
	assert_non_null(strstr(line, "10M/s"));
	assert_non_null(strstr(line, "ETA 0:05"));
	progress_format(&p, 0, line, sizeof(line));
	assert_non_null(strstr(line, "ETA --:--"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_octal),
		cmocka_unit_test(test_mode_symbolic),
		cmocka_unit_test(test_mode_string),
		cmocka_unit_test(test_human_size),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_path_basename),
		cmocka_unit_test(test_hadoop),
		cmocka_unit_test(test_progress_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
