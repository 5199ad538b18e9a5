# SPDX-License-Identifier: GPL-2.0
"""make test-times: the last run's tests, slowest first, kernel builds marked."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TOP
from pinconv import testtimes
from pinconv.printer import Error


def test_slowest_first_with_kernel_builds_marked(tmp_path: Path) -> None:
	f = tmp_path / 'times.tsv'
	f.write_text('2.0\t-\ta.py::fast\n600.0\tkbuild\tb.py::boot[6.1]\n30.0\t-\tc.py::spatch\n')
	out = testtimes.table(testtimes.read(f), top=2).splitlines()
	assert out[0] == '3 tests, 10.5 min in all, 10.0 min in the 1 that build a kernel (marked K)'
	assert out[1].split() == ['600.0', 's', 'K', 'b.py::boot[6.1]']
	assert out[2].split() == ['30.0', 's', 'c.py::spatch']
	assert len(out) == 3


def test_no_record_is_one_error(tmp_path: Path) -> None:
	with pytest.raises(Error, match='run make test'):
		testtimes.read(tmp_path / 'none.tsv')


def test_kernel_building_tests_carry_the_marker() -> None:
	"""Every test that builds a kernel is marked kbuild (so make test-times
	can say how much of the suite they are)."""
	p = subprocess.run([sys.executable, '-m', 'pytest', '--collect-only', '-q', '-m', 'kbuild',
			    '-p', 'no:cacheprovider'], cwd=TOP, text=True, capture_output=True)
	ids = {l for l in p.stdout.splitlines() if '::' in l}
	for must in ('tests/python/test_boot_e2e.py::test_boottest_base_and_tip',
		     'tests/python/test_check.py::test_check_fails_on_the_broken_commit',
		     'tests/python/test_crossarch.py::test_arm64_builds_the_mte_conversion'):
		assert must in ids, (must, p.stdout[-2000:])
	assert not any('test_testtimes' in i or 'test_series.py' in i for i in ids)
