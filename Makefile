# SPDX-License-Identifier: GPL-2.0
# pinconv: convert Direct-I/O callers from page references to page pins.
# See README.md. Every target takes KVER=6.1|6.12 (default 6.1) and KDIR=.

# Debian's interpreter: its python3-* packages are installed for it.
PY      ?= /usr/bin/python3
KVER    ?= 6.1
KDIR    ?=
PINCONV := PYTHONPATH=$(CURDIR)/scripts $(PY) -m pinconv
TREEARGS = --kver $(KVER) $(if $(KDIR),--kdir $(KDIR))

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
	@$(if $(AUTHOR),PINCONV_AUTHOR="$(AUTHOR)") $(PINCONV) spatch $(TREEARGS)

# Boot the baseline and the series tip in QEMU; prove pins taken and released.
.PHONY: boottest
boottest: deps-check
	@$(PINCONV) boottest $(TREEARGS) $(if $(EXPECT_PINNED),--expect-pinned $(EXPECT_PINNED))

clean-tree:
	rm -rf work/linux-$(KVER) work/linux-$(KVER).tmp

# The inner loop: rule cases and unit tests, no kernel trees, builds or boots.
test-quick: deps-check test-cocci
	@$(PY) -m pytest -q -m 'not e2e'

test-cocci: deps-check
	@$(PINCONV) test-cocci

# Everything: rule cases, unit tests and the end-to-end checks on the
# default 6.1 tree (series up to date, git am on a pristine tree).
test: deps-check tree test-cocci
	@$(PY) -m pytest -q
