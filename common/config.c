/* config.c: table-driven KEY = VALUE configuration (see config.h). */
#include "common/config.h"
#include "common/errors.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int dfs_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s == '-')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -EINVAL;
	while (*end == ' ')
		end++;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mult = 1ull << 10; end++; break;
	case 'M': mult = 1ull << 20; end++; break;
	case 'G': mult = 1ull << 30; end++; break;
	case 'T': mult = 1ull << 40; end++; break;
	default: return -EINVAL;
	}
	if (toupper((unsigned char)*end) == 'I')
		end++;
	if (toupper((unsigned char)*end) == 'B')
		end++;
	if (*end != '\0' || (mult > 1 && v > UINT64_MAX / mult))
		return -EINVAL;
	*out = v * mult;
	return 0;
}

int dfs_parse_duration_ms(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0)
		return -EINVAL;
	while (*end == ' ')
		end++;
	int64_t mult;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return -EINVAL;
	*out = (int64_t)v * mult;
	return 0;
}

static const struct dfs_config_option *find(const struct dfs_config_option *t, size_t n,
					    const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return &t[i];
	return NULL;
}

static int set_one(const struct dfs_config_option *o, void *cfg, const char *value,
		   char *err, size_t err_len)
{
	char *field = (char *)cfg + o->offset;
	switch (o->type) {
	case DFS_CFG_STRING: {
		char *copy = strdup(value);
		if (copy == NULL)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case DFS_CFG_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' ||
		    ((o->min != 0 || o->max != 0) && (v < o->min || v > o->max))) {
			snprintf(err, err_len, "%s: '%s' is not a whole number in %" PRId64 "..%" PRId64,
				 o->key, value, o->min, o->max);
			return -EINVAL;
		}
		*(int64_t *)field = v;
		return 0;
	}
	case DFS_CFG_SIZE:
		if (dfs_parse_size(value, (uint64_t *)field) < 0) {
			snprintf(err, err_len, "%s: '%s' is not a size (e.g. 64M, 1G)", o->key, value);
			return -EINVAL;
		}
		return 0;
	case DFS_CFG_DURATION: {
		int64_t ms;
		const char *unit_s = strstr(o->key, "_s");
		int plain_seconds = unit_s != NULL && unit_s[2] == '\0';
		char *end;
		strtoll(value, &end, 10);
		if (plain_seconds && end != value && *end == '\0') {
			*(int64_t *)field = strtoll(value, NULL, 10) * 1000;
			return 0;
		}
		if (dfs_parse_duration_ms(value, &ms) < 0) {
			snprintf(err, err_len, "%s: '%s' is not a duration (e.g. 500ms, 10s, 5m)",
				 o->key, value);
			return -EINVAL;
		}
		*(int64_t *)field = ms;
		return 0;
	}
	case DFS_CFG_BOOL:
		if (strcasecmp(value, "1") == 0 || strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "true") == 0 || strcasecmp(value, "on") == 0) {
			*(int *)field = 1;
		} else if (strcasecmp(value, "0") == 0 || strcasecmp(value, "no") == 0 ||
			   strcasecmp(value, "false") == 0 || strcasecmp(value, "off") == 0) {
			*(int *)field = 0;
		} else {
			snprintf(err, err_len, "%s: '%s' is not yes/no", o->key, value);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

int dfs_config_defaults(const struct dfs_config_option *table, size_t n, void *cfg)
{
	char err[256];
	for (size_t i = 0; i < n; i++) {
		int rc = set_one(&table[i], cfg, table[i].default_value, err, sizeof(err));
		if (rc < 0)
			return rc;
	}
	return 0;
}

int dfs_config_set(const struct dfs_config_option *table, size_t n, void *cfg,
		   const char *key, const char *value, char *err, size_t err_len)
{
	const struct dfs_config_option *o = find(table, n, key);
	if (o == NULL) {
		snprintf(err, err_len, "unknown option '%s'", key);
		return -EINVAL;
	}
	return set_one(o, cfg, value, err, err_len);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int dfs_config_load(const struct dfs_config_option *table, size_t n, void *cfg,
		    const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int rc = DFS_ERRNO();
		snprintf(err, err_len, "%s: %s", path, dfs_strerror(rc));
		return rc;
	}
	char line[4096];
	char msg[512];
	int lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, err_len, "%s:%d: expected KEY = VALUE", path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		char *key = trim(s);
		char *value = trim(eq + 1);
		rc = dfs_config_set(table, n, cfg, key, value, msg, sizeof(msg));
		if (rc < 0) {
			snprintf(err, err_len, "%s:%d: %s", path, lineno, msg);
			break;
		}
	}
	fclose(f);
	return rc;
}

void dfs_config_dump(const struct dfs_config_option *table, size_t n, const void *cfg, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct dfs_config_option *o = &table[i];
		const char *field = (const char *)cfg + o->offset;
		fprintf(out, "# %s (default: %s)\n", o->help, o->default_value);
		switch (o->type) {
		case DFS_CFG_STRING: {
			const char *v = *(char *const *)field;
			fprintf(out, "%s = %s\n", o->key, v != NULL ? v : "");
			break;
		}
		case DFS_CFG_INT:
			fprintf(out, "%s = %" PRId64 "\n", o->key, *(const int64_t *)field);
			break;
		case DFS_CFG_SIZE:
			fprintf(out, "%s = %" PRIu64 "\n", o->key, *(const uint64_t *)field);
			break;
		case DFS_CFG_DURATION:
			fprintf(out, "%s = %" PRId64 "ms\n", o->key, *(const int64_t *)field);
			break;
		case DFS_CFG_BOOL:
			fprintf(out, "%s = %s\n", o->key, *(const int *)field ? "yes" : "no");
			break;
		}
	}
}

void dfs_config_free(const struct dfs_config_option *table, size_t n, void *cfg)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].type == DFS_CFG_STRING) {
			char **p = (char **)((char *)cfg + table[i].offset);
			free(*p);
			*p = NULL;
		}
	}
}
