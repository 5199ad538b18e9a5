# SPDX-License-Identifier: GPL-2.0
"""Any kernel tree from 6.0 on, whatever its version string says: trees
labelled 7.3, 6.18 and 6.6 made from the Debian 6.12 tree (they have
iov_iter_extract_pages(), as those releases do) and one labelled 6.2 made
from the 6.1 tree (the last mainline release with only
iov_iter_get_pages2()). make tree, spatch and audit with KDIR= use the
rules of their generation. The 7.3 tree already has the 6.12 overlay's
fix (mainline-like), the 6.18 tree moved the code it changes: both are
reported, not a crash. A tree with neither iov_iter API gets one line.

The toolkit's workspaces of these trees go to a temporary work dir and are
removed; the spatch cache is the shared one (a warm make test reuses the
Debian trees' results: the files are the same).
"""

import json
import shutil
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest

from conftest import TOP, pinconv, snapshot
from kerneltrees import git, labelled_tree, show
from pinconv import overlay, spatch, tree

pytestmark = pytest.mark.e2e

OVERLAY_612 = TOP / 'kernel-overlay' / '6.12' / \
	'0001-mm-gup-count-folio_add_pin-in-nr_foll_pin_acquired.patch'
N_OVERLAY_612 = len(overlay.read_series(overlay.overlay_dir('6.12')))
# (label, Debian tree it is made from, rule set it must get)
TREES = [('7.3', '6.12', '6.12'), ('6.18', '6.12', '6.12'), ('6.6', '6.12', '6.12'),
	 ('6.2', '6.1', '6.1')]


@pytest.fixture(scope='module')
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
	w = tmp_path_factory.mktemp('anytree-work')
	yield w
	shutil.rmtree(w, ignore_errors=True)


@pytest.fixture(scope='module')
def trees(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Path]]:
	for kver in ('6.1', '6.12'):
		p = pinconv('tree', '--kver', kver)
		assert p.returncode == 0, p.stderr
	root = tmp_path_factory.mktemp('anytrees')
	ws61, ws612 = tree.work_dir() / 'linux-6.1', tree.work_dir() / 'linux-6.12'
	gup = show(ws612, 'mm/gup.c')
	anchor = 'static inline struct folio *gup_folio_range_next('
	assert anchor in gup
	t0 = time.monotonic()
	out = {
		'7.3': labelled_tree(ws612, root / 'linux-7.3', '7.3.0', patches=[OVERLAY_612]),
		'6.18': labelled_tree(ws612, root / 'linux-6.18', '6.18.9',
				      edits={'mm/gup.c': gup.replace(anchor, '/* moved */\n' + anchor, 1)}),
		'6.6': labelled_tree(ws612, root / 'linux-6.6', '6.6.60'),
		'6.2': labelled_tree(ws61, root / 'linux-6.2', '6.2.16'),
	}
	uio = show(ws612, 'include/linux/uio.h')
	out['none'] = labelled_tree(ws612, root / 'linux-none', '7.3.0', edits={
		'include/linux/uio.h': uio.replace('iov_iter_get_pages2', 'iov_iter_get_pages_v1')
		.replace('iov_iter_extract_pages', 'iov_iter_take_pages')})
	print(f'synthetic trees made in {time.monotonic() - t0:.1f} s')
	yield out
	shutil.rmtree(root, ignore_errors=True)


def committed_conversions(kver: str) -> list:
	rep = json.loads((TOP / 'reports' / kver / 'spatch.json').read_text())
	return [c['subject'] for c in rep['commits'] if c['kind'] == 'conversion']


@pytest.mark.parametrize('label,src,rules', TREES)
def test_kdir_tree_spatch_and_audit(trees: Dict[str, Path], work: Path,
				    label: str, src: str, rules: str) -> None:
	kd = trees[label]
	env = {'PINCONV_WORK': str(work)}
	t0 = time.monotonic()
	p = pinconv('tree', '--kdir', str(kd), env=env)
	assert p.returncode == 0, p.stderr
	assert f'cocci/rules-{rules}' in p.stdout and f'Linux {label}.' in p.stdout
	t_tree = time.monotonic() - t0
	p = pinconv('spatch', '--kdir', str(kd), env=env)
	assert p.returncode == 0, p.stderr
	t_spatch = time.monotonic() - t0 - t_tree
	ws = next(work.glob(f'kdir-{kd.name}-*'))
	rep = json.loads((work / 'reports' / ws.name / 'spatch.json').read_text())
	order = [n for n, _ in spatch.read_order(TOP / 'cocci' / f'rules-{rules}')]
	assert rep['rules'] == order
	assert rep['kernel'].startswith(label + '.')
	# The same files as the Debian tree of the generation: the same conversions.
	conv = [c['subject'] for c in rep['commits'] if c['kind'] == 'conversion']
	assert conv == committed_conversions(src)
	ov = work / 'reports' / ws.name / 'overlay.json'
	if label == '7.3':
		st = json.loads(ov.read_text())['patches']
		# the gup fix is present; the container patches (splice, NFS) apply
		assert [s['status'] for s in st] == ['present'] + ['apply'] * (N_OVERLAY_612 - 1)
		assert 'applies in reverse' in st[0]['why']
		assert 'skipped, the tree already has the change' in p.stdout
	elif label == '6.18':
		st = json.loads(ov.read_text())['patches']
		assert [s['status'] for s in st] == ['moved'] + ['apply'] * (N_OVERLAY_612 - 1)
		assert 'NOT APPLIED, does not apply' in p.stdout
	else:
		assert not ov.exists()
	p = pinconv('audit', '--kdir', str(kd), env=env)
	assert p.returncode == 0, p.stderr
	a = json.loads((work / 'reports' / ws.name / 'audit.json').read_text())
	assert a['rules'] == f'cocci/rules-{rules}'
	assert a['generation'] == ('extract' if rules == '6.12' else 'get')
	assert not a['unclassified']
	# Features come from the baseline, not the work tree that make spatch
	# left with the 6.1 overlay (whose bio code names BIO_PAGE_PINNED).
	bio = [x for x in a['sites'] if x['api'] == 'bio_iov_iter_get_pages']
	assert bio and all((x['cls'] == 'converted') == (rules == '6.12') for x in bio)
	print(f'{label}: tree {t_tree:.1f} s, spatch {t_spatch:.1f} s, audit '
	      f'{time.monotonic() - t0 - t_tree - t_spatch:.1f} s')


def test_kdir_without_either_api(trees: Dict[str, Path], work: Path) -> None:
	for cmd in ('tree', 'spatch', 'audit'):
		p = pinconv(cmd, '--kdir', str(trees['none']), env={'PINCONV_WORK': str(work)})
		assert p.returncode == 2, p.stderr
		lines = p.stderr.strip().splitlines()
		assert len(lines) == 1 and lines[0].startswith('pinconv: error: KDIR=')
		assert 'neither iov_iter_get_pages2() (Linux 6.0) nor iov_iter_extract_pages()' in lines[0]
		assert p.stdout == ''
	assert not list(work.glob('kdir-linux-none-*'))


def _series(work: Path, ws_name: str) -> Dict[str, bytes]:
	d = work / 'patches' / ws_name
	return {p.name: p.read_bytes() for p in sorted(d.glob('*.patch'))}


def test_kdir_recreated_rebased_and_pruned(tmp_path: Path, work: Path) -> None:
	"""A KDIR re-created at the same path (new history, one local commit),
	then rebased and pruned: make spatch and make audit go on, say in one
	line that the history changed under the workspace, and give the series a first
	run on the new source gives (made in a work dir of its own). The
	workspace is not cloned again (no second 40 s checkout)."""
	assert pinconv('tree', '--kver', '6.1').returncode == 0
	ws61 = tree.work_dir() / 'linux-6.1'
	kd = tmp_path / 'linux-re'
	labelled_tree(ws61, kd, '6.2.16')
	env = {'PINCONV_WORK': str(work)}
	assert pinconv('spatch', '--kdir', str(kd), env=env).returncode == 0
	ws = next(work.glob(f'kdir-{kd.name}-*'))
	for n, change in enumerate(['recreate', 'rebase']):
		if change == 'recreate':
			shutil.rmtree(kd)
			labelled_tree(ws61, kd, '6.2.16', message='Linux 6.2.16 (re-cloned, a local commit)')
		else:
			git(kd, 'commit', '-q', '--amend', '-m', 'Linux 6.2.16 (rebased)')
			git(kd, 'reflog', 'expire', '--expire=now', '--all')
			git(kd, 'gc', '-q', '--prune=now')
		before = snapshot(kd)
		for cmd in ('spatch', 'audit'):
			p = pinconv(cmd, '--kdir', str(kd), env=env)
			assert p.returncode == 0, (change, cmd, p.stderr)
			said = [l for l in p.stdout.splitlines() if 'changed under' in l]
			assert len(said) == (1 if cmd == 'spatch' else 0), (change, cmd, p.stdout)
			assert 'cloning' not in p.stdout
		assert git(ws, 'rev-parse', 'pinconv-base') == git(kd, 'rev-parse', 'HEAD')
		first = tmp_path / f'first-{n}'
		assert pinconv('spatch', '--kdir', str(kd), env={'PINCONV_WORK': str(first)}).returncode == 0
		assert _series(work, ws.name) == _series(first, ws.name), change
		assert len(_series(work, ws.name)) > 1
		assert snapshot(kd) == before
		shutil.rmtree(first)
