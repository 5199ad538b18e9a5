# SPDX-License-Identifier: GPL-2.0
"""Out-of-tree x86_64 kernel builds of a Tree at a commit.

Layout, all under work/ (ignored by git):

  work/wt/<tree>/<label>/      a detached git worktree of the Tree at a commit;
                               moving it to another commit touches only the
                               files that differ, so the next build is
                               incremental.
  work/wt/<tree>/<label>/out/  its O= build directory, with make.log of the
                               last make. Being a direct subdirectory of the
                               source, kbuild calls the source '..': compiler
                               command lines are the same in every worktree,
                               so ccache hits across them.
  work/ccache/                 the compiler cache shared by all builds.

The user's or the toolkit's work tree itself is never built in: others edit
it while we build.
"""

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pinconv import farm
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import TOP, Tree, work_dir

ARCH = 'x86_64'
CONFIGS = TOP / 'scripts' / 'configs'
CONFIG_STAMP = '.pinconv-config'

# Fixed build identity: the kernel's version string (and so every object
# that includes it) is the same on every build, so ccache hits.
BUILD_ENV = {
	'KBUILD_BUILD_TIMESTAMP': '2026-01-01 00:00:00 UTC',
	'KBUILD_BUILD_USER': 'pinconv',
	'KBUILD_BUILD_HOST': 'pinconv',
	'KBUILD_BUILD_VERSION': '1',
}

# The first line of a failed make worth showing.
ERROR_RE = re.compile(r'(: (fatal )?error: |: undefined reference to |^make\[\d+\]: \*\*\* |Error \d+$)')
COMPILE_RE = re.compile(r'^\s+(CC|AS|LD|AR|CPP|HOSTCC|OBJCOPY|GEN|BUILD|ZOFFSET|VOFFSET|MKPIGGY|CHECK)\s+(\S+)')
PROGRESS_EVERY = 5.0


@dataclass
class Kernel:
	label: str      # 'base', 'tip', ...
	rev: str        # the commit built
	src: Path       # the worktree
	out: Path       # the O= directory
	bzimage: Path
	seconds: float  # wall time of the last make


def jobs() -> int:
	"""Local parallelism: what runs on this machine (header proof, cpp)."""
	return os.cpu_count() or 1


def make_jobs() -> int:
	"""make -j: the farm's slots (farm.py) or the local cores."""
	f = farm.current()
	return f.jobs if f else jobs()


def ccache_dir() -> Path:
	# PINCONV_CCACHE: another cache (the benchmark's cold runs use an empty one).
	return Path(os.environ.get('PINCONV_CCACHE', work_dir() / 'ccache'))


def make_env() -> Dict[str, str]:
	env = dict(BUILD_ENV)
	env['CCACHE_DIR'] = str(ccache_dir())
	# Paths under work/ are made relative, so that two worktrees at the
	# same depth share cache entries.
	env['CCACHE_BASEDIR'] = str(work_dir())
	env.setdefault('CCACHE_MAXSIZE', '5G')
	# Depend mode: a miss compiles once, without a separate preprocessor
	# run to hash (kbuild's -Wp,-MMD gives ccache the headers). A cold
	# build of fs/ext4 here: 59 s of CPU instead of 69 s (55 s without
	# ccache); hits are direct-mode hits either way. Not through a farm:
	# its builds keep the preprocessor mode test_farm compares objects in.
	f = farm.current()
	if f:
		env.update(f.env)	# CCACHE_PREFIX: ccache's misses go to the farm
	else:
		env['CCACHE_DEPEND'] = '1'
	return env


def worktree_dir(tree: Tree, label: str) -> Path:
	return work_dir() / 'wt' / tree.name / label


def build_dir(tree: Tree, label: str) -> Path:
	return worktree_dir(tree, label) / 'out'


def config_fragment(kver: str) -> Path:
	frag = CONFIGS / f'{kver}.config'
	if not frag.is_file():
		raise Error(f'no kernel config fragment {frag} for {kver}')
	return frag


def resolve(tree: Tree, rev: str) -> str:
	sha = git(['rev-parse', '-q', '--verify', f'{rev}^{{commit}}'],
		  cwd=tree.path, check=False)
	if not sha:
		raise Error(f'{tree.path}: no commit {rev}')
	return sha


def _lost_gitdir(path: Path) -> str:
	"""The gitdir a worktree's .git file names, if it no longer exists."""
	f = path / '.git'
	if not f.is_file():
		return ''
	line = f.read_text().strip()
	gitdir = Path(line[len('gitdir:'):].strip()) if line.startswith('gitdir:') else None
	if gitdir is None:
		return 'an unreadable .git file'
	if not gitdir.is_absolute():
		gitdir = (path / gitdir).resolve()
	return '' if (gitdir / 'HEAD').is_file() else f'{gitdir} does not exist'


def worktree(tree: Tree, rev: str, label: str) -> Tuple[Path, str]:
	"""A clean detached worktree of tree at rev; returns (path, sha)."""
	sha = resolve(tree, rev)
	path = worktree_dir(tree, label)
	keep = path.with_name(f'.{path.name}-out')  # out/ while it is checked out again
	lost = _lost_gitdir(path)
	if lost:
		stdout.step(f'{label}: {path} is a worktree of a repository that is gone ({lost}; '
			    f'the workspace was made again): checked out again, out/ kept')
		if (path / 'out').is_dir() and not keep.exists():
			(path / 'out').rename(keep)
		shutil.rmtree(path)
	if not (path / '.git').exists():
		if path.exists():
			raise Error(f'{path} exists and is not a worktree: remove it')
		stdout.step(f'{label}: checking out {sha[:12]} into {path} (about 20 s)')
		path.parent.mkdir(parents=True, exist_ok=True)
		git(['worktree', 'prune'], cwd=tree.path)
		git(['worktree', 'add', '-q', '--detach', str(path), sha], cwd=tree.path)
		if keep.is_dir() and not (path / 'out').exists():
			keep.rename(path / 'out')
		return path, sha
	head = git(['rev-parse', 'HEAD'], cwd=path)
	if head != sha:
		stdout.step(f'{label}: moving worktree {head[:12]} -> {sha[:12]}')
		git(['checkout', '-q', '--detach', '-f', sha], cwd=path)
	if git(['status', '--porcelain', '--untracked-files=no'], cwd=path):
		raise Error(f'{path} has local changes; it is the toolkit\'s: '
			    f'remove it and rerun')
	return path, sha


def make_cmd(src: Path, out: Path, args: List[str], arch: str = ARCH,
	     cross: str = '') -> List[str]:
	"""make for ARCH=arch; cross: a CROSS_COMPILE= prefix (crossarch.py)."""
	f = farm.current()
	cmd = ['make', '-C', str(src), f'O={out}', f'ARCH={arch}',
	       f'CC=ccache {cross}gcc', f'-j{make_jobs()}']
	if cross:
		cmd.insert(5, f'CROSS_COMPILE={cross}')
	return (f.wrapper if f else []) + cmd + args


def first_error(log: Path) -> str:
	lines = log.read_text(errors='replace').splitlines()
	for line in lines:
		if ERROR_RE.search(line):
			return line.strip()
	tail = [l for l in lines if l.strip()]
	return tail[-1].strip() if tail else 'no output'


def make(src: Path, out: Path, args: List[str], label: str,
	 log_name: str = 'make.log', arch: str = ARCH, cross: str = '') -> float:
	"""Run make, keep its output in out/log_name, print a progress line
	every few seconds; raise Error with the first error line on failure."""
	out.mkdir(parents=True, exist_ok=True)
	log = out / log_name
	env = dict(os.environ)
	env.update(make_env())
	cmd = make_cmd(src, out, args, arch, cross)
	start = time.monotonic()
	last = start
	steps = 0
	current = ''
	with open(log, 'w') as f:
		f.write(' '.join(cmd) + '\n')
		f.flush()
		p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
				     stderr=subprocess.STDOUT, text=True,
				     errors='replace')
		assert p.stdout
		for line in p.stdout:
			f.write(line)
			m = COMPILE_RE.match(line)
			if m:
				steps += 1
				current = m.group(2)
				if m.group(1) in ('LD', 'BUILD') and current in (
						'vmlinux', 'arch/x86/boot/bzImage'):
					stdout.step(f'{label}: {m.group(1)} {current}')
			now = time.monotonic()
			if now - last >= PROGRESS_EVERY:
				stdout.step(f'{label}: make {" ".join(args)}: '
					    f'{steps} steps, at {current or "(checking)"}')
				last = now
		rc = p.wait()
	seconds = time.monotonic() - start
	if rc:
		raise Error(f'{label}: make {" ".join(args)} failed after '
			    f'{seconds:.0f}s: {first_error(log)} (log: {log})')
	return seconds


def read_config(path: Path) -> Dict[str, str]:
	"""Symbol -> value ('y', 'm', '"str"', '123' or 'n' for not set)."""
	values: Dict[str, str] = {}
	for line in path.read_text().splitlines():
		m = re.match(r'^(CONFIG_\w+)=(.*)$', line)
		if m:
			values[m.group(1)] = m.group(2)
			continue
		m = re.match(r'^# (CONFIG_\w+) is not set$', line)
		if m:
			values[m.group(1)] = 'n'
	return values


def unmet(wanted: Dict[str, str], got: Dict[str, str]) -> List[str]:
	"""Requested symbols whose value did not stick, as readable lines."""
	bad = []
	for sym, val in wanted.items():
		have = got.get(sym, 'n' if val == 'n' else '(absent)')
		if have != val:
			bad.append(f'{sym}={val} (got {have})')
	return bad


def fragment_stamp(frag: Path) -> str:
	return hashlib.sha1(frag.read_bytes()).hexdigest()


def configure(tree: Tree, src: Path, out: Path, label: str,
	      force: bool = False) -> None:
	"""tinyconfig + the kver fragment + olddefconfig, checked; skipped when
	out/.config was made from the same fragment."""
	frag = config_fragment(tree.kver)
	stamp = out / CONFIG_STAMP
	config = out / '.config'
	want = fragment_stamp(frag)
	if not force and config.is_file() and stamp.is_file() and \
			stamp.read_text().strip() == want:
		return
	stdout.step(f'{label}: configuring (tinyconfig + {frag.name})')
	make(src, out, ['tinyconfig'], label, 'config.log')
	text = config.read_text()
	config.write_text(text + '\n# pinconv: ' + frag.name + '\n' + frag.read_text())
	make(src, out, ['olddefconfig'], label, 'config.log')
	bad = unmet(read_config(frag), read_config(config))
	if bad:
		raise Error(f'{label}: config symbols that do not stick: '
			    f'{", ".join(bad)} (fix {frag})')
	stamp.write_text(want + '\n')


def build_kernel(tree: Tree, rev: str, label: str) -> Kernel:
	"""Build bzImage of tree at rev in its own worktree and build dir."""
	src, sha = worktree(tree, rev, label)
	out = build_dir(tree, label)
	configure(tree, src, out, label)
	stdout.step(f'{label}: building bzImage of {sha[:12]} in {out}')
	seconds = make(src, out, ['bzImage'], label)
	image = out / 'arch' / 'x86' / 'boot' / 'bzImage'
	if not image.is_file():
		raise Error(f'{label}: make succeeded but {image} is missing')
	stdout.step(f'{label}: bzImage ready in {seconds:.1f}s')
	return Kernel(label=label, rev=sha, src=src, out=out, bzimage=image,
		      seconds=seconds)


def build_object(tree: Tree, rev: str, label: str, obj: str) -> float:
	"""Build one object (path/file.o) of tree at rev; returns seconds."""
	src, _ = worktree(tree, rev, label)
	out = build_dir(tree, label)
	configure(tree, src, out, label)
	return make(src, out, [obj], label, 'object.log')


def sparse(tree: Tree, rev: str, label: str, obj: str) -> str:
	"""make C=2 path/file.o: sparse on that file; returns its warnings."""
	src, _ = worktree(tree, rev, label)
	out = build_dir(tree, label)
	configure(tree, src, out, label)
	make(src, out, ['C=2', obj], label, 'sparse.log')
	lines = (out / 'sparse.log').read_text(errors='replace').splitlines()
	return '\n'.join(l for l in lines if ': warning: ' in l or ': error: ' in l)


def ccache_stats() -> str:
	env = make_env()
	p = run(['ccache', '--print-stats'], env=env, check=False)
	return p.stdout
