# SPDX-License-Identifier: GPL-2.0
"""The rule harness must be able to fail."""

import shutil
from pathlib import Path

from conftest import TOP
from pinconv import ruletest


def test_broken_res_fails(tmp_path: Path) -> None:
	cases = tmp_path / 'cases'
	shutil.copytree(TOP / 'tests' / 'cocci' / 'zero_page_pin', cases / 'zero_page_pin')
	res = cases / 'zero_page_pin' / 'pinned.res'
	res.write_text(res.read_text().replace('pin_user_page(page)', 'get_page(page)'))
	rules = tmp_path / 'rules'
	rules.mkdir()
	shutil.copy(TOP / 'cocci' / 'zero_page_pin.cocci', rules)
	results = ruletest.run_all(rules, cases)
	bad = [r for r in results if not r.ok]
	assert [r.case for r in bad] == ['pinned']
	assert 'pin_user_page' in bad[0].detail


def test_rule_without_cases_fails(tmp_path: Path) -> None:
	rules = tmp_path / 'rules'
	rules.mkdir()
	shutil.copy(TOP / 'cocci' / 'zero_page_pin.cocci', rules / 'lonely.cocci')
	results = ruletest.run_all(rules, tmp_path / 'none')
	assert len(results) == 1 and not results[0].ok


def test_every_rule_has_kernel_header() -> None:
	for rule in sorted((TOP / 'cocci').rglob('*.cocci')):
		text = rule.read_text()
		assert text.startswith('// SPDX-License-Identifier: '), rule
		assert '\n/// ' in text and '// Confidence: ' in text and '// Options: ' in text, rule
		for mode in ('patch', 'context', 'org', 'report'):
			assert f'virtual {mode}\n' in text, (rule, mode)
		assert 'coccilib.report.print_report' in text and 'coccilib.org.print_todo' in text, rule


def _zero_page_cases(tmp_path: Path) -> tuple:
	cases = tmp_path / 'cases'
	shutil.copytree(TOP / 'tests' / 'cocci' / 'zero_page_pin', cases / 'zero_page_pin')
	rules = tmp_path / 'rules'
	rules.mkdir()
	shutil.copy(TOP / 'cocci' / 'zero_page_pin.cocci', rules)
	return cases / 'zero_page_pin', rules, cases


def test_unparsable_input_fails(tmp_path: Path) -> None:
	"""--very-quiet hides a parse error, and a function the rule cannot
	see is left unchanged: a case whose .res equals its input must not
	pass that way."""
	d, rules, cases = _zero_page_cases(tmp_path)
	src = (d / 'unpinned.c').read_text()
	broken = src.replace('{', '{ int (;', 1)
	(d / 'unpinned.c').write_text(broken)
	(d / 'unpinned.res').write_text(broken)
	(d / 'unpinned.report').unlink()
	bad = [r for r in ruletest.run_all(rules, cases) if not r.ok]
	assert [r.case for r in bad] == ['unpinned'], [r.detail for r in bad]
	assert 'does not parse' in bad[0].detail


def test_report_lines_are_counted(tmp_path: Path) -> None:
	"""A report line expected twice is two findings, not one."""
	d, rules, cases = _zero_page_cases(tmp_path)
	rep = d / 'pinned.report'
	lines = rep.read_text().splitlines()
	assert lines
	rep.write_text('\n'.join(lines + lines[:1]) + '\n')
	bad = [r for r in ruletest.run_all(rules, cases) if not r.ok]
	assert [r.case for r in bad] == ['pinned'] and 'report differs' in bad[0].detail
