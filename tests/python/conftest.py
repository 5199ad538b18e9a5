# SPDX-License-Identifier: GPL-2.0
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'scripts'))


def pinconv(*args: str, env: dict = None, cwd: Path = TOP) -> subprocess.CompletedProcess:
	"""Run the CLI as make does."""
	e = dict(os.environ, PYTHONPATH=str(TOP / 'scripts'))
	e.update(env or {})
	return subprocess.run([sys.executable, '-m', 'pinconv', *args], cwd=cwd,
			      env=e, text=True, capture_output=True)


def committed_author(kver: str = '6.1') -> str:
	"""The From: of the committed cover letter (folded header unfolded), so
	a regenerated series can be compared byte for byte."""
	import re
	text = (TOP / 'patches' / kver / '0000-cover-letter.patch').read_text()
	m = re.search(r'^From: (.*(?:\n [^\n]*)*)', text, re.M)
	assert m
	return ' '.join(m.group(1).split())


@pytest.fixture
def fake_kernel(tmp_path: Path) -> Path:
	"""A tiny git repository that looks like a Linux 6.1 tree."""
	k = tmp_path / 'linux'
	(k / 'block').mkdir(parents=True)
	(k / 'Makefile').write_text('# SPDX\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 7\n')
	(k / 'MAINTAINERS').write_text('List of maintainers\n')
	(k / 'block' / 'fops.c').write_text('int x;\n')
	env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
		   GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
	for cmd in (['init', '-q', '-b', 'master'], ['add', '-A'], ['commit', '-q', '-m', 'v6.1.7']):
		subprocess.run(['git', *cmd], cwd=k, check=True, env=env)
	return k
