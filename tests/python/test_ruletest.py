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
