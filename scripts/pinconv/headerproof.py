# SPDX-License-Identifier: GPL-2.0
"""Proving that a declaration-only header change cannot change an object,
so that make check need not recompile it.

The 6.1 series adds prototypes to mm.h, uio.h and bio.h and a flag to
blk_types.h; about half of the objects include one of them, so a plain
incremental make recompiles most of the kernel after each overlay commit.
For most of those objects the change is a declaration they never use. This
module proves that per object, with the object's own preprocessor, and
lets make keep the object built before.

Let S be the commit the build dir was completely built at (the stamp file
says so, with the .config it was built with) and c1..cn the commits that
follow it. The proof has two steps.

1. The chain (git only). c1..ck are covered while each step changes no
   file but .c and .h files (and Documentation/, MAINTAINERS), and no .c
   file that is compiled to anything but an object (asm-offsets.c, whose
   .s becomes a generated header; host programs). A header qualifies when
   in every step that changes it each hunk only adds lines, and those
   lines, without comments and blank lines, are
     - plain function declarations, '[extern] type name(params);': no body,
       no 'static' or 'inline', no initialiser, no preprocessor line; or
     - enumerators without a value, inside an enum none of whose
       enumerators has a value;
   and it is, from S to ck, such a change as a whole. The enumerators
   after an added one change their value. Any other header change leaves
   the objects that include that header to make.

2. Objects (the compiler's preprocessor, once, at ck). A C object of the
   kernel whose .cmd names a changed header, all of them qualifying, and
   whose source and dependencies no covered commit changes or touches,
   is proven when 'gcc -E' with its own command line, on the tree at ck,
   gives a text in which
     - each added name (function or enumerator) occurs once: its
       declaration;
     - each enumerator whose value changes occurs once: its definition;
     - each struct, union or enum tag an added declaration names is
       declared ('tag {' or 'tag;') before it, and each other type name in
       it occurs before it.
   The compiler's input for the object at ck then differs from its input
   at S only by declarations of names nothing in it uses, whose types are
   in scope, that collide with nothing, and no value it uses changed: its
   code is the same. At each ci between, the input holds a subset of those
   declarations (every step only adds), so the same holds there. make
   check keeps proven objects at every covered commit by setting their
   mtime to now; every other object is left to make, which recompiles it
   as usual. If a build fails, the stamp is gone and the proof with it.

Not byte-identical: a WARN() in a header after the change records another
__LINE__. So the check build dir is for checking; boot.py builds its own.

make check's sparse run at a commit's parent compiles that commit's own .c
files there: those are touched by a covered commit, so never candidates.
"""

import hashlib
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from pinconv.printer import stdout
from pinconv.run import git

STAMP = '.pinconv-built'
PROGRESS_EVERY = 5.0

C_KEYWORDS = {
	'void', 'char', 'short', 'int', 'long', 'float', 'double', 'signed',
	'unsigned', '_Bool', 'const', 'volatile', 'restrict', 'struct', 'union',
	'enum',
}
TAG_KEYWORDS = ('struct', 'union', 'enum')
# Changed files that cannot affect a build.
INERT_RE = re.compile(r'^(Documentation/|MAINTAINERS$|CREDITS$)')
HUNK_RE = re.compile(r'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@')
TOKEN_RE = re.compile(r'[A-Za-z_]\w*|\.\.\.|[*\[\],()]')
DECL_RE = re.compile(r'^(?:extern\s+)?(?P<ret>[A-Za-z_][\w\s*]*?)\s*\b(?P<name>[A-Za-z_]\w*)'
		     r'\s*\((?P<params>[^(){};#=]*)\)$')
ENUMERATOR_RE = re.compile(r'^\s*([A-Za-z_]\w*)\s*,?\s*$')
COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


# ---- step 1: headers ----

@dataclass
class Header:
	path: str
	ok: bool
	why: str = ''			# why it does not qualify
	added: List[str] = field(default_factory=list)		# names added
	removed: List[str] = field(default_factory=list)	# names removed
	shifted: List[str] = field(default_factory=list)	# enumerators whose value moves
	# Added declaration name -> (tags, other type names) it needs in scope.
	needs: Dict[str, Tuple[List[str], List[str]]] = field(default_factory=dict)


def strip_comments(text: str) -> str:
	return COMMENT_RE.sub(lambda m: '\n' * m.group(0).count('\n'), text)


def declaration(stmt: str) -> Optional[Tuple[str, List[str], List[str]]]:
	"""'type name(params)' (no ';') -> (name, tags, type names), or None
	if it is not a plain function declaration."""
	m = DECL_RE.match(' '.join(stmt.split()))
	if not m:
		return None
	ret = TOKEN_RE.findall(m.group('ret'))
	if not ret or any(t in ('static', 'inline', 'extern', 'typedef') for t in ret):
		return None
	words: List[str] = list(ret)
	params = m.group('params').strip()
	if params:
		for p in params.split(','):
			toks = TOKEN_RE.findall(p)
			if not toks:
				return None
			idents = [t for t in toks if re.match(r'[A-Za-z_]', t)]
			# The last identifier is the parameter's name unless it is a
			# tag or the only word (an unnamed parameter's type).
			if (toks[-1] in idents and toks[-1] not in C_KEYWORDS and len(idents) >= 2
					and idents[-2] not in TAG_KEYWORDS):
				toks = toks[:-1]
			words += toks
	tags: List[str] = []
	types: List[str] = []
	prev = ''
	for t in words:
		if prev in TAG_KEYWORDS:
			tags.append(f'{prev} {t}')
		elif re.match(r'[A-Za-z_]', t) and t not in C_KEYWORDS:
			types.append(t)
		prev = t
	return m.group('name'), sorted(set(tags)), sorted(set(types))


def hunks(diff: str) -> List[Tuple[int, int, List[str], List[str]]]:
	"""A -U0 diff -> [(old start, new start, removed lines, added lines)]."""
	out: List[Tuple[int, int, List[str], List[str]]] = []
	for line in diff.splitlines():
		m = HUNK_RE.match(line)
		if m:
			out.append((int(m.group(1)), int(m.group(3)), [], []))
		elif out and line.startswith('-') and not line.startswith('---'):
			out[-1][2].append(line[1:])
		elif out and line.startswith('+') and not line.startswith('+++'):
			out[-1][3].append(line[1:])
	return out


def enum_body(text: str, line: int) -> Optional[Tuple[int, int]]:
	"""The (start, end) offsets of the body of the enum whose braces
	enclose 1-based line `line` of text (comments stripped), or None."""
	lines = text.split('\n')
	pos = sum(len(l) + 1 for l in lines[:line - 1])
	depth = 0
	i = pos - 1
	while i >= 0:
		ch = text[i]
		if ch == '}':
			depth += 1
		elif ch == '{':
			if depth == 0:
				break
			depth -= 1
		i -= 1
	if i < 0:
		return None
	if not re.search(r'\benum(\s+[A-Za-z_]\w*)?\s*$', text[:i]):
		return None
	j = text.find('}', pos)
	if j < 0 or '{' in text[i + 1:j]:
		return None
	return i + 1, j


def enumerators(body: str) -> Optional[List[str]]:
	"""Names of an enum body's enumerators; None if any has a value."""
	names = []
	for part in body.split(','):
		part = part.strip()
		if not part:
			continue
		if not re.fullmatch(r'[A-Za-z_]\w*', part):
			return None
		names.append(part)
	return names


def classify(path: str, diff: str, old: str, new: str) -> Header:
	"""Does the -U0 diff of header path (old text -> new text) qualify?"""
	h = Header(path, ok=False)
	old_c, new_c = strip_comments(old), strip_comments(new)
	for old_start, new_start, minus, plus in hunks(diff):
		if minus and plus:
			h.why = f'line {new_start} is changed, not only added or removed'
			return h
		lines, text, start = (plus, new_c, new_start) if plus else (minus, old_c, old_start)
		body = strip_comments('\n'.join(lines))
		if not body.strip():
			continue		# comments and blank lines only
		if '#' in body:
			h.why = f'line {start}: a preprocessor line'
			return h
		if all(ENUMERATOR_RE.match(l) or not l.strip() for l in body.split('\n')):
			span = enum_body(text, start)
			if not span:
				h.why = f'line {start}: enumerators outside a plain enum'
				return h
			names = enumerators(text[span[0]:span[1]])
			if names is None:
				h.why = f'line {start}: an enum with explicit values'
				return h
			mine = [ENUMERATOR_RE.match(l).group(1)	# type: ignore
				for l in body.split('\n') if l.strip()]
			after = names[names.index(mine[-1]) + 1:] if mine[-1] in names else []
			(h.added if plus else h.removed).extend(mine)
			h.shifted.extend(n for n in after if n not in h.shifted)
			continue
		stmts = [s.strip() for s in body.split(';')]
		if stmts[-1]:
			h.why = f'line {start}: not a complete declaration'
			return h
		for s in stmts[:-1]:
			d = declaration(s)
			if not d:
				h.why = f'line {start}: not a plain function declaration: {" ".join(s.split())[:60]}'
				return h
			name, tags, types = d
			if plus:
				h.added.append(name)
				h.needs[name] = (tags, types)
			else:
				h.removed.append(name)
	h.ok = True
	return h


def header_changes(src: Path, old: str, new: str
		   ) -> Tuple[Dict[str, Header], List[str], Set[str]]:
	"""Changes between commits old and new: the headers with their
	verdicts, the files that are neither .c nor .h nor inert, and the .c
	files."""
	out = git(['diff', '--name-status', '--no-renames', old, new], cwd=src)
	headers: Dict[str, Header] = {}
	others: List[str] = []
	cfiles: Set[str] = set()
	for line in out.splitlines():
		status, path = line.split('\t', 1)
		if path.endswith('.c'):
			cfiles.add(path)
			continue
		if INERT_RE.match(path):
			continue
		if not path.endswith('.h'):
			others.append(path)
			continue
		if status != 'M':
			headers[path] = Header(path, ok=False, why='added or deleted')
			continue
		diff = git(['diff', '-U0', old, new, '--', path], cwd=src)
		headers[path] = classify(path, diff, git(['show', f'{old}:{path}'], cwd=src),
					 git(['show', f'{new}:{path}'], cwd=src))
	return headers, others, cfiles


# ---- step 2: objects ----

@dataclass
class Obj:
	target: str		# relative to out: fs/ext4/inode.o
	source: str		# relative to src: fs/ext4/inode.c
	command: str		# the compiler command line, run in out
	deps: Set[str]		# relative to src


def read_cmd(text: str) -> Optional[Obj]:
	"""A kernel C object from the text of its .o.cmd file, or None."""
	m = re.match(r'cmd_(\S+\.o) := (.*)', text)
	if not m:
		return None
	target, command = m.group(1), m.group(2).split(' ; ')[0].strip()
	ms = re.search(r'^source_\S+ := (\S+\.c)$', text, re.M)
	md = re.search(r'^deps_\S+ := \\\n(.*?)\n\n', text, re.M | re.S)
	if not ms or not md or f' -c -o {target} ' not in command + ' ':
		return None
	if '-D__KERNEL__' not in command or '-nostdinc' not in command:
		return None
	deps = set()
	for d in md.group(1).split('\n'):
		d = d.strip().rstrip('\\').strip()
		if not d or d.startswith('$('):
			continue
		deps.add(d[3:] if d.startswith('../') else d)
	src = ms.group(1)
	return Obj(target, src[3:] if src.startswith('../') else src, command, deps)


def objects(out: Path) -> Tuple[List[Obj], Set[str]]:
	"""The kernel C objects in out, and the .c files compiled to anything
	else (asm-offsets.c to a .s that becomes a generated header, host
	programs): a change to those is no declaration-only change."""
	objs = []
	other: Set[str] = set()
	for root, dirs, files in os.walk(out):
		dirs[:] = [d for d in dirs if d != 'source']
		for f in files:
			if not (f.startswith('.') and f.endswith('.cmd')):
				continue
			text = (Path(root) / f).read_text(errors='replace')
			o = read_cmd(text) if f.endswith('.o.cmd') else None
			if o:
				objs.append(o)
				continue
			for s in re.findall(r'^source_\S+ := (\S+\.c)$', text, re.M):
				other.add(s[3:] if s.startswith('../') else s)
	return objs, other


def preprocess_cmd(o: Obj, tree: str = '') -> str:
	"""o's compiler command as a preprocessor run writing to stdout; with
	tree, the source tree's files ('../' from out) are read from tree."""
	cmd = re.sub(r'^(ccache|distcc|icecc)\s+', '', o.command)
	cmd = re.sub(r'\s-Wp,-MMD,\S+', '', cmd)
	cmd = cmd.replace(f' -c -o {o.target} ', ' -E -P -o - ', 1)
	if tree:
		cmd = re.sub(r'(?:(?<=[\s=,])|(?<=-I))\.\./', tree.rstrip('/') + '/', cmd)
	return cmd


def is_word_char(ch: str) -> bool:
	return ch.isalnum() or ch == '_'


def positions(text: str, word: str) -> Iterable[int]:
	"""Where word occurs in text as a whole identifier (str.find: fast on
	the megabytes of a preprocessed kernel file)."""
	i = text.find(word)
	while i >= 0:
		end = i + len(word)
		if (i == 0 or not is_word_char(text[i - 1])) and \
				(end == len(text) or not is_word_char(text[end])):
			yield i
		i = text.find(word, end)


def count(text: str, word: str) -> int:
	return sum(1 for _ in positions(text, word))


def first(text: str, word: str) -> int:
	return next(iter(positions(text, word)), -1)


def first_declared(text: str, tag: str) -> int:
	"""Where 'struct x' is first followed by '{' or ';' (defined or
	declared at that scope), or -1."""
	kw, name = tag.split()
	for i in positions(text, name):
		before = text[max(0, i - 40):i].rstrip()
		if not before.endswith(kw) or (len(before) > len(kw)
					       and is_word_char(before[-len(kw) - 1])):
			continue
		after = text[i + len(name):i + len(name) + 40].lstrip()
		if after[:1] in (';', '{'):
			return i
	return -1


def judge_text(text: str, headers: Sequence[Header]) -> str:
	"""'' if the preprocessed text proves the object unchanged; else why not."""
	for h in headers:
		for n in h.added:
			k = count(text, n)
			if k != 1:
				return f'{n} occurs {k} times'
		for n in h.removed:
			if count(text, n):
				return f'removed {n} is still used'
		for n in h.shifted:
			k = count(text, n)
			if k != 1:
				return f'{n} changes value and occurs {k} times'
		for n, (tags, types) in h.needs.items():
			at = first(text, n)
			for t in tags:
				w = first_declared(text, t)
				if w < 0 or w > at:
					return f'{t} is not declared before {n}'
			for t in types:
				w = first(text, t)
				if w < 0 or w > at:
					return f'{t} does not occur before {n}'
	return ''


def prove_object(out: Path, o: Obj, headers: Sequence[Header], tree: str = '') -> str:
	p = subprocess.run(preprocess_cmd(o, tree), shell=True, cwd=out, text=True,
			   errors='replace', stdout=subprocess.PIPE, stderr=subprocess.PIPE)
	if p.returncode:
		err = (p.stderr.strip().splitlines() or ['?'])[0]
		return f'preprocessor failed: {err[:100]}'
	return judge_text(p.stdout, headers)


@dataclass
class Proof:
	"""Objects built at base proven unchanged at every commit of covers."""
	base: str = ''			# S
	covers: List[str] = field(default_factory=list)	# commits after base, in order
	headers: Dict[str, Dict] = field(default_factory=dict)	# from base to covers[-1]
	steps: Dict[str, Dict[str, Dict]] = field(default_factory=dict)	# covered sha -> its own
	stop: str = ''			# why the chain ends before the range does
	candidates: int = 0
	proven: int = 0
	compiled: int = 0		# candidates left to make
	reasons: Dict[str, str] = field(default_factory=dict)	# object -> why not proven
	seconds: float = 0.0
	skipped: str = ''		# why no proof ran at all
	kept: List[str] = field(default_factory=list)	# the proven objects
	kept_deps: Dict[str, Set[str]] = field(default_factory=dict)	# and their headers

	def summary(self) -> str:
		if self.skipped:
			return self.skipped
		return (f'{self.proven}/{self.candidates} objects proven unchanged over '
			f'{len(self.covers)} commit(s), {self.compiled} left to make '
			f'({self.seconds:.0f}s)')


def config_hash(out: Path) -> str:
	cfg = out / '.config'
	return hashlib.sha1(cfg.read_bytes()).hexdigest() if cfg.is_file() else ''


def read_stamp(out: Path) -> str:
	"""The commit out was last fully built at with today's .config, or ''."""
	p = out / STAMP
	if not p.is_file():
		return ''
	parts = p.read_text().split()
	return parts[0] if len(parts) == 2 and parts[1] == config_hash(out) else ''


def write_stamp(out: Path, sha: str) -> None:
	(out / STAMP).write_text(f'{sha} {config_hash(out)}\n')


def drop_stamp(out: Path) -> None:
	(out / STAMP).unlink(missing_ok=True)


def header_verdicts(headers: Dict[str, Header]) -> Dict[str, Dict]:
	return {p: {'ok': h.ok, 'why': h.why, 'added': h.added, 'removed': h.removed,
		    'shifted': h.shifted} for p, h in sorted(headers.items())}


def chain(pr: Proof, src: Path, commits: Sequence[Tuple[str, Sequence[str]]],
	  generators: Set[str]) -> Tuple[Set[str], Set[str], Set[str]]:
	"""How far from pr.base the commits (sha, files) keep to
	declaration-only header changes: fills pr.covers, pr.steps and
	pr.stop (why the chain ends) and returns (headers changed in any step,
	those of them that do not qualify in a step or lose lines in one, .c
	files changed or touched on the way). A commit is covered when it
	changes no file but .c, .h and inert ones, and no .c file compiled to
	anything but an object."""
	seen: Set[str] = set()
	bad: Set[str] = set()
	away: Set[str] = set()
	prev = pr.base
	for sha, files in commits:
		headers, others, cfiles = header_changes(src, prev, sha)
		gen = sorted(cfiles & generators)
		if others:
			pr.stop = f'{sha[:12]} changes {others[0]}'
		elif gen:
			pr.stop = f'{sha[:12]} changes {gen[0]}, a generator'
		if pr.stop:
			break
		pr.covers.append(sha)
		pr.steps[sha] = header_verdicts(headers)
		seen |= set(headers)
		bad |= {p for p, h in headers.items() if not h.ok or h.removed}
		# Headers are judged above; the .c files a commit touches are
		# compiled at its parent by make check's sparse run.
		away |= cfiles | {f for f in files if not f.endswith('.h')}
		prev = sha
	return seen, bad, away


def prove(src: Path, out: Path, base: str, commits: Sequence[Tuple[str, Sequence[str]]],
	  checkout: Callable[[str], Path], label: str, jobs: int) -> Proof:
	"""Prove which objects built at base (src is checked out somewhere
	after it) stay unchanged at each of the commits (sha, files) that
	follow base, as far as the chain() allows. checkout(sha) gives a
	source tree at sha to preprocess in (not src: moving src would make
	make recompile). Touches nothing: see keep()."""
	start = time.monotonic()
	pr = Proof(base=base)
	if not base:
		pr.skipped = 'no proof: the build dir has no complete build of the parent'
		return pr
	objs, generators = objects(out)
	objs.sort(key=lambda o: o.target)
	seen, bad, away = chain(pr, src, commits, generators)
	if not pr.covers:
		pr.skipped = f'no proof: {pr.stop}'
		return pr
	last = pr.covers[-1]
	headers, _, _ = header_changes(src, base, last)
	for p in bad:
		if p in headers and headers[p].ok:
			headers[p] = Header(p, ok=False, why='a step removes or changes lines')
	pr.headers = header_verdicts(headers)
	# A header changed on the way but back as it was at the end is not in
	# headers: its dependents differ in between, so they are no candidates.
	good = {p: h for p, h in headers.items() if h.ok and p not in bad}
	for p, h in sorted(headers.items()):
		stdout.step(f'{label}: header proof: {p}: ' + (
			f'+{len(h.added)} declarations, {len(h.shifted)} enumerators change value'
			if h.ok else h.why))
	if not good:
		pr.skipped = 'no proof: no header qualifies'
		return pr
	changed = set(headers) | seen
	cands: List[Tuple[Obj, List[Header]]] = []
	for o in objs:
		hit = o.deps & changed
		if not hit or o.source in away or o.deps & away or not hit <= set(good):
			continue
		cands.append((o, [good[p] for p in sorted(hit)]))
	pr.candidates = len(cands)
	tree = str(checkout(last))
	stdout.step(f'{label}: header proof: preprocessing {len(cands)} objects at '
		    f'{last[:12]} for {len(pr.covers)} commit(s)')
	last_t = time.monotonic()
	with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
		futs = [(o, pool.submit(prove_object, out, o, hs, tree)) for o, hs in cands]
		for i, (o, f) in enumerate(futs, 1):
			why = f.result()
			if why:
				pr.compiled += 1
				pr.reasons[o.target] = why
			elif (out / o.target).is_file():
				pr.kept.append(o.target)
				pr.kept_deps[o.target] = o.deps & changed
			else:
				pr.compiled += 1
				pr.reasons[o.target] = 'no object'
			if time.monotonic() - last_t >= PROGRESS_EVERY:
				stdout.step(f'{label}: header proof: {i}/{len(cands)} at {o.target}')
				last_t = time.monotonic()
	pr.proven = len(pr.kept)
	pr.seconds = time.monotonic() - start
	stdout.step(f'{label}: header proof: {pr.summary()}')
	return pr


def keep(out: Path, pr: Proof, changed: Iterable[str]) -> int:
	"""Make make keep the proven objects that include a header of changed
	(the files the checkout of this commit rewrote): newer than it. The
	others are newer than their headers still. Returns how many."""
	now = time.time()
	changed = set(changed)
	n = 0
	for target in pr.kept:
		if pr.kept_deps[target] & changed:
			os.utime(out / target, (now, now))
			n += 1
	return n


def as_dict(pr: Proof, sha: str = '') -> Dict:
	"""The report's view of the proof for commit sha (kept listed not)."""
	d = asdict(pr)
	d.pop('kept')
	d.pop('kept_deps')
	d.pop('steps')
	if sha in pr.steps:
		d['headers'] = pr.steps[sha]	# this commit's own header changes
	d['covers'] = len(pr.covers)
	if sha and pr.covers and sha != pr.covers[0]:
		d['seconds'] = 0.0		# proven once, at the first
	return d
