# FedAttention: `make demo` runs the main job, `make test` passes the tests.
# Both install what is missing on a fresh Debian machine with Swift.

SWIFT      ?= swift
CONFIG     ?= release
# Builds use AVX2 where the CPU they run on has it (the Haswell level: about 1.3x the training
# speed of the baseline x86-64 build here; swiftc's `native` picked a weaker target on this
# VM). `make CPU=` gives a portable binary to copy to other machines.
CPU        ?= $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo haswell)
BUILD       = $(SWIFT) build -c $(CONFIG) $(if $(CPU),-Xswiftc -target-cpu -Xswiftc $(CPU))
BIN         = .build/$(CONFIG)/fedattn-client
COORDINATOR = .build/$(CONFIG)/fedattn-coordinator
DATA        = ../shared/data/movielens-100k
# `make install`: PREFIX/bin, PREFIX/share/man/man1, PREFIX/share/doc/fedattention, the systemd
# unit in UNITDIR, and /etc/fedattention/coordinator.json (only if there is none); all under
# DESTDIR when given (a staging folder). INSTALL_FROM is where the binaries are taken from.
PREFIX       ?= /usr/local
DESTDIR      ?=
UNITDIR      ?= $(PREFIX)/lib/systemd/system
INSTALL_FROM ?= .build/$(CONFIG)
OPERATOR_DOCS = README.md docs/operations.md docs/client.md docs/protocol.md
# A release is portable: -target-cpu only when CPU= is given on the command line (or in the
# environment), never the haswell this machine's CPU picks for a local build.
RELEASE_CPU   = $(if $(filter command line environment,$(origin CPU)),$(CPU))
RELEASE_BUILD = $(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release \
                $(if $(RELEASE_CPU),-Xswiftc -target-cpu -Xswiftc $(RELEASE_CPU))
VERSION       = $(shell scripts/release-version.sh)
DEB          ?= out/release/fedattention_$(VERSION)_$(shell dpkg --print-architecture).deb

.PHONY: all deps test-deps build test test-repeat demo bench bench-quality bench-privacy bench-secure bench-ranking bench-hostile lint clean proto fuzz-asan \
        install install-files release package-test run-through

all: build

# System packages, the Python reader used by the safetensors interop test, what the Python
# client (clients/python, a second implementation of the protocol) needs.
deps:
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on PATH: install Swift 6 first"; exit 1; }
	@missing=""; for p in pkg-config libzstd-dev zlib1g-dev; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq && apt-get install -y -qq $$missing) || echo "warning: could not install$$missing"; fi
	@python3 -c "import safetensors.numpy" 2>/dev/null || pip install -q safetensors 2>/dev/null \
	  || echo "note: python3 safetensors not installed; its interop test will be skipped"
	@python3 -c "import grpc, grpc_tools, zstandard, numpy, cryptography" 2>/dev/null || pip install -q grpcio grpcio-tools zstandard numpy cryptography 2>/dev/null \
	  || echo "note: python3 grpcio, grpcio-tools, zstandard, numpy or cryptography not installed; the Python client's tests will be skipped"
	@python3 -c "import dp_accounting.rdp" 2>/dev/null || pip install -q dp-accounting 2>/dev/null \
	  || echo "note: python3 dp-accounting not installed; the privacy accountant's cross-check will be skipped"

build: deps
	$(BUILD)

# Headless Chromium, which renders the HTML report in its test (tests only: `make demo` does not need it).
test-deps:
	@command -v chromium >/dev/null || (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null 2>&1)) \
	  || echo "note: chromium not installed; the report's rendering test will be skipped"

# Tests run optimised: the numeric tests train real models, which unoptimised Swift does 50x slower.
test: deps test-deps
	scripts/build-without-warnings.sh $(BUILD) --build-tests
	$(SWIFT) test -c $(CONFIG) --skip-build

# The suite RUNS times in a row (default 20) while a busy loop keeps every core occupied;
# stops at the first failing run and keeps its log (scripts/test-repeat.sh).
RUNS ?= 20
test-repeat: deps test-deps
	$(BUILD) --build-tests
	SWIFT=$(SWIFT) CONFIG=$(CONFIG) scripts/test-repeat.sh $(RUNS)

# The main job: a federation of the 10 built-in synthetic silos over gRPC with mutual TLS
# on 127.0.0.1, trained to rank at the command line's defaults, then the federated model
# recommending for one user of silo 0.
demo: build
	@mkdir -p out
	$(COORDINATOR) simulate --rounds 20 --out out/federated-model.safetensors --report out/report.html
	@echo "open $(CURDIR)/out/report.html for the plots"
	@echo
	$(BIN) recommend --model out/federated-model.safetensors --user u000001 --k 5

# The figures of the README: MovieLens-100k, local training on the pooled iid-10 silos, and
# 20-round federations of its iid-10 and dirichlet0.5-10 silos.
bench: build
	scripts/benchmark.sh $(BIN) $(DATA) $(COORDINATOR)

# The model-quality figures: server optimisers, model selection against centralised training,
# and robust aggregation under attack (about 8 minutes; federations of the model-selection table 5 times each; see scripts/quality.sh).
bench-quality: build
	scripts/quality.sh $(DATA) $(COORDINATOR) $(BIN)

# The differential-privacy figures: AUC at epsilon 1-8 for example-level DP-SGD and client-level
# DP-FedAvg, DP-SGD's training throughput, the accountant against dp-accounting (about 5
# minutes; see scripts/privacy.sh).
bench-privacy: build
	scripts/privacy.sh $(DATA) $(COORDINATOR) $(BIN)

# The ranking figures: HR@10, NDCG@10 (99 sampled negatives) and Recall@20, NDCG@20 (the whole
# catalogue) of the federated kept round on iid-10, dirichlet0.5-10 and the built-in silos,
# beside centralised training, the most popular items and, where Python's implicit is
# installed, its ALS (scripts/ranking.sh; about 5 minutes).
bench-ranking: build
	scripts/ranking.sh $(DATA) $(COORDINATOR) $(BIN)

# What one dishonest silo of 10 does to the figures and the kept round: forged evaluations
# (simulate --attack forge-eval-high, forge-eval-low) against the clean run, 3 runs each
# (scripts/hostile.sh; about 5 minutes).
bench-hostile: build
	scripts/hostile.sh $(DATA) $(COORDINATOR)

# Secure aggregation's figures: AUC and bytes against plain runs, seconds and coordinator CPU
# at 10 and 100 clients, a round with 30% dropouts (scripts/secure.sh).
bench-secure: build
	scripts/secure.sh $(DATA) $(COORDINATOR) $(BIN)

# A federation that runs through: serve on 127.0.0.1 with mutual TLS while a silo is added
# (request-certificate, sign), one removed, the coordinator's and a silo's certificates renewed
# and the coordinator upgraded (SIGTERM, started again on its state folder: NEW_COORDINATOR=, or
# the same build), with no round lost and no client restarted; prints the rounds, the events and
# their log lines, writes out/run-through.json (scripts/run-through.sh; about 30 s).
NEW_COORDINATOR ?=
run-through: build
	scripts/run-through.sh $(COORDINATOR) $(BIN) $(NEW_COORDINATOR)

# The fuzz test of every parser of outside bytes (the suites named *FuzzTests: update decoder,
# model files, click logs, zstd frames, PEM files, secure-aggregation messages, the wire
# mapping) under AddressSanitizer, FUZZ_ITERATIONS mutated inputs for the cheapest (fewer for
# those that write files or parse certificates): a debug build of its own in .build-asan
# (several minutes the first time).
FUZZ_ITERATIONS ?= 300000
fuzz-asan: deps
	FEDATTN_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt \
	  $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter FuzzTests

# Installs both executables, their man pages, the operator's documentation, the systemd unit
# fedattn-coordinator.service and the example settings (see PREFIX above; the unit runs as the
# user fedattn, which the .deb makes and a `make install` operator makes by hand:
# docs/operations.md#installing-as-a-service).
install: build
	$(MAKE) --no-print-directory install-files

# What `install` copies, from INSTALL_FROM, without building (`make release` stages with it).
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/fedattention \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/fedattention
	install -m 0755 $(INSTALL_FROM)/fedattn-coordinator $(INSTALL_FROM)/fedattn-client $(DESTDIR)$(PREFIX)/bin/
	for x in fedattn-coordinator fedattn-client; do \
	  scripts/manpage.sh $(INSTALL_FROM)/$$x > $(DESTDIR)$(PREFIX)/share/man/man1/$$x.1 || exit 1; \
	  gzip -9nf $(DESTDIR)$(PREFIX)/share/man/man1/$$x.1 || exit 1; done
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@DOCDIR@|$(PREFIX)/share/doc/fedattention|g' \
	  packaging/fedattn-coordinator.service.in > $(DESTDIR)$(UNITDIR)/fedattn-coordinator.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/fedattn-coordinator.service
	install -m 0644 $(OPERATOR_DOCS) packaging/coordinator.json $(DESTDIR)$(PREFIX)/share/doc/fedattention/
	test -e $(DESTDIR)/etc/fedattention/coordinator.json || install -m 0640 packaging/coordinator.json $(DESTDIR)/etc/fedattention/

# A release in out/release/: both executables with the Swift runtime linked in (a build of their
# own in .build-release, portable unless CPU= is given), a tarball and a .deb with the service
# (scripts/release.sh prints what it made: sizes, the .deb's Depends).
release: deps
	@command -v dpkg-shlibdeps >/dev/null || apt-get install -y -qq dpkg-dev
	$(RELEASE_BUILD)
	scripts/release.sh .build-release/release out/release

# The .deb (DEB=, default: the one `make release` made) installed with dpkg into a clean Debian
# root (debootstrap --variant=minbase, cached in .package-test/), booted with systemd-nspawn:
# the service starts from the installed unit, answers /readyz, stops cleanly on SIGTERM, with no
# Swift runtime in that root (scripts/package-test.sh; about a minute once the root is cached).
package-test:
	scripts/package-test.sh $(DEB)

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests client coordinator
	python3 scripts/check_package_imports.py

clean:
	rm -rf .build .build-release out

# Regenerates protocol/*.pb.swift and *.grpc.swift from protocol/*.proto (fedattn.proto, the
# federation's; health.proto, the standard gRPC health service's). Needs protoc
# (apt-get install protobuf-compiler) and the two plugins, built once from the package mirror.
PLUGINS ?= .build-plugins
PROTOS   = protocol/fedattn.proto protocol/health.proto
proto:
	@command -v protoc >/dev/null || apt-get install -y -qq protobuf-compiler
	@test -x $(PLUGINS)/release/protoc-gen-grpc-swift-2 || { \
	  rm -rf $(PLUGINS)-src && git clone -q https://github.com/grpc/grpc-swift-protobuf.git $(PLUGINS)-src && \
	  git -C $(PLUGINS)-src checkout -q 2.4.1 && \
	  $(SWIFT) build -c release --package-path $(PLUGINS)-src --scratch-path $(PLUGINS) --product protoc-gen-grpc-swift-2 && \
	  $(SWIFT) build -c release --package-path $(PLUGINS)-src --scratch-path $(PLUGINS) --product protoc-gen-swift; }
	protoc --plugin=protoc-gen-swift=$(PLUGINS)/release/protoc-gen-swift \
	  --plugin=protoc-gen-grpc-swift-2=$(PLUGINS)/release/protoc-gen-grpc-swift-2 \
	  --proto_path=protocol \
	  --swift_out=protocol --swift_opt=Visibility=Public,FileNaming=DropPath \
	  --grpc-swift-2_out=protocol --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=DropPath \
	  $(PROTOS)
