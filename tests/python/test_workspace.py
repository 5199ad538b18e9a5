# SPDX-License-Identifier: GPL-2.0
"""workspace.py: clones that own their objects, and what is said when a
source changes under them (the tree and module tests run it end to end)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pinconv import build, workspace
from pinconv.printer import Error
from pinconv.tree import Tree

ENV = dict(os.environ, GIT_AUTHOR_NAME='u', GIT_AUTHOR_EMAIL='u@u',
	   GIT_COMMITTER_NAME='u', GIT_COMMITTER_EMAIL='u@u')


def git(r: Path, *args: str) -> str:
	return subprocess.run(['git', *args], cwd=r, check=True, text=True, env=ENV,
			      capture_output=True).stdout.strip()


def repo(r: Path, text: str = 'a\n') -> Path:
	r.mkdir(parents=True)
	(r / 'f.c').write_text(text)
	git(r, 'init', '-q', '-b', 'main')
	git(r, 'add', '-A')
	git(r, 'commit', '-q', '-m', 'one')
	return r


def test_clone_owns_objects_of_a_borrowing_source(tmp_path: Path) -> None:
	"""A source that itself borrows (clone --shared of a third repository):
	the workspace links the third repository's objects in, so removing it
	leaves the workspace whole."""
	third = repo(tmp_path / 'third')
	src = tmp_path / 'src'
	git(tmp_path, 'clone', '-q', '--shared', str(third), str(src))
	ws = tmp_path / 'w' / 'ws'
	assert workspace.ensure(src, ws, 'test')
	assert workspace.alternates(ws) == []
	shutil.rmtree(third)
	assert workspace.missing(ws) is None
	assert git(ws, 'fsck', '--connectivity-only', '--no-dangling') == ''


def test_missing_names_what_is_gone(tmp_path: Path) -> None:
	src = repo(tmp_path / 'src')
	ws = tmp_path / 'ws'
	git(tmp_path, 'clone', '-q', '--shared', '--no-checkout', str(src), str(ws))
	assert workspace.missing(ws) is None
	git(src, 'commit', '-q', '--amend', '-m', 'rewritten')
	git(src, 'reflog', 'expire', '--expire=now', '--all')
	git(src, 'gc', '-q', '--prune=now')
	lost = workspace.missing(ws)
	assert lost and 'does not resolve' in lost, lost
	# ensure() makes it again from the source as it is now
	assert workspace.ensure(src, ws, 'test', base='nosuchtag')
	assert git(ws, 'rev-parse', 'HEAD') == git(src, 'rev-parse', 'HEAD')
	assert workspace.missing(ws) is None


def test_fetch_error_is_one_line(tmp_path: Path) -> None:
	ws = repo(tmp_path / 'ws')
	with pytest.raises(Error) as e:
		workspace.fetch(tmp_path / 'gone', ws)
	assert '\n' not in str(e.value) and 'git fetch of HEAD' in str(e.value)


def test_worktree_of_a_remade_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
	"""A worktree (check's build tree) of a workspace that was made again
	points to a gitdir that is gone: it is checked out again, its out/
	kept (the build's objects, ccache aside)."""
	monkeypatch.setenv('PINCONV_WORK', str(tmp_path / 'work'))
	ws = repo(tmp_path / 'work' / 'ws')
	t = Tree(path=ws, kver='6.1', version='6.1.7', generation='get', base='', origin='t')
	path, sha = build.worktree(t, 'HEAD', 'check')
	(path / 'out').mkdir()
	(path / 'out' / 'vmlinux.o').write_text('built\n')
	shutil.rmtree(ws)
	ws = repo(ws, 'b\n')
	path2, sha2 = build.worktree(t, 'HEAD', 'check')
	assert path2 == path and sha2 == git(ws, 'rev-parse', 'HEAD') != sha
	assert (path / 'f.c').read_text() == 'b\n'
	assert (path / 'out' / 'vmlinux.o').read_text() == 'built\n'
	assert git(path, 'rev-parse', 'HEAD') == sha2
