# SPDX-License-Identifier: GPL-2.0
"""Feature detection (no version whitelist) and the module's version #ifs."""

from pathlib import Path
from typing import Dict, Optional

import pytest

from conftest import FAKE_MM, FAKE_UIO_EXTRACT, FAKE_UIO_GET, TOP
from pinconv import features, module
from pinconv.printer import Error


def reader(files: Dict[str, str]) -> features.Reader:
	def read(rel: str) -> Optional[str]:
		return files.get(rel)
	return read


def test_generation_from_features() -> None:
	get = features.detect(reader({'include/linux/uio.h': FAKE_UIO_GET,
				      'include/linux/mm.h': FAKE_MM}))
	assert features.require(get, 't').key == '6.1'
	ext = features.detect(reader({'include/linux/uio.h': FAKE_UIO_EXTRACT,
				      'include/linux/mm.h': FAKE_MM,
				      'include/linux/blk_types.h': '\tBIO_PAGE_PINNED,\n'}))
	g = features.require(ext, 't')
	assert (g.name, g.key) == ('extract', '6.12')
	assert 'BIO_PAGE_PINNED' in ext and 'folio_add_pin' not in ext
	with pytest.raises(Error, match='neither iov_iter_get_pages2'):
		features.require(features.detect(reader({})), 't')


@pytest.mark.parametrize('kver,gen', [('6.1', 'get'), ('6.12', 'extract')])
def test_debian_trees_features(kver: str, gen: str) -> None:
	"""The installed Debian trees, read from the tarball-made workspace if
	there is one (make tree), else skipped."""
	from pinconv import tree
	ws = tree.work_dir() / f'linux-{kver}'
	if not (ws / 'Makefile').is_file():
		pytest.skip(f'no {ws}')
	# The baseline's: the work tree may hold the overlay (6.1's adds
	# BIO_PAGE_PINNED and bio_iov_iter_pin_pages()) after make spatch.
	have = features.detect(features.git_reader(ws, 'pinconv-base'))
	assert features.require(have, str(ws)).name == gen
	assert tree.prepare(kver).features == have
	assert ('BIO_PAGE_PINNED' in have) == (gen == 'extract')
	assert ('folio_add_pin' in have) == (gen == 'extract')
	assert 'iov_iter_pin_pages' not in have and 'bio_iov_iter_pin_pages' not in have
	# ... but the work tree after make spatch has the 6.1 overlay's APIs.
	if gen == 'get':
		after = features.detect(features.git_reader(ws, tree.BRANCH))
		assert {'iov_iter_pin_pages', 'bio_iov_iter_pin_pages', 'BIO_PAGE_PINNED'} <= set(after)
	from pinconv import overlay
	t = tree.prepare(kver)
	assert ('BIO_PAGE_PINNED' in t.features) == (gen == 'extract')
	assert [s.status for s in overlay._plan(t)] == ['apply'] * len(overlay.read_overlay(kver))


COMPAT = (TOP / 'tests' / 'module' / 'pinmod' / 'pinmod_compat.c').read_text()


def test_version_blocks() -> None:
	assert module.version_blocks(COMPAT) == [(16, 20, 16)]
	nested = '#ifdef A\n#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)\nx\n#endif\n#endif\n'
	assert module.version_blocks(nested) == [(2, 4, 2)]
	assert module.version_blocks('#ifdef CONFIG_X\nx\n#endif\n') == []


def test_compat_both_branches_or_none() -> None:
	"""Both branches converted alike: applied. One branch only: the line
	of the #if, so the file is held back and reported."""
	both = COMPAT.replace('get_user_pages(', 'pin_user_pages(').replace('put_page(', 'unpin_user_page(')
	assert module.compat_conflict(COMPAT, both) is None
	one = COMPAT.replace('get_user_pages(addr, 1, FOLL_WRITE, &page);',
			     'pin_user_pages(addr, 1, FOLL_WRITE, &page);')
	assert module.compat_conflict(COMPAT, one.replace('put_page(', 'unpin_user_page(')) == 16
	assert module.compat_conflict(COMPAT, COMPAT) is None


def test_module_refusals(fake_kernel: Path, tmp_path: Path) -> None:
	"""M= that is not a module, or not in a git repository: one line,
	exit 2, no workspace."""
	from conftest import pinconv
	env = {'PINCONV_WORK': str(tmp_path / 'w')}
	notmod = tmp_path / 'notmod'
	notmod.mkdir()
	(notmod / 'Makefile').write_text('all:\n\ttrue\n')
	p = pinconv('spatch', '--kdir', str(fake_kernel), '--module', str(notmod), env=env)
	assert p.returncode == 2 and 'is not a kernel module' in p.stderr
	assert len(p.stderr.strip().splitlines()) == 1
	(notmod / 'Kbuild').write_text('obj-m += x.o\n')
	p = pinconv('audit', '--kdir', str(fake_kernel), '--module', str(notmod), env=env)
	assert p.returncode == 2 and 'is not in a git repository' in p.stderr
	assert not list((tmp_path / 'w').glob('mod-*'))
