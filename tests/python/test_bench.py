# SPDX-License-Identifier: GPL-2.0
"""The benchmark's pure parts: the table and the step names."""

from pathlib import Path

from conftest import pinconv
from pinconv import bench
from pinconv.tree import Tree


def fake_tree() -> Tree:
	return Tree(Path('/x'), '6.1', '6.1.192', 'get', 'a' * 40, 'debian')


def test_markdown_rows() -> None:
	res = {'spatch': {'cold_s': 120.0, 'warm_s': 6.5, 'rules': ['a', 'b']},
	       'check': {'cold_s': 300.0, 'full_build_tip_s': 250.0, 'commits': 9,
			 'every_commit_from_scratch_s': 2250.0, 'ratio_to_one_build': 1.2,
			 'warm_s': 90.0}}
	md = bench.to_markdown(fake_tree(), res)
	assert '| `make spatch`, warm cache | 6.5 s | target < 10 s |' in md
	assert '| cold check / one full build | 1.2 | target < 1.5 |' in md
	assert 'coccicheck' not in md


def test_unknown_step_is_one_error_line(tmp_path: Path) -> None:
	p = pinconv('bench', '--steps', 'spatch,frobnicate', env={'PINCONV_OUT': str(tmp_path)})
	assert p.returncode != 0
	assert p.stderr.strip().splitlines() == [
		'pinconv: error: unknown benchmark step(s) frobnicate (known: tree, spatch, '
		'coccicheck, audit, check, boot)']
