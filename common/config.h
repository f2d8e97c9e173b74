/* config.h: `KEY = VALUE` configuration files driven by one option table
 * per program. The table gives every key its type, default and help text;
 * parsing, validation, defaults and --dump-config all come from it.
 * Unknown keys are an error. Sizes take K/M/G/T suffixes (powers of 1024),
 * durations ms/s/m/h (default unit: the one the key's name ends in, _ms or
 * _s). Lines starting with '#' are comments. Single-threaded use. */
#ifndef DFS_COMMON_CONFIG_H
#define DFS_COMMON_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum dfs_config_type {
	DFS_CFG_STRING,   /* char * (malloc'd, owned by the struct) */
	DFS_CFG_INT,      /* int64_t */
	DFS_CFG_SIZE,     /* uint64_t bytes */
	DFS_CFG_DURATION, /* int64_t milliseconds */
	DFS_CFG_BOOL,     /* int 0/1 */
};

struct dfs_config_option {
	const char *key;
	enum dfs_config_type type;
	const char *default_value; /* as it would be written in the file */
	size_t offset;             /* offsetof() the field in the config struct */
	const char *help;
	int64_t min, max;          /* INT: allowed range (both 0: any) */
};

/* Sets every option of table to its default in cfg. Returns 0 or -ENOMEM. */
int dfs_config_defaults(const struct dfs_config_option *table, size_t n, void *cfg);

/* Sets one key from its text value. On error returns -EINVAL (bad value or
 * unknown key) and writes a message to err. */
int dfs_config_set(const struct dfs_config_option *table, size_t n, void *cfg,
		   const char *key, const char *value, char *err, size_t err_len);

/* Reads a file of KEY = VALUE lines into cfg (defaults are not reset).
 * Returns 0, -ENOENT if it does not exist, or -EINVAL with a message
 * "path:line: ..." in err. */
int dfs_config_load(const struct dfs_config_option *table, size_t n, void *cfg,
		    const char *path, char *err, size_t err_len);

/* Writes every option as it is now, with its help text, as a config file. */
void dfs_config_dump(const struct dfs_config_option *table, size_t n, const void *cfg, FILE *out);

/* Frees the strings in cfg. */
void dfs_config_free(const struct dfs_config_option *table, size_t n, void *cfg);

/* Parsers shared with command-line flags. Return 0 or -EINVAL. */
int dfs_parse_size(const char *s, uint64_t *out);
int dfs_parse_duration_ms(const char *s, int64_t *out);

#endif
