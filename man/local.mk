# man/: the man pages of the CLI, the library, the daemons and the config.
dist_man_MANS += man/dfs.1 man/libdfs.3 man/dfs-namenode.8 man/dfs-datanode.8 man/dfs.conf.5
