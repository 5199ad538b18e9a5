# SPDX-License-Identifier: GPL-2.0
"""A committed check report describes the committed series: the stable
patch-id of every commit it checked is the patch-id of the series' patch
in the same place (issue 27, point 6). A report of another series (an
earlier revision of the input, a rule that changed since) fails here, so
the figures README quotes from it are about what is committed."""

import json
import subprocess
from pathlib import Path
from typing import List

import pytest

TOP = Path(__file__).resolve().parents[2]
KVERS = ['6.1', '6.12']


def series_ids(kver: str) -> List[str]:
	ids = []
	for p in sorted((TOP / 'patches' / kver).glob('0*.patch'))[1:]:
		out = subprocess.run(['git', 'patch-id', '--stable'], input=p.read_bytes(),
				     capture_output=True, check=True).stdout.decode()
		ids.append(out.split()[0])
	return ids


def report_ids(kver: str) -> List[str]:
	rep = json.loads((TOP / 'reports' / kver / 'check.json').read_text())
	return [c.get('patch_id', '') for c in rep['commits']]


@pytest.mark.parametrize('kver', KVERS)
def test_check_report_is_of_the_committed_series(kver: str) -> None:
	want, got = series_ids(kver), report_ids(kver)
	assert len(want) == len(set(want)) > 0
	missing = [i + 1 for i, w in enumerate(want) if i >= len(got) or got[i] != w]
	assert not missing, (f'reports/{kver}/check.json does not describe patches/{kver}/: '
			     f'patches {missing} are not the commits it checked (make check KVER={kver})')
	assert len(got) == len(want)
	rep = json.loads((TOP / 'reports' / kver / 'check.json').read_text())
	assert rep['ok'] and not rep['failed'], rep['failed']


def test_another_series_is_told_apart(tmp_path: Path) -> None:
	"""The check can fail: a patch whose diff changed has another id."""
	p = sorted((TOP / 'patches' / '6.1').glob('0*.patch'))[1]
	text = p.read_text()
	i = text.index('\n+', text.index('\ndiff --git '))
	changed = text[:i] + '\n+/* changed */' + text[i:]
	ids = [subprocess.run(['git', 'patch-id', '--stable'], input=t.encode(),
			      capture_output=True, check=True).stdout.split()[0] for t in (text, changed)]
	assert ids[0] != ids[1]
