# SPDX-License-Identifier: GPL-2.0
"""Kernel workspaces: bad input gets one line, a user's tree is never touched."""

import subprocess
import time
from pathlib import Path

import pytest

from conftest import FAKE_UIO_EXTRACT, TOP, pinconv
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
