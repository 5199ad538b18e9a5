# SPDX-License-Identifier: GPL-2.0
"""The kernel overlay: pin/unpin APIs that a kernel series lacks.

kernel-overlay/<kver>/series is a quilt-style series file naming git
format-patch files, one API per patch. apply() puts them on the workspace's
branch 'pinconv' as separate commits, directly on top of the baseline, with
'git am'. The committer is the patch author and the committer date is the
patch date, so the overlay commits have the same hashes on every machine.

The conversions the toolkit makes later go on top of the overlay. A second
apply() finds the overlay commits by subject on base..pinconv and does
nothing.

A tree other than the one an overlay was written for (KDIR= a 7.3 or an
LTS tree of the same generation) may already have what a patch adds, or
have moved the code it changes. plan() decides per patch, on a private
index and without touching the branch:

  apply    it applies to the baseline (after the patches before it)
  present  the tree already has it: every API it declares is declared in
           the tree, or the patch applies in reverse
  moved    neither: the code it changes moved. It is skipped and reported,
           and the rules that call an API it would have added are
           withheld (spatch.WITHHELD), so that no conversion calls an API
           the tree lacks.
"""

import email.parser
import email.policy
import hashlib
import json
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pinconv import spatch
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import BRANCH, TOP, Tree, cache_root, is_dirty

OVERLAY_ROOT = TOP / 'kernel-overlay'

# What 'git am' strips from a mail subject: leading '[PATCH v2 1/3]' tags.
_SUBJECT_TAGS = re.compile(r'^(\s*\[[^\]]*\])+\s*')

# No hooks, signing, three-way merge or scissors from anyone's git config:
# the result must depend on the patch files only.
_AM = [
	'-c', 'core.hooksPath=/dev/null', 'am', '--quiet', '--no-3way',
	'--no-scissors', '--no-message-id', '--no-gpg-sign',
	'--committer-date-is-author-date',
]


@dataclass(frozen=True)
class Patch:
	path: Path
	subject: str	# as 'git am' records it: without the [PATCH] tag
	author_name: str
	author_email: str
	date: str	# RFC 2822, from the Date: header


def overlay_dir(kver: str, root: Optional[Path] = None) -> Path:
	return (root or OVERLAY_ROOT) / kver


def read_series(directory: Path) -> List[Path]:
	"""The patch files a quilt series file names, in order.

	Blank lines and '#' comments are skipped; quilt's per-patch options
	are accepted only as '-p1', which is what format-patch files need.
	"""
	series = directory / 'series'
	if not series.is_file():
		raise Error(f'{series} is missing')
	patches = []
	for n, line in enumerate(series.read_text().splitlines(), 1):
		line = line.split('#', 1)[0].strip()
		if not line:
			continue
		name, *opts = line.split()
		if opts and opts != ['-p1']:
			raise Error(f'{series}:{n}: unsupported options {" ".join(opts)}')
		path = directory / name
		if not path.is_file():
			raise Error(f'{series}:{n}: {name} does not exist')
		patches.append(path)
	# A series that names no patches is an overlay with nothing to add:
	# the tree already has every API its rules use (6.12).
	return patches


def parse_patch(path: Path) -> Patch:
	"""Read the mail headers of a format-patch file."""
	with open(path, 'rb') as f:
		msg = email.parser.BytesHeaderParser(policy=email.policy.default).parse(f)
	sender = msg['From']
	subject = msg['Subject']
	date = msg['Date']
	if sender is None or subject is None or date is None:
		raise Error(f'{path.name}: not a git format-patch file '
			    f'(needs From:, Date: and Subject: headers)')
	addr = sender.addresses[0] if sender.addresses else None
	if addr is None or not addr.addr_spec or not addr.display_name:
		raise Error(f'{path.name}: From: needs a name and an address')
	subject = ' '.join(str(subject).split())
	return Patch(path=path, subject=_SUBJECT_TAGS.sub('', subject),
		     author_name=addr.display_name, author_email=addr.addr_spec,
		     date=str(date))


def read_overlay(kver: str, root: Optional[Path] = None) -> List[Patch]:
	return [parse_patch(p) for p in read_series(overlay_dir(kver, root))]


@dataclass
class Step:
	patch: str		# file name
	subject: str
	status: str		# 'apply', 'present' or 'moved'
	why: str		# one line, for 'present' and 'moved'
	provides: List[str]	# the APIs it declares in include/


# A top-level declaration or definition added to a header: '+void f(...'.
_DECL_RE = re.compile(r'^\+(?:extern\s+|static\s+inline\s+)?[A-Za-z_][\w\s\*]*?\b(\w+)\s*\(')


def provides(patch: Path) -> List[str]:
	"""Functions the patch declares in include/ headers (its new API)."""
	names: List[str] = []
	header = False
	for line in patch.read_text(errors='replace').splitlines():
		if line.startswith('+++ '):
			header = line[4:].startswith('b/include/') and line.endswith('.h')
			continue
		if not header or line.startswith('+++'):
			continue
		m = _DECL_RE.match(line)
		if m and m.group(1) not in names and not line[1:2].isspace():
			names.append(m.group(1))
	return names


def _declared(tree: Tree, rev: str, name: str) -> bool:
	"""A header at rev declares or defines name: a line that starts with
	its type (not a comment, not a call in an indented body)."""
	decl = rf'^[A-Za-z_][A-Za-z0-9_[:space:]*]*[[:space:]*]{name}[[:space:]]*\('
	return run(['git', 'grep', '-q', '-E', decl, rev, '--', 'include/'],
		   cwd=tree.path, check=False).returncode == 0


def plan(tree: Tree, root: Optional[Path] = None) -> List[Step]:
	"""What to do with each overlay patch on this tree's baseline (see the
	module's doc), remembered by baseline and patch contents."""
	f = cache_root() / 'overlay-plan' / f'{_inputs(tree, root)}.v2.json'
	if f.is_file():
		return [Step(**d) for d in json.loads(f.read_text())]
	steps = _plan(tree, root)
	f.parent.mkdir(parents=True, exist_ok=True)
	f.write_text(json.dumps([asdict(st) for st in steps]))
	return steps


def _plan(tree: Tree, root: Optional[Path] = None) -> List[Step]:
	"""Patches that apply are tried in order on a private index, so a
	patch is judged on top of the ones before it."""
	steps: List[Step] = []
	with tempfile.TemporaryDirectory(prefix='pinconv-overlay-') as tmp:
		env = {'GIT_INDEX_FILE': str(Path(tmp) / 'index')}
		git(['read-tree', tree.base], cwd=tree.path, env=env)

		def apply_ok(path: Path, *extra: str) -> Tuple[bool, str]:
			p = run(['git', 'apply', '--cached', '--check', *extra, str(path.resolve())],
				cwd=tree.path, env=env, check=False)
			msg = [l for l in (p.stderr or '').splitlines() if l.strip()]
			return p.returncode == 0, (msg[0] if msg else '')

		for path in read_series(overlay_dir(tree.kver, root)):
			patch = parse_patch(path)
			api = provides(path)
			have = [n for n in api if _declared(tree, tree.base, n)]
			fwd, err = apply_ok(path)
			if api and len(have) == len(api):
				st = Step(path.name, patch.subject, 'present',
					  f'the tree already declares {", ".join(n + "()" for n in api)}', api)
			elif fwd:
				run(['git', 'apply', '--cached', str(path.resolve())], cwd=tree.path, env=env)
				st = Step(path.name, patch.subject, 'apply', '', api)
			elif apply_ok(path, '-R')[0]:
				st = Step(path.name, patch.subject, 'present',
					  'the tree already has the change (the patch applies in reverse)', api)
			else:
				st = Step(path.name, patch.subject, 'moved',
					  f'does not apply to {tree.base[:12]}: {err or "?"}', api)
			steps.append(st)
	return steps


def withhold(steps: List[Step]) -> Dict[str, str]:
	"""Register with spatch the APIs of the patches that did not apply:
	rules calling them are not run. Returns what was registered."""
	spatch.WITHHELD.clear()
	for st in steps:
		if st.status == 'moved':
			for n in st.provides:
				spatch.WITHHELD[n] = f'overlay patch {st.patch} does not apply'
	return dict(spatch.WITHHELD)


def report_plan(tree: Tree, steps: List[Step]) -> None:
	"""One line per patch that is not applied, and then overlay.json in
	work/reports/<tree>/ (KDIR trees' reports are there too)."""
	for st in steps:
		if st.status == 'present':
			stdout.step(f'overlay {tree.kver}: {st.patch}: skipped, {st.why}')
		elif st.status == 'moved':
			stdout.step(f'overlay {tree.kver}: {st.patch}: NOT APPLIED, {st.why}'
				    + (f'; rules calling {", ".join(st.provides)} withheld'
				       if st.provides else ''))
	if all(st.status == 'apply' for st in steps):
		return
	from pinconv.tree import work_dir
	out = work_dir() / 'reports' / tree.name
	out.mkdir(parents=True, exist_ok=True)
	(out / 'overlay.json').write_text(json.dumps({
		'kernel': tree.version, 'base': tree.base, 'overlay': f'kernel-overlay/{tree.kver}',
		'patches': [asdict(st) for st in steps],
		'withheld': {n: w for n, w in spatch.WITHHELD.items()},
	}, indent=1) + '\n')


def _branch_commits(tree: Tree) -> List[Tuple[str, str]]:
	"""(sha, subject) of each commit on base..pinconv, oldest first."""
	out = git(['log', '--reverse', '--first-parent', '--format=%H%x00%s',
		   f'{tree.base}..{BRANCH}'], cwd=tree.path)
	commits = []
	for line in out.splitlines():
		sha, subject = line.split('\0', 1)
		commits.append((sha, subject))
	return commits


def _fails(args: List[str], cwd: Path) -> bool:
	return run(['git'] + args, cwd=cwd, check=False).returncode != 0


def _check_workspace(tree: Tree) -> None:
	path = tree.path
	git_dir = Path(git(['rev-parse', '--absolute-git-dir'], cwd=path))
	if (git_dir / 'rebase-apply').exists() or (git_dir / 'rebase-merge').exists():
		raise Error(f'{path} has a git am or rebase in progress: '
			    f'run git -C {path} am --abort (or rebase --abort)')
	dirty = is_dirty(path)
	if dirty:
		raise Error(f'{path} has {dirty} uncommitted paths; '
			    f'commit or remove them first (nothing was changed)')
	if _fails(['rev-parse', '-q', '--verify', f'refs/heads/{BRANCH}'], path):
		raise Error(f'{path} has no branch {BRANCH}: run make tree')
	if _fails(['merge-base', '--is-ancestor', tree.base, BRANCH], path):
		raise Error(f'branch {BRANCH} in {path} does not start at the '
			    f'baseline {tree.base[:12]}')
	head = git(['symbolic-ref', '-q', '--short', 'HEAD'], cwd=path, check=False)
	if head != BRANCH:
		stdout.step(f'checking out branch {BRANCH}')
		git(['checkout', '-q', BRANCH], cwd=path)


def _present(tree: Tree, patches: List[Patch]) -> List[str]:
	"""Shas of the overlay commits already at the bottom of the branch.

	They must be the first commits after the baseline, in series order. A
	branch holding other commits where the rest of the overlay belongs
	cannot be completed: the overlay would land above code that needs it.
	"""
	commits = _branch_commits(tree)
	done = []
	for patch, (sha, subject) in zip(patches, commits):
		if subject != patch.subject:
			break
		done.append(sha)
	if len(done) < len(patches) and len(commits) > len(done):
		sha, subject = commits[len(done)]
		raise Error(f'branch {BRANCH} has commit {sha[:12]} "{subject}" where '
			    f'overlay patch {patches[len(done)].path.name} belongs; '
			    f'reset {BRANCH} to {tree.base[:12]} and apply again')
	return done


def _am(tree: Tree, patch: Patch) -> str:
	env = {
		'GIT_COMMITTER_NAME': patch.author_name,
		'GIT_COMMITTER_EMAIL': patch.author_email,
		'GIT_COMMITTER_DATE': patch.date,
	}
	try:
		git(_AM + [str(patch.path.resolve())], cwd=tree.path, env=env)
	except Error as e:
		git(['am', '--abort'], cwd=tree.path, check=False)
		# Error's message is already one line: 'git -c core.hooksPath...: why'.
		why = str(e).split(': ', 1)[-1]
		raise Error(f'overlay patch {patch.path.name} does not apply to '
			    f'{tree.name}: {why}')
	return git(['rev-parse', 'HEAD'], cwd=tree.path)


def apply(tree: Tree, root: Optional[Path] = None) -> List[str]:
	"""Apply kernel-overlay/<kver>/series to the branch, one commit each.

	Returns the shas of the overlay commits, oldest first. Patches already
	on the branch (by subject, in order, right after the baseline) are not
	applied again; a second run changes nothing. If 'git am' fails, it is
	aborted, the branch keeps the commits made so far, and Error names the
	patch.
	"""
	_check_workspace(tree)
	steps = plan(tree, root)
	withhold(steps)
	report_plan(tree, steps)
	todo = {st.patch for st in steps if st.status == 'apply'}
	patches = [p for p in read_overlay(tree.kver, root) if p.path.name in todo]
	done = _present(tree, patches)
	if not patches:
		stdout.step(f'overlay {tree.kver}: nothing to add, the tree has the '
			    f'APIs its rules use')
		return done
	if len(done) == len(patches):
		stdout.step(f'overlay {tree.kver}: all {len(patches)} patches '
			    f'already on {BRANCH}')
		return done
	for n, patch in enumerate(patches[len(done):], len(done) + 1):
		stdout.progress(n, len(patches), f'applying {patch.path.name}')
		done.append(_am(tree, patch))
	stdout.step(f'overlay {tree.kver}: {len(patches)} patches on {BRANCH}, '
		    f'head {done[-1][:12]}')
	return done


def _inputs(tree: Tree, root: Optional[Path] = None) -> str:
	"""A digest of the baseline and the overlay's patch files."""
	h = hashlib.sha256(tree.base.encode())
	for p in read_series(overlay_dir(tree.kver, root)):
		h.update(b'\0' + p.name.encode() + b'\0' + p.read_bytes())
	return h.hexdigest()


def _cache_file(tree: Tree, root: Optional[Path] = None) -> Path:
	"""Where the overlay head for this baseline, these patch files and
	what plan() decided of them is remembered: overlay commits are
	deterministic (the patches' own dates and authors), so the same
	inputs give the same commits."""
	h = hashlib.sha256(_inputs(tree, root).encode())
	for st in plan(tree, root):
		h.update(f'\0{st.patch}:{st.status}'.encode())
	return cache_root() / 'overlay' / h.hexdigest()


def cached_head(tree: Tree, root: Optional[Path] = None) -> str:
	"""The overlay head made earlier from the same inputs, if the workspace
	still has that commit; '' otherwise."""
	f = _cache_file(tree, root)
	if not f.is_file():
		return ''
	# The cached head skips apply(): the plan still decides what the
	# rules may call.
	withhold(plan(tree, root))
	sha = f.read_text().strip()
	if run(['git', 'cat-file', '-e', f'{sha}^{{commit}}'], cwd=tree.path,
	       check=False).returncode:
		return ''
	return sha


def remember_head(tree: Tree, root: Optional[Path] = None) -> None:
	f = _cache_file(tree, root)
	f.parent.mkdir(parents=True, exist_ok=True)
	f.write_text(git(['rev-parse', BRANCH], cwd=tree.path) + '\n')
