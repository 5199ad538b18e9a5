# SPDX-License-Identifier: GPL-2.0
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'scripts'))


def snapshot(root: Path) -> Dict[str, str]:
	"""A user's repository as bytes: every file under root (.git
	included) -> sha256 of its bytes, and every symlink and directory."""
	out = {}
	for p in sorted(root.rglob('*')):
		rel = str(p.relative_to(root))
		if p.is_symlink():
			out[rel] = 'link:' + os.readlink(p)
		elif p.is_dir():
			out[rel] = 'dir'
		else:
			out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
	return out


def pinconv(*args: str, env: dict = None, cwd: Path = TOP) -> subprocess.CompletedProcess:
	"""Run the CLI as make does."""
	e = dict(os.environ, PYTHONPATH=str(TOP / 'scripts'))
	e.update(env or {})
	return subprocess.run([sys.executable, '-m', 'pinconv', *args], cwd=cwd,
			      env=e, text=True, capture_output=True)


def committed_author(kver: str = '6.1') -> str:
	from pinconv import series
	author = series.committed_author(kver)
	assert author
	return author


def commit_file(repo: Path, base: str, path: str, text: str, message: str) -> str:
	"""A commit on base that sets path to text, made with plumbing and a
	private index: the repository's checkout, index and branches are not
	touched. Returns its sha."""
	index = Path(subprocess.run(['git', 'rev-parse', '--absolute-git-dir'], cwd=repo,
				    check=True, text=True, capture_output=True).stdout.strip()) \
		/ 'pinconv-test.index'
	env = dict(os.environ, GIT_INDEX_FILE=str(index), GIT_AUTHOR_NAME='pinconv test',
		   GIT_AUTHOR_EMAIL='test@pinconv.invalid', GIT_COMMITTER_NAME='pinconv test',
		   GIT_COMMITTER_EMAIL='test@pinconv.invalid')

	def git(*args: str, input: str = None) -> str:
		return subprocess.run(['git', *args], cwd=repo, check=True, text=True, env=env,
				      input=input, capture_output=True).stdout.strip()
	try:
		git('read-tree', base)
		blob = git('hash-object', '-w', '--stdin', input=text)
		git('update-index', '--cacheinfo', f'100644,{blob},{path}')
		tree = git('write-tree')
	finally:
		index.unlink(missing_ok=True)
	return git('commit-tree', tree, '-p', base, input=message)


FAKE_UIO_GET = 'ssize_t iov_iter_get_pages2(struct iov_iter *i);\n'
FAKE_UIO_EXTRACT = FAKE_UIO_GET + ('ssize_t iov_iter_extract_pages(struct iov_iter *i);\n'
				   'static inline bool iov_iter_extract_will_pin(const struct iov_iter *i);\n')
FAKE_MM = ('long pin_user_pages_fast(unsigned long start, int nr_pages);\n'
	   'void unpin_user_page(struct page *page);\n')


@pytest.fixture
def fake_kernel(tmp_path: Path) -> Path:
	"""A tiny git repository that looks like a Linux 6.1 tree: the
	headers declare what the 'get' generation's rules need."""
	k = tmp_path / 'linux'
	(k / 'block').mkdir(parents=True)
	(k / 'include' / 'linux').mkdir(parents=True)
	(k / 'Makefile').write_text('# SPDX\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 7\n')
	(k / 'MAINTAINERS').write_text('List of maintainers\n')
	(k / 'block' / 'fops.c').write_text('int x;\n')
	(k / 'include' / 'linux' / 'uio.h').write_text(FAKE_UIO_GET)
	(k / 'include' / 'linux' / 'mm.h').write_text(FAKE_MM)
	env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
		   GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
	for cmd in (['init', '-q', '-b', 'master'], ['add', '-A'], ['commit', '-q', '-m', 'v6.1.7']):
		subprocess.run(['git', *cmd], cwd=k, check=True, env=env)
	return k


# ---- the suite's time per test (issue 30: test tiers with a budget) ----
# Each test's setup + call + teardown seconds go to work/test-times.tsv
# the moment it ends, so that a run CI stops at its limit still says
# where the time went; `make test-times` prints the slowest.
from pinconv.testtimes import RECORD as TIMES  # noqa: E402 (scripts/ is on sys.path above)
_spent: Dict[str, float] = {}
_fresh = True


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
	global _fresh
	if _fresh:	# the first test of this run: the record starts anew
		TIMES.parent.mkdir(parents=True, exist_ok=True)
		TIMES.write_text('')
		_fresh = False
	_spent[report.nodeid] = _spent.get(report.nodeid, 0.0) + report.duration
	if report.when == 'teardown':
		kbuild = 'kbuild' if 'kbuild' in report.keywords else '-'
		with TIMES.open('a') as f:
			f.write(f'{_spent.pop(report.nodeid):.1f}\t{kbuild}\t{report.nodeid}\n')
