# SPDX-License-Identifier: GPL-2.0
"""Kernel tree workspaces.

The toolkit never works in a user's checkout. It works in a git repository
of its own under work/:

  work/linux-<kver>/      Debian's linux-source-<kver> tarball, extracted,
                          one baseline commit tagged pinconv-base.
  work/kdir-<name>/       a clone of a user's KDIR at its HEAD that owns
                          its objects (workspace.py: it survives a re-clone,
                          rebase or gc of the KDIR).

In both, the toolkit's series lives on the branch 'pinconv'.
"""

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pinconv import features, workspace
from pinconv.printer import Error, stdout
from pinconv.run import git, run

TOP = Path(__file__).resolve().parents[2]
BASE_TAG = 'pinconv-base'
BRANCH = 'pinconv'

# Debian's trees that KVER names (linux-source-<kver>), and the API
# generation each has: 'get' (6.1) has no pin API for iov_iter or bio;
# 'extract' (6.12) has iov_iter_extract_pages() and BIO_PAGE_PINNED. Any
# other tree comes with KDIR= and is judged by its features (features.py),
# never by its version.
SUPPORTED: Dict[str, str] = {'6.1': 'get', '6.12': 'extract'}
DEFAULT_KVER = '6.1'

# A fixed identity and date for the baseline commit, so that its hash, and
# so the base-commit of every generated series, is the same on every machine.
BASE_IDENT = {
	'GIT_AUTHOR_NAME': 'Debian linux-source',
	'GIT_AUTHOR_EMAIL': 'debian-kernel@lists.debian.org',
	'GIT_AUTHOR_DATE': '2026-01-01T00:00:00+0000',
	'GIT_COMMITTER_NAME': 'Debian linux-source',
	'GIT_COMMITTER_EMAIL': 'debian-kernel@lists.debian.org',
	'GIT_COMMITTER_DATE': '2026-01-01T00:00:00+0000',
}


@dataclass
class Tree:
	path: Path      # the toolkit's own work tree
	kver: str       # the rule set of its generation: '6.1' or '6.12'
			# (cocci/rules-<kver>, kernel-overlay/<kver>, configs/<kver>.config)
	version: str    # '6.1.192', '7.3.0': what its Makefile says
	generation: str # 'get' or 'extract'
	base: str       # sha of the baseline commit
	origin: str     # 'debian', the KDIR path, or the module path
	revision: str = ''  # the Debian package revision it was made from ('' for KDIR)
	features: Tuple[str, ...] = ()  # features.detect() of its baseline

	@property
	def series(self) -> str:
		"""The tree's own VERSION.PATCHLEVEL: '7.3' for a 7.3 tree that
		takes the 6.12 rules."""
		return series_of(self.version)

	@property
	def name(self) -> str:
		return self.path.name


def work_dir() -> Path:
	return Path(os.environ.get('PINCONV_WORK', TOP / 'work')).resolve()


def cache_root() -> Path:
	"""Content-keyed caches, shared by every workspace (PINCONV_CACHE moves
	them): spatch results, candidate lists, get_maintainer.pl output,
	overlay heads."""
	return Path(os.environ.get('PINCONV_CACHE', TOP / 'work' / 'cache'))


def kernel_version(path: Path) -> str:
	"""Return 'VERSION.PATCHLEVEL.SUBLEVEL' from a tree's top Makefile."""
	mk = path / 'Makefile'
	if not (path / 'MAINTAINERS').is_file() or not mk.is_file():
		raise Error(f'{path} is not a kernel tree (no top-level Makefile and MAINTAINERS)')
	head = mk.read_text(errors='replace')[:2000]
	fields = {}
	for key in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL'):
		m = re.search(rf'^{key} = (\d+)', head, re.M)
		if not m:
			raise Error(f'{path} is not a kernel tree (no {key} in Makefile)')
		fields[key] = m.group(1)
	return '{VERSION}.{PATCHLEVEL}.{SUBLEVEL}'.format(**fields)


def generation_of(path: Path) -> Optional[str]:
	"""The pin API generation a tree has ('extract', 'get'), or None."""
	g = features.generation_of(features.detect(features.file_reader(path)))
	return g.name if g else None


def check_generation(path: Path, kver: str) -> None:
	"""A Debian tree has the API generation its KVER's rules expect."""
	want = SUPPORTED[kver]
	g = features.require(features.detect(features.file_reader(path)), str(path))
	if g.name != want:
		raise Error(f'{path}: Linux {kver} tree with the {g.name!r} API generation; '
			    f'the {kver} rules expect {want!r}')


# get_maintainer.pl walks Perl hashes; with Perl's per-run hash seed the
# order of the people who share a section changes from run to run.
PERL_FIXED = {'PERL_HASH_SEED': '0', 'PERL_PERTURB_KEYS': '0'}


def get_maintainer(path: Path, args: List[str]) -> subprocess.CompletedProcess:
	"""scripts/get_maintainer.pl of the tree at path, in a fixed order."""
	path = path.resolve()
	return run(['perl', path / 'scripts' / 'get_maintainer.pl', *args], cwd=path,
		   env=PERL_FIXED, check=False)


def series_of(version: str) -> str:
	return '.'.join(version.split('.')[:2])


def check_kver(kver: str) -> str:
	if kver not in SUPPORTED:
		raise Error(f'KVER={kver}: no Debian tree of that name (KVER names '
			    f'linux-source-{" or -".join(SUPPORTED)}); any kernel git tree '
			    f'from Linux 6.0 on: KDIR=/path/to/linux')
	return SUPPORTED[kver]


def sources() -> Optional[Path]:
	"""PINCONV_SOURCES: a directory laid out like /usr/src (a mirror of
	other package revisions, or a test's): linux-source-<kver>.tar[.xz]
	with its revision in linux-source-<kver>.revision. None: Debian's
	installed package."""
	d = os.environ.get('PINCONV_SOURCES', '')
	return Path(d) if d else None


def tarball(kver: str) -> Path:
	d = sources()
	if d is None:
		return Path(f'/usr/src/linux-source-{kver}.tar.xz')
	for ext in ('.tar.xz', '.tar'):
		if (d / f'linux-source-{kver}{ext}').is_file():
			return d / f'linux-source-{kver}{ext}'
	return d / f'linux-source-{kver}.tar.xz'


def package_version(kver: str) -> str:
	"""The revision of linux-source-<kver> the workspace is made from."""
	d = sources()
	if d is not None:
		f = d / f'linux-source-{kver}.revision'
		return f.read_text().strip() if f.is_file() else ''
	p = run(['dpkg-query', '-W', '-f=${Version}', f'linux-source-{kver}'],
		check=False)
	return p.stdout.strip() if p.returncode == 0 else ''


def is_dirty(path: Path) -> int:
	"""Number of modified, staged or untracked (not ignored) paths."""
	# No optional locks: git status must not refresh (rewrite) a user's index.
	out = git(['--no-optional-locks', 'status', '--porcelain'], cwd=path)
	return len(out.splitlines())


def _load(path: Path, origin: str) -> Tree:
	version = kernel_version(path)
	base = git(['rev-parse', f'{BASE_TAG}^{{commit}}'], cwd=path)
	# The baseline's features: the branch may carry the overlay.
	have = features.detect(features.git_reader(path, base))
	gen = features.require(have, str(path))
	stamp = _stamp(path)
	revision = stamp.read_text().strip() if origin == 'debian' and stamp.is_file() else ''
	return Tree(path=path, kver=gen.key, version=version, generation=gen.name,
		    base=base, origin=origin, revision=revision, features=have)


def _stamp(path: Path) -> Path:
	return path / '.git' / 'pinconv-source'


def debian_tree(kver: str) -> Tree:
	"""The workspace from Debian's linux-source-<kver>, made once."""
	check_kver(kver)
	path = work_dir() / f'linux-{kver}'
	pkg = package_version(kver)
	stamp = _stamp(path)
	if stamp.is_file():
		made_from = stamp.read_text().strip()
		if pkg and made_from != pkg:
			raise Error(f'{path} was made from linux-source-{kver} {made_from}, '
				    f'installed is {pkg}: run make clean-tree KVER={kver}')
		return _load(path, 'debian')
	src = tarball(kver)
	if not src.is_file():
		raise Error(f'{src} is missing: run make deps (package linux-source-{kver})')
	if path.exists():
		# A half-made workspace from an interrupted run: ours to redo.
		stdout.step(f'removing incomplete workspace {path}')
		shutil.rmtree(path)
	tmp = path.with_name(path.name + '.tmp')
	if tmp.exists():
		shutil.rmtree(tmp)
	tmp.mkdir(parents=True)
	stdout.step(f'extracting {src.name} (about 10 s)')
	run(['tar', '-xf', src, '-C', tmp, '--strip-components=1'])
	version = kernel_version(tmp)
	if series_of(version) != kver:
		raise Error(f'{src} holds Linux {version}, not {kver}')
	check_generation(tmp, kver)
	stdout.step(f'committing Linux {version} as the baseline (about 20 s)')
	git(['init', '-q', '-b', 'base'], cwd=tmp)
	git(['config', 'core.autocrlf', 'false'], cwd=tmp)
	git(['config', 'gc.auto', '0'], cwd=tmp)
	# Debian's .gitignore ignores everything at the top level ('/*'): force.
	git(['add', '-f', '-A'], cwd=tmp)
	git(['commit', '-q', '-m', f'Linux {version} (Debian linux-source-{kver} {pkg})'],
	    cwd=tmp, env=BASE_IDENT)
	git(['tag', BASE_TAG], cwd=tmp)
	git(['branch', BRANCH], cwd=tmp)
	git(['checkout', '-q', BRANCH], cwd=tmp)
	_stamp(tmp).write_text(pkg + '\n')
	tmp.rename(path)
	return _load(path, 'debian')


def kdir_tree(kdir: Path, kver: Optional[str]) -> Tree:
	"""A workspace of our own for a user's kernel git tree, at its HEAD.

	The user's repository is only read: we clone it (workspace.ensure) and
	work in the clone, so its branches, index and files are never touched.
	"""
	kdir = kdir.expanduser().resolve()
	if not kdir.is_dir():
		raise Error(f'KDIR={kdir} does not exist')
	version = kernel_version(kdir)
	# No version whitelist: the tree's headers say which rules fit.
	gen = features.require(features.detect(features.file_reader(kdir)), f'KDIR={kdir}')
	if kver and kver not in (series_of(version), gen.key):
		raise Error(f'KDIR={kdir} is Linux {version} of the {gen.name!r} generation '
			    f'(rules-{gen.key}), not KVER={kver}')
	if run(['git', 'rev-parse', '--git-dir'], cwd=kdir, check=False).returncode:
		raise Error(f'KDIR={kdir} is not a git repository')
	dirty = is_dirty(kdir)
	if dirty:
		raise Error(f'KDIR={kdir} has uncommitted changes ({dirty} paths); '
			    f'commit or stash them first (nothing was changed)')
	head = git(['rev-parse', 'HEAD'], cwd=kdir)
	slug = hashlib.sha1(str(kdir).encode()).hexdigest()[:8]
	path = work_dir() / f'kdir-{kdir.name}-{slug}'
	workspace.ensure(kdir, path, f'the workspace of KDIR={kdir}', base=BASE_TAG)
	old = git(['rev-parse', '-q', '--verify', f'{BASE_TAG}^{{commit}}'],
		  cwd=path, check=False)
	if old != head:
		git(['tag', '-f', BASE_TAG, head], cwd=path)
		stdout.step(f'checking out {head[:12]} on branch {BRANCH}')
		git(['checkout', '-q', '-f', '-B', BRANCH, head], cwd=path)
	return _load(path, str(kdir))


def prepare(kver: str, kdir: Optional[str] = None) -> Tree:
	if kdir:
		return kdir_tree(Path(kdir), kver or None)
	return debian_tree(kver or DEFAULT_KVER)


def reset_branch(tree: Tree, rev: str = '') -> None:
	"""Put the toolkit's branch back on the baseline (or rev), clean."""
	dirty = is_dirty(tree.path)
	if dirty:
		raise Error(f'{tree.path} has {dirty} uncommitted paths; they are not '
			    f'the toolkit\'s: commit them elsewhere or run make clean-tree')
	git(['checkout', '-q', '-B', BRANCH, rev or tree.base], cwd=tree.path)
