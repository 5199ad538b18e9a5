# SPDX-License-Identifier: GPL-2.0
"""Tests for the kernel overlay: its files, and apply() on a throwaway repo.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python
"""

import json
import re
import subprocess
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Dict, List

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'scripts'))

from pinconv import overlay  # noqa: E402
from pinconv.printer import Error  # noqa: E402
from pinconv.tree import BASE_TAG, BRANCH, Tree  # noqa: E402

KVERS = sorted(p.name for p in (TOP / 'kernel-overlay').iterdir()
	       if (p / 'series').is_file())

AUTHOR = 'Seed edcfb666 maintainers'
EMAIL = 'maintainers@users.noreply.r-seed-edcfb666.example'
DATE = 'Thu, 1 Jan 2026 00:00:00 +0000'


# The overlay files themselves.

def test_there_is_an_overlay() -> None:
	assert '6.1' in KVERS


@pytest.mark.parametrize('kver', KVERS)
def test_series_names_existing_patches(kver: str) -> None:
	d = TOP / 'kernel-overlay' / kver
	names = [line.split('#', 1)[0].strip()
		 for line in (d / 'series').read_text().splitlines()]
	names = [n for n in names if n]
	assert names
	assert len(names) == len(set(names))
	for name in names:
		assert (d / name).is_file(), name
	# and nothing in the directory is left out of the series
	assert sorted(names) == sorted(p.name for p in d.glob('*.patch'))
	assert [p.name for p in overlay.read_series(d)] == names


@pytest.mark.parametrize('kver', KVERS)
def test_patches_are_kernel_style(kver: str) -> None:
	patches = overlay.read_overlay(kver)
	subjects = [p.subject for p in patches]
	assert len(subjects) == len(set(subjects))
	for p in patches:
		text = p.path.read_text()
		# 'subsystem: what', as the subsystem's own log writes it
		assert re.match(r'^[A-Za-z0-9/_.,-]+(, [A-Za-z0-9/_.-]+)*: \S', p.subject), p.subject
		assert text.startswith('From 0000000000000000000000000000000000000000 ')
		assert p.author_name == AUTHOR and p.author_email == EMAIL
		assert f'\nDate: {DATE}\n' in text
		assert parsedate_to_datetime(p.date) == parsedate_to_datetime(DATE)
		body = text.split('\n---\n', 1)[0]
		assert f'\nSigned-off-by: {AUTHOR} <{EMAIL}>\n' in body + '\n', p.path.name
		assert '\ndiff --git ' in text


def test_overlay_6_1_apis() -> None:
	subjects = [p.subject for p in overlay.read_overlay('6.1')]
	assert subjects == ['iov_iter: add iov_iter_pin_pages() for user-backed iterators',
			    'block: add bio_iov_iter_pin_pages() and BIO_PAGE_PINNED',
			    'zonefs: fix the write pointer check of synchronous zone appends',
			    'zonefs: allocate no bio_vecs for a bvec iterator in '
			    'zonefs_file_dio_append()']
	# A kernel iterator's pages are never pinned: the pin API refuses one,
	# and no patch adds pin_user_page() (a pin on a page GUP did not pin).
	text = '\n'.join(p.path.read_text() for p in overlay.read_overlay('6.1'))
	assert '+	if (WARN_ON_ONCE(foll & FOLL_PIN))\n+		return -EFAULT;' in text
	assert '+	if (user_backed_iter(iter)) {' in text
	assert 'pin_user_page(' not in text.replace('unpin_user_page(', '')


# apply() on a tiny repository standing in for a kernel workspace.

IDENT: Dict[str, str] = {
	'GIT_AUTHOR_NAME': AUTHOR, 'GIT_AUTHOR_EMAIL': EMAIL,
	'GIT_COMMITTER_NAME': AUTHOR, 'GIT_COMMITTER_EMAIL': EMAIL,
	'GIT_AUTHOR_DATE': '2026-01-01T00:00:00+0000',
	'GIT_COMMITTER_DATE': '2026-01-01T00:00:00+0000',
	'GIT_CONFIG_NOSYSTEM': '1',
}


def sh(args: List[str], cwd: Path) -> str:
	return subprocess.run(['git'] + args, cwd=cwd, check=True, text=True,
			      stdout=subprocess.PIPE).stdout.strip()


@pytest.fixture(autouse=True)
def git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	"""A fixed identity and date, and no user or system git config."""
	for k, v in IDENT.items():
		monkeypatch.setenv(k, v)
	monkeypatch.setenv('HOME', str(tmp_path))


# Twenty lines, so that patches to the first and the last do not overlap.
FAKE_C = ''.join(f'int {chr(c)};\n' for c in range(ord('a'), ord('u')))


def make_repo(path: Path) -> Tree:
	"""A repo with one file on a baseline, like a kernel workspace."""
	path.mkdir()
	sh(['init', '-q', '-b', 'base'], path)
	(path / 'fake.c').write_text(FAKE_C)
	sh(['add', 'fake.c'], path)
	sh(['commit', '-q', '-m', 'Linux 0.0.0'], path)
	sh(['tag', BASE_TAG], path)
	sh(['checkout', '-q', '-b', BRANCH], path)
	base = sh(['rev-parse', 'HEAD'], path)
	return Tree(path=path, kver='0.0', version='0.0.0', generation='get',
		    base=base, origin='test')


def make_overlay(tmp: Path, edits: List[List[str]]) -> Path:
	"""kernel-overlay/0.0/ with one format-patch per edit of fake.c.

	Each edit is [subject, old line, new line]; edits stack in order.
	"""
	src = make_repo(tmp / 'src')
	for subject, old, new in edits:
		f = src.path / 'fake.c'
		text = f.read_text()
		assert old in text
		f.write_text(text.replace(old, new, 1))
		sh(['commit', '-q', '-a', '-s', '-m', f'{subject}\n\nBecause.'],
		   src.path)
	root = tmp / 'kernel-overlay'
	out = root / '0.0'
	sh(['format-patch', '-q', '--zero-commit', '--no-signature',
	    '-o', str(out), f'{src.base}..HEAD'], src.path)
	names = sorted(p.name for p in out.glob('*.patch'))
	(out / 'series').write_text('# test overlay\n' + '\n'.join(names) + '\n')
	return root


EDITS = [
	['mm/fake: add pin_a()', 'int a;\n', 'int a;\nint pin_a(void);\n'],
	['block: add pin_t()', 'int t;\n', 'int t;\nint pin_t(void);\n'],
]


def test_apply_is_idempotent(tmp_path: Path) -> None:
	root = make_overlay(tmp_path, EDITS)
	tree = make_repo(tmp_path / 'ws')

	first = overlay.apply(tree, root)
	assert len(first) == 2
	log = sh(['log', '--reverse', '--format=%s|%an|%cn|%ad|%cd',
		  '--date=iso-strict', f'{tree.base}..{BRANCH}'], tree.path)
	assert log.splitlines() == [
		f'{s}|{AUTHOR}|{AUTHOR}|2026-01-01T00:00:00+00:00|2026-01-01T00:00:00+00:00'
		for s, _, _ in EDITS]
	assert sh(['rev-parse', BRANCH], tree.path) == first[-1]
	assert 'pin_a' in (tree.path / 'fake.c').read_text()

	second = overlay.apply(tree, root)
	assert second == first
	assert sh(['rev-parse', BRANCH], tree.path) == first[-1]
	assert sh(['status', '--porcelain'], tree.path) == ''

	# Fixed identity and dates: another workspace gets the same hashes.
	other = make_repo(tmp_path / 'ws2')
	assert other.base == tree.base
	assert overlay.apply(other, root) == first


def test_apply_resumes_a_partial_overlay(tmp_path: Path) -> None:
	root = make_overlay(tmp_path, EDITS)
	tree = make_repo(tmp_path / 'ws')
	patches = overlay.read_overlay('0.0', root)
	sh(['am', '-q', '--committer-date-is-author-date', str(patches[0].path)],
	   tree.path)
	done = overlay.apply(tree, root)
	assert len(done) == 2
	assert done[0] == sh(['rev-parse', f'{BRANCH}~1'], tree.path)


def test_apply_refuses_foreign_commits_below(tmp_path: Path) -> None:
	root = make_overlay(tmp_path, EDITS)
	tree = make_repo(tmp_path / 'ws')
	(tree.path / 'other.c').write_text('x\n')
	sh(['add', 'other.c'], tree.path)
	sh(['commit', '-q', '-m', 'fs: a conversion'], tree.path)
	head = sh(['rev-parse', 'HEAD'], tree.path)
	with pytest.raises(Error, match='where overlay patch 0001-'):
		overlay.apply(tree, root)
	assert sh(['rev-parse', 'HEAD'], tree.path) == head


def test_apply_skips_a_moved_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
	"""A patch whose code moved (a newer tree) is reported, not a crash:
	the others apply, nothing is left half-done, overlay.json says why."""
	import io
	from pinconv.printer import Printer
	buf = io.StringIO()
	monkeypatch.setattr(overlay, 'stdout', Printer(buf))
	monkeypatch.setenv('PINCONV_WORK', str(tmp_path / 'work'))
	root = make_overlay(tmp_path, EDITS)
	tree = make_repo(tmp_path / 'ws')
	# The workspace's fake.c has moved on: the second patch cannot apply.
	(tree.path / 'fake.c').write_text(FAKE_C.replace('int r;', 'int see;'))
	sh(['commit', '-q', '-a', '-m', 'Linux 0.0.1'], tree.path)
	tree = Tree(path=tree.path, kver=tree.kver, version='0.0.1',
		    generation='get', base=sh(['rev-parse', 'HEAD'], tree.path),
		    origin='test')

	done = overlay.apply(tree, root)
	assert len(done) == 1
	out = buf.getvalue()
	assert '0002-block-add-pin_t.patch: NOT APPLIED, does not apply to' in out
	rep = json.loads((tmp_path / 'work' / 'reports' / 'ws' / 'overlay.json').read_text())
	assert [p['status'] for p in rep['patches']] == ['apply', 'moved']

	git_dir = tree.path / '.git'
	assert not (git_dir / 'rebase-apply').exists()
	assert sh(['status', '--porcelain'], tree.path) == ''
	# the first patch stays applied; the branch is usable as it is
	assert sh(['log', '-1', '--format=%s', BRANCH], tree.path) == EDITS[0][0]
	assert sh(['symbolic-ref', '--short', 'HEAD'], tree.path) == BRANCH


def test_apply_needs_a_clean_workspace(tmp_path: Path) -> None:
	root = make_overlay(tmp_path, EDITS)
	tree = make_repo(tmp_path / 'ws')
	(tree.path / 'fake.c').write_text('dirty\n')
	with pytest.raises(Error, match='uncommitted'):
		overlay.apply(tree, root)
	assert sh(['rev-parse', 'HEAD'], tree.path) == tree.base


def test_series_errors(tmp_path: Path) -> None:
	d = tmp_path / '0.0'
	d.mkdir()
	with pytest.raises(Error, match='series is missing'):
		overlay.read_series(d)
	(d / 'series').write_text('0001-x.patch\n')
	with pytest.raises(Error, match='0001-x.patch does not exist'):
		overlay.read_series(d)
	(d / '0001-x.patch').write_text('not a patch\n')
	(d / 'series').write_text('0001-x.patch -p0\n')
	with pytest.raises(Error, match='unsupported options'):
		overlay.read_series(d)
	(d / 'series').write_text('0001-x.patch\n')
	with pytest.raises(Error, match='not a git format-patch'):
		overlay.parse_patch(d / '0001-x.patch')


def test_plan_skips_what_the_tree_has(tmp_path: Path) -> None:
	"""A newer tree that already has a patch's change: 'present', skipped,
	and the patches after it still apply on top."""
	root = make_overlay(tmp_path, EDITS)
	tree = make_repo(tmp_path / 'ws')
	(tree.path / 'fake.c').write_text(FAKE_C.replace('int a;\n', 'int a;\nint pin_a(void);\n'))
	sh(['commit', '-q', '-a', '-m', 'Linux 0.1.0'], tree.path)
	tree = Tree(path=tree.path, kver=tree.kver, version='0.1.0', generation='get',
		    base=sh(['rev-parse', 'HEAD'], tree.path), origin='test')
	steps = overlay.plan(tree, root)
	assert [(s.status, s.patch[:4]) for s in steps] == [('present', '0001'), ('apply', '0002')]
	assert 'applies in reverse' in steps[0].why
	assert overlay.withhold(steps) == {}


def test_provides_and_withhold() -> None:
	"""The APIs an overlay patch declares in include/; a patch that does
	not apply withholds the rules that call them."""
	d = overlay.overlay_dir('6.1')
	names = {p.name[:4]: overlay.provides(p) for p in overlay.read_series(d)}
	assert names['0001'] == ['iov_iter_pin_pages']
	assert names['0002'] == ['bio_iov_iter_pin_pages']
	from pinconv import spatch
	step = overlay.Step('0002-x.patch', 'x', 'moved', 'does not apply', names['0002'])
	try:
		assert set(overlay.withhold([step])) == {'bio_iov_iter_pin_pages'}
		kept = [r.name for r in spatch.load_rules('6.1')]
		assert 'bio_iov_iter_pin' not in kept
		assert 'gup/gup_pin' in kept
	finally:
		overlay.withhold([])
