# SPDX-License-Identifier: GPL-2.0
"""Out-of-tree modules: make spatch|check|audit M= on tests/module/pinmod,
a module written for these tests:

  pinmod_gup.c     get_user_pages_fast() + kmap/memcpy + put_page in one
                   function: the two CPU writes (FOLL_WRITE, dirtied) are
                   converted on both generations (cocci/gup/gup_pin,
                   pin_user_pages.rst case 5); the two CPU reads stay on
                   FOLL_GET (ref-ok: a read pin would unshare COW pages)
  pinmod_dio.c     an acquire helper (iov_iter_get_pages2() into io->pages)
                   and a release helper paired by their caller: review on
                   both (6.1: cocci/helper_release_pin is held back, the
                   helper may be handed a kernel iterator; 6.12: the
                   release is in another function)
  pinmod_keep.c    a page kept in a structure and put elsewhere: left alone
  pinmod_compat.c  get_user_pages(FOLL_WRITE) under '#if LINUX_VERSION_CODE':
                   both branches converted alike

The owner's repository (a branch of work in progress, an ignored build
product) is byte for byte the same afterwards; a dirty one is refused.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest

from conftest import TOP, pinconv, snapshot
from pinconv import tree

pytestmark = pytest.mark.e2e

MODULE_SRC = TOP / 'tests' / 'module' / 'pinmod'
OWNER = dict(os.environ, GIT_AUTHOR_NAME='Module Owner', GIT_AUTHOR_EMAIL='owner@example.org',
	     GIT_COMMITTER_NAME='Module Owner', GIT_COMMITTER_EMAIL='owner@example.org')


def git(repo: Path, *args: str) -> str:
	return subprocess.run(['git', *args], cwd=repo, check=True, text=True, env=OWNER,
			      capture_output=True).stdout.strip()


@pytest.fixture(scope='module')
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
	"""The owner's repository: two commits on main, a wip branch checked
	out with a commit of its own, an ignored build product."""
	r = tmp_path_factory.mktemp('owner') / 'pinmod'
	shutil.copytree(MODULE_SRC, r)
	(r / '.gitignore').write_text('*.o\n*.ko\n')
	git(r, 'init', '-q', '-b', 'main')
	git(r, 'add', '-A')
	git(r, 'commit', '-q', '-m', 'pinmod: an out-of-tree module')
	(r / 'README').write_text('pinmod: pinconv test module\n')
	git(r, 'add', 'README')
	git(r, 'commit', '-q', '-m', 'pinmod: add a README')
	git(r, 'checkout', '-q', '-b', 'wip')
	(r / 'NOTES').write_text('work in progress\n')
	git(r, 'add', 'NOTES')
	git(r, 'commit', '-q', '-m', 'wip: notes')
	(r / 'pinmod.o').write_text('an ignored build product\n')
	yield r
	for ws in tree.work_dir().glob('mod-pinmod-*'):
		if (ws / '.git').is_dir() and str(r) in git(ws, 'remote', 'get-url', 'origin'):
			shutil.rmtree(ws)
			for d in ('patches', 'reports', 'wt'):
				shutil.rmtree(tree.work_dir() / d / ws.name, ignore_errors=True)


def run(*args: str) -> subprocess.CompletedProcess:
	t0 = time.monotonic()
	p = pinconv(*args)
	print(f'pinconv {" ".join(args)}: {time.monotonic() - t0:.1f} s')
	return p


EXPECT = {
	# kver: (commits, files converted)
	'6.1': ['pinmod_compat.c', 'pinmod_gup.c'],
	'6.12': ['pinmod_compat.c', 'pinmod_gup.c'],
}


@pytest.mark.kbuild
@pytest.mark.parametrize('kver', ['6.1', '6.12'])
def test_module_spatch_check_audit(repo: Path, kver: str) -> None:
	before = snapshot(repo)
	p = run('spatch', '--kver', kver, '--module', str(repo))
	assert p.returncode == 0, p.stderr
	ws = next(w for w in tree.work_dir().glob('mod-pinmod-*') if w.name.endswith(f'linux-{kver}')
		  and str(repo) in git(w, 'remote', 'get-url', 'origin'))
	rep = json.loads((tree.work_dir() / 'reports' / ws.name / 'spatch.json').read_text())
	assert [c['files'] for c in rep['commits']] == [[f] for f in EXPECT[kver]]
	assert all(c['subject'].startswith('pinmod: ') for c in rep['commits'])
	keep = [s for s in rep['sites'] if s['file'] == 'pinmod_keep.c' and s['api'] == 'get_user_pages_fast']
	assert [s['status'] for s in keep] == ['review']
	assert rep['compat'] == {}
	# The series is made from the owner's HEAD (wip), the clone's own.
	assert git(ws, 'rev-parse', 'pinconv-base') == git(repo, 'rev-parse', 'HEAD')
	patches = sorted((tree.work_dir() / 'patches' / ws.name).glob('*.patch'))
	assert len(patches) == len(EXPECT[kver]) + 1
	diff = subprocess.run(['git', 'diff', 'pinconv-base', 'pinconv', '--', 'pinmod_compat.c'],
			      cwd=ws, text=True, capture_output=True).stdout
	assert '+	ret = pin_user_pages(addr, 1, FOLL_WRITE, &page, NULL);' in diff
	assert '+	ret = pin_user_pages(addr, 1, FOLL_WRITE, &page);' in diff
	assert '+	unpin_user_page(page);' in diff
	p = run('check', '--kver', kver, '--module', str(repo))
	assert p.returncode == 0, p.stdout[-3000:] + p.stderr
	chk = json.loads((tree.work_dir() / 'reports' / ws.name / 'check.json').read_text())
	assert chk['passed'] == len(EXPECT[kver]) and chk['failed'] == 0
	assert all(c['build'] == 'ok' and not c['new_sparse'] and not c['checkpatch_errors']
		   for c in chk['commits'])
	p = run('audit', '--kver', kver, '--module', str(repo))
	assert p.returncode == 0, p.stderr
	a = json.loads((tree.work_dir() / 'reports' / ws.name / 'audit.json').read_text())
	cls: Dict[tuple, list] = {}
	for s in sorted(a['sites'], key=lambda s: s['line']):
		cls.setdefault((s['file'], s['api']), []).append(s['cls'])
	# peek, poke, copy_in, copy_out: the reads keep their references
	assert cls[('pinmod_gup.c', 'get_user_pages_fast')] == ['ref-ok', 'convertible'] * 2
	assert cls[('pinmod_keep.c', 'get_user_pages_fast')] == ['review']
	assert cls[('pinmod_dio.c', 'iov_iter_get_pages2')] == ['review']
	dio = [s for s in rep['sites'] if s['file'] == 'pinmod_dio.c' and s['api'] == 'iov_iter_get_pages2']
	assert [s['status'] for s in dio] == ['review']
	assert dio[0]['reason'].startswith('held back: ') == (kver == '6.1'), dio
	assert snapshot(repo) == before
	assert git(repo, 'rev-parse', '--abbrev-ref', 'HEAD') == 'wip'
	assert git(repo, 'for-each-ref', '--format=%(refname)') == 'refs/heads/main\nrefs/heads/wip'


def test_dirty_module_is_refused(repo: Path, tmp_path: Path) -> None:
	dirty = tmp_path / 'pinmod'
	shutil.copytree(repo, dirty)
	f = dirty / 'pinmod_gup.c'
	f.write_text(f.read_text() + '/* editing */\n')
	before = snapshot(dirty)
	for cmd in ('spatch', 'check', 'audit'):
		p = pinconv(cmd, '--kver', '6.1', '--module', str(dirty))
		assert p.returncode == 2
		lines = p.stderr.strip().splitlines()
		assert len(lines) == 1 and 'has uncommitted changes (1 paths' in lines[0], p.stderr
	assert snapshot(dirty) == before
	slug_dirs = [w for w in tree.work_dir().glob('mod-pinmod-*')
		     if (w / '.git').is_dir() and str(dirty) in git(w, 'remote', 'get-url', 'origin')]
	assert slug_dirs == []


def _owner_repo(r: Path, message: str) -> None:
	"""The module's files at r, one commit of the owner's (a new history)."""
	shutil.copytree(MODULE_SRC, r)
	git(r, 'init', '-q', '-b', 'main')
	git(r, 'add', '-A')
	git(r, 'commit', '-q', '-m', message)


def _module_series(ws: Path) -> Dict[str, bytes]:
	return {p.name: p.read_bytes()
		for p in sorted((tree.work_dir() / 'patches' / ws.name).glob('*.patch'))}


def test_module_recreated_rebased_and_pruned(tmp_path: Path) -> None:
	"""The module repository re-created at the same path (new history),
	then rebased and pruned: make spatch, check and audit M= go on, say in
	one line that the history changed, and the series is the one a first
	run on the new source gives (a copy at another path, so a workspace
	of its own). The owner's repository is byte for byte untouched."""
	r = tmp_path / 'a' / 'pinmod'
	_owner_repo(r, 'pinmod: an out-of-tree module')
	assert run('spatch', '--kver', '6.1', '--module', str(r)).returncode == 0
	ws = next(w for w in tree.work_dir().glob('mod-pinmod-*') if w.name.endswith('linux-6.1')
		  and str(r) in git(w, 'remote', 'get-url', 'origin'))
	try:
		for n, change in enumerate(['recreate', 'rebase']):
			if change == 'recreate':
				shutil.rmtree(r)
				_owner_repo(r, 'pinmod: imported again')
			else:
				git(r, 'commit', '-q', '--amend', '-m', 'pinmod: rebased')
				git(r, 'reflog', 'expire', '--expire=now', '--all')
				git(r, 'gc', '-q', '--prune=now')
			before = snapshot(r)
			for cmd in ('spatch', 'check', 'audit'):
				p = run(cmd, '--kver', '6.1', '--module', str(r))
				assert p.returncode == 0, (change, cmd, p.stdout[-2000:] + p.stderr)
				said = [l for l in p.stdout.splitlines() if 'changed under' in l]
				assert len(said) == (cmd == 'spatch'), (change, cmd, p.stdout)
			assert git(ws, 'rev-parse', 'pinconv-base') == git(r, 'rev-parse', 'HEAD')
			chk = json.loads((tree.work_dir() / 'reports' / ws.name / 'check.json').read_text())
			assert chk['failed'] == 0 and chk['passed'] == len(EXPECT['6.1'])
			# a first run on the new source: a clone of it at another path
			other = tmp_path / f'first-{n}' / 'pinmod'
			other.parent.mkdir()
			subprocess.run(['git', 'clone', '-q', str(r), str(other)], check=True)
			assert run('spatch', '--kver', '6.1', '--module', str(other)).returncode == 0
			ws2 = next(w for w in tree.work_dir().glob('mod-pinmod-*')
				   if w.name.endswith('linux-6.1')
				   and str(other) in git(w, 'remote', 'get-url', 'origin'))
			assert _module_series(ws) == _module_series(ws2), change
			assert len(_module_series(ws)) == len(EXPECT['6.1']) + 1
			assert snapshot(r) == before
			shutil.rmtree(ws2)
	finally:
		for w in tree.work_dir().glob('mod-pinmod-*'):
			if (w / '.git').is_dir() and str(tmp_path) in git(w, 'remote', 'get-url', 'origin'):
				shutil.rmtree(w)
				for d in ('patches', 'reports', 'wt'):
					shutil.rmtree(tree.work_dir() / d / w.name, ignore_errors=True)
