# SPDX-License-Identifier: GPL-2.0
"""Out-of-tree modules: make spatch|check|audit M=/path/to/module.

The rules of the kernel tree's generation (KVER= or KDIR=, features.py)
run over an external module's git repository. As with a KDIR, the user's
repository is only read: the toolkit works in a clone of its own, per
module and kernel tree, so its branches, index and files are never
touched.

  work/mod-<name>-<slug>-<tree>/      a clone at the module's HEAD that owns
                                      its objects (workspace.py), tag
                                      pinconv-base, series on 'pinconv'
  work/patches/mod-<name>-<slug>-<tree>/  the series (format-patch)
  work/reports/mod-<name>-<slug>-<tree>/  spatch.json, check.{md,json},
                                      audit.{md,json,sarif,svg}
  work/wt/<tree>/module/              the kernel tree at its overlay head,
                                      out/ configured and modules_prepare'd
  work/wt/mod-.../check/              the module at the commit being built

Compatibility code ('#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)'):
Coccinelle sees every branch of an #if. A conversion that rewrites the
acquire and release calls of every branch alike (get_user_pages() with and
without its vmas argument) is applied. One that would rewrite some of a
version block's calls and not others (one branch pinned, the other still
taking references) is not: the file is left as it is and its sites are
reported for review with the line of the #if.
"""

import dataclasses
import hashlib
import json
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pinconv import build, check as checkmod, overlay, series, spatch, workspace
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import BASE_TAG, BRANCH, Tree, is_dirty, reset_branch, work_dir

KERNEL_LABEL = 'module'		# the kernel worktree modules are built against
MODULE_LABEL = 'check'		# the module worktree
VERSION_IF_RE = re.compile(r'^\s*#\s*(if|elif)\b.*\b(LINUX_VERSION_CODE|KERNEL_VERSION|'
			   r'LINUX_VERSION_MAJOR|RHEL_RELEASE_CODE)\b')


# ---- the module workspace ----

def _top(mpath: Path) -> Tuple[Path, str]:
	"""The repository's top and the module's directory inside it ('' or
	'sub/dir/')."""
	p = run(['git', 'rev-parse', '--show-toplevel'], cwd=mpath, check=False)
	if p.returncode:
		raise Error(f'M={mpath} is not in a git repository')
	prefix = git(['rev-parse', '--show-prefix'], cwd=mpath)
	return Path(p.stdout.strip()), prefix


def is_module(mpath: Path) -> bool:
	for name in ('Kbuild', 'Makefile'):
		f = mpath / name
		if f.is_file() and re.search(r'^\s*obj-(m|\$\(CONFIG_\w+\))\s*[+:]?=',
					     f.read_text(errors='replace'), re.M):
			return True
	return False


def module_tree(mpath_s: str, kernel: Tree) -> Tuple[Tree, str]:
	"""A workspace of our own for the module at M=, made from its HEAD, for
	the kernel tree's generation. Returns (tree, module dir in it)."""
	mpath = Path(mpath_s).expanduser().resolve()
	if not mpath.is_dir():
		raise Error(f'M={mpath} does not exist')
	if not is_module(mpath):
		raise Error(f'M={mpath} is not a kernel module (no Kbuild or Makefile '
			    f'with an obj-m line)')
	top, prefix = _top(mpath)
	dirty = is_dirty(top)
	if dirty:
		raise Error(f'M={mpath} has uncommitted changes ({dirty} paths in {top}); '
			    f'commit or stash them first (nothing was changed)')
	head = git(['rev-parse', 'HEAD'], cwd=top)
	slug = hashlib.sha1(str(mpath).encode()).hexdigest()[:8]
	path = work_dir() / f'mod-{mpath.name}-{slug}-{kernel.name}'
	workspace.ensure(top, path, f'the workspace of M={mpath}', base=BASE_TAG)
	old = git(['rev-parse', '-q', '--verify', f'{BASE_TAG}^{{commit}}'], cwd=path, check=False)
	if old != head:
		git(['tag', '-f', BASE_TAG, head], cwd=path)
		git(['checkout', '-q', '-f', '-B', BRANCH, head], cwd=path)
	t = dataclasses.replace(kernel, path=path, base=head, origin=str(mpath), revision='')
	return t, prefix


def outdir(kind: str, mod: Tree) -> Path:
	return work_dir() / kind / mod.name


# ---- compatibility #ifs ----

def version_blocks(text: str) -> List[Tuple[int, int, int]]:
	"""(first, last, if line) of every #if/#elif...#endif region whose
	condition names the kernel version, 1-based, nesting followed."""
	lines = text.splitlines()
	stack: List[Tuple[int, bool]] = []	# (line of the #if, is a version #if)
	blocks = []
	for i, l in enumerate(lines, 1):
		s = l.strip()
		if re.match(r'#\s*if', s):
			stack.append((i, bool(VERSION_IF_RE.match(l))))
		elif re.match(r'#\s*elif', s) and stack and VERSION_IF_RE.match(l):
			stack[-1] = (stack[-1][0], True)
		elif re.match(r'#\s*endif', s) and stack:
			start, ver = stack.pop()
			if ver:
				blocks.append((start, i, start))
	return blocks


def changed_old_lines(old: str, new: str) -> List[int]:
	out: List[int] = []
	for op, i1, i2, _, _ in series.line_opcodes(old.splitlines(), new.splitlines()):
		if op != 'equal':
			out += list(range(i1 + 1, max(i2, i1 + 1) + 1))
	return out


# The calls a conversion rewrites: acquires and releases.
CALL_RE = re.compile(r'\b(' + '|'.join(spatch.OLD_APIS + ['put_page', 'release_pages']) + r')\s*\(')


def compat_conflict(old: str, new: str) -> Optional[int]:
	"""The line of a version #if whose branches a conversion would leave
	mixed (some of the block's acquire and release calls rewritten, some
	not), or None. A conversion that rewrites every such call in the
	block (both branches alike) is fine."""
	lines = old.splitlines()
	changed = set(changed_old_lines(old, new))
	for first, last, at in sorted(version_blocks(old)):
		calls = {i for i in range(first, last + 1)
			 if i <= len(lines) and CALL_RE.search(lines[i - 1])}
		touched = calls & changed
		if touched and touched != calls:
			return at
	return None


# ---- make spatch M= ----

COMPAT_REASON = ('its conversion would leave the branches of the compatibility #if at '
		 'line {at} (LINUX_VERSION_CODE) mixed, one pinning and one taking '
		 'references: the file is left as it is; convert by hand')


def compat_files(contents: Dict[str, str], results: List[spatch.FileResult]) -> Dict[str, int]:
	"""Files whose conversion would touch a version #if: file -> its line."""
	out: Dict[str, int] = {}
	for r in results:
		if r.new != r.old:
			at = compat_conflict(contents.get(r.path, r.old), r.new)
			if at is not None:
				out[r.path] = at
	return out


def generate(mod: Tree, prefix: str, kernel: Tree, jobs: int = 0) -> Dict:
	name, email = series.ident()
	reset_branch(mod)
	overlay.withhold(overlay.plan(kernel))
	rules = spatch.load_rules(kernel.kver)
	files = [f for f in spatch.candidate_files(mod.path) if f.startswith(prefix)]
	stdout.step(f'running the {len(rules)} rules of cocci/rules-{kernel.kver} '
		    f'({kernel.generation!r} generation, Linux {kernel.version}) on '
		    f'{len(files)} files of the module')
	results = spatch.apply_rules(mod.path, files, rules, jobs)
	compat = compat_files({}, results)
	for r in results:
		if r.path in compat:
			stdout.step(f'{r.path}: not converted, {COMPAT_REASON.format(at=compat[r.path])}')
			r.new = r.old
			r.rules = []
	commits: List[series.Commit] = []
	converted: Dict[str, List[Tuple[str, str, str, int]]] = {}
	n = 0
	for r in [r for r in results if r.new != r.old]:
		(mod.path / r.path).write_text(r.new, errors='surrogateescape')
		chg = series.changes(r.old, r.new, kernel.generation)
		converted[r.path] = chg
		used = [x.name for x in rules if x.name in r.rules]
		msg = series.message(mod, r.path, [r.path], used, chg, name, email)
		n += 1
		series.commit_all(mod, n, msg, [r.path], name, email)
		commits.append(series.Commit(msg.splitlines()[0], [r.path], used, 'conversion'))
		stdout.step(f'commit {n}: {msg.splitlines()[0]}')
	sites = series.sites_from(results, converted)
	for s in sites:
		# What a rule would have converted, had the file not been held back.
		if s.file in compat and s.status == 'kept' and 'not applied' in s.reason:
			s.status, s.reason = 'review', COMPAT_REASON.format(at=compat[s.file])
	pdir = outdir('patches', mod)
	patches = series.export(mod, pdir, n, name, email)
	cover = [p for p in patches if p.name.startswith('0000-')]
	if cover:
		cover_letter(cover[0], mod, prefix, kernel, commits, sites)
	report = {
		'module': mod.origin, 'dir': prefix, 'base': mod.base,
		'kernel': kernel.version, 'kernel_tree': kernel.origin,
		'generation': kernel.generation, 'features': list(kernel.features),
		'rules': [r.name for r in rules], 'withheld': dict(spatch.WITHHELD),
		'spatch': spatch.spatch_version(), 'files_scanned': len(files),
		'compat': {f: at for f, at in sorted(compat.items())},
		'commits': [asdict(c) for c in commits],
		'sites': [asdict(s) for s in sites],
		'counts': {k: sum(1 for s in sites if s.status == k)
			   for k in ('converted', 'review', 'kept')},
	}
	rdir = outdir('reports', mod)
	rdir.mkdir(parents=True, exist_ok=True)
	(rdir / 'spatch.json').write_text(json.dumps(report, indent=1) + '\n')
	stdout.step(f'wrote {len(patches)} patches to {pdir} and {rdir / "spatch.json"}: '
		    f'{report["counts"]}')
	return report


def cover_letter(path: Path, mod: Tree, prefix: str, kernel: Tree,
		 commits: List[series.Commit], sites: List[series.Site]) -> None:
	what = Path(mod.origin).name
	subject = f'{what}: pin the user pages it accesses (pin_user_pages)'
	blurb = series.wrap(
		f'This series converts the callers in the out-of-tree module {what} that take '
		'page references on user memory whose data they read or write to page '
		'pins (FOLL_PIN), as Documentation/core-api/pin_user_pages.rst asks, one '
		'file per patch, each acquire together with its release. It was generated '
		f'by pinconv with the rules of the {kernel.generation!r} generation '
		f'(cocci/rules-{kernel.kver}) for Linux {kernel.version}, and builds against '
		'that tree at every commit (make check M=).')
	left = [s for s in sites if s.status == 'review']
	if left:
		blurb += '\n\n' + series.wrap('Left unconverted, for review:') + '\n\n'
		for s in left:
			blurb += f'  {s.file}:{s.line} {s.function}(): {s.api}\n'
			blurb += '\n'.join('      ' + l for l in series.wrap(s.reason, 64).splitlines()) + '\n'
	text = path.read_text().replace('*** SUBJECT HERE ***', subject)
	path.write_text(text.replace('*** BLURB HERE ***', blurb.rstrip()))


# ---- make check M= ----

def overlay_head(kernel: Tree) -> str:
	"""The kernel tree with its overlay (the APIs the conversions call),
	made in the kernel's module worktree, detached: the toolkit's branch
	of the kernel tree and its series are not moved. Overlay commits are
	deterministic, so the head is the one make spatch makes."""
	sha = overlay.cached_head(kernel)
	if sha:
		return sha
	steps = overlay.plan(kernel)
	overlay.withhold(steps)
	todo = {st.patch for st in steps if st.status == 'apply'}
	patches = [p for p in overlay.read_overlay(kernel.kver) if p.path.name in todo]
	if not patches:
		return kernel.base
	src, _ = build.worktree(kernel, kernel.base, KERNEL_LABEL)
	for p in patches:
		overlay._am(dataclasses.replace(kernel, path=src), p)
	sha = git(['rev-parse', 'HEAD'], cwd=src)
	f = overlay._cache_file(kernel)
	f.parent.mkdir(parents=True, exist_ok=True)
	f.write_text(sha + '\n')
	return sha


def kconfig_needs(mdir: Path) -> List[str]:
	"""CONFIG_ symbols the module's own Kconfig depends on (plain 'A && B')."""
	f = mdir / 'Kconfig'
	syms: List[str] = []
	if f.is_file():
		for m in re.finditer(r'^\s*depends on\s+(.+)$', f.read_text(), re.M):
			for w in re.split(r'\s*&&\s*', m.group(1).strip()):
				if re.fullmatch(r'[A-Z0-9_]+', w):
					syms.append('CONFIG_' + w)
	return syms


# Licenses under which a module may use EXPORT_SYMBOL_GPL symbols
# (include/linux/license.h).
GPL_COMPATIBLE = ('GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL',
		  'Dual MIT/GPL', 'Dual MPL/GPL')


def undefined_symbols(mdir: Path) -> List[str]:
	"""What the module's .ko files import (nm -u), sorted."""
	syms = set()
	for ko in mdir.glob('*.ko'):
		out = run(['nm', '-u', ko]).stdout
		syms |= {l.split()[-1] for l in out.splitlines() if l.strip()}
	return sorted(syms)


def gpl_compatible(mdir: Path) -> bool:
	for c in mdir.glob('*.c'):
		m = re.search(r'MODULE_LICENSE\("([^"]*)"\)', c.read_text(errors='replace'))
		if m:
			return m.group(1) in GPL_COMPATIBLE
	return False


def export_of(src: Path, rev: str, sym: str) -> str:
	"""'EXPORT_SYMBOL', 'EXPORT_SYMBOL_GPL', ... as the tree exports sym
	at rev, or ''."""
	p = run(['git', 'grep', '-h', '-o', '-E', rf'\bEXPORT_SYMBOL(_GPL)?(_NS(_GPL)?)?\(\s*{sym}\s*[,)]',
		 rev, '--', '*.c', '*.S'], cwd=src, check=False)
	kinds = {l.split('(')[0] for l in p.stdout.splitlines()}
	return min(kinds, key=len) if kinds else ''


@dataclass
class Result:
	sha: str
	subject: str
	build: str = 'not run'		# 'ok' or the first error
	new_symbols: List[str] = field(default_factory=list)	# imports its parent lacks
	unexported: List[str] = field(default_factory=list)	# ... the tree does not export to it
	new_sparse: List[Dict] = field(default_factory=list)
	checkpatch_errors: List[str] = field(default_factory=list)
	checkpatch_warnings: int = 0
	compiler_warnings: List[str] = field(default_factory=list)
	seconds: float = 0.0
	ok: bool = False


def _build(src: Path, out: Path, mdir: Path, label: str) -> Tuple[str, Counter, List[str]]:
	"""Build the module (W=1 off, like the kernel's own check) and then
	run sparse on all its files: (error or 'ok', sparse counts, warnings)."""
	for junk in mdir.glob('*.o'):
		junk.unlink()
	try:
		# Without vmlinux there is no Module.symvers: modpost may only warn
		# about imports; check() checks the new ones against the tree's exports.
		build.make(src, out, [f'M={mdir}', 'KBUILD_MODPOST_WARN=1', 'modules'], label,
			   'module.log')
	except Error as e:
		return str(e), Counter(), []
	log = (out / 'module.log').read_text(errors='replace')
	warns = [checkmod.norm_path(l.strip(), str(mdir)) for l in log.splitlines()
		 if ': warning: ' in l]
	try:
		build.make(src, out, [f'M={mdir}', 'KBUILD_MODPOST_WARN=1', 'C=2', 'modules'],
			   label, 'module-sparse.log')
	except Error as e:
		return f'sparse run failed: {e}', Counter(), warns
	text = (out / 'module-sparse.log').read_text(errors='replace')
	lines = [l for l in text.splitlines() if not re.search(r'\[-W[\w=-]+\]$', l)]
	return 'ok', checkmod.diag_counts('\n'.join(lines), str(mdir)), warns


def check(mod: Tree, prefix: str, kernel: Tree) -> bool:
	"""Build the module against the kernel tree at every commit of its
	series, with sparse (C=2) and checkpatch: reports/<mod>/check.*."""
	rng = f'{mod.base}..{BRANCH}'
	commits = git(['log', '--reverse', '--format=%H%x00%s', rng], cwd=mod.path).splitlines()
	if not commits:
		raise Error(f'{mod.origin}: no series to check: run make spatch M={mod.origin} first')
	with checkmod.lock(kernel, KERNEL_LABEL):
		khead = overlay_head(kernel)
		src, _ = build.worktree(kernel, khead, KERNEL_LABEL)
		out = build.build_dir(kernel, KERNEL_LABEL)
		wanted = ['CONFIG_MODULES'] + kconfig_needs(Path(mod.origin))
		lost = checkmod.configure(kernel.kver, src, out, KERNEL_LABEL, wanted)
		if lost:
			raise Error(f'{kernel.name}: the module needs {", ".join(lost)}, which '
				    f'olddefconfig drops ({checkmod.kconfig_hint(src, lost[0])})')
		t = build.make(src, out, ['modules_prepare'], KERNEL_LABEL, 'prepare.log')
		stdout.step(f'{KERNEL_LABEL}: Linux {kernel.version} at {khead[:12]} prepared for '
			    f'M= builds ({t:.0f} s)')
		mwt, _ = build.worktree(mod, mod.base, MODULE_LABEL)
		mdir = mwt / prefix
		err, before, warns0 = _build(src, out, mdir, 'module base')
		if err != 'ok':
			raise Error(f'{mod.origin} does not build against Linux {kernel.version} '
				    f'at its own HEAD: {err}')
		imports0 = undefined_symbols(mdir)
		gpl = gpl_compatible(mdir)
		results: List[Result] = []
		for line in commits:
			sha, subject = line.split('\0', 1)
			r = Result(sha, subject)
			t0 = time.monotonic()
			build.worktree(mod, sha, MODULE_LABEL)
			r.build, after, warns = _build(src, out, mdir, f'module {sha[:12]}')
			if r.build == 'ok':
				r.new_sparse = checkmod.new_diags(before, after)
				r.compiler_warnings = [w for w in warns if w not in warns0]
				imports = undefined_symbols(mdir)
				r.new_symbols = [s for s in imports if s not in imports0]
				for sym in r.new_symbols:
					kind = export_of(src, khead, sym)
					if not kind or (kind.endswith('_GPL') and not gpl):
						r.unexported.append(f'{sym} ({kind or "not exported"})')
				before, warns0, imports0 = after, warns, imports
			cp = run(['perl', src / 'scripts' / 'checkpatch.pl', '--no-tree', '--strict',
				  '--terse', '--showfile', '--color=never', '-g', sha], cwd=mwt, check=False)
			res = checkmod.parse_checkpatch(cp.stdout)
			r.checkpatch_errors = res['errors']
			r.checkpatch_warnings = len(res['warnings'])
			r.seconds = round(time.monotonic() - t0, 1)
			r.ok = r.build == 'ok' and not r.unexported and not r.new_sparse \
				and not r.checkpatch_errors
			stdout.step(f'{sha[:12]} {subject}: {"PASS" if r.ok else "FAIL"} '
				    f'(build {r.build}, new imports {", ".join(r.new_symbols) or "none"}'
				    f'{" NOT EXPORTED: " + ", ".join(r.unexported) if r.unexported else ""}, '
				    f'{len(r.new_sparse)} new sparse, '
				    f'{len(r.checkpatch_errors)} checkpatch errors, {r.seconds} s)')
			results.append(r)
	write_check(mod, kernel, khead, results)
	return all(r.ok for r in results)


def write_check(mod: Tree, kernel: Tree, khead: str, results: List[Result]) -> None:
	rdir = outdir('reports', mod)
	rdir.mkdir(parents=True, exist_ok=True)
	data = {'module': mod.origin, 'kernel': kernel.version, 'kernel_tree': kernel.origin,
		'kernel_commit': khead, 'generation': kernel.generation,
		'commits': [asdict(r) for r in results],
		'passed': sum(r.ok for r in results), 'failed': sum(not r.ok for r in results)}
	(rdir / 'check.json').write_text(json.dumps(data, indent=1) + '\n')
	md = [f'# make check M={mod.origin}', '',
	      f'Against Linux {kernel.version} (`{khead[:12]}`, {kernel.generation!r} generation), '
	      f'kbuild `make -C <tree> M=<module>`, sparse C=2, checkpatch --strict --no-tree.', '',
	      '| commit | subject | build | new imports (exported by the tree?) | new sparse | checkpatch errors | result |',
	      '| --- | --- | --- | --- | ---: | ---: | --- |']
	for r in results:
		imp = ', '.join(s + (' (NO)' if any(u.startswith(s + ' ') for u in r.unexported) else '')
				for s in r.new_symbols) or 'none'
		md.append(f'| `{r.sha[:12]}` | {r.subject} | {r.build} | {imp} | {len(r.new_sparse)} | '
			  f'{len(r.checkpatch_errors)} | {"pass" if r.ok else "FAIL"} |')
	(rdir / 'check.md').write_text('\n'.join(md) + '\n')
	stdout.step(f'wrote {rdir}/check.{{md,json}}: {data["passed"]} passed, '
		    f'{data["failed"]} failed')


# ---- make audit M= ----

def audit(mod: Tree, prefix: str, kernel: Tree) -> Dict:
	"""The module's callers, classified as a tree's are (audit.py); a
	convertible site in a file whose conversion the compatibility #ifs
	hold back is 'review', with that reason."""
	from pinconv import audit as auditmod
	overlay.withhold(overlay.plan(kernel))
	report = auditmod.run_audit(mod, mod.base)
	report['module'] = mod.origin
	# The files make spatch M= holds back (the rules' results are cached).
	conv = sorted({s['file'] for s in report['sites'] if s['cls'] == 'convertible'})
	contents = {f: auditmod.show(mod, mod.base, f) for f in conv}
	conv = [f for f in conv if version_blocks(contents[f])]
	rules = spatch.load_rules(kernel.kver)
	compat = compat_files(contents, spatch.apply_rules_on(
		contents, conv, rules, 0, spatch.git_siblings(mod.path, mod.base))) if conv else {}
	sites = []
	for s in report['sites']:
		if prefix and not s['file'].startswith(prefix):
			continue
		if s['cls'] == 'convertible' and s['file'] in compat:
			s['cls'], s['reason'] = 'review', COMPAT_REASON.format(at=compat[s['file']])
		sites.append(s)
	report['sites'] = sites
	report['counts'] = {c: sum(1 for s in sites if s['cls'] == c) for c in auditmod.CLASSES}
	auditmod.write(report, outdir('reports', mod))
	return report
