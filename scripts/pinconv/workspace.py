# SPDX-License-Identifier: GPL-2.0
"""Workspaces: the toolkit's own clones of a repository that is not its own.

A user's KDIR or module repository, and the workspace b4 mails from, are
only read: the toolkit works in a clone under work/. The clone owns its
objects. It is a plain local ``git clone`` (the objects hard-linked where
the file system allows, copied where it does not), not ``--shared``: a
source that drops objects (a deleted branch, a rebase, ``git gc
--prune=now``, automatic maintenance, a re-clone at the same path) cannot
break it, and later fetches from the new source work.

Before a workspace is used, ensure() checks it:

- a workspace that still borrows objects (``objects/info/alternates``, as
  pinconv made them before) gets the borrowed objects linked in and stops
  borrowing, keeping its branches;
- a workspace whose refs or snapshot objects are missing is made again from
  the source as it is now.

Either is said in one line: which source, what was wrong, what was done.
Content-keyed results (the spatch cache) do not depend on the workspace and
stay valid.
"""

import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional

from pinconv.printer import Error, stdout
from pinconv.run import git, run


def _objects(path: Path) -> Path:
	return path / '.git' / 'objects'


def _borrowed(objects: Path) -> List[Path]:
	"""The object directories an object directory borrows from (its
	info/alternates; relative entries are relative to it)."""
	f = objects / 'info' / 'alternates'
	if not f.is_file():
		return []
	out = []
	for l in f.read_text().splitlines():
		l = l.strip()
		if l and not l.startswith('#'):
			p = Path(l)
			out.append(p if p.is_absolute() else (objects / p).resolve())
	return out


def alternates(path: Path) -> List[Path]:
	"""The object directories a workspace borrows from."""
	return _borrowed(_objects(path))


def _link_tree(src: Path, dst: Path) -> int:
	"""Hard-link (or copy, across file systems) every object file of src
	that dst lacks; returns how many."""
	n = 0
	for root, _, files in os.walk(src):
		rel = Path(root).relative_to(src)
		if rel.parts[:1] == ('info',):
			continue
		for name in files:
			s, d = Path(root) / name, dst / rel / name
			if d.exists():
				continue
			d.parent.mkdir(parents=True, exist_ok=True)
			try:
				os.link(s, d)
			except OSError:
				shutil.copy2(s, d)
			n += 1
	return n


def own_objects(path: Path) -> int:
	"""Stop borrowing: the objects of every directory the workspace
	borrows from (and those they borrow from) are linked in, the
	alternates file goes; returns how many object files were linked."""
	n, seen, todo = 0, set(), alternates(path)
	while todo:
		a = todo.pop(0)
		if a in seen or not a.is_dir():
			continue
		seen.add(a)
		n += _link_tree(a, _objects(path))
		todo += _borrowed(a)
	alt = _objects(path) / 'info' / 'alternates'
	if alt.exists():
		alt.unlink()
	return n


def dissociate(path: Path, src: str) -> None:
	"""A workspace made with git clone --shared (pinconv before) stops
	borrowing, in one line."""
	n = own_objects(path)
	stdout.step(f'{path}: the workspace borrowed the objects of {src} (git clone --shared), '
		    f'which a gc there can delete: {n} object files linked in, it owns them now')


def missing(path: Path) -> Optional[str]:
	"""What the workspace lacks, or None: a HEAD that does not resolve to a
	commit, a ref whose object is gone, or an object of the snapshots its
	refs point to."""
	if run(['git', 'rev-parse', '-q', '--verify', 'HEAD^{commit}'], cwd=path,
	       check=False).returncode:
		return 'HEAD does not resolve'
	refs = git(['for-each-ref', '--format=%(objectname) %(refname)'], cwd=path, check=False)
	pairs = [l.split(' ', 1) for l in refs.splitlines() if ' ' in l]
	if pairs:
		out = git(['cat-file', '--batch-check=%(objectname)'], cwd=path, check=False,
			  input=''.join(f'{o}\n' for o, _ in pairs))
		for (o, ref), l in zip(pairs, out.splitlines()):
			if l.endswith(' missing'):
				return f'{ref} points to {o[:12]}, which is gone'
	p = run(['git', 'rev-list', '--objects', '--missing=print', '--no-walk', '--all'],
		cwd=path, check=False)
	if p.returncode:
		err = (p.stderr.strip().splitlines() or ['git rev-list failed'])[0]
		return err.replace('fatal: ', '')
	lost = [l[1:] for l in p.stdout.splitlines() if l.startswith('?')]
	if lost:
		return f'{len(lost)} objects of its branches\' snapshots (e.g. {lost[0][:12]})'
	return None


def clone(src: Path, path: Path, env: Optional[Dict[str, str]] = None) -> None:
	"""A clone of src at path that owns its objects (hard links where the
	file system allows), no checkout, no automatic gc."""
	if path.exists():
		shutil.rmtree(path)
	path.parent.mkdir(parents=True, exist_ok=True)
	git(['clone', '-q', '--no-checkout', '--no-hardlinks' if _other_fs(src, path) else '--local',
	     str(src), str(path)], cwd=path.parent, env=env)
	# A source that borrows objects itself (its own alternates, which a
	# local clone copies) lends them no further: they are linked in.
	own_objects(path)
	git(['config', 'gc.auto', '0'], cwd=path, env=env)
	git(['config', 'maintenance.auto', 'false'], cwd=path, env=env)


def _other_fs(src: Path, path: Path) -> bool:
	try:
		return os.stat(src).st_dev != os.stat(path.parent).st_dev
	except OSError:
		return False


def ensure(src: Path, path: Path, what: str, rev: str = 'HEAD', base: str = '',
	   env: Optional[Dict[str, str]] = None, tags: bool = True) -> bool:
	"""Make path a usable workspace of src (what names it in the messages)
	holding src's rev; returns True when it was (re)made by cloning.

	base: the workspace's tag for the commit its work starts from. When
	src's rev no longer descends from it (src re-created, rebased), that is
	said in one line and the work starts again from rev. The workspace is
	not cloned again: the objects it already has stay valid (a re-import
	of the same files has the same blobs and trees), and the checkout
	moves only the files that differ."""
	if not (path / '.git').is_dir():
		stdout.step(f'cloning {src} into {path} ({what}; objects hard-linked, its own)')
		clone(src, path, env)
		return True
	if alternates(path):
		dissociate(path, str(src))
	lost = missing(path)
	if lost:
		stdout.step(f'{path}: {what} lost what it needs ({lost}; the source was '
			    f're-created, rebased or pruned under it): made again from {src} as it is now')
		clone(src, path, env)
		return True
	fetch(src, path, rev, env, tags)
	if base:
		old = git(['rev-parse', '-q', '--verify', f'refs/tags/{base}^{{commit}}'], cwd=path,
			  check=False)
		new = git(['rev-parse', 'FETCH_HEAD'], cwd=path)
		if old and run(['git', 'merge-base', '--is-ancestor', old, new], cwd=path,
			       check=False).returncode:
			stdout.step(f'{path}: the history of {src} changed under {what} (its {rev} '
				    f'{new[:12]} does not descend from the workspace\'s base {old[:12]}: '
				    f're-created or rebased): the work starts again from {new[:12]}')
	return False


def fetch(src: Path, path: Path, rev: str = 'HEAD',
	  env: Optional[Dict[str, str]] = None, tags: bool = True) -> None:
	"""Fetch rev of src into the workspace (FETCH_HEAD)."""
	p = run(['git', 'fetch', '-q', *([] if tags else ['--no-tags']), str(src), rev],
		cwd=path, env=env, check=False)
	if p.returncode:
		err = ((p.stderr or p.stdout).strip().splitlines() or ['?'])[0]
		raise Error(f'{src}: git fetch of {rev} into the workspace {path} failed: {err} '
			    f'(is {src} itself intact? git -C {src} fsck says)')
