# SPDX-License-Identifier: GPL-2.0
"""make check and make bisect: every commit of the series builds, compiles
the files it touches, adds no sparse warning and no checkpatch ERROR.

make check walks a range (default pinconv-base..pinconv) commit by commit in
one worktree and build dir (build.py's label 'check'), so each build is
incremental and ccache serves what an earlier run compiled:

  config     scripts/configs/<kver>.config plus, for every .c file the range
             touches, the CONFIG_ symbols its Makefiles build it under
             (kconfig_symbols()); olddefconfig must keep them all.
  parent     sparse (make C=2 file.o) and kernel-doc on the commit's files.
  build      make bzImage at the commit; every touched .c must leave a .o
             at least as new as itself.
  sparse     the same files again; warnings new against the parent (same
             message, file and count, line numbers ignored) fail the commit.
  checkpatch --strict --terse -g <sha>: an ERROR fails the commit.
  kernel-doc -none on the touched .c and .h files: reported, not judged.

reports/<kver>/check.md and check.json say what happened per commit.

make bisect runs git bisect in a worktree of its own (label 'bisect'), never
in the workspace checkout, with the same config and build; TEST=boot also
boots each kernel with boot.py's QEMU probe. The bisect is reset on every
exit path.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from pinconv import build, crossarch, farm, headerproof, series
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import BASE_TAG, TOP, Tree, work_dir

LABEL = 'check'
BISECT_LABEL = 'bisect'
CONFIG_STAMP = '.pinconv-check-config'
BISECT_FRAGMENT = 'pinconv-bisect.config'
SRCARCH = 'x86'
# Make variables of x86_64 that name objects (usercopy_$(BITS).o).
MAKE_VARS = {'$(SRCARCH)': SRCARCH, '$(BITS)': '64'}

# Exit codes of a bisect step, as git bisect run reads them.
STEP_GOOD = 0
STEP_BAD = 1
STEP_SKIP = 125
STEP_ABORT = 255


# ---- Kconfig symbols from Makefiles (pure; see tests/python/test_check.py) ----

Reader = Callable[[str], Optional[str]]

# Lists kbuild itself links: reaching one of them ends the search in a file.
KBUILD_LISTS = ('obj', 'lib', 'core', 'drivers', 'libs')
ASSIGN_RE = re.compile(r'^([\w.$()-]+)\s*(?::=|\+=|\?=|=)\s*(.*)$')
LHS_RE = re.compile(r'^([\w.-]+?)-(y|objs|\$\((CONFIG_\w+)\))$')
IF_YES_RE = re.compile(r'^(?:ifdef\s+(CONFIG_\w+)|ifeq\s*\(\s*\$\((CONFIG_\w+)\)\s*,\s*[ym]\s*\)'
		       r'|ifneq\s*\(\s*\$\((CONFIG_\w+)\)\s*,\s*n?\s*\))\s*$')


@dataclass
class Assignment:
	lhs: str
	words: List[str]
	conds: List[str]	# CONFIG_ symbols of the enclosing ifdef/ifeq blocks


def logical_lines(text: str) -> Iterator[str]:
	"""Lines with backslash continuations joined and comments removed."""
	buf = ''
	for raw in text.splitlines():
		line = raw.rstrip()
		cont = line.endswith('\\')
		if cont:
			line = line[:-1]
		buf += line.split('#', 1)[0] + ' '
		if not cont:
			yield buf.strip()
			buf = ''
	if buf.strip():
		yield buf.strip()


def parse_makefile(text: str, make_vars: Optional[Dict[str, str]] = None) -> List[Assignment]:
	"""The variable assignments of a kbuild Makefile, each with the
	symbols its enclosing conditionals require (None for a condition we
	cannot express as 'CONFIG_X=y': ifndef, else, other tests)."""
	out: List[Assignment] = []
	stack: List[Optional[str]] = []
	for line in logical_lines(text):
		if not line:
			continue
		if re.match(r'^if(n?eq|n?def)\b', line):
			m = IF_YES_RE.match(line)
			stack.append(next((g for g in m.groups() if g), None) if m else None)
			continue
		if line.startswith('else'):
			if stack:
				stack[-1] = None
			continue
		if line.startswith('endif'):
			if stack:
				stack.pop()
			continue
		m = ASSIGN_RE.match(line)
		if m:
			words = m.group(2)
			for var, val in (make_vars or MAKE_VARS).items():
				words = words.replace(var, val)
			out.append(Assignment(m.group(1), words.split(), [s for s in stack if s]))
	return out


def find_target(assigns: List[Assignment], target: str,
		seen: Optional[set] = None) -> List[List[str]]:
	"""Every way target (file.o or dir/) is linked by this Makefile, as
	the symbols each needs, following composite objects (foo-y := target
	-> foo.o) and helper variables (mmu-$(CONFIG_MMU) := target ->
	$(mmu-y)); [] if it is not linked at all."""
	# The targets on this route (a cycle ends it); another route may pass
	# the same helper (kvm-objs-$(CONFIG_KVM_E500V2) and -$(CONFIG_KVM_E500MC)).
	seen = (seen or set()) | {target}
	routes: List[List[str]] = []
	for a in assigns:
		if target not in a.words:
			continue
		m = LHS_RE.match(a.lhs)
		if not m:
			continue
		name, sym = m.group(1), m.group(3)
		syms = list(a.conds) + ([sym] if sym else [])
		if name in KBUILD_LISTS:
			routes.append(syms)
			continue
		for t in (f'{name}.o', f'$({name}-y)', f'$({name}-objs)'):
			if t not in seen:
				routes += [outer + syms for outer in find_target(assigns, t, seen)]
	return routes


def cheapest(routes: List[List[str]], have: Sequence[str],
	     avoid: Sequence[str] = ()) -> List[str]:
	"""The route needing the fewest symbols beyond have (obj-$(CONFIG_VHOST)
	+= vhost/ for a file that needs CONFIG_VHOST anyway), first on ties;
	one with none of avoid (symbols a config cannot have) if there is."""
	return min(routes, key=lambda r: (len(set(r) & set(avoid)), len(set(r) - set(have))))


def makefile_text(read: Reader, d: str, srcarch: str = SRCARCH) -> Tuple[str, Optional[str]]:
	"""(path, text) of the Makefile kbuild reads in directory d; at the
	top both Kbuild (obj-y) and Makefile (libs-y, core-y)."""
	if not d:
		texts = [t for t in (read('Kbuild'), read('Makefile'),
				     read(f'arch/{srcarch}/Makefile')) if t is not None]
		return 'Kbuild', '\n'.join(texts) if texts else None
	for name in ('Kbuild', 'Makefile'):
		text = read(f'{d}/{name}')
		if text is not None:
			return f'{d}/{name}', text
	return f'{d}/Makefile', None


def kconfig_symbols(read: Reader, cfile: str, srcarch: str = SRCARCH,
		    avoid: Sequence[str] = ()) -> Tuple[List[str], List[str]]:
	"""The CONFIG_ symbols that must be y for cfile (path/file.c) to be
	compiled into vmlinux of srcarch (arch/<srcarch>/), from its
	directory's Makefile up to the top, on routes without the symbols of
	avoid where there are (arch/powerpc/kvm/e500_mmu.o: KVM_E500V2 or
	KVM_E500MC); and the problems met (a Makefile missing, a file not
	linked)."""
	make_vars = {'$(SRCARCH)': srcarch, '$(BITS)': '64'}
	syms: List[str] = []
	problems: List[str] = []
	d, _, base = cfile.rpartition('/')
	target = base[:-2] + '.o' if base.endswith('.c') else base
	miss = ''
	while True:
		path, text = makefile_text(read, d, srcarch)
		routes = (find_target(parse_makefile(text, make_vars), target)
			  if text is not None else [])
		if not routes:
			miss = miss or (f'{target} is not linked by {path}' if text is not None
					else f'no {path}')
			if d and target.endswith('/'):
				# A directory named from further up (arch/$(SRCARCH)/,
				# drivers/Makefile's block/aoe/).
				d, _, base = d.rpartition('/')
				target = f'{base}/{target}'
				continue
			problems.append(f'{cfile}: {miss}')
			break
		miss = ''
		syms = cheapest(routes, syms, avoid) + syms
		if not d:
			break
		d, _, base = d.rpartition('/')
		target = base + '/'
	return list(dict.fromkeys(syms)), problems


def git_reader(tree_path: Path, rev: str) -> Reader:
	def read(path: str) -> Optional[str]:
		p = run(['git', 'cat-file', '-p', f'{rev}:{path}'], cwd=tree_path,
			check=False)
		return p.stdout if p.returncode == 0 else None
	return read


def derive_config(tree_path: Path,
		  cfiles: Dict[str, str]) -> Tuple[Dict[str, List[str]], List[str]]:
	"""cfiles: file -> the revision to read its Makefiles at (the last
	commit that touches it). Returns symbol -> the files that need it,
	and the problems met."""
	need: Dict[str, List[str]] = {}
	problems: List[str] = []
	for f, rev in cfiles.items():
		syms, probs = kconfig_symbols(git_reader(tree_path, rev), f)
		problems += probs
		for s in syms:
			need.setdefault(s, []).append(f)
	return need, problems


def kconfig_hint(src: Path, sym: str) -> str:
	"""Why sym may not stick: its 'depends on' lines and, for a symbol
	without a prompt, what selects it."""
	name = sym[len('CONFIG_'):]
	p = run(['git', 'grep', '-n', '-E', rf'^\s*(menu)?config {name}\s*$', '--',
		 '*Kconfig*'], cwd=src, check=False)
	hints = []
	for hit in p.stdout.splitlines()[:1]:
		path, line, _ = hit.split(':', 2)
		lines = (src / path).read_text(errors='replace').splitlines()[int(line):]
		prompt = False
		for l in lines:
			if re.match(r'^\s*((menu)?config|choice|endmenu|menu|if|endif|source)\b', l):
				break
			s = l.strip()
			if s.startswith('depends on'):
				hints.append(s)
			if re.match(r'^(bool|tristate|string|int|hex)\s+"', s) or s.startswith('prompt'):
				prompt = True
		if not prompt:
			q = run(['git', 'grep', '-l', '-E', rf'^\s*select {name}\b', '--',
				 '*Kconfig*'], cwd=src, check=False)
			hints.append('no prompt: only select sets it (in '
				     + (', '.join(q.stdout.split()[:4]) or 'no Kconfig') + ')')
	return '; '.join(hints) or 'see its Kconfig entry'


# ---- sparse, checkpatch, kernel-doc output (pure) ----

DIAG_RE = re.compile(r'^(?P<file>[^:\s]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s*'
		     r'(?P<kind>warning|error): (?P<msg>.*)$')
CHECKPATCH_RE = re.compile(r'^(?P<file>[^:]*):(?P<line>\d+): (?P<kind>ERROR|WARNING|CHECK): (?P<msg>.*)$')


def norm_path(path: str, src: str = '') -> str:
	if src and path.startswith(src.rstrip('/') + '/'):
		path = path[len(src.rstrip('/')) + 1:]
	while path.startswith('../'):
		path = path[3:]
	return path


def diag_counts(text: str, src: str = '') -> Counter:
	"""'file: kind: message' -> count, line and column dropped."""
	counts: Counter = Counter()
	for line in text.splitlines():
		m = DIAG_RE.match(line.strip())
		if m:
			counts[f'{norm_path(m.group("file"), src)}: {m.group("kind")}: '
			       f'{m.group("msg").strip()}'] += 1
	return counts


def new_diags(before: Counter, after: Counter) -> List[Dict]:
	"""Messages the commit has more of than its parent."""
	return [{'message': k, 'new': after[k] - before.get(k, 0),
		 'parent': before.get(k, 0), 'commit': after[k]}
		for k in sorted(after) if after[k] > before.get(k, 0)]


def parse_checkpatch(text: str) -> Dict[str, List[str]]:
	out: Dict[str, List[str]] = {'errors': [], 'warnings': [], 'checks': []}
	key = {'ERROR': 'errors', 'WARNING': 'warnings', 'CHECK': 'checks'}
	for line in text.splitlines():
		m = CHECKPATCH_RE.match(line.strip())
		if m:
			where = f'{m.group("file")}:{m.group("line")}: ' if m.group('file') else ''
			out[key[m.group('kind')]].append(f'{where}{m.group("msg")}')
	return out


# ---- results and reports ----

@dataclass
class CommitResult:
	sha: str
	subject: str
	parent: str
	files: List[str]
	# git patch-id --stable of the commit: ties the report to the series
	# it checked (tests/python/test_check_report.py).
	patch_id: str = ''
	build_ok: bool = False
	build_seconds: float = 0.0
	build_error: str = ''
	objects: Dict[str, Optional[str]] = field(default_factory=dict)
	sha256: Dict[str, str] = field(default_factory=dict)	# touched .c -> its object's
	sparse_new: List[Dict] = field(default_factory=list)
	sparse_counts: Dict[str, int] = field(default_factory=dict)
	sparse_error: str = ''
	checkpatch: Dict[str, List[str]] = field(default_factory=dict)
	kernel_doc: List[str] = field(default_factory=list)
	kernel_doc_new: List[str] = field(default_factory=list)
	compiler_warnings: List[str] = field(default_factory=list)
	proof: Dict = field(default_factory=dict)	# headerproof.Proof, as a dict
	arch: Dict[str, str] = field(default_factory=dict)	# touched .c -> the arch that built it
	builds: List[Dict] = field(default_factory=list)	# per target: what was built, how long
	unbuildable: Dict[str, str] = field(default_factory=dict)	# touched .c -> why
	seconds: float = 0.0
	reasons: List[str] = field(default_factory=list)

	@property
	def ok(self) -> bool:
		return not self.reasons


@dataclass
class Report:
	kernel: str
	tree: str
	range: str
	label: str
	config: Dict[str, List[str]]	# symbol -> touched files needing it
	config_problems: List[str]
	commits: List[CommitResult]
	seconds: float = 0.0
	prepare_seconds: float = 0.0
	ccache: str = ''
	# cross targets (crossarch.Target.name) -> symbol -> touched files needing it
	cross_config: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)
	farm: str = ''	# farm.Farm.describe() of the builds, '' for local ones

	@property
	def ok(self) -> bool:
		return not self.config_problems and all(c.ok for c in self.commits)


def judge(c: CommitResult) -> None:
	"""Fill c.reasons from its results."""
	r: List[str] = [f'{f}: {why}' for f, why in c.unbuildable.items()]
	if not c.build_ok:
		r.append(f'build failed: {c.build_error}')
	missing = [f for f, o in c.objects.items() if o is None]
	if missing:
		r.append(f'not compiled: {", ".join(missing)}')
	if c.sparse_error:
		r.append(f'sparse: {c.sparse_error}')
	if c.sparse_new:
		r.append(f'{sum(d["new"] for d in c.sparse_new)} new sparse warning(s)')
	if c.checkpatch.get('errors'):
		r.append(f'{len(c.checkpatch["errors"])} checkpatch ERROR(s)')
	c.reasons = r


def report_json(rep: Report) -> str:
	data = {
		'kernel': rep.kernel, 'tree': rep.tree, 'range': rep.range,
		'ok': rep.ok, 'seconds': round(rep.seconds, 1),
		'prepare_seconds': round(rep.prepare_seconds, 1),
		'config': rep.config, 'cross_config': rep.cross_config,
		'config_problems': rep.config_problems,
		'failed': [c.sha for c in rep.commits if not c.ok],
		'commits': [dict(asdict(c), ok=c.ok, build_seconds=round(c.build_seconds, 1),
				 seconds=round(c.seconds, 1)) for c in rep.commits],
		'ccache': rep.ccache, 'farm': rep.farm,
	}
	return json.dumps(data, indent=1) + '\n'


def md_cell(text: str) -> str:
	return text.replace('|', '\\|').replace('\n', ' ')


def report_md(rep: Report) -> str:
	n_fail = sum(1 for c in rep.commits if not c.ok)
	lines = [f'# make check: Linux {rep.kernel}, {rep.range}', '',
		 f'- {len(rep.commits)} commits, {n_fail} failed: '
		 f'**{"PASS" if rep.ok else "FAIL"}**',
		 f'- {rep.seconds:.0f}s in all ({rep.prepare_seconds:.0f}s preparing the '
		 f'parent of the first commit); build dir {rep.label}, incremental, ccache',
		 '- config: scripts/configs fragment plus '
		 + (', '.join(f'{s}=y' for s in rep.config) or 'nothing') + ' for the touched files']
	lines += [f'- cross build {t}: ' + (', '.join(f'{s}=y' for s in syms) or 'nothing more')
		  + ' (make prepare, then only the touched objects)'
		  for t, syms in rep.cross_config.items()]
	if rep.ccache:
		lines.append(f'- ccache: {rep.ccache}')
	if rep.farm:
		lines.append(f'- compile farm: {rep.farm}')
	lines += [f'- config problem: {p}' for p in rep.config_problems]
	lines += ['', 'A commit fails if it does not build, a .c file it touches is not '
		  'compiled, sparse warns more than at its parent, or checkpatch '
		  '(--strict) reports an ERROR. Warnings/checks and kernel-doc are '
		  'shown for the reader.', '',
		  'Header proof: objects that include a header the commit changes '
		  'only by plain declarations, and that provably use none of them, '
		  'are kept from the previous build instead of recompiled '
		  '(scripts/pinconv/headerproof.py); all others are compiled.', '',
		  '| # | commit | subject | build | objects | arch | header proof | new sparse | checkpatch E/W/C | kernel-doc | verdict |',
		  '| ---: | --- | --- | --- | --- | --- | --- | ---: | --- | --- | --- |']
	for i, c in enumerate(rep.commits, 1):
		objs = sum(1 for o in c.objects.values() if o)
		cp = c.checkpatch
		kd = (f'{len(c.kernel_doc)} ({len(c.kernel_doc_new)} new)'
		      if c.kernel_doc else 'clean')
		lines.append(f'| {i} | `{c.sha[:12]}` | {md_cell(c.subject)} | '
			     f'{"ok" if c.build_ok else "FAIL"} {c.build_seconds:.1f}s | '
			     f'{objs}/{len(c.objects)} | {arch_cell(c)} | {proof_cell(c.proof)} | '
			     f'{sum(d["new"] for d in c.sparse_new)} | '
			     f'{len(cp.get("errors", []))}/{len(cp.get("warnings", []))}/'
			     f'{len(cp.get("checks", []))} | {kd} | '
			     f'{"pass" if c.ok else "**FAIL**"} |')
	lines += ['', '## Details', '']
	for i, c in enumerate(rep.commits, 1):
		lines.append(f'### {i}. {c.subject}')
		lines.append('')
		lines.append(f'- `{c.sha}`, files: {", ".join(c.files) or "none"}')
		for f, o in c.objects.items():
			lines.append(f'- {f}: {"compiled to " + o if o else "**NOT COMPILED**"}'
				     + (f' ({c.arch[f]})' if f in c.arch else ''))
		for b in c.builds:
			lines.append(f'- build {b["target"]}: ' + (b['skipped'] or
				     f'{"ok" if b["ok"] else "FAIL"} {b["seconds"]:.1f}s'
				     f' ({", ".join(b["files"]) or "no touched .c"})'))
		lines += [f'- **{r}**' for r in c.reasons]
		lines += [f'- new sparse: `{d["message"]}`'
			  + (f' (+{d["new"]})' if d['new'] > 1 else '') for d in c.sparse_new]
		for kind in ('errors', 'warnings', 'checks'):
			lines += [f'- checkpatch {kind[:-1]}: {md_cell(t)}'
				  for t in c.checkpatch.get(kind, [])]
		lines += [f'- kernel-doc (new): `{k}`' for k in c.kernel_doc_new]
		old = len(c.kernel_doc) - len(c.kernel_doc_new)
		if old:
			lines.append(f'- kernel-doc: {old} warning(s) the parent has too '
				     f'(listed in check.json)')
		lines += [f'- compiler: `{w}`' for w in c.compiler_warnings[:10]]
		lines += proof_lines(c.proof)
		lines.append('')
	return '\n'.join(lines)


def arch_cell(c: CommitResult) -> str:
	names = list(dict.fromkeys(c.arch.values()))
	if c.unbuildable:
		names.append('none')
	return ', '.join(names) or '-'


def proof_cell(p: Dict) -> str:
	if not p:
		return 'off'
	if p.get('skipped'):
		return 'none'
	return f'{p["proven"]} kept, {p["compiled"]} compiled'


def proof_lines(p: Dict) -> List[str]:
	if not p:
		return []
	if p.get('skipped'):
		return [f'- header proof: {p["skipped"]}']
	lines = [f'- header proof: {p["proven"]} of {p["candidates"]} objects that include a '
		 f'changed header kept as built at `{p["base"][:12]}`, {p["compiled"]} left to '
		 f'make; one proof for {p["covers"]} commit(s)'
		 + (f', {p["seconds"]:.0f}s' if p['seconds'] else '')
		 + (f' (it ends: {p["stop"]})' if p.get('stop') else '')]
	for h, v in sorted(p['headers'].items()):
		what = (f'+{", ".join(v["added"]) or "nothing"}'
			+ (f', -{", ".join(v["removed"])}' if v['removed'] else '')
			+ (f'; value changes: {", ".join(v["shifted"])}' if v['shifted'] else '')
			if v['ok'] else f'does not qualify: {v["why"]}')
		lines.append(f'  - {h}: {md_cell(what)}')
	lines += [f'  - compiled {o}: {md_cell(w)}' for o, w in list(p['reasons'].items())[:5]]
	return lines


def reports_dir(tree: Tree) -> Path:
	return (series.REPORTS / tree.kver if tree.origin == 'debian'
		else work_dir() / 'reports' / tree.name)


def write_reports(rep: Report, outdir: Path) -> Tuple[Path, Path]:
	outdir.mkdir(parents=True, exist_ok=True)
	md, js = outdir / 'check.md', outdir / 'check.json'
	md.write_text(report_md(rep))
	js.write_text(report_json(rep))
	return md, js


# ---- the build dir ----

class Lock:
	"""One make check or bisect per build dir at a time."""

	def __init__(self, path: Path) -> None:
		path.parent.mkdir(parents=True, exist_ok=True)
		self._f = open(path, 'w')
		try:
			fcntl.flock(self._f, fcntl.LOCK_EX | fcntl.LOCK_NB)
		except BlockingIOError:
			self._f.close()
			raise Error(f'{path.parent} is in use by another make check or '
				    f'bisect; wait for it')

	def __enter__(self) -> 'Lock':
		return self

	def __exit__(self, *exc: object) -> None:
		self._f.close()


def lock(tree: Tree, label: str) -> Lock:
	return Lock(build.worktree_dir(tree, label).with_suffix('.lock'))


def configure(kver: str, src: Path, out: Path, label: str,
	      wanted: Sequence[str]) -> List[str]:
	"""tinyconfig + the kver fragment + wanted=y, olddefconfig; skipped
	when out/.config came from the same fragment and already has every
	wanted symbol. Returns the wanted symbols that did not stick; raises
	if the fragment's own symbols do not."""
	frag = build.config_fragment(kver)
	stamp = out / CONFIG_STAMP
	config = out / '.config'
	want = build.fragment_stamp(frag)
	if config.is_file() and stamp.is_file() and stamp.read_text().strip() == want:
		have = build.read_config(config)
		missing = [s for s in wanted if have.get(s) != 'y']
		if not missing:
			return []
	base = build.read_config(frag)
	extra = [s for s in wanted if base.get(s) != 'y']
	stdout.step(f'{label}: configuring (tinyconfig + {frag.name}'
		    + (f' + {", ".join(extra)}' if extra else '') + ')')
	build.make(src, out, ['tinyconfig'], label, 'config.log')
	text = config.read_text() + f'\n# pinconv: {frag.name}\n' + frag.read_text()
	if extra:
		text += '\n# pinconv check: needed by the touched files\n'
		text += ''.join(f'{s}=y\n' for s in extra)
	config.write_text(text)
	build.make(src, out, ['olddefconfig'], label, 'config.log')
	have = build.read_config(config)
	bad = build.unmet(base, have)
	if bad:
		raise Error(f'{label}: config symbols that do not stick: '
			    f'{", ".join(bad)} (fix {frag})')
	stamp.write_text(want + '\n')
	return [s for s in wanted if have.get(s) != 'y']


def object_sha256(out: Path, objects: Dict[str, Optional[str]]) -> Dict[str, str]:
	"""The sha256 of each compiled object: a farm build must give the same."""
	return {f: hashlib.sha256((out / o).read_bytes()).hexdigest()
		for f, o in objects.items() if o}


def object_of(src: Path, out: Path, cfile: str) -> Optional[str]:
	"""out/path/file.o if it exists and is at least as new as the source."""
	obj = out / (cfile[:-2] + '.o')
	if not obj.is_file():
		return None
	if obj.stat().st_mtime < (src / cfile).stat().st_mtime:
		return None
	return str(obj.relative_to(out))


def sparse_counts(src: Path, out: Path, label: str, cfiles: Sequence[str],
		  arch: crossarch.Arch = crossarch.X86_64) -> Tuple[Counter, str]:
	"""make C=2 on the objects of cfiles: (message counts, error)."""
	if not cfiles:
		return Counter(), ''
	objs = [f[:-2] + '.o' for f in cfiles]
	err = ''
	try:
		build.make(src, out, ['C=2'] + objs, label, 'sparse.log', arch.make_arch,
			   arch.cross)
	except Error as e:
		err = str(e)
	text = (out / 'sparse.log').read_text(errors='replace')
	lines = [l for l in text.splitlines()
		 if not re.search(r'\[-W[\w=-]+\]$', l)]	# gcc's, not sparse's
	return diag_counts('\n'.join(lines), str(src)), err


def kernel_doc(src: Path, files: Sequence[str]) -> List[str]:
	if not files:
		return []
	p = run(['perl', 'scripts/kernel-doc', '-none', *files], cwd=src, check=False)
	# Its warnings and errors; the comment lines it quotes after them are not.
	return [norm_path(l.strip(), str(src)) for l in (p.stderr + p.stdout).splitlines()
		if re.search(r':\d+: (warning|error): ', l)]


def without_lines(msgs: Sequence[str]) -> Counter:
	return Counter(re.sub(r':\d+(:\d+)?:', ':', m) for m in msgs)


def checkpatch(src: Path, sha: str) -> Dict[str, List[str]]:
	p = run(['perl', 'scripts/checkpatch.pl', '--strict', '--terse', '--showfile',
		 '--color=never', '-g', sha], cwd=src, check=False)
	res = parse_checkpatch(p.stdout)
	if p.returncode and not any(res.values()):
		msg = (p.stderr or p.stdout).strip().splitlines()
		res['errors'].append('checkpatch.pl failed: ' + (msg[0] if msg else f'exit {p.returncode}'))
	return res


def compiler_warnings(out: Path, files: Sequence[str]) -> List[str]:
	log = out / 'make.log'
	if not log.is_file():
		return []
	return [norm_path(l.strip()) for l in log.read_text(errors='replace').splitlines()
		if ': warning: ' in l and any(f in l for f in files)]


# ---- make check ----

@dataclass
class Commit:
	sha: str
	parent: str
	subject: str
	files: List[str]


def rev_range(rev: str) -> str:
	"""REV as a range: 'a..b' as is, a single revision as base..rev."""
	return rev if '..' in rev else f'{BASE_TAG}..{rev}'


def commits_of(tree: Tree, rng: str) -> List[Commit]:
	for side in rng.split('..'):
		if side:
			build.resolve(tree, side)
	out = git(['rev-list', '--reverse', '--topo-order', rng], cwd=tree.path)
	commits = []
	for sha in out.split():
		info = git(['log', '-1', '--format=%P%n%s', sha], cwd=tree.path).split('\n', 1)
		parents = info[0].split()
		if not parents:
			raise Error(f'{sha[:12]} has no parent: start the range after it')
		files = git(['diff-tree', '--no-commit-id', '--name-only', '-r',
			     '--diff-filter=d', parents[0], sha], cwd=tree.path).split()
		commits.append(Commit(sha, parents[0], info[1] if len(info) > 1 else '', files))
	return commits


def touched_c_files(commits: Sequence[Commit]) -> Dict[str, str]:
	"""Every .c file the commits touch -> the last commit touching it."""
	last: Dict[str, str] = {}
	for c in commits:
		for f in c_files(c.files):
			last[f] = c.sha
	return last


def ccache_counts() -> Counter:
	p = run(['ccache', '--print-stats'], env=build.make_env(), check=False)
	counts: Counter = Counter()
	for line in p.stdout.splitlines():
		k, _, v = line.partition('\t')
		if v.strip().isdigit():
			counts[k] = int(v)
	return Counter({'hits': counts['direct_cache_hit'] + counts['preprocessed_cache_hit'],
			'misses': counts['cache_miss'] + counts['recache']})


def c_files(files: Sequence[str]) -> List[str]:
	return [f for f in files if f.endswith('.c')]


def doc_files(files: Sequence[str]) -> List[str]:
	return [f for f in files if f.endswith(('.c', '.h'))]


def present(src: Path, files: Sequence[str]) -> List[str]:
	return [f for f in files if (src / f).is_file()]


@dataclass
class ProofState:
	on: bool = True
	chain: Optional[headerproof.Proof] = None


def chain_holds(chain: Optional[headerproof.Proof], sha: str, built: str) -> bool:
	"""Does the proof cover sha, with out built at the commit before it?"""
	if chain is None or sha not in chain.covers:
		return False
	k = chain.covers.index(sha)
	return built == (chain.covers[k - 1] if k else chain.base)


def header_proof(tree: Tree, commits: Sequence[Commit], i: int, built: str,
		 label: str, src: Path, out: Path, where: str,
		 state: ProofState) -> Dict:
	"""Keep the objects the header proof shows unchanged at commits[i]
	(checked out in src; out holds a complete build of its parent,
	built, or nothing); returns the report's view."""
	c = commits[i]
	if not chain_holds(state.chain, c.sha, built):
		# A new proof from built (none without a build: prove() says why).
		rest = [(x.sha, x.files) for x in commits[i:]]
		state.chain = headerproof.prove(
			src, out, built, rest,
			lambda sha: build.worktree(tree, sha, label + '-proof')[0],
			where, build.jobs())
	chain = state.chain
	assert chain is not None
	if c.sha in chain.covers:
		n = headerproof.keep(out, chain, chain.steps[c.sha])
		stdout.step(f'{where}: header proof: keeping {chain.proven} objects '
			    f'built at {chain.base[:12]} ({n} include a header this commit changes)')
	return headerproof.as_dict(chain, c.sha)


@dataclass
class Cross:
	"""A cross target of a check run: its worktree and build dir."""
	target: crossarch.Target
	label: str
	src: Path
	out: Path


@dataclass
class Placement:
	"""Where the range's .c files build (crossarch.choose()) and the build
	dirs of the cross targets."""
	choice: crossarch.Choice
	cross: Dict[crossarch.Target, Cross] = field(default_factory=dict)

	def x86_files(self, files: Sequence[str]) -> List[str]:
		return [f for f in files if f not in self.choice.unbuildable and
			self.choice.where.get(f, crossarch.X86_TARGET) == crossarch.X86_TARGET]

	def cross_files(self, files: Sequence[str]) -> List[Tuple[Cross, List[str]]]:
		return [(x, [f for f in files if self.choice.where.get(f) == t])
			for t, x in self.cross.items()
			if any(self.choice.where.get(f) == t for f in files)]


def patch_id(repo: Path, sha: str) -> str:
	"""The stable patch-id of a commit ('' for an empty one)."""
	diff = subprocess.run(['git', 'show', '--format=', sha], cwd=repo, check=True,
			      capture_output=True).stdout
	out = subprocess.run(['git', 'patch-id', '--stable'], cwd=repo, input=diff, check=True,
			     capture_output=True).stdout.decode()
	return out.split()[0] if out.strip() else ''


def check_commit(tree: Tree, commits: Sequence[Commit], i: int, label: str,
		 src: Path, out: Path, where: str, state: ProofState,
		 placed: Optional[Placement] = None) -> CommitResult:
	c = commits[i]
	r = CommitResult(c.sha, c.subject, c.parent, c.files, patch_id(tree.path, c.sha))
	start = time.monotonic()
	placed = placed or Placement(crossarch.Choice())
	ch = placed.choice
	cfiles_all = c_files(c.files)
	r.unbuildable = {f: ch.unbuildable[f] for f in cfiles_all if f in ch.unbuildable}
	r.arch = {f: ch.where[f].arch.name for f in cfiles_all if f in ch.where}
	x86 = crossarch.x86_needed(c.files, ch)
	crosses = placed.cross_files(cfiles_all)
	# kernel-doc and checkpatch read a worktree at the parent and the commit.
	doc_label, doc_src = ((label, src) if x86 or not crosses
			      else (crosses[0][0].label, crosses[0][0].src))
	# The build dir holds the parent's complete build, but for the first
	# commit (then the header proof starts from nothing).
	built = headerproof.read_stamp(out)
	if built != c.parent or not state.on or not x86:
		headerproof.drop_stamp(out)
		built = ''
	before: Counter = Counter()
	perr = ''
	pc: List[str] = []
	if x86:
		build.worktree(tree, c.parent, label)
		pc = present(src, placed.x86_files(cfiles_all))
		before, perr = sparse_counts(src, out, label, pc)
	for x, files in crosses:
		build.worktree(tree, c.parent, x.label)
		xpc = present(x.src, files)
		pc += xpc
		b, e = sparse_counts(x.src, x.out, x.label, xpc, x.target.arch)
		before += b
		perr = perr or e
	build.worktree(tree, c.parent, doc_label)
	kd_before = kernel_doc(doc_src, present(doc_src, doc_files(c.files)))
	stdout.step(f'{where}: parent {c.parent[:12]}: sparse {sum(before.values())} '
		    f'warning(s) in {len(pc)} file(s){" (" + perr + ")" if perr else ""}, '
		    f'kernel-doc {len(kd_before)} line(s)')
	# At the commit.
	errors: List[str] = []
	compiled: List[Tuple[Path, Path, str, crossarch.Arch, List[str]]] = []
	if x86:
		build.worktree(tree, c.sha, label)
		t0 = time.monotonic()
		if state.on:
			r.proof = header_proof(tree, commits, i, built, label, src, out, where, state)
		headerproof.drop_stamp(out)
		try:
			build.make(src, out, ['bzImage'], label)
			headerproof.write_stamp(out, c.sha)
		except Error as e:
			errors.append(str(e))
		seconds = time.monotonic() - t0
		cfiles = present(src, placed.x86_files(cfiles_all))
		r.objects = {f: object_of(src, out, f) for f in cfiles}
		r.sha256 = object_sha256(out, r.objects)
		r.compiler_warnings = compiler_warnings(out, c.files)
		r.builds.append({'target': crossarch.X86_64.name, 'label': label, 'ok': not errors,
				 'seconds': round(seconds, 1), 'files': cfiles, 'skipped': ''})
		compiled.append((src, out, label, crossarch.X86_64,
				 [f for f in cfiles if r.objects[f]]))
		stdout.step(f'{where}: build {"ok" if not errors else "FAILED"} in '
			    f'{seconds:.1f}s, {sum(1 for o in r.objects.values() if o)}/'
			    f'{len(cfiles)} touched .c compiled')
	else:
		r.builds.append({'target': crossarch.X86_64.name, 'label': label, 'ok': True,
				 'seconds': 0.0, 'files': [], 'skipped':
				 'not built: the commit touches only files of other architectures'})
	for x, files in crosses:
		build.worktree(tree, c.sha, x.label)
		xfiles = present(x.src, files)
		seconds, err = crossarch.build_objects(x.src, x.out, x.target, xfiles, x.label)
		if err:
			errors.append(f'{x.target.arch.name}: {err}')
		objs = {f: object_of(x.src, x.out, f) for f in xfiles}
		r.objects.update(objs)
		r.sha256.update(object_sha256(x.out, objs))
		r.compiler_warnings += compiler_warnings(x.out, c.files)
		r.builds.append({'target': x.target.name, 'label': x.label, 'ok': not err,
				 'seconds': round(seconds, 1), 'files': xfiles, 'skipped': ''})
		compiled.append((x.src, x.out, x.label, x.target.arch, [f for f in xfiles if objs[f]]))
		stdout.step(f'{where}: {x.target.name}: {"ok" if not err else "FAILED"} in '
			    f'{seconds:.1f}s, {sum(1 for o in objs.values() if o)}/{len(xfiles)} '
			    f'touched .c compiled')
	r.build_ok = not errors
	r.build_error = '; '.join(errors)
	r.build_seconds = sum(b['seconds'] for b in r.builds)
	if r.build_ok and any(files for *_, files in compiled):
		after: Counter = Counter()
		for xsrc, xout, xlabel, arch, files in compiled:
			a, err = sparse_counts(xsrc, xout, xlabel, files, arch)
			after += a
			r.sparse_error = r.sparse_error or err
		r.sparse_new = new_diags(before, after)
		r.sparse_counts = {'parent': sum(before.values()), 'commit': sum(after.values())}
		stdout.step(f'{where}: sparse {len(r.sparse_new)} new warning(s) '
			    f'({r.sparse_counts["parent"]} -> {r.sparse_counts["commit"]})')
	else:
		stdout.step(f'{where}: sparse skipped (nothing compiled)')
	build.worktree(tree, c.sha, doc_label)
	r.checkpatch = checkpatch(doc_src, c.sha)
	stdout.step(f'{where}: checkpatch {len(r.checkpatch["errors"])} errors, '
		    f'{len(r.checkpatch["warnings"])} warnings, '
		    f'{len(r.checkpatch["checks"])} checks')
	r.kernel_doc = kernel_doc(doc_src, present(doc_src, doc_files(c.files)))
	old = without_lines(kd_before)
	for k in r.kernel_doc:
		key = re.sub(r':\d+(:\d+)?:', ':', k)
		if old[key] > 0:
			old[key] -= 1
		else:
			r.kernel_doc_new.append(k)
	stdout.step(f'{where}: kernel-doc {len(r.kernel_doc)} line(s), '
		    f'{len(r.kernel_doc_new)} new')
	r.seconds = time.monotonic() - start
	judge(r)
	stdout.step(f'{where}: {"pass" if r.ok else "FAIL: " + "; ".join(r.reasons)} '
		    f'({r.seconds:.1f}s)')
	return r


def symbols_reader(tree: Tree, cfiles: Dict[str, str]) -> crossarch.SymbolsOf:
	"""kconfig_symbols() of each file at the last commit touching it."""
	def symbols_of(f: str, arch: crossarch.Arch,
		       avoid: Sequence[str]) -> Tuple[List[str], List[str]]:
		return kconfig_symbols(git_reader(tree.path, cfiles[f]), f, arch.srcarch, avoid)
	return symbols_of


def place(tree: Tree, cfiles: Dict[str, str], first: str, tip: str,
	  label: str) -> Placement:
	"""Choose each file's target (crossarch.choose()), configuring the x86_64
	build dir and each cross build dir it tries at first (the range's
	parent); Kconfig dependencies are read at tip."""
	placed = Placement(crossarch.Choice())

	def probe(t: crossarch.Target, wanted: List[str]) -> Dict[str, str]:
		tlabel = t.label(label)
		src, _ = build.worktree(tree, first, tlabel)
		out = build.build_dir(tree, tlabel)
		if t.arch is crossarch.X86_64:
			configure(tree.kver, src, out, label, wanted)
			have = build.read_config(out / '.config')
			return {s: have.get(s, 'n') for s in wanted}
		got = crossarch.configure(src, out, t, wanted, tlabel)
		placed.cross[t] = Cross(t, tlabel, src, out)
		return got
	def deps_of(arch: crossarch.Arch, sym: str) -> List[str]:
		return crossarch.kconfig_deps(tree.path, tip, arch, sym)
	placed.choice = crossarch.choose(list(cfiles), symbols_reader(tree, cfiles), probe,
					 deps_of)
	placed.cross = {t: x for t, x in placed.cross.items() if t in placed.choice.targets()}
	for f, why in placed.choice.unbuildable.items():
		stdout.step(f'{f}: {why}')
	return placed


def run_check(tree: Tree, rev: str, label: str = LABEL, proof: bool = True) -> Report:
	rng = rev_range(rev)
	commits = commits_of(tree, rng)
	if not commits:
		raise Error(f'no commits in {rng}')
	start = time.monotonic()
	cfiles = touched_c_files(commits)
	problems: List[str] = []
	cc_before = ccache_counts()
	on = farm.current()
	stdout.step(f'check {rng}: {len(commits)} commits, {len(cfiles)} .c files')
	first = commits[0].parent
	with contextlib.ExitStack() as locks:
		locks.enter_context(lock(tree, label))
		for t in crossarch.TARGETS[1:]:
			locks.enter_context(lock(tree, t.label(label)))
		placed = place(tree, cfiles, first, commits[-1].sha, label)
		ch = placed.choice
		need = ch.symbols.get(crossarch.X86_TARGET, {})
		src = build.worktree_dir(tree, label)
		out = build.build_dir(tree, label)
		if any(crossarch.x86_needed(c.files, ch) for c in commits):
			src, _ = build.worktree(tree, first, label)
			# Configured by place() if a file was tried on x86_64; a
			# no-op then, else the fragment alone.
			for sym in configure(tree.kver, src, out, label, list(need)):
				problems.append(f'{sym}=y did not stick after olddefconfig '
						f'(needed by {", ".join(need[sym])}): {kconfig_hint(src, sym)}')
		stdout.step(f'config: x86_64 needs {", ".join(need) or "nothing beyond the fragment"}'
			    + ''.join(f'; {t.name} builds {", ".join(ch.files(t))}'
				      for t in ch.targets() if t != crossarch.X86_TARGET))
		for p in problems:
			stdout.step(f'config problem: {p}')
		prepared = time.monotonic() - start
		results = []
		state = ProofState(on=proof)
		for i, c in enumerate(commits):
			where = f'[{i + 1}/{len(commits)}] {c.sha[:12]} {c.subject[:50]}'
			results.append(check_commit(tree, commits, i, label, src, out, where, state,
						    placed))
	rep = Report(tree.version, str(tree.path), rng, label, need, problems, results,
		     time.monotonic() - start, prepared)
	rep.cross_config = {t.name: syms for t, syms in ch.symbols.items()
			    if t != crossarch.X86_TARGET}
	cc = ccache_counts()
	cc.subtract(cc_before)
	rep.ccache = f'{cc["hits"]} hits, {cc["misses"]} misses (all builds in that period)'
	rep.farm = on.describe() if on else ''
	return rep


def check(tree: Tree, rev: str, proof: bool = True, label: str = LABEL) -> bool:
	rep = run_check(tree, rev, label, proof=proof)
	md, _ = write_reports(rep, reports_dir(tree))
	failed = [c for c in rep.commits if not c.ok]
	for c in failed:
		stdout.step(f'FAIL {c.sha[:12]} {c.subject}: {"; ".join(c.reasons)}')
	stdout.step(f'check {rep.range}: {len(rep.commits) - len(failed)}/{len(rep.commits)} '
		    f'commits pass{", config problems" if rep.config_problems else ""} '
		    f'in {rep.seconds:.0f}s; report {md}')
	return rep.ok


# ---- make bisect ----

def bisect_step(src: Path, test: str, label: str, timeout: float) -> int:
	"""Test the commit checked out in src (a bisect worktree): 0 good,
	1 bad (does not build, or TEST=boot and a boot verdict fails), 125
	cannot be tested (no config), 255 stop the bisect."""
	from pinconv import boot
	out = src / 'out'
	frag = out / BISECT_FRAGMENT
	sha = git(['rev-parse', 'HEAD'], cwd=src)
	subject = git(['log', '-1', '--format=%s', sha], cwd=src)
	where = f'{label} {sha[:12]} {subject[:50]}'
	if not frag.is_file() or not (out / '.config').is_file():
		stdout.step(f'{where}: no {frag}: run make bisect')
		return STEP_ABORT
	wanted = json.loads(frag.read_text())
	try:
		build.make(src, out, ['olddefconfig'], label, 'config.log')
	except Error as e:
		stdout.step(f'{where}: SKIP, config: {e}')
		return STEP_SKIP
	have = build.read_config(out / '.config')
	lost = [s for s in wanted['symbols'] if have.get(s) != 'y']
	if lost:
		stdout.step(f'{where}: SKIP, config lost {", ".join(lost)}')
		return STEP_SKIP
	try:
		seconds = build.make(src, out, ['bzImage'], label)
	except Error as e:
		stdout.step(f'{where}: BAD, build: {e}')
		return STEP_BAD
	missing = [f for f in wanted['files'] if (src / f).is_file()
		   and object_of(src, out, f) is None]
	if missing:
		stdout.step(f'{where}: BAD, not compiled: {", ".join(missing)}')
		return STEP_BAD
	stdout.step(f'{where}: builds ({seconds:.1f}s)')
	if test == 'build':
		return STEP_GOOD
	kernel = build.Kernel(label, sha, src, out, out / 'arch' / 'x86' / 'boot' / 'bzImage',
			      seconds)
	res = boot.test_kernel(kernel, boot.make_initramfs(),
			       boot.expectations([], boot.EXPECT_ANY), timeout)
	stdout.step(f'{where}: boot {"GOOD" if res.ok else "BAD"}')
	return STEP_GOOD if res.ok else STEP_BAD


def bisect_state(src: Path) -> bool:
	return run(['git', 'bisect', 'log'], cwd=src, check=False).returncode == 0


def bisect_reset(src: Path) -> None:
	if bisect_state(src):
		run(['git', 'bisect', 'reset'], cwd=src, check=False)
	if bisect_state(src):
		raise Error(f'{src}: git bisect reset failed; run it there by hand')


def terminate(p: subprocess.Popen) -> None:
	"""Stop git bisect run and its step (its own process group)."""
	if p.poll() is not None:
		return
	try:
		os.killpg(p.pid, signal.SIGTERM)
		p.wait(timeout=20)
	except (ProcessLookupError, subprocess.TimeoutExpired):
		try:
			os.killpg(p.pid, signal.SIGKILL)
		except ProcessLookupError:
			pass
		p.wait()


def sigterm(signum: int, frame: object) -> None:
	raise KeyboardInterrupt


def bisect(tree: Tree, good: str, bad: str, test: str, timeout: float,
	   label: str = BISECT_LABEL) -> Tuple[str, str]:
	"""git bisect run GOOD..BAD with bisect_step in the label's worktree;
	returns the first bad commit (sha, subject)."""
	if test not in ('build', 'boot'):
		raise Error(f'TEST={test}: use build or boot')
	good_sha, bad_sha = build.resolve(tree, good), build.resolve(tree, bad)
	if run(['git', 'merge-base', '--is-ancestor', good_sha, bad_sha], cwd=tree.path,
	       check=False).returncode:
		raise Error(f'GOOD={good} is not an ancestor of BAD={bad}')
	commits = commits_of(tree, f'{good_sha}..{bad_sha}')
	if not commits:
		raise Error(f'GOOD={good} and BAD={bad} are the same commit')
	cfiles = touched_c_files(commits)
	need, problems = derive_config(tree.path, cfiles)
	old = signal.signal(signal.SIGTERM, sigterm)
	try:
		with lock(tree, label):
			wt = build.worktree_dir(tree, label)
			if (wt / '.git').exists():
				bisect_reset(wt)	# left by a killed run
			src, _ = build.worktree(tree, good_sha, label)
			out = build.build_dir(tree, label)
			for sym in configure(tree.kver, src, out, label, list(need)):
				problems.append(f'{sym}=y did not stick: {kconfig_hint(src, sym)}')
			if problems:
				raise Error(f'config for {", ".join(cfiles)}: {"; ".join(problems)}')
			(out / BISECT_FRAGMENT).write_text(json.dumps(
				{'symbols': list(need), 'files': list(cfiles)}) + '\n')
			if test == 'boot':
				from pinconv import boot
				boot.make_initramfs()
			stdout.step(f'bisect: {len(commits)} commits; testing GOOD {good_sha[:12]}')
			if bisect_step(src, test, label, timeout) != STEP_GOOD:
				raise Error(f'GOOD={good} fails TEST={test} itself '
					    f'(log: {out / "make.log"})')
			build.worktree(tree, bad_sha, label)
			stdout.step(f'bisect: testing BAD {bad_sha[:12]}')
			if bisect_step(src, test, label, timeout) != STEP_BAD:
				raise Error(f'BAD={bad} passes TEST={test}: nothing to bisect')
			return run_bisect(src, good_sha, bad_sha, test, label, timeout)
	finally:
		signal.signal(signal.SIGTERM, old)


def run_bisect(src: Path, good: str, bad: str, test: str, label: str,
	       timeout: float) -> Tuple[str, str]:
	env = dict(os.environ, PYTHONPATH=str(TOP / 'scripts'))
	step = [sys.executable, '-m', 'pinconv', 'bisect-step', '--src', str(src),
		'--test', test, '--label', label, '--timeout', str(timeout)]
	try:
		print(run(['git', 'bisect', 'start', bad, good], cwd=src).stdout.strip(),
		      flush=True)
		p = subprocess.Popen(['git', 'bisect', 'run'] + step, cwd=src, env=env,
				     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
				     text=True, errors='replace', start_new_session=True)
		try:
			assert p.stdout
			text = []
			for line in p.stdout:
				text.append(line)
				sys.stdout.write(line)
				sys.stdout.flush()
			rc = p.wait()
		finally:
			terminate(p)
		log = ''.join(text)
		if log and not log.endswith('\n'):
			print(flush=True)
		if rc or 'is the first bad commit' not in log:
			last = [l for l in log.splitlines() if l.strip()][-3:]
			raise Error(f'git bisect run did not find a first bad commit '
				    f'(exit {rc}): {" / ".join(last)}')
		sha = git(['rev-parse', 'refs/bisect/bad'], cwd=src)
		subject = git(['log', '-1', '--format=%s', sha], cwd=src)
		return sha, subject
	finally:
		bisect_reset(src)
