# man/: build rules (filled in by the component)
dist_man_MANS += man/dfs.1 man/libdfs.3
