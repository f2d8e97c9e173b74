# common/: code every binary shares (framing, sockets, CRC32C, config, logs)
# and the protobuf wire schema, compiled once into libdfscommon.la.
PROTO_FILES = common/proto/common.proto common/proto/namenode.proto common/proto/datanode.proto \
	common/proto/raft.proto
PROTO_GEN_C = common/proto/common.pb-c.c common/proto/namenode.pb-c.c common/proto/datanode.pb-c.c \
	common/proto/raft.pb-c.c
PROTO_GEN_H = $(PROTO_GEN_C:.c=.h)
EXTRA_DIST += $(PROTO_FILES)
BUILT_SOURCES += $(PROTO_GEN_H) $(PROTO_GEN_C)
CLEANFILES += $(PROTO_GEN_C) $(PROTO_GEN_H) common/proto/.stamp

common/proto/.stamp: $(PROTO_FILES)
	@$(MKDIR_P) common/proto
	$(AM_V_GEN)$(PROTOC_C) --proto_path=$(srcdir) --c_out=$(builddir) $(addprefix $(srcdir)/,$(PROTO_FILES)) && touch $@
$(PROTO_GEN_C) $(PROTO_GEN_H): common/proto/.stamp

noinst_LTLIBRARIES += common/libdfscommon.la
common_libdfscommon_la_SOURCES = \
	common/crc32c.c common/crc32c.h \
	common/daemon.c common/daemon.h \
	common/config.c common/config.h \
	common/errors.c common/errors.h \
	common/frame.c common/frame.h \
	common/log.c common/log.h \
	common/clock.h \
	common/conn_pool.c common/conn_pool.h \
	common/net.c common/net.h \
	common/local_sock.c common/local_sock.h \
	common/replica_meta.c common/replica_meta.h
nodist_common_libdfscommon_la_SOURCES = $(PROTO_GEN_C) $(PROTO_GEN_H)
common_libdfscommon_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ISAL_CFLAGS)
common_libdfscommon_la_LIBADD = $(PROTOBUF_C_LIBS) $(ISAL_LIBS)
