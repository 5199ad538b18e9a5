# SPDX-License-Identifier: GPL-2.0
"""Synthetic kernel trees for the KDIR tests, made cheaply from the Debian
workspaces (work/linux-<kver>, make tree).

A tree is a --shared clone of the workspace's baseline (no objects
copied) with one commit on top that relabels the Makefile (VERSION,
PATCHLEVEL, SUBLEVEL) and makes whatever other edits the test wants,
committed with plumbing. Its checkout is sparse (the top files and
include/linux/): what the toolkit reads of a user's tree before cloning
it at HEAD. The toolkit's own workspace of it is a full checkout, as for
any KDIR.
"""

import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

ENV = dict(os.environ, GIT_AUTHOR_NAME='pinconv test', GIT_AUTHOR_EMAIL='test@pinconv.invalid',
	   GIT_COMMITTER_NAME='pinconv test', GIT_COMMITTER_EMAIL='test@pinconv.invalid',
	   GIT_AUTHOR_DATE='2026-02-01T00:00:00+0000', GIT_COMMITTER_DATE='2026-02-01T00:00:00+0000')


def git(repo: Path, *args: str, input: Optional[str] = None,
	env: Optional[Dict[str, str]] = None) -> str:
	return subprocess.run(['git', *args], cwd=repo, check=True, text=True, input=input,
			      capture_output=True, env=env or ENV).stdout.strip()


def relabel(makefile: str, version: str) -> str:
	v, p, s = (version.split('.') + ['0'])[:3]
	for key, val in (('VERSION', v), ('PATCHLEVEL', p), ('SUBLEVEL', s)):
		makefile = re.sub(rf'^{key} = \d+$', f'{key} = {val}', makefile, count=1, flags=re.M)
	return makefile


def labelled_tree(src: Path, dest: Path, version: str,
		  edits: Optional[Dict[str, str]] = None,
		  patches: Optional[List[Path]] = None, message: str = '') -> Path:
	"""A git tree at dest: src's baseline relabelled as Linux version, with
	edits (path -> new text) and patches (git apply) in the same commit."""
	git(dest.parent, 'clone', '-q', '--shared', '--no-checkout', str(src), str(dest))
	base = git(dest, 'rev-parse', 'pinconv-base^{commit}')
	index = dest / '.git' / 'synth.index'
	env = dict(ENV, GIT_INDEX_FILE=str(index))
	git(dest, 'read-tree', base, env=env)
	files = dict(edits or {})
	files['Makefile'] = relabel(show(dest, 'Makefile', base), version)
	for p in patches or []:
		git(dest, 'apply', '--cached', str(p), env=env)
	for path, text in files.items():
		blob = git(dest, 'hash-object', '-w', '--stdin', input=text, env=env)
		git(dest, 'update-index', '--add', '--cacheinfo', f'100644,{blob},{path}', env=env)
	tree = git(dest, 'write-tree', env=env)
	index.unlink()
	commit = git(dest, 'commit-tree', tree, '-p', base,
		     input=message or f'Linux {version} (pinconv test tree)')
	git(dest, 'sparse-checkout', 'set', '--no-cone', '/*', '!/*/', '/include/linux/')
	git(dest, 'checkout', '-q', '-B', 'master', commit)
	# The clone's own refs: a user's tree has its branch only.
	for tag in git(dest, 'tag').split():
		git(dest, 'tag', '-d', tag)
	return dest


def show(src: Path, path: str, rev: str = 'pinconv-base') -> str:
	"""A file of the workspace's baseline, byte for byte."""
	return subprocess.run(['git', 'show', f'{rev}:{path}'], cwd=src, check=True,
			      capture_output=True).stdout.decode('utf-8', 'surrogateescape')
