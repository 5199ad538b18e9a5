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

pytestmark = [pytest.mark.e2e, pytest.mark.kbuild]

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
	assert {'blk-raw-read', 'ext4-write', 'zonefs-write', 'fio-blk'} <= pinned
	# Held back on 6.1 (cocci/rules-6.1: their callers may be handed a
	# kernel iterator): fs/direct-io.c, fuse, NFS and blk-map stay on
	# references, and the tip takes no pin on their paths.
	held = {sc for f in ('fs/direct-io.c', 'fs/fuse/file.c', 'fs/nfs/direct.c',
			     'block/blk-map.c') for sc in boot.SCENARIOS_OF_FILE[f]}
	assert not held & pinned, held & pinned
	known = boot.KNOWN_BASE['get']
	for label, k in kernels.items():
		# The baseline's one known defect (zonefs sync appends, fixed by
		# kernel-overlay/6.1/0003) explains its warnings; the tip has none.
		explained = [w for w in k['warnings'] if label == 'base'
			     and any(re.search(d.log, w) for d in known.values() if d.log)]
		assert k['ok'] and k['warnings'] == explained, (label, k['warnings'])
		for name in boot.SCENARIOS:
			sc = k['scenarios'][name]
			r = sc['result']
			if label == 'base' and name in known:
				assert sc['verdict'] in ('known', 'pass'), (label, name, sc)
				continue
			assert sc['verdict'] in ('pass', 'skip'), (label, name, sc)
			if r.get('skipped'):
				continue
			assert r['data_ok'], (label, r)
			if name == boot.CONTROL:
				assert r['acquired'] == r['released'] > 0
			elif name in boot.ALWAYS_ANY:
				assert r['acquired'] == r['released'], (label, r)
			elif label == 'base':
				assert r['acquired'] == r['released'] == 0, (label, r)
			elif name in pinned:
				# Within the pages its I/O implies, as the report states.
				lo, hi = sc['expected_pages']
				assert lo <= r['acquired'] == r['released'] <= hi, (label, r)
	# CPU reads stay on references (cocci/gup/gup_pin.cocci: ref-ok): the
	# tip takes no pin for an execve's argv dump (TOMOYO) or a
	# /proc/<pid>/mem access, whose flags decide at run time.
	for name in ('tomoyo-argv', 'procmem-rw', *sorted(held)):
		r = kernels['tip']['scenarios'][name]['result']
		assert name not in pinned
		if not r.get('skipped'):
			assert r['acquired'] == r['released'] == 0, (name, r)
	# COW-shared pages as a kernel iterator (vmsplice, then splice into
	# O_DIRECT files) and under a CPU read (ptrace, /proc/<pid>/mem): no
	# pin on either kernel, data intact, the pages still shared.
	for label, k in kernels.items():
		for name in boot.NEVER_PINNED:
			sc = k['scenarios'][name]
			if label == 'base' and name in known:
				# cow-splice-zonefs: zonefs is read-only by then (0003).
				assert sc['expected'] == boot.EXPECT_KNOWN, (label, name, sc)
				continue
			assert sc['expected'] == boot.EXPECT_REF, (label, name, sc)
			r = sc['result']
			if not r.get('skipped'):
				assert r['acquired'] == r['released'] == 0 and r['data_ok'], (label, r)
	# The tree's mm selftests ran on both kernels (gup_test's runs; 6.1 has
	# no cow or gup_longterm), and the tip passes all the baseline passes.
	for label, k in kernels.items():
		runs = k['selftests']
		assert {'gup_test-u', 'gup_test-a', 'gup_test-L'} <= set(runs), (label, runs)
		assert all(c['pass'] >= 1 and c['fail'] == 0 for c in runs.values()), (label, runs)
	md = (tmp_path / 'reports' / KVER / 'boottest.md').read_text()
	assert 'Regressions (base passes, tip does not): none' in md
	# Every converted path that can run here did run.
	ran = {n for n, sc in kernels['tip']['scenarios'].items() if sc['verdict'] == 'pass'}
	assert 'zonefs-append' in ran and 'vfat-fault' in ran
	assert pinned - ran <= set(boot.unconfigured(t)), pinned - ran
	assert not any(r['unreached'] for r in rep['converted_files'].values())
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
	"""block/bio.c with __bio_release_pages() putting the pages of a
	BIO_PAGE_PINNED bio instead of unpinning them (the overlay's release
	by the bio's flag, which the converted block, iomap and zonefs paths
	rely on): their pins leak, and the boot test fails naming their
	scenarios and no other."""
	text = git('cat-file', '-p', f'{tip}:block/bio.c')
	bad_text, n = re.subn(r'if \(!bio_flagged\(bio, BIO_PAGE_PINNED\)\) \{\n(\t+)folio_put_refs',
			      r'if (true) {\n\1folio_put_refs', text)
	assert n == 1, 'the overlay no longer releases a bio by BIO_PAGE_PINNED'
	bad = commit_file(WORKSPACE, tip, 'block/bio.c', bad_text,
			  'block: put the pages of a pinned bio (boot test)\n')
	p, fails, named = boot_failing(bad)
	assert {'blk-raw-read', 'blk-raw-write', 'ext4-write'} <= named, p.stdout[-3000:]
	assert any('acquired' in l and 'released' in l for l in fails), fails
	bio = {sc for f in ('block/fops.c', 'fs/iomap/direct-io.c', 'fs/zonefs/file.c')
	       for sc in boot.SCENARIOS_OF_FILE[f]}
	assert named <= bio | {'kernel-log'}, named


def test_half_converted_fails_on_pages(tip: str) -> None:
	"""block/fops.c with its async path (__blkdev_direct_IO_async) put
	back on references while the sync paths pin: every count balances, but
	the scenarios that go through the async path pin fewer pages than
	their I/O implies, and the boot test fails naming them."""
	text = git('cat-file', '-p', f'{tip}:block/fops.c')
	head, sep, rest = text.partition('static ssize_t __blkdev_direct_IO_async(')
	assert sep, 'block/fops.c has no __blkdev_direct_IO_async'
	rest, n = re.subn(r'bio_iov_iter_pin_pages\(', 'bio_iov_iter_get_pages(', rest, count=1)
	assert n == 1, 'the async path of block/fops.c does not pin on the tip'
	bad = commit_file(WORKSPACE, tip, 'block/fops.c', head + sep + rest,
			  'block: take references again in __blkdev_direct_IO_async (boot test)\n')
	p, fails, named = boot_failing(bad)
	assert 'blk-raw-async' in named, p.stdout[-3000:]
	assert named <= set(boot.SCENARIOS_OF_FILE['block/fops.c']), named
	line = next(l for l in fails if 'FAIL blk-raw-async:' in l)
	assert 'must pin' in line and 'acquired' not in line, line


def test_zonefs_bvec_vectors_fail(tip: str) -> None:
	"""The tip without kernel-overlay/6.1/0004: zonefs_file_dio_append()
	allocates bio vectors for a bvec iterator again, and cow-splice-zonefs
	(splice into a zone file opened O_DIRECT) hits the warning of
	bio_iov_bvec_set() in block/bio.c; the boot test fails on it."""
	text = git('cat-file', '-p', f'{tip}:fs/zonefs/file.c')
	fixed = ('\tif (!iov_iter_count(from))\n\t\treturn 0;\n'
		 '\tnr_pages = bio_iov_vecs_to_alloc(from, BIO_MAX_VECS);\n')
	assert fixed in text, 'the tip lacks kernel-overlay/6.1/0004'
	bad = commit_file(WORKSPACE, tip, 'fs/zonefs/file.c', text.replace(
		fixed, '\tnr_pages = iov_iter_npages(from, BIO_MAX_VECS);\n'
		'\tif (!nr_pages)\n\t\treturn 0;\n'),
		'zonefs: allocate bio vectors for a bvec iterator again (boot test)\n')
	p, fails, named = boot_failing(bad)
	assert 'kernel-log' in named, p.stdout[-3000:]
	log = next(l for l in fails if 'FAIL kernel-log:' in l)
	assert re.search(r'WARNING: .* at block/bio\.c:\d+', log), log


def test_kernel_iterator_pinned_fails(tip: str) -> None:
	"""The tip made to pin a kernel iterator's pages again, as the
	withdrawn 6.1 overlay did: bio_iov_iter_pin_pages() pins the pages of
	an ITER_BVEC it has set as the bio's bvecs (and flags the bio
	BIO_PAGE_PINNED, so that they are unpinned at completion). The
	COW-shared pages that cow-splice-blk vmsplices and splices into the raw
	block device (O_DIRECT) are then pinned though not exclusive to their
	mm, and unpinning them hits CONFIG_DEBUG_VM's VM_BUG_ON_PAGE(): the boot
	test fails and names cow-splice-blk, and nothing that ran before it."""
	bio = git('cat-file', '-p', f'{tip}:block/bio.c')
	fn = bio.index('\nint bio_iov_iter_pin_pages(struct bio *bio, struct iov_iter *iter)\n')
	end = bio.index('\n}\n', fn)
	body, n = re.subn(r'\n\treturn bio_iov_iter_get_pages\(bio, iter\);$', '''
	ret = bio_iov_iter_get_pages(bio, iter);
	if (!ret && bio_flagged(bio, BIO_NO_PAGE_REF)) {
		struct folio_iter fi;

		bio_clear_flag(bio, BIO_NO_PAGE_REF);
		bio_set_flag(bio, BIO_PAGE_PINNED);
		bio_for_each_folio_all(fi, bio) {
			struct page *page = folio_page(fi.folio, fi.offset / PAGE_SIZE);
			size_t nr = (fi.offset + fi.length - 1) / PAGE_SIZE -
				    fi.offset / PAGE_SIZE + 1;

			while (nr--)
				WARN_ON_ONCE(!try_grab_page(page++, FOLL_PIN));
		}
	}
	return ret;''', bio[fn:end])
	assert n == 1, 'bio_iov_iter_pin_pages() no longer ends in bio_iov_iter_get_pages()'
	body = body.replace('{\n', '{\n\tint ret;\n\n', 1)
	bad = commit_file(WORKSPACE, tip, 'block/bio.c', bio[:fn] + body + bio[end:],
			  'block: pin the pages of a BVEC iterator (boot test)\n')
	p, fails, named = boot_failing(bad)
	assert 'cow-splice-blk' in named, p.stdout[-3000:]
	assert any('BUG' in l for l in fails), fails
	# The probe died in cow-splice-blk. The scenarios before it ran and
	# balanced: they fail only where a pin is expected, on the kernel log.
	why = {re.search(r'tip: FAIL ([\w-]+):', l).group(1): l.split(': ', 2)[-1] for l in fails}
	assert 'no result line' in why['cow-splice-blk'], why['cow-splice-blk']
	order = list(boot.SCENARIOS)
	for name in order[:order.index('cow-splice-blk')]:
		if name in why:
			assert why[name].startswith('kernel log has'), (name, why[name])


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


# 6.1's NFS conversion is held back (cocci/rules-6.1): only 6.12's series
# hands pins to the nfs_page.
@pytest.mark.parametrize('kver', ['6.12'])
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
