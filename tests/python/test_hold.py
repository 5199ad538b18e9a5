# SPDX-License-Identifier: GPL-2.0
"""Rules held back in a rules-<kver> file ('hold <rule>, ...: <why>'): they
run in report mode only; what they would convert is reported for review with
the reason, and the file is left as it is (real spatch)."""

import shutil
from pathlib import Path

import pytest

from conftest import TOP
from pinconv import spatch

CASE = TOP / 'tests' / 'cocci' / 'bio_iov_iter_pin' / 'paired.c'


def test_read_order(tmp_path: Path) -> None:
	order = tmp_path / 'rules-x'
	order.write_text('# comment\nbio_iov_iter_pin\n\nhold a/b, c: why not # note\ngup/gup_pin\n')
	assert spatch.read_order(order) == [('bio_iov_iter_pin', ''), ('a/b', 'why not'),
					    ('c', 'why not'), ('gup/gup_pin', '')]


@pytest.mark.parametrize('held', [False, True])
def test_held_rule_reports_for_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
				      held: bool) -> None:
	shutil.copy(TOP / 'cocci' / 'bio_iov_iter_pin.cocci', tmp_path)
	line = 'hold bio_iov_iter_pin: waits for X' if held else 'bio_iov_iter_pin'
	(tmp_path / 'rules-x').write_text(line + '\n')
	monkeypatch.setattr(spatch, 'COCCI', tmp_path)
	rules = spatch.load_rules('x')
	assert [r.hold for r in rules] == (['waits for X'] if held else [''])
	src = CASE.read_text()
	[res] = spatch.apply_rules_on({'paired.c': src}, ['paired.c'], rules, jobs=1)
	acq = [f for f in res.findings if f.api == 'bio_iov_iter_get_pages']
	assert len(acq) == 1
	if held:
		assert res.new == src and res.rules == []
		assert acq[0].status == 'review'
		assert acq[0].reason.startswith('held back: waits for X (cocci/bio_iov_iter_pin.cocci '
						'would use bio_iov_iter_pin_pages()')
	else:
		assert 'bio_iov_iter_pin_pages(&bio, iter)' in res.new and res.rules == ['bio_iov_iter_pin']
		assert acq[0].status == 'convert'
	# what is not a conversion is reported as the rule says, held or not
	assert {f.status for f in res.findings if f.api == 'bio_release_pages'} == {'kept'}
