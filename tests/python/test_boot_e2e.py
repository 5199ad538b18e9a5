# SPDX-License-Identifier: GPL-2.0
"""make boottest end to end on the 6.1 workspace: the baseline and the
series tip boot in QEMU and pass (the tip pins on every path it converts,
balanced); a tip with one unpin removed fails and names the scenarios."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest

from conftest import commit_file, committed_author, pinconv
from pinconv import boot, tree

pytestmark = pytest.mark.e2e

KVER = '6.1'
WORKSPACE = tree.work_dir() / f'linux-{KVER}'


def git(*args: str, env: Optional[Dict[str, str]] = None, input: Optional[str] = None) -> str:
	return subprocess.run(['git', *args], cwd=WORKSPACE, check=True, text=True,
			      env=dict(os.environ, **(env or {})), input=input,
			      capture_output=True).stdout.strip()


@pytest.fixture(scope='module')
def tip(tmp_path_factory: pytest.TempPathFactory) -> str:
	"""The series tip on the workspace's branch (make spatch, outputs aside)."""
	out = tmp_path_factory.mktemp('spatch')
	p = pinconv('spatch', '--kver', KVER,
		    env={'PINCONV_OUT': str(out), 'PINCONV_AUTHOR': committed_author()})
	assert p.returncode == 0, p.stdout[-2000:] + p.stderr
	return git('rev-parse', tree.BRANCH)


def test_boottest_base_and_tip(tip: str, tmp_path: Path) -> None:
	p = pinconv('boottest', '--kver', KVER, env={'PINCONV_OUT': str(tmp_path)})
	assert p.returncode == 0, p.stdout[-4000:] + p.stderr
	rep = json.loads((tmp_path / 'reports' / KVER / 'boottest.json').read_text())
	kernels = rep['kernels']
	assert kernels['tip']['rev'] == tip != kernels['base']['rev']
	t = tree.prepare(KVER)
	pinned = set(boot.pinned_by_series(t))
	assert {'blk-raw-read', 'ext4-write', 'vfat-read', 'sg-io', 'fuse-direct-write',
		'fio-fuse'} <= pinned
	for label, k in kernels.items():
		assert k['ok'] and not k['warnings'], (label, k['warnings'])
		for name in boot.SCENARIOS:
			sc = k['scenarios'][name]
			r = sc['result']
			assert sc['verdict'] in ('pass', 'skip'), (label, name, sc)
			if r.get('skipped'):
				continue
			assert r['data_ok'], (label, r)
			if name == boot.CONTROL:
				assert r['acquired'] == r['released'] > 0
			elif label == 'base':
				assert r['acquired'] == r['released'] == 0, (label, r)
			elif name in pinned:
				assert r['acquired'] == r['released'] > 0, (label, r)
	# CPU reads stay on references (cocci/gup/gup_pin.cocci: ref-ok): the
	# tip takes no pin for an execve's argv dump (TOMOYO) or a
	# /proc/<pid>/mem access, whose flags decide at run time.
	for name in ('tomoyo-argv', 'procmem-rw'):
		r = kernels['tip']['scenarios'][name]['result']
		assert name not in pinned
		if not r.get('skipped'):
			assert r['acquired'] == r['released'] == 0, (name, r)
	# Every converted path that can run here did run.
	ran = {n for n, sc in kernels['tip']['scenarios'].items() if sc['verdict'] == 'pass'}
	assert pinned - ran <= {'zonefs-append'} | set(boot.unconfigured(t)), pinned - ran
	# fio ran and verified on every path the guest has.
	for name in boot.SCENARIOS:
		if name.startswith('fio-') and name not in boot.unconfigured(t):
			for label, k in kernels.items():
				assert k['scenarios'][name]['result']['fio'].startswith('pass'), (label, name)


def boot_failing(bad: str) -> Tuple[subprocess.CompletedProcess, List[str], Set[str]]:
	"""make boottest REV=bad, which must fail: its output, its 'tip: FAIL'
	lines and the scenarios they name."""
	p = pinconv('boottest', '--kver', KVER, '--rev', bad)
	assert p.returncode == 1, p.stdout[-4000:] + p.stderr
	fails = [l for l in p.stdout.splitlines() if 'tip: FAIL ' in l]
	named = {re.search(r'tip: FAIL ([\w-]+):', l).group(1) for l in fails}
	return p, fails, named


def test_missing_unpin_fails(tip: str) -> None:
	"""block/fops.c with the unpin of __blkdev_direct_IO_simple() removed:
	its pins leak, and the boot test fails naming the raw block scenarios."""
	text = git('cat-file', '-p', f'{tip}:block/fops.c')
	bad_text, n = re.subn(r'\n\tbio_unpin_pages\(&bio, should_dirty\);', '', text)
	assert n == 1
	bad = commit_file(WORKSPACE, tip, 'block/fops.c', bad_text,
			  'block: drop an unpin (boot test)\n')
	p, fails, named = boot_failing(bad)
	assert 'blk-raw-read' in named or 'blk-raw-write' in named, p.stdout[-3000:]
	assert any('acquired' in l and 'released' in l for l in fails), fails
	# Only paths through __blkdev_direct_IO_simple leak: the probe's raw
	# block reads and writes, and fio's psync jobs on /dev/ram0.
	assert named <= {'blk-raw-read', 'blk-raw-write', 'fio-blk', 'kernel-log'}, named


def test_missing_gup_unpin_fails(tip: str) -> None:
	"""kernel/events/uprobes.c with the unpin of __update_ref_ctr() removed
	(cocci/gup/gup_pin.cocci converted it): the boot test fails and names
	uprobe-refctr."""
	text = git('cat-file', '-p', f'{tip}:kernel/events/uprobes.c')
	fn = text.index('__update_ref_ctr(struct mm_struct *mm')
	end = text.index('\n}\n', fn)
	body, n = re.subn(r'\n\tunpin_user_page\(page\);', '', text[fn:end])
	assert n == 1, 'the series no longer pins in __update_ref_ctr()'
	bad = commit_file(WORKSPACE, tip, 'kernel/events/uprobes.c', text[:fn] + body + text[end:],
			  'uprobes: drop an unpin (boot test)\n')
	p, fails, named = boot_failing(bad)
	assert 'uprobe-refctr' in named, p.stdout[-3000:]
	assert named <= {'uprobe-refctr', 'kernel-log'}, named


def test_missing_fuse_unpin_fails(tip: str) -> None:
	"""fs/fuse/file.c with fuse_release_user_pages() left on put_page()
	(the series pins in fuse_get_user_pages()): every direct read and
	write of the probe's FUSE server leaks its pins, and the boot test
	fails and names the fuse scenarios."""
	path = 'fs/fuse/file.c'
	text = git('cat-file', '-p', f'{tip}:{path}')
	fn = text.index('\nstatic void fuse_release_user_pages(')
	end = text.index('\n}\n', fn)
	body, n = re.subn(r'\n\t\tunpin_user_page\(ap->pages\[i\]\);', '\n\t\tput_page(ap->pages[i]);',
			  text[fn:end])
	assert n == 1, 'the series no longer pins in fuse_get_user_pages()'
	bad = commit_file(WORKSPACE, tip, path, text[:fn] + body + text[end:],
			  'fuse: put_page() the pinned pages (boot test)\n')
	p, fails, named = boot_failing(bad)
	fuse = set(boot.SCENARIOS_OF_FILE[path])
	assert fuse <= named, (fuse - named, p.stdout[-3000:])
	assert any('acquired' in l and 'released' in l for l in fails), fails
	assert named <= fuse | {'kernel-log'}, named


# ---- NFS direct I/O (6.1 and 6.12) and vmsplice (6.12): the containers ----

def workspace_git(kver: str, *args: str) -> str:
	return subprocess.run(['git', *args], cwd=tree.work_dir() / f'linux-{kver}', check=True,
			      text=True, capture_output=True).stdout.strip()


def container_put_page(text: str, fn: str, unpin: str, put: str) -> Tuple[str, int]:
	"""text with the unpin call of function fn (the release of the
	container that owns the pin) made a put_page(): the count of calls
	replaced."""
	start = text.index(f'\n{fn}(') if f'\n{fn}(' in text else text.index(f' {fn}(')
	end = text.index('\n}\n', start)
	body, n = re.subn(re.escape(unpin), put, text[start:end])
	return text[:start] + body + text[end:], n


@pytest.fixture(scope='module')
def tip612(tmp_path_factory: pytest.TempPathFactory) -> str:
	"""The 6.12 series tip (make spatch KVER=6.12, outputs aside)."""
	out = tmp_path_factory.mktemp('spatch612')
	p = pinconv('spatch', '--kver', '6.12',
		    env={'PINCONV_OUT': str(out), 'PINCONV_AUTHOR': committed_author('6.12')})
	assert p.returncode == 0, p.stdout[-2000:] + p.stderr
	return workspace_git('6.12', 'rev-parse', tree.BRANCH)


@pytest.mark.parametrize('kver', ['6.1', '6.12'])
def test_missing_nfs_container_unpin_fails(kver: str, request: pytest.FixtureRequest) -> None:
	"""fs/nfs/pagelist.c nfs_clear_request() with the unpin of a PG_PINNED
	request's page made a put_page() (the series pins in fs/nfs/direct.c
	and hands the pin to the nfs_page): every O_DIRECT read and write
	through the guest's NFS mount leaks its pins, and the boot test fails
	naming the NFS scenarios. On 6.12 fs/splice.c's pipe buffer release
	(user_page_pipe_buf_release(), under PIPE_BUF_FLAG_PINNED) is broken
	the same way in the same commit, and the vmsplice scenarios are named
	too."""
	tip = request.getfixturevalue('tip' if kver == '6.1' else 'tip612')
	ws = tree.work_dir() / f'linux-{kver}'
	changed = workspace_git(kver, 'diff', '--name-only', f'{tree.BASE_TAG}..{tip}').split()
	if 'fs/nfs/pagelist.c' not in changed:
		pytest.skip(f'the {kver} series does not hand NFS pins to the nfs_page yet')
	path = 'fs/nfs/pagelist.c'
	text, n = container_put_page(workspace_git(kver, 'cat-file', '-p', f'{tip}:{path}'),
				     'nfs_clear_request', 'unpin_user_page(page);', 'put_page(page);')
	assert n == 1, 'nfs_clear_request() no longer unpins a PG_PINNED page'
	bad = commit_file(ws, tip, path, text, 'NFS: put_page() the pinned pages (boot test)\n')
	expect = set(boot.SCENARIOS_OF_FILE['fs/nfs/direct.c'])
	if kver == '6.12' and 'fs/splice.c' in changed:
		path = 'fs/splice.c'
		text, n = container_put_page(workspace_git(kver, 'cat-file', '-p', f'{tip}:{path}'),
					     'user_page_pipe_buf_release', 'unpin_user_page(buf->page);',
					     'put_page(buf->page);')
		assert n == 1, 'user_page_pipe_buf_release() no longer unpins a pinned buffer'
		bad = commit_file(ws, bad, path, text,
				  'splice: put_page() the pinned pipe buffers (boot test)\n')
		expect |= set(boot.SCENARIOS_OF_FILE['fs/splice.c'])
	p = pinconv('boottest', '--kver', kver, '--rev', bad)
	assert p.returncode == 1, p.stdout[-4000:] + p.stderr
	fails = [l for l in p.stdout.splitlines() if 'tip: FAIL ' in l]
	named = {re.search(r'tip: FAIL ([\w-]+):', l).group(1) for l in fails}
	assert expect <= named, (expect - named, p.stdout[-3000:])
	assert any('acquired' in l and 'released' in l for l in fails), fails
	assert named <= expect | {'kernel-log'}, named
