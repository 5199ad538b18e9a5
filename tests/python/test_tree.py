# SPDX-License-Identifier: GPL-2.0
"""Kernel workspaces: bad input gets one line, a user's tree is never touched."""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import FAKE_UIO_EXTRACT, TOP, pinconv, snapshot
from pinconv import tree
from pinconv.printer import Error


def git(k: Path, *args: str) -> str:
	return subprocess.run(['git', *args], cwd=k, check=True, text=True,
			      capture_output=True).stdout.strip()


def one_error_line(p: subprocess.CompletedProcess) -> str:
	assert p.returncode != 0
	lines = p.stderr.strip().splitlines()
	assert len(lines) == 1, p.stderr
	assert lines[0].startswith('pinconv: error: ')
	return lines[0]


def test_not_a_kernel_tree(tmp_path: Path) -> None:
	line = one_error_line(pinconv('tree', '--kdir', str(tmp_path)))
	assert 'is not a kernel tree' in line


def test_unknown_debian_tree() -> None:
	"""KVER names Debian's trees; any other tree comes with KDIR=."""
	line = one_error_line(pinconv('tree', '--kver', '5.4'))
	assert 'KVER=5.4: no Debian tree' in line and 'KDIR=' in line


def test_kdir_version_label_is_not_judged(fake_kernel: Path, tmp_path: Path) -> None:
	"""No version whitelist: a tree labelled 5.4 (or 7.3) whose headers
	have the 'get' generation's API takes the 6.1 rules."""
	mk = fake_kernel / 'Makefile'
	mk.write_text(mk.read_text().replace('PATCHLEVEL = 1', 'PATCHLEVEL = 4').replace('VERSION = 6', 'VERSION = 5'))
	git(fake_kernel, 'commit', '-qam', 'v5.4')
	p = pinconv('tree', '--kdir', str(fake_kernel), env={'PINCONV_WORK': str(tmp_path / 'w')})
	assert p.returncode == 0, p.stderr
	assert "Linux 5.4.7" in p.stdout and "'get' generation: cocci/rules-6.1" in p.stdout


def test_dirty_kdir_is_left_alone(fake_kernel: Path, tmp_path: Path) -> None:
	f = fake_kernel / 'block' / 'fops.c'
	f.write_text('int x = 1; /* work in progress */\n')
	line = one_error_line(pinconv('tree', '--kdir', str(fake_kernel),
				      env={'PINCONV_WORK': str(tmp_path / 'w')}))
	assert 'uncommitted changes' in line
	assert f.read_text() == 'int x = 1; /* work in progress */\n'
	assert git(fake_kernel, 'status', '--porcelain') == 'M block/fops.c'
	assert not (tmp_path / 'w').exists()


def test_kdir_gets_a_workspace_of_its_own(fake_kernel: Path, tmp_path: Path) -> None:
	head = git(fake_kernel, 'rev-parse', 'HEAD')
	p = pinconv('tree', '--kdir', str(fake_kernel), env={'PINCONV_WORK': str(tmp_path / 'w')})
	assert p.returncode == 0, p.stderr
	ws = next((tmp_path / 'w').glob('kdir-linux-*'))
	assert git(ws, 'rev-parse', 'pinconv-base') == head
	assert git(ws, 'rev-parse', '--abbrev-ref', 'HEAD') == tree.BRANCH
	# The user's repository: same branch, no new refs, clean.
	assert git(fake_kernel, 'rev-parse', '--abbrev-ref', 'HEAD') == 'master'
	assert git(fake_kernel, 'for-each-ref', '--format=%(refname)') == 'refs/heads/master'
	assert git(fake_kernel, 'status', '--porcelain') == ''
	# A second call is a no-op on the same HEAD.
	p = pinconv('tree', '--kdir', str(fake_kernel), env={'PINCONV_WORK': str(tmp_path / 'w')})
	assert p.returncode == 0 and 'cloning' not in p.stdout


def test_kernel_version_parses(fake_kernel: Path) -> None:
	assert tree.kernel_version(fake_kernel) == '6.1.7'
	with pytest.raises(Error):
		tree.kernel_version(fake_kernel / 'block')


@pytest.mark.e2e
def test_debian_tree_is_ready_and_cached() -> None:
	"""The real 6.1 workspace (make tree makes it): clean, one baseline
	commit, and a second call well under a second."""
	t0 = time.monotonic()
	p = pinconv('tree', '--kver', '6.1')
	took = time.monotonic() - t0
	assert p.returncode == 0, p.stderr
	ws = tree.work_dir() / 'linux-6.1'
	assert 'tree ready' in p.stdout
	assert took < 1.0, took
	assert git(ws, 'log', '--format=%s', 'pinconv-base') .startswith('Linux 6.1.')
	assert git(ws, 'rev-list', '--count', 'pinconv-base') == '1'


def test_kdir_generation_from_the_headers(fake_kernel: Path, tmp_path: Path) -> None:
	"""A tree labelled 6.1 whose uio.h has the extract API takes the 6.12
	rules; one with neither iov_iter API gets one line and exit 2; KVER
	with KDIR must name the tree's series or its rule set."""
	uio = fake_kernel / 'include' / 'linux' / 'uio.h'
	uio.write_text(FAKE_UIO_EXTRACT)
	git(fake_kernel, 'commit', '-qam', 'extract')
	env = {'PINCONV_WORK': str(tmp_path / 'w')}
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 0, p.stderr
	assert "'extract' generation: cocci/rules-6.12, kernel-overlay/6.12" in p.stdout
	line = one_error_line(pinconv('tree', '--kdir', str(fake_kernel), '--kver', '5.4', env=env))
	assert "'extract' generation (rules-6.12), not KVER=5.4" in line
	assert pinconv('tree', '--kdir', str(fake_kernel), '--kver', '6.1', env=env).returncode == 0
	assert pinconv('tree', '--kdir', str(fake_kernel), '--kver', '6.12', env=env).returncode == 0
	uio.write_text('ssize_t iov_iter_get_pages(struct iov_iter *i);\n')
	git(fake_kernel, 'commit', '-qam', 'old')
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 2
	line = one_error_line(p)
	assert 'neither iov_iter_get_pages2() (Linux 6.0) nor iov_iter_extract_pages()' in line
	uio.write_text('ssize_t iov_iter_get_pages2(struct iov_iter *i);\n')
	git(fake_kernel, 'commit', '-qam', 'get2')
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 0, p.stderr
	assert 'Linux 6.1.7' in p.stdout


def test_kdir_without_pin_api(fake_kernel: Path, tmp_path: Path) -> None:
	"""iov_iter_get_pages2() but no unpin_user_page(): named, exit 2."""
	(fake_kernel / 'include' / 'linux' / 'mm.h').write_text('long pin_user_pages_fast(void);\n')
	git(fake_kernel, 'commit', '-qam', 'no unpin')
	p = pinconv('tree', '--kdir', str(fake_kernel), env={'PINCONV_WORK': str(tmp_path / 'w')})
	assert p.returncode == 2
	assert 'not unpin_user_page()' in one_error_line(p)


# ---- workspaces whose source changes under them (workspace.py) ----

def _recreate(k: Path, note: str) -> None:
	"""The same files at the same path, new history (a re-clone or a new
	import), plus one local commit on top."""
	files = {str(p.relative_to(k)): p.read_bytes() for p in k.rglob('*')
		 if p.is_file() and '.git' not in p.relative_to(k).parts}
	shutil.rmtree(k)
	for rel, data in files.items():
		(k / rel).parent.mkdir(parents=True, exist_ok=True)
		(k / rel).write_bytes(data)
	env = dict(os.environ, GIT_AUTHOR_NAME='u', GIT_AUTHOR_EMAIL='u@u',
		   GIT_COMMITTER_NAME='u', GIT_COMMITTER_EMAIL='u@u')
	for cmd in (['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 're-imported'],
		    ['commit', '-q', '--allow-empty', '-m', note]):
		subprocess.run(['git', *cmd], cwd=k, check=True, env=env)


def _rebase_and_prune(k: Path) -> None:
	"""What a user does weekly: rewrite the branch, expire the reflog, gc."""
	env = dict(os.environ, GIT_COMMITTER_NAME='u', GIT_COMMITTER_EMAIL='u@u')
	subprocess.run(['git', 'commit', '-q', '--amend', '-m', 'rewritten'], cwd=k, check=True, env=env)
	git(k, 'reflog', 'expire', '--expire=now', '--all')
	git(k, 'gc', '-q', '--prune=now')


def test_kdir_recreated_at_the_same_path(fake_kernel: Path, tmp_path: Path) -> None:
	"""Re-created with new history at the same path: the workspace owns
	its objects, so nothing is lost; one line says the history changed and
	the work starts from the new HEAD; the user's new repository is only
	read."""
	env = {'PINCONV_WORK': str(tmp_path / 'w')}
	assert pinconv('tree', '--kdir', str(fake_kernel), env=env).returncode == 0
	ws = next((tmp_path / 'w').glob('kdir-linux-*'))
	git(ws, 'checkout', '-q', '-b', 'scratch')   # a branch of the workspace's own
	_recreate(fake_kernel, 'a local commit')
	before = snapshot(fake_kernel)
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 0, p.stderr
	said = [l for l in p.stdout.splitlines() if 'changed under' in l]
	assert len(said) == 1 and str(fake_kernel) in said[0], p.stdout
	assert 'does not descend from the workspace\'s base' in said[0]
	assert git(ws, 'rev-parse', 'pinconv-base') == git(fake_kernel, 'rev-parse', 'HEAD')
	assert git(ws, 'rev-parse', '--abbrev-ref', 'HEAD') == tree.BRANCH
	assert not (ws / '.git' / 'objects' / 'info' / 'alternates').exists()
	assert snapshot(fake_kernel) == before
	# and it stays usable: a second run neither clones nor complains
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 0 and 'cloning' not in p.stdout and 'changed under' not in p.stdout


def test_kdir_rebased_and_pruned(fake_kernel: Path, tmp_path: Path) -> None:
	"""The workspace owns its objects: a rebase and gc --prune=now of the
	user's tree cannot break it; the next run says the base was rewritten
	and starts from the new HEAD. A fast-forward is only fetched."""
	env = {'PINCONV_WORK': str(tmp_path / 'w')}
	assert pinconv('tree', '--kdir', str(fake_kernel), env=env).returncode == 0
	ws = next((tmp_path / 'w').glob('kdir-linux-*'))
	_rebase_and_prune(fake_kernel)
	before = snapshot(fake_kernel)
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 0, p.stderr
	said = [l for l in p.stdout.splitlines() if 'changed under' in l]
	assert len(said) == 1 and 'rebased' in said[0], p.stdout
	assert git(ws, 'rev-parse', 'pinconv-base') == git(fake_kernel, 'rev-parse', 'HEAD')
	assert git(ws, 'fsck', '--no-dangling', '--connectivity-only') == ''
	assert snapshot(fake_kernel) == before
	git(fake_kernel, '-c', 'user.name=u', '-c', 'user.email=u@u', 'commit', '-q',
	    '--allow-empty', '-m', 'pulled')
	p = pinconv('tree', '--kdir', str(fake_kernel), env=env)
	assert p.returncode == 0, p.stderr
	assert 'cloning' not in p.stdout and 'changed under' not in p.stdout
	assert git(ws, 'rev-parse', 'pinconv-base') == git(fake_kernel, 'rev-parse', 'HEAD')


def test_shared_workspace_is_migrated(fake_kernel: Path, tmp_path: Path) -> None:
	"""A workspace made by git clone --shared (as pinconv did before) whose
	source was rebased and pruned: the objects still there are linked in,
	said in one line, and the run goes on from the new HEAD."""
	w = tmp_path / 'w'
	ws = w / f'kdir-{fake_kernel.name}-{hashlib.sha1(str(fake_kernel.resolve()).encode()).hexdigest()[:8]}'
	w.mkdir()
	git(w, 'clone', '-q', '--shared', '--no-checkout', str(fake_kernel), str(ws))
	git(ws, 'tag', tree.BASE_TAG, 'HEAD')
	git(ws, 'checkout', '-q', '-f', '-B', tree.BRANCH, 'HEAD')
	p = pinconv('tree', '--kdir', str(fake_kernel), env={'PINCONV_WORK': str(w)})
	assert p.returncode == 0, p.stderr
	said = [l for l in p.stdout.splitlines() if 'clone --shared' in l]
	assert len(said) == 1 and 'linked in' in said[0], p.stdout
	assert not (ws / '.git' / 'objects' / 'info' / 'alternates').exists()
	_rebase_and_prune(fake_kernel)
	p = pinconv('tree', '--kdir', str(fake_kernel), env={'PINCONV_WORK': str(w)})
	assert p.returncode == 0, p.stderr
	assert git(ws, 'rev-parse', 'pinconv-base') == git(fake_kernel, 'rev-parse', 'HEAD')
	assert git(ws, 'fsck', '--no-dangling', '--connectivity-only') == ''
