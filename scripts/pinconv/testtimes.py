# SPDX-License-Identifier: GPL-2.0
"""The time each test of the last pytest run took (work/test-times.tsv,
written by tests/python/conftest.py as each test ends): the slowest
first, the tests that build a kernel marked, and the total."""

from pathlib import Path
from typing import List, Tuple

from pinconv.printer import Error
from pinconv.tree import TOP

RECORD = TOP / 'work' / 'test-times.tsv'


def read(path: Path) -> List[Tuple[float, bool, str]]:
	"""(seconds, builds a kernel, test id) per finished test."""
	if not path.is_file():
		raise Error(f'{path} does not exist: run make test (or pytest) first')
	rows = []
	for line in path.read_text().splitlines():
		secs, kbuild, nodeid = line.split('\t', 2)
		rows.append((float(secs), kbuild == 'kbuild', nodeid))
	return rows


def table(rows: List[Tuple[float, bool, str]], top: int = 25) -> str:
	total = sum(r[0] for r in rows)
	kb = sum(r[0] for r in rows if r[1])
	out = [f'{len(rows)} tests, {total / 60:.1f} min in all, {kb / 60:.1f} min in the '
	       f'{sum(1 for r in rows if r[1])} that build a kernel (marked K)']
	for secs, kbuild, nodeid in sorted(rows, key=lambda r: -r[0])[:top]:
		out.append(f'{secs:8.1f} s {"K" if kbuild else " "} {nodeid}')
	return '\n'.join(out)


def main(top: int = 25) -> int:
	print(table(read(RECORD), top))
	return 0
