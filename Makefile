# SPDX-License-Identifier: GPL-2.0
# pinconv: convert Direct-I/O callers from page references to page pins.
# See README.md. Every target takes KVER=6.1|6.12 (default 6.1) and KDIR=.

# Debian's interpreter: its python3-* packages are installed for it.
PY      ?= /usr/bin/python3
KVER    ?= 6.1
KDIR    ?=
# M=/path/to/module: spatch, check and audit work on an out-of-tree module.
M       ?=
PINCONV := PYTHONPATH=$(CURDIR)/scripts $(PY) -m pinconv
# With KDIR, the series is read from the tree unless KVER is given too.
TREEARGS = $(if $(KDIR),--kdir $(KDIR) $(if $(filter file,$(origin KVER)),,--kver $(KVER)),--kver $(KVER))
MODARGS  = $(if $(M),--module $(M))
# Our command-line variables are ours: the kernel builds the toolkit runs
# must not see them in MAKEFLAGS (kbuild would take M= for its own).
MAKEOVERRIDES :=

.PHONY: all deps deps-check tree overlay clean-tree test test-quick test-cocci test-python

all: tree

deps:
	@sh scripts/deps.sh

deps-check:
	@sh scripts/deps.sh --check

tree: deps-check
	@$(PINCONV) tree $(TREEARGS)

overlay: deps-check
	@$(PINCONV) overlay $(TREEARGS)

# Regenerate patches/$(KVER)/ and reports/$(KVER)/spatch.json from cocci/.
# AUTHOR="Name <email>" overrides git config user.name/user.email.
.PHONY: spatch
spatch: deps-check
	@$(if $(AUTHOR),PINCONV_AUTHOR="$(AUTHOR)") $(PINCONV) spatch $(TREEARGS) $(MODARGS)

# make check, boottest and bisect build on a compile farm when the command
# line (or the environment) names one: DISTCC_HOSTS='host/N ...' or
# ICECC_SCHEDULER=host; ccache's misses compile there (scripts/pinconv/farm.py).

# Boot the baseline and the series tip in QEMU; prove pins taken and released.
# REV=rev boots only that revision, judged as the tip (work/reports/).
.PHONY: boottest
boottest: deps-check
	@$(PINCONV) boottest $(TREEARGS) $(if $(EXPECT_PINNED),--expect-pinned $(EXPECT_PINNED)) $(if $(REV),--rev $(REV))

# Every commit of REV (default pinconv-base..pinconv; one revision: from the
# baseline) builds, compiles the .c files it touches, adds no sparse warning
# and no checkpatch ERROR: reports/$(KVER)/check.{md,json}. PROOF=0 turns off
# the header proof (headerproof.py) and recompiles whatever a header reaches.
.PHONY: check bisect
check: deps-check
	@$(PINCONV) check $(TREEARGS) $(MODARGS) $(if $(REV),--rev $(REV)) $(if $(filter 0,$(PROOF)),--no-proof)

# The first commit between GOOD and BAD that fails TEST=build (default) or
# TEST=boot, found by git bisect run in a worktree of its own.
bisect: deps-check
	@$(PINCONV) bisect $(TREEARGS) --good "$(GOOD)" --bad "$(BAD)" $(if $(TEST),--test $(TEST))

# Classify every page-reference caller; reports/$(KVER)/audit.{md,json,sarif,svg}.
# BASELINE=file: exit 1 if the tree has an unconverted caller the baseline lacks.
# REV=rev audits another revision of the workspace (default: the baseline).
.PHONY: audit audit-baseline
audit: deps-check
	@$(PINCONV) audit $(TREEARGS) $(MODARGS) $(if $(REV),--rev $(REV)) $(if $(BASELINE),--baseline $(BASELINE))

audit-baseline: deps-check
	@$(PINCONV) audit $(TREEARGS) --write-baseline reports/$(KVER)/audit-baseline.json

# Mail the series through b4 (b4 prep, b4 send -o in work/mail/$(KVER)/b4/):
# writes work/mail/$(KVER)/outbox/ and shows who gets what;
# sends only with SEND=1 SMTP=host:port on the command line. TO=, CC= add
# addresses; FORCE=1 sends despite failed checks. (CC, SEND and FORCE from
# the environment are ignored: make's CC is the C compiler.)
ONCMD = $(filter command line,$(origin $(1)))
.PHONY: email
email: deps-check
	@$(PINCONV) email $(TREEARGS) $(if $(TO),--to "$(TO)") \
		$(if $(call ONCMD,CC),--cc "$(CC)") \
		$(if $(and $(call ONCMD,SEND),$(filter 1,$(SEND))),--send) \
		$(if $(SMTP),--smtp $(SMTP)) \
		$(if $(and $(call ONCMD,FORCE),$(filter 1,$(FORCE))),--force)

# Time the steps on this machine: reports/$(KVER)/bench.{md,json}.
# STEPS=tree,spatch,coccicheck,audit,check,boot (default all); COLD=1 adds
# make check with an empty ccache (its first commit is the full build).
.PHONY: bench
bench: deps-check
	@$(PINCONV) bench $(TREEARGS) $(if $(STEPS),--steps $(STEPS)) $(if $(filter 1,$(COLD)),--cold)

# The last pytest run's time per test (work/test-times.tsv), slowest first;
# K marks the tests that build a kernel; N=50 lists more.
.PHONY: test-times
test-times:
	@$(PINCONV) test-times $(if $(N),--top $(N))

# Regenerate the series (AUDIT=1: and the audit) on the installed tree into
# work/drift/ and compare with the committed ones: exit 0 if only the input
# moved (a new Debian revision: base, lines, unrelated files), 1 if what the
# rules decided or wrote changed.
.PHONY: drift
drift: deps-check
	@$(PINCONV) drift --kver $(KVER) $(if $(filter 1,$(AUDIT)),--audit)

clean-tree:
	rm -rf work/linux-$(KVER) work/linux-$(KVER).tmp

# The inner loop: rule cases and unit tests, no kernel trees, builds or boots.
test-quick: deps-check test-cocci
	@$(PY) -m pytest -q -m 'not e2e'

test-cocci: deps-check
	@$(PINCONV) test-cocci

# Everything: rule cases, unit tests and the end-to-end checks on the
# default 6.1 tree (series up to date, git am on a pristine tree, check,
# boot) and on the 6.12 tree (audit coverage).
test: deps-check test-cocci
	@$(PINCONV) tree --kver 6.1
	@$(PINCONV) tree --kver 6.12
	@$(PY) -m pytest -q --durations=15
