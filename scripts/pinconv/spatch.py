# SPDX-License-Identifier: GPL-2.0
"""Running the semantic patches of cocci/ over a kernel tree.

Rules run in the order of cocci/rules-<kver>, one after the other on each
file, so that a later rule sees what an earlier one converted (the ZERO_PAGE
rule acts only on files that already use the pin API). Files are prefiltered
by the tokens of spatch's own grep query, files run in parallel, and every
(rule, file content) result is cached under work/cache/spatch, so an
unchanged file is never parsed twice.
"""

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set, Tuple

from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import TOP, cache_root

# PINCONV_COCCI: another rules directory (a rule under development, a test's).
COCCI = Path(os.environ.get('PINCONV_COCCI', TOP / 'cocci'))
# The interpreter for the rules' Python, named rather than found: spatch
# otherwise runs the first python3 on PATH to locate libpython, and where
# that is a version manager's shim (pyenv) every spatch process pays about
# a second for it (1.9 s instead of 0.9 s on uprobes.c with gup_pin).
PYTHON = '/usr/bin/python3'	# Debian's, as everything here
SPFLAGS = ['--very-quiet', '--no-includes', '--include-headers', '--python', PYTHON]
NO_CHANGE = '-o can not be applied because there are no modified files'
# A report-only rule (audit_calls.cocci) has nothing to do in patch mode.
NO_RULES = 'No rules apply.'
TIMEOUT = int(os.environ.get('PINCONV_SPATCH_TIMEOUT', '200'))

# The reference-taking APIs whose callers the toolkit converts.
OLD_APIS = [
	'bio_iov_iter_get_pages', 'bio_release_pages',
	'iov_iter_get_pages2', 'iov_iter_get_pages_alloc2',
	'get_user_pages', 'get_user_pages_fast', 'get_user_pages_fast_only',
	'get_user_pages_unlocked', 'get_user_pages_remote',
]

# The pin APIs the rules convert to; a rule that keys on them (a follow-on
# rule) runs only on files an earlier rule converted.
NEW_APIS = [
	'bio_iov_iter_pin_pages', 'bio_unpin_pages', 'iov_iter_pin_pages',
	'iov_iter_pin_pages_alloc', 'unpin_user_page', 'unpin_user_pages',
	'pin_user_page',
]
API_TOKENS = set(OLD_APIS) | set(NEW_APIS)

# APIs the tree lacks because the overlay patch that adds them did not
# apply (overlay.withhold()): API -> why. load_rules() leaves out the
# conversion rules that name one, so no conversion calls a missing API.
WITHHELD: Dict[str, str] = {}

# Any report line: 'file:line:col-col: message'.
SITE_RE = re.compile(r'^[^:\s]+:\d+:\d+-\d+: ')
CACHE_VERSION = '2'
REPORT_RE = re.compile(r'^(?P<file>[^:]+):(?P<line>\d+):(?P<col>[\d-]+): '
		       r'(?P<api>\w+): (?P<status>convert|review|kept|ref-ok): (?P<reason>.*)$')


@dataclass
class Rule:
	name: str
	path: Path
	text: str
	tokens: Set[str]
	# Why the rule is held back on this tree ('' if it is not): it runs in
	# report mode only, and what it would convert is reported for review,
	# with this reason.
	hold: str = ''

	@property
	def digest(self) -> str:
		return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass
class Finding:
	file: str
	line: int
	api: str
	status: str
	reason: str
	rule: str


@dataclass
class FileResult:
	path: str
	old: str
	new: str
	rules: List[str] = field(default_factory=list)   # rules that changed it
	findings: List[Finding] = field(default_factory=list)


@functools.lru_cache(maxsize=None)
def spatch_version() -> str:
	out = run(['spatch', '--version'], check=False).stdout
	return out.splitlines()[0] if out else 'unknown'


def grep_tokens(path: Path) -> Set[str]:
	"""Tokens of spatch's own grep query, patch and report modes,
	remembered by the rule's text and spatch's version."""
	key = hashlib.sha256('\0'.join([CACHE_VERSION, spatch_version(), str(path.name),
					 path.read_text()]).encode()).hexdigest()
	cached = cache_root() / 'tokens' / key
	if cached.is_file():
		return set(cached.read_text().split())
	tokens = _grep_tokens(path)
	cached.parent.mkdir(parents=True, exist_ok=True)
	cached.write_text(' '.join(sorted(tokens)))
	return tokens


def _grep_tokens(path: Path) -> Set[str]:
	tokens: Set[str] = set()
	for mode in ('patch', 'report'):
		p = run(['spatch', '--parse-cocci', '-D', mode, path], check=False)
		out = p.stdout + p.stderr
		# A report-only rule has nothing to do in patch mode (NO_RULES): fine.
		if (p.returncode != 0 and NO_RULES not in out) or 'Fatal error' in out \
				or 'parse error' in out.lower():
			first = [l for l in out.splitlines()
				 if 'error' in l.lower()][:1]
			raise Error(f'{path.name}: spatch cannot parse it: '
				    f'{first[0] if first else "exit " + str(p.returncode)}')
		lines = out.splitlines()
		for i, l in enumerate(lines):
			if l.strip() == 'Grep query':
				for q in lines[i + 1:i + 3]:
					tokens |= set(re.findall(r'\w+', q))
	return tokens


HOLD_RE = re.compile(r'^hold\s+(?P<names>[^:]+):\s*(?P<why>.+)$')


def read_order(order: Path) -> List[Tuple[str, str]]:
	"""The rules of a rules-<kver> file, in order: (name, why held back).
	A line is a rule's name, or 'hold <name>, <name>...: <reason>' for rules
	held back (reported, not applied); '#' starts a comment."""
	out = []
	for line in order.read_text().splitlines():
		line = line.split('#')[0].strip()
		if not line:
			continue
		m = HOLD_RE.match(line)
		if m:
			out += [(n.strip(), m['why'].strip()) for n in m['names'].split(',')]
		else:
			out.append((line, ''))
	return out


def load_rules(kver: str, names: Optional[List[str]] = None) -> List[Rule]:
	order = COCCI / f'rules-{kver}'
	held: Dict[str, str] = {}
	if names is None:
		if not order.is_file():
			raise Error(f'{order} is missing')
		entries = read_order(order)
		names = [n for n, _ in entries]
		held = {n: why for n, why in entries if why}
	rules = []
	for n in names:
		path = COCCI / f'{n}.cocci'
		if not path.is_file():
			raise Error(f'{order.name} names {n}, but {path} is missing')
		text = path.read_text()
		# spatch makes no grep query for a rule that starts with a set of
		# names ({a, b}): such a rule runs on the files that mention an API
		# its text names.
		lacks = sorted(set(WITHHELD) & words(text))
		if lacks:
			stdout.step(f'rule {n} withheld: it calls {", ".join(lacks)}, which the '
				    f'tree lacks ({WITHHELD[lacks[0]]})')
			continue
		tokens = grep_tokens(path) or (API_TOKENS & words(text))
		rules.append(Rule(n, path, text, tokens, held.get(n, '')))
	return rules


def held_back(rule: Rule, f: Finding) -> Finding:
	"""A held-back rule's finding: what it would convert, and what it
	would leave for review, is for review with the reason it is held."""
	if f.status == 'convert':
		return Finding(f.file, f.line, f.api, 'review',
			       f'held back: {rule.hold} (cocci/{rule.name}.cocci would {f.reason})', f.rule)
	if f.status == 'review':
		return Finding(f.file, f.line, f.api, 'review',
			       f'held back: {rule.hold} (cocci/{rule.name}.cocci: {f.reason})', f.rule)
	return f


def cache_dir() -> Path:
	# Shared by every workspace (KDIR clones included): keyed by content.
	d = cache_root() / 'spatch'
	d.mkdir(parents=True, exist_ok=True)
	return d


def big_stack() -> None:
	"""spatch recurses deeply on large files (OCaml native stack): give it
	the largest stack the hard limit allows (a preexec_fn)."""
	import resource
	_, hard = resource.getrlimit(resource.RLIMIT_STACK)
	resource.setrlimit(resource.RLIMIT_STACK, (hard, hard))


# The other C files of a file's directory, by name: a rule that asks
# whether another file of the driver uses a field (gup_pin's elsewhere())
# reads them next to the file it runs on.
Siblings = Callable[[str], Dict[str, str]]


def needs_siblings(rule: Rule) -> bool:
	return 'elsewhere(' in rule.text


def _others(of_dir: Callable[[str], Tuple[Tuple[str, str], ...]]) -> Siblings:
	"""The C files of a file's directory but itself, from of_dir(dir)."""
	def get(relpath: str) -> Dict[str, str]:
		name = os.path.basename(relpath)
		return {n: t for n, t in of_dir(os.path.dirname(relpath)) if n != name}
	return get


def disk_siblings(root: Path) -> Siblings:
	"""Siblings read from a work tree."""
	@functools.lru_cache(maxsize=None)
	def of_dir(d: str) -> Tuple[Tuple[str, str], ...]:
		base = root / d
		if not base.is_dir():
			return ()
		return tuple((n.name, n.read_text(errors='surrogateescape'))
			     for n in sorted(base.iterdir()) if n.name.endswith('.c') and n.is_file())

	return _others(of_dir)


def git_siblings(repo: Path, rev: str) -> Siblings:
	"""Siblings read from a commit of a repository."""
	@functools.lru_cache(maxsize=None)
	def of_dir(d: str) -> Tuple[Tuple[str, str], ...]:
		out = git(['ls-tree', '--name-only', rev, '--', (d + '/') if d else '.'],
			  cwd=repo, check=False)
		out_files = []
		for n in sorted(out.splitlines()):
			if n.endswith('.c'):
				p = subprocess.run(['git', 'show', f'{rev}:{n}'], cwd=repo, capture_output=True)
				out_files.append((os.path.basename(n), p.stdout.decode('utf-8', 'surrogateescape')))
		return tuple(out_files)

	return _others(of_dir)


def _spatch_one(rule: Rule, relpath: str, content: str,
		version: str, siblings: Optional[Siblings] = None) -> Tuple[str, List[str]]:
	"""Apply one rule to one file's content: (new content, report lines).
	siblings: the other C files of its directory, for a rule that needs
	them (they are part of the cache key then)."""
	sib = siblings(relpath) if siblings and needs_siblings(rule) else {}
	sibkey = hashlib.sha256('\0'.join(f'{n}\0{t}' for n, t in sorted(sib.items())).encode()).hexdigest() \
		if sib else ''
	key = hashlib.sha256('\0'.join([CACHE_VERSION, version, rule.digest, relpath,
					 content] + ([sibkey] if sibkey else [])).encode()).hexdigest()
	cached = cache_dir() / key[:2] / f'{key}.json'
	if cached.is_file():
		d = json.loads(cached.read_text())
		return d['new'], d['report']
	with tempfile.TemporaryDirectory(prefix='pinconv-') as tmp:
		src = Path(tmp) / relpath
		src.parent.mkdir(parents=True, exist_ok=True)
		src.write_text(content)
		for n, t in sib.items():
			(src.parent / n).write_text(t, errors='surrogateescape')
		out = Path(tmp) / '.pinconv-out.c'
		try:
			p = subprocess.run(['spatch', *SPFLAGS, '--timeout', str(TIMEOUT),
					    '-D', 'patch', '--sp-file', str(rule.path),
					    relpath, '-o', str(out)],
					   cwd=tmp, text=True, capture_output=True,
					   timeout=TIMEOUT + 30, preexec_fn=big_stack)
			r = subprocess.run(['spatch', *SPFLAGS, '--timeout', str(TIMEOUT),
					    '-D', 'report', '--sp-file', str(rule.path),
					    relpath],
					   cwd=tmp, text=True, capture_output=True,
					   timeout=TIMEOUT + 30, preexec_fn=big_stack)
		except subprocess.TimeoutExpired:
			raise Error(f'spatch timed out on {relpath} with {rule.name}.cocci')
		for proc in (p, r):
			if proc.returncode != 0 and NO_CHANGE not in proc.stderr and \
					not (proc is p and NO_RULES in proc.stderr + proc.stdout):
				msg = (proc.stderr or proc.stdout).strip().splitlines()
				raise Error(f'spatch {rule.name}.cocci on {relpath}: '
					    f'{msg[-1] if msg else proc.returncode}')
		if 'timeout' in (p.stderr + r.stderr).lower():
			raise Error(f'spatch timed out on {relpath} with {rule.name}.cocci')
		new = out.read_text() if out.is_file() else content
		report = sorted(set(l for l in r.stdout.splitlines() if SITE_RE.match(l)))
	cached.parent.mkdir(exist_ok=True)
	tmpf = cached.with_suffix('.tmp')
	tmpf.write_text(json.dumps({'new': new, 'report': report}))
	tmpf.rename(cached)
	return new, report


def words(text: str) -> Set[str]:
	return set(re.findall(r'\w+', text))


def apply_rules(tree_path: Path, files: List[str], rules: List[Rule],
		jobs: int = 0) -> List[FileResult]:
	"""Run the rules, in order, on each file of a work tree."""
	contents = {f: (tree_path / f).read_text(errors='surrogateescape') for f in files}
	return apply_rules_on(contents, files, rules, jobs, disk_siblings(tree_path))


def apply_rules_on(contents: Dict[str, str], files: List[str], rules: List[Rule],
		   jobs: int = 0, siblings: Optional[Siblings] = None) -> List[FileResult]:
	"""Run the rules, in order, on each file's given content; results in
	files' order. siblings: where the other files of a file's directory
	come from (without it, a rule that looks at them sees none)."""
	version = spatch_version()
	jobs = jobs or os.cpu_count() or 1

	def one(relpath: str) -> FileResult:
		old = contents[relpath]
		res = FileResult(relpath, old, old)
		for rule in rules:
			if not (rule.tokens & API_TOKENS & words(res.new)):
				continue
			new, report = _spatch_one(rule, relpath, res.new, version, siblings)
			for line in report:
				m = REPORT_RE.match(line)
				if not m:
					continue
				f = Finding(relpath, int(m['line']), m['api'], m['status'],
					    m['reason'], rule.name)
				res.findings.append(held_back(rule, f) if rule.hold else f)
			if new != res.new and not rule.hold:
				res.rules.append(rule.name)
				res.new = new
		return res

	results: List[FileResult] = []
	with ThreadPoolExecutor(max_workers=jobs) as ex:
		for i, res in enumerate(ex.map(one, files), 1):
			stdout.progress(i, len(files), f'{res.path}'
					f'{" (" + ", ".join(res.rules) + ")" if res.rules else ""}')
			results.append(res)
	return results


def candidate_files(tree_path: Path) -> List[str]:
	"""C sources and headers that mention an old API, definitions aside.
	The work tree must be clean: the list is cached by its HEAD commit."""
	head = git(['rev-parse', 'HEAD'], cwd=tree_path)
	key = hashlib.sha256('\0'.join([head, *OLD_APIS]).encode()).hexdigest()
	cached = cache_root() / 'grep' / key
	if cached.is_file():
		return cached.read_text().split()
	args = ['grep', '-l', '-w']
	for api in OLD_APIS:
		args += ['-e', api]
	out = git(args + ['--', '*.c', '*.h'], cwd=tree_path, check=False)
	files = sorted(f for f in out.splitlines()
		       if f and not f.startswith(('tools/', 'Documentation/')))
	cached.parent.mkdir(parents=True, exist_ok=True)
	cached.write_text('\n'.join(files) + '\n')
	return files
