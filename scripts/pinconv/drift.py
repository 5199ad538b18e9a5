# SPDX-License-Identifier: GPL-2.0
"""Input drift: tell a moved input apart from a changed output.

The committed series and reports are made from one Debian package revision
of linux-source-<kver>. Debian ships a new revision every one to three
weeks; on a machine that has another one, the baseline commit, line numbers
and unrelated files move, while what the rules decide stays the same.

Every report records its input (package, revision, kernel, baseline commit
and tree, the blobs of the files the rules read), and
reports/<kver>/input.json the tree ids of the baseline's directories down to
MANIFEST_DEPTH, so that a later machine can name what moved without the old
tree. compare_series() and compare_audit() then split the differences of a
regenerated output from the committed one into:

  drift    the input moved (revision, base, line numbers, context lines,
           maintainers, files the rules did not decide anything in)
  changed  what the rules decided or wrote differs (sites, statuses,
           reasons, commit subjects and messages, the changed lines of a
           hunk): the committed output is stale, or a rule changed
"""

import email
import gzip
import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from pinconv.run import git
from pinconv.tree import Tree

MANIFEST_DEPTH = 3


@dataclass
class Verdict:
	drift: List[str] = field(default_factory=list)
	changed: List[str] = field(default_factory=list)

	def extend(self, other: 'Verdict') -> None:
		self.drift += [d for d in other.drift if d not in self.drift]
		self.changed += other.changed

	def summary(self) -> str:
		if self.changed:
			return 'changed output:\n  ' + '\n  '.join(self.changed)
		if self.drift:
			return 'input drift, same output:\n  ' + '\n  '.join(self.drift)
		return 'identical'


# -- what the input was ----------------------------------------------------------

def input_record(tr: Tree, files: Iterable[str] = (), rev: str = '') -> Dict:
	"""The input of a report: where the tree came from, its baseline (or
	rev), and the blob of every file in files (the files the rules read)."""
	rev = rev or tr.base
	files = sorted(set(files))
	blobs: Dict[str, str] = {}
	if files:
		out = git(['ls-tree', rev, '--', *files], cwd=tr.path)
		for l in out.splitlines():
			meta, path = l.split('\t', 1)
			blobs[path] = meta.split()[2]
	return {
		'package': f'linux-source-{tr.kver}' if tr.origin == 'debian' else '',
		'revision': tr.revision,
		'kernel': tr.version,
		'base': rev,
		'tree': git(['rev-parse', f'{rev}^{{tree}}'], cwd=tr.path),
		'files': blobs,
	}


def manifest(tr: Tree) -> Dict:
	"""reports/<kver>/input.json: the baseline's directories and their tree
	ids, down to MANIFEST_DEPTH, so that drift names where it is."""
	out = git(['ls-tree', '-r', '-d', tr.base], cwd=tr.path)
	dirs = {}
	for l in out.splitlines():
		meta, path = l.split('\t', 1)
		if path.count('/') < MANIFEST_DEPTH:
			dirs[path] = meta.split()[2]
	rec = input_record(tr)
	del rec['files']
	return {**rec, 'depth': MANIFEST_DEPTH, 'dirs': dict(sorted(dirs.items()))}


def write_manifest(tr: Tree, outdir: Path) -> None:
	outdir.mkdir(parents=True, exist_ok=True)
	(outdir / 'input.json').write_text(json.dumps(manifest(tr), indent=1) + '\n')


def moved_dirs(old: Dict[str, str], new: Dict[str, str]) -> List[str]:
	"""The deepest recorded directories whose tree differs (or that one side
	lacks), without their changed parents."""
	diff = {d for d in set(old) | set(new) if old.get(d) != new.get(d)}
	return sorted(d + '/' for d in diff if not any(o.startswith(d + '/') for o in diff))


BACKPORT_RE = re.compile(r'~deb\d+u\d+$')


def changelog(kver: str, old: str, new: str, path: Optional[Path] = None) -> List[str]:
	"""The first lines of each Debian changelog entry after revision old up
	to new, from the installed package's documentation. A bookworm
	backport (6.12.118-1~deb12u1, 'Rebuild for bookworm') stands for the
	trixie entry it rebuilds (6.12.118-1), which says what changed; an
	entry that is only a stable update names its first changes."""
	f = path or Path(f'/usr/share/doc/linux-source-{kver}/changelog.Debian.gz')
	if not old or not new or not f.is_file():
		return []
	lo, hi = BACKPORT_RE.sub('', old), BACKPORT_RE.sub('', new)
	out = []
	text = gzip.open(f, 'rt', errors='replace').read()
	for m in re.finditer(r'^linux(?:-[\d.]+)? \(([^)]+)\)[^\n]*\n(.*?)^ -- ', text, re.M | re.S):
		ver = m.group(1)
		base = BACKPORT_RE.sub('', ver)
		if not (newer(base, lo) and not newer(base, hi)):
			continue
		items = _entry_items(m.group(2))
		out.append(f'{ver}: ' + ('; '.join(items[:3]) or 'no entries')
			   + (f' (+{len(items) - 3} more)' if len(items) > 3 else ''))
	return out


def _entry_items(body: str) -> List[str]:
	"""A changelog entry's items ('* '), each with its continuation lines;
	an item that ends in ':' ('New upstream stable update:') is replaced
	by its sub-items ('- ')."""
	top: List[Tuple[str, List[str]]] = []
	for l in body.splitlines():
		t = l.strip()
		if t.startswith('* '):
			top.append((t[2:], []))
		elif t.startswith('- ') and top:
			top[-1][1].append(t[2:])
		elif t and top and not t.startswith('http'):
			if top[-1][1]:
				top[-1][1][-1] += ' ' + t
			else:
				top[-1] = (top[-1][0] + ' ' + t, top[-1][1])
	out: List[str] = []
	for head, subs in top:
		if head.endswith(':') and subs:
			out += [f'{head} {subs[0]}'] + subs[1:]
		else:
			out.append(head)
	return out


def newer(a: str, b: str) -> bool:
	return subprocess.run(['dpkg', '--compare-versions', a, 'gt', b]).returncode == 0


def input_drift(old: Dict, new: Dict, kver: str = '',
		old_dirs: Optional[Dict] = None, new_dirs: Optional[Dict] = None) -> List[str]:
	"""What moved between two input records (and their manifests)."""
	out = []
	if old.get('revision') != new.get('revision') or old.get('kernel') != new.get('kernel'):
		pkg = new.get('package') or old.get('package') or 'the tree'
		out.append(f"{pkg}: committed from {old.get('kernel')} {old.get('revision') or '?'}, "
			   f"installed {new.get('kernel')} {new.get('revision') or '?'}")
		for c in changelog(kver, old.get('revision', ''), new.get('revision', '')):
			out.append(f'  Debian changelog {c}')
	if old.get('base') != new.get('base'):
		out.append(f"baseline commit {old.get('base', '?')[:12]} -> {new.get('base', '?')[:12]}")
	if old_dirs is not None and new_dirs is not None:
		dirs = moved_dirs(old_dirs, new_dirs)
		if dirs:
			out.append(f'directories that changed: {", ".join(dirs)}')
	of, nf = old.get('files', {}), new.get('files', {})
	files = sorted(f for f in set(of) | set(nf) if of.get(f) != nf.get(f))
	if files:
		out.append(f'files the rules read that changed: {", ".join(files)}')
	return out


# -- the series ------------------------------------------------------------------

@dataclass
class Hunk:
	header: str          # '@@ -a,b +c,d @@ context'
	function: str        # the context after the second @@
	changes: List[str]   # the - and + lines, in order
	context: List[str]   # the unchanged lines


@dataclass
class Patch:
	subject: str
	message: str                      # normalized commit message
	cc: List[str]
	files: Dict[str, List[Hunk]]


HUNK_RE = re.compile(r'^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@ ?(.*)$')


def parse_patch(text: str, kernel: str = '') -> Patch:
	msg = email.message_from_string(text)
	subject = ' '.join(str(msg.get('Subject', '')).split())
	body = msg.get_payload()
	if not isinstance(body, str):
		body = ''
	head, sep, diff = body.partition('\ndiff --git ')
	message = head.split('\n---\n', 1)[0]
	cc = [l[4:] for l in message.splitlines() if l.startswith('Cc: ')]
	lines = [l for l in message.splitlines() if not l.startswith('Cc: ')]
	norm = '\n'.join(lines)
	norm = re.sub(r'^base-commit: \w+$', 'base-commit: <base>', norm, flags=re.M)
	if kernel:
		norm = norm.replace(f'Linux {kernel}', 'Linux <kernel>')
	norm = decision_text(norm)
	files: Dict[str, List[Hunk]] = {}
	if sep:
		for chunk in diff.split('\ndiff --git '):
			first, *rest = chunk.split('\n')
			name = first.split(' b/', 1)[-1]
			hunks: List[Hunk] = []
			for l in rest:
				m = HUNK_RE.match(l)
				if m:
					hunks.append(Hunk(l, m.group(1), [], []))
				elif not hunks or not l:
					continue
				elif l == '-- ':
					break		# a signature
				elif l[0] in '+-':
					hunks[-1].changes.append(l)
				elif l[0] == ' ':
					hunks[-1].context.append(l)
			files[name] = hunks
	return Patch(subject, norm, cc, files)


def _first_diff(a: List[str], b: List[str]) -> str:
	for x, y in zip(a, b):
		if x != y:
			return f'{x.strip()!r} -> {y.strip()!r}'
	if len(a) != len(b):
		extra = a[len(b)] if len(a) > len(b) else b[len(a)]
		return f"{'removed' if len(a) > len(b) else 'added'} {extra.strip()!r}"
	return ''


def _first_word_diff(a: str, b: str, around: int = 6) -> str:
	"""The first place two decision texts differ, a few words either side."""
	x, y = a.split(), b.split()
	i = 0
	while i < min(len(x), len(y)) and x[i] == y[i]:
		i += 1
	lo = max(0, i - around)
	def part(w: List[str]) -> str:
		return ('... ' if lo else '') + ' '.join(w[lo:i + around]) + \
			(' ...' if i + around < len(w) else '')
	return f'{part(x)!r} -> {part(y)!r}'


def compare_patch(name: str, old: Patch, new: Patch) -> Verdict:
	v = Verdict()
	if old.subject != new.subject:
		v.changed.append(f'{name}: subject {old.subject!r} -> {new.subject!r}')
	if old.message != new.message:
		v.changed.append(f'{name}: message: {_first_word_diff(old.message, new.message)}')
	if old.cc != new.cc:
		v.drift.append(f'{name}: Cc (get_maintainer.pl) {len(old.cc)} -> {len(new.cc)} '
			       f'addresses')
	for f in sorted(set(old.files) | set(new.files)):
		oh, nh = old.files.get(f), new.files.get(f)
		if oh is None or nh is None:
			v.changed.append(f'{name}: {f}: {"added" if oh is None else "no longer"} changed')
			continue
		moved = False
		for i in range(max(len(oh), len(nh))):
			a = oh[i] if i < len(oh) else None
			b = nh[i] if i < len(nh) else None
			if a is None or b is None:
				h = a or b
				v.changed.append(f'{name}: {f}: hunk {i + 1} ({h.header}) '
						 f'{"added" if a is None else "removed"}')
				continue
			if a.changes != b.changes or a.function != b.function:
				v.changed.append(f'{name}: {f}: hunk {i + 1} ({b.header}): '
						 f'{_first_diff(a.changes, b.changes) or "function " + repr(a.function) + " -> " + repr(b.function)}')
			elif a.header != b.header or a.context != b.context:
				moved = True
		if moved:
			v.drift.append(f'{name}: {f}: lines or context moved, the changed lines are the same')
	return v


def compare_series(old_dir: Path, new_dir: Path, old_kernel: str = '',
		   new_kernel: str = '') -> Verdict:
	"""Committed patches/<kver>/ (old_dir) against a regenerated one."""
	v = Verdict()
	olds = sorted(p.name for p in old_dir.glob('*.patch'))
	news = sorted(p.name for p in new_dir.glob('*.patch'))
	for n in sorted(set(olds) ^ set(news)):
		v.changed.append(f'{n}: {"only committed" if n in olds else "new"}: the series '
				 f'has other commits')
	for n in sorted(set(olds) & set(news)):
		a = parse_patch((old_dir / n).read_text(errors='replace'), old_kernel)
		b = parse_patch((new_dir / n).read_text(errors='replace'), new_kernel)
		v.extend(compare_patch(n, a, b))
	return v


# 'line 231', 'lines 12-20', 'lines 12, 30 and 41'
LINE_RE = re.compile(r'\b(line|lines) \d+(?:-\d+)?(?:(?:,| and|, and) \d+(?:-\d+)?)*\b')
# 'virt/kvm/kvm_main.c:2858', 'fs/a.c:12:3'
FILE_LINE_RE = re.compile(r'(\b[\w.+-]+(?:/[\w.+-]+)*\.[chS]):\d+(?::\d+)?\b')


def no_lines(text: str) -> str:
	"""Reasons and messages name lines ('at line 231', '(line 714)',
	'fs/a.c:231'): where the code sits is input, not a decision."""
	return LINE_RE.sub(r'\1 N', FILE_LINE_RE.sub(r'\1:N', text))


def decision_text(text: str) -> str:
	"""What a generated text decides, independent of its layout: its words
	in order, one space apart, with the line numbers removed. Filling a
	paragraph moves words between lines (a number that gains a digit pushes
	'line' and its number apart), so the words are joined before the
	numbers are taken out; no wrapping of a cover letter, commit message or
	report can then make a moved line look like a changed decision."""
	return no_lines(' '.join(text.split()))


def _sites(sites: List[Dict], keys: Tuple[str, ...]) -> Counter:
	return Counter(tuple(decision_text(s[k]) if k == 'reason' else s[k] for k in keys)
		       for s in sites)


def _compare_sites(what: str, old: List[Dict], new: List[Dict],
		   keys: Tuple[str, ...]) -> List[str]:
	a, b = _sites(old, keys), _sites(new, keys)
	out = []
	for s in sorted((a - b).keys()):
		twin = [t for t in (b - a) if t[:3] == s[:3]]
		if twin:
			diff = [f'{k} {x!r} -> {y!r}' for k, x, y in zip(keys, s, twin[0]) if x != y]
			out.append(f'{what}: {s[0]} {s[1]}() {s[2]}: ' + '; '.join(diff))
		else:
			out.append(f'{what}: {s[0]} {s[1]}() {s[2]}: site no longer found')
	for s in sorted((b - a).keys()):
		if not [t for t in (a - b) if t[:3] == s[:3]]:
			out.append(f'{what}: {s[0]} {s[1]}() {s[2]}: new site ({", ".join(map(str, s[3:]))})')
	return out


SPATCH_SITE = ('file', 'function', 'api', 'status', 'reason', 'rule')
AUDIT_SITE = ('file', 'function', 'api', 'cls', 'reason', 'subsystem')


def compare_spatch(old: Dict, new: Dict, kver: str = '',
		   old_dirs: Optional[Dict] = None, new_dirs: Optional[Dict] = None) -> Verdict:
	"""Two spatch.json reports."""
	v = Verdict()
	v.drift += input_drift(old.get('input', {}), new.get('input', {}), kver, old_dirs, new_dirs)
	for k in ('rules', 'commits', 'counts'):
		if old.get(k) != new.get(k):
			v.changed.append(f'spatch.json: {k} differ')
	for k in ('spatch', 'files_scanned'):
		if old.get(k) != new.get(k):
			v.drift.append(f'spatch.json: {k} {old.get(k)!r} -> {new.get(k)!r}')
	v.changed += _compare_sites('spatch.json', old.get('sites', []), new.get('sites', []),
				    SPATCH_SITE)
	if not v.changed and [(s['file'], s['line']) for s in old.get('sites', [])] != \
			[(s['file'], s['line']) for s in new.get('sites', [])]:
		v.drift.append('spatch.json: site lines moved')
	return v


def compare_audit(old: Dict, new: Dict, kver: str = '',
		  old_dirs: Optional[Dict] = None, new_dirs: Optional[Dict] = None) -> Verdict:
	"""Two audit.json reports."""
	v = Verdict()
	v.drift += input_drift(old.get('input', {}), new.get('input', {}), kver, old_dirs, new_dirs)
	for k in ('generation', 'rules', 'counts', 'unclassified'):
		if old.get(k) != new.get(k):
			v.changed.append(f'audit.json: {k} {old.get(k)!r} -> {new.get(k)!r}'
					 if k != 'unclassified' else f'audit.json: {k} differ')
	if old.get('mentions') != new.get('mentions'):
		v.drift.append(f"audit.json: mentions {old.get('mentions')} -> {new.get('mentions')}")
	v.changed += _compare_sites('audit.json', old.get('sites', []), new.get('sites', []),
				    AUDIT_SITE)
	om = {(s['file'], s['function'], s['api']): s['maintainers'] for s in old.get('sites', [])}
	nm = {(s['file'], s['function'], s['api']): s['maintainers'] for s in new.get('sites', [])}
	moved = sorted({k[0] for k in om if k in nm and om[k] != nm[k]})
	if moved:
		v.drift.append(f'audit.json: maintainers changed for {", ".join(moved)}')
	if not v.changed and [(s['file'], s['line']) for s in old.get('sites', [])] != \
			[(s['file'], s['line']) for s in new.get('sites', [])]:
		v.drift.append('audit.json: site lines moved')
	return v


# -- both, as the tests and make drift use them ----------------------------------

class InputDrift(UserWarning):
	"""The installed tree is another input than the committed outputs'."""


def _json(path: Path) -> Dict:
	return json.loads(path.read_text()) if path.is_file() else {}


def same_input(old: Dict, new: Dict) -> bool:
	keys = ('package', 'revision', 'kernel', 'base', 'tree')
	return all(old.get('input', {}).get(k) == new.get('input', {}).get(k) for k in keys)


def compare_outputs(old_root: Path, new_root: Path, kver: str, series: bool = True,
		    audit: bool = False) -> Verdict:
	"""The committed outputs under old_root (patches/<kver>, reports/<kver>)
	against outputs regenerated under new_root. With the same input the
	files must be identical byte for byte; with another input only what
	the rules decided must be."""
	v = Verdict()
	od, nd = old_root / 'reports' / kver, new_root / 'reports' / kver
	om, nm = _json(od / 'input.json'), _json(nd / 'input.json')
	dirs = (om.get('dirs'), nm.get('dirs')) if om and nm else (None, None)
	same: List[str] = []
	if series:
		o, n = _json(od / 'spatch.json'), _json(nd / 'spatch.json')
		v.extend(compare_series(old_root / 'patches' / kver, new_root / 'patches' / kver,
					o.get('kernel', ''), n.get('kernel', '')))
		v.extend(compare_spatch(o, n, kver, *dirs))
		if same_input(o, n):
			same += [f'patches/{kver}/{p.name}'
				 for p in sorted((old_root / 'patches' / kver).glob('*.patch'))]
			same += [f'reports/{kver}/spatch.json', f'reports/{kver}/input.json']
	if audit:
		o, n = _json(od / 'audit.json'), _json(nd / 'audit.json')
		v.extend(compare_audit(o, n, kver, *dirs))
		if same_input(o, n):
			same += [f'reports/{kver}/audit.{x}' for x in ('json', 'md', 'sarif')]
	if not v.changed:
		for f in same:
			a, b = old_root / f, new_root / f
			if not b.is_file() or a.read_bytes() != b.read_bytes():
				v.changed.append(f'{f}: not byte for byte the same from the same input')
	return v
