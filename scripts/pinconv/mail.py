# SPDX-License-Identifier: GPL-2.0
"""make email: the generated series handed to b4 (b4prep), and mailed
only as pinconv's guard rails allow.

b4 makes the messages: versions, change-id, Message-Ids, threading, the
cover letter from its template with the range-diff against the version
sent before. This module is the glue around it: the series from
patches/<kver>/, recipients from get_maintainer.pl per patch, the checks
before anything is sent, and delivery by SMTP (mailsmtp), recorded only as
the server confirmed it.

Everything it keeps is under work/mail/<kver>/ (PINCONV_MAIL moves it):

  series/             the copy of patches/<kver>/ this run works on
  b4/, b4.gitconfig   b4's clone of the workspace and its prep branch
  outbox/NNNN-*.eml   b4's messages of this run, addressed as they go out
  vN/NNNN-*.eml       b4's messages of version N as first sent: a retry or
                      a late recipient gets these, with the same Message-Ids
  state.json          each version: per message its diff hash (git
                      patch-id), Message-Id, recipients and the recipients
                      the server accepted it for
"""

import concurrent.futures
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from pinconv import b4prep, series, tree as treemod
from pinconv.b4prep import B4Message, Prep
from pinconv.mailaddr import (addr_key, address_problem, header_addr, merge,  # noqa: F401
			      minus, parse_addrs, split_addr, unusable)
from pinconv.mailsmtp import (Server, credential, deliver, parse_smtp,  # noqa: F401
			      smtp_error)
from pinconv.printer import Error, error, stdout
from pinconv.run import git, run
from pinconv.tree import Tree

# get_maintainer.pl as b4 runs it: maintainers to To, lists and reviewers
# to Cc.
GET_MAINTAINER = ['--nogit', '--nogit-fallback', '--norolestats']
TO_ROLES = ['--nol', '--nor']
CC_ROLES = ['--nom']

PREFIX_RE = re.compile(r'^\[(?:RFC )?PATCH(?: v\d+)?(?: (\d+)/(\d+))?\]\s*')
SHORTLOG_RE = re.compile(r'^\S[^\n]* \(\d+\):$', re.M)
TEMPLATE = ('*** SUBJECT HERE ***', '*** BLURB HERE ***')


@dataclass
class Patch:
	path: Path
	num: int                 # 0: the cover letter
	total: int
	headers: List[Tuple[str, str]]
	subject: str             # without the [PATCH i/n] prefix
	body: str
	patch_id: str            # git patch-id --stable; '' for the cover
	msg_hash: str            # of the subject and the commit message

	def header(self, name: str) -> str:
		for k, v in self.headers:
			if k.lower() == name.lower():
				return v
		return ''


@dataclass
class Message:
	"""b4's message of one patch file, and who it goes to."""
	patch: Patch
	b4: B4Message
	to: List[str]
	cc: List[str]
	orphan: bool             # nobody of its own: goes to the cover's people

	@property
	def name(self) -> str:
		return self.patch.path.name

	@property
	def subject(self) -> str:
		return self.b4.subject

	@property
	def message_id(self) -> str:
		return self.b4.message_id

def state_dir(tr: Tree) -> Path:
	root = Path(os.environ.get('PINCONV_MAIL') or treemod.work_dir() / 'mail')
	return root / (tr.kver if tr.origin == 'debian' else tr.name)


def patch_dir(tr: Tree) -> Path:
	"""Where make spatch writes the series of tr."""
	if tr.origin == 'debian':
		return series.PATCHES / tr.kver
	return treemod.work_dir() / 'patches' / tr.name


def rel(p: Path) -> str:
	try:
		return str(p.relative_to(treemod.TOP))
	except ValueError:
		return str(p)


@contextmanager
def locked(sdir: Path) -> Iterator[None]:
	with open(sdir / 'lock', 'w') as f:
		try:
			fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
		except OSError:
			raise Error(f'another make email is running on {rel(sdir)}')
		yield


def run_file(cmd: List[str], stdin: Path, cwd: Path,
	     env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
	"""run() with a file as stdin, bytes kept as they are."""
	with open(stdin, 'rb') as f:
		return subprocess.run(cmd, stdin=f, cwd=cwd, capture_output=True,
				      env=dict(os.environ, **(env or {})))


# -- the series ------------------------------------------------------------

def parse_mail(text: str) -> Tuple[List[Tuple[str, str]], str]:
	"""Unfolded headers and body of a format-patch file."""
	lines = text.split('\n')
	if lines and lines[0].startswith('From '):
		lines = lines[1:]
	headers: List[Tuple[str, str]] = []
	i = 0
	while i < len(lines) and lines[i].strip():
		l = lines[i]
		if l[:1] in (' ', '\t') and headers:
			k, v = headers[-1]
			headers[-1] = (k, v + ' ' + l.strip())
		else:
			k, _, v = l.partition(':')
			headers.append((k.strip(), v.strip()))
		i += 1
	return headers, '\n'.join(lines[i + 1:])


def patch_id(path: Path, cwd: Path) -> str:
	p = run_file(['git', 'patch-id', '--stable'], path, cwd)
	out = p.stdout.decode().split()
	if p.returncode or not out:
		raise Error(f'{path.name} has no diff (git patch-id found none)')
	return out[0]


def sha(text: str) -> str:
	return hashlib.sha256(text.encode(errors='surrogateescape')).hexdigest()


def load_patch(path: Path, cwd: Path) -> Patch:
	text = path.read_bytes().decode(errors='surrogateescape')   # CRs kept
	headers, body = parse_mail(text)
	raw = dict((k.lower(), v) for k, v in headers).get('subject', '')
	m = PREFIX_RE.match(raw)
	if not m or not m.group(1):
		raise Error(f'{path.name}: subject {raw!r} has no [PATCH i/n]')
	subject = raw[m.end():]
	num, total = int(m.group(1)), int(m.group(2))
	message = body.split('\n---\n')[0] if num else body
	pid = patch_id(path, cwd) if num else ''
	return Patch(path, num, total, headers, subject, body, pid,
		     sha(subject + '\n\n' + message.strip()))


def load_series(pdir: Path, snap: Path, cwd: Path) -> List[Patch]:
	"""The cover letter and the patches, checked to be one whole series.

	They are copied to snap first: make spatch may rewrite pdir meanwhile.
	"""
	files = sorted(pdir.glob('[0-9][0-9][0-9][0-9]-*.patch'))
	if not files or not files[0].name.startswith('0000-'):
		raise Error(f'no series in {rel(pdir)} (no 0000-cover-letter.patch): '
			    f'run make spatch')
	if snap.exists():
		shutil.rmtree(snap)
	snap.mkdir(parents=True)
	for f in files:
		try:
			shutil.copy(f, snap / f.name)
		except FileNotFoundError:
			raise Error(f'{rel(f)} vanished: make spatch is rewriting the series; '
				    f'wait and run again')
	patches = [load_patch(snap / f.name, cwd) for f in files]
	n = len(files) - 1
	for i, p in enumerate(patches):
		if p.num != i or p.total != n:
			raise Error(f'{rel(pdir)} is not one series ({p.path.name} is '
				    f'[PATCH {p.num}/{p.total}] but there are {n} patches): '
				    f'it is being regenerated; wait, or run make spatch')
	return patches


def base_commit(cover: Patch) -> str:
	m = re.search(r'^base-commit: ([0-9a-f]{40})$', cover.body, re.M)
	return m.group(1) if m else ''


def series_key(base: str, patches: List[Patch]) -> str:
	"""What makes a version: the base and each patch's message and diff."""
	return sha(base + ''.join(f'\n{p.subject}\t{p.patch_id}\t{p.msg_hash}'
				  for p in patches[1:]))


# -- the series as commits, for b4 and the freshness check --------------------

def build_commits(prep: Prep, base: str, patches: List[Patch]) -> List[str]:
	"""Apply the patch files onto base as git am would, without a checkout,
	in b4's clone. Committer = author, so a version's commit ids depend
	only on its files."""
	tmp = prep.path / '.git' / 'pinconv-build'
	tmp.mkdir(exist_ok=True)
	env = dict(prep.env(), GIT_INDEX_FILE=str(tmp / 'index'))
	git(['read-tree', base], cwd=prep.path, env=env)
	parent, commits = base, []
	for p in patches[1:]:
		info = run_file(['git', 'mailinfo', str(tmp / 'msg'), str(tmp / 'diff')],
				p.path, prep.path, env)
		fields = dict(l.split(': ', 1) for l in
			      info.stdout.decode(errors='replace').splitlines() if ': ' in l)
		ap = run(['git', 'apply', '--cached', tmp / 'diff'], cwd=prep.path, env=env,
			 check=False)
		if ap.returncode:
			first = (ap.stderr.strip().splitlines() or ['?'])[0]
			raise Error(f'{p.path.name} does not apply to {base[:12]}: {first}')
		tree_id = git(['write-tree'], cwd=prep.path, env=env)
		who = {'GIT_AUTHOR_NAME': fields.get('Author', ''),
		       'GIT_AUTHOR_EMAIL': fields.get('Email', ''),
		       'GIT_AUTHOR_DATE': fields.get('Date', '')}
		who.update({k.replace('AUTHOR', 'COMMITTER'): v for k, v in who.items()})
		msg = fields.get('Subject', p.subject) + '\n\n' + \
			(tmp / 'msg').read_text(errors='replace')
		parent = git(['commit-tree', tree_id, '-p', parent, '-F', '-'], cwd=prep.path,
			     env=dict(env, **who), input=msg)
		commits.append(parent)
	return commits


# -- recipients --------------------------------------------------------------

def unusable_addresses(patches: List[Patch],
		       rcpts: List[Tuple[List[str], List[str]]]) -> List[str]:
	"""The series' From: and get_maintainer.pl's addresses SMTP cannot
	take, one line each (TO= and CC= are checked by parse_addrs)."""
	cover = patches[0]
	found = [(cover.header('From'), f'the From: of {cover.path.name}')]
	found += [(a, f'get_maintainer.pl on {p.path.name}')
		  for p, (to, cc) in zip(patches, rcpts) for a in to + cc]
	out, seen = [], set()
	for a, where in found:
		bad = unusable(a, where)
		if bad and addr_key(a) not in seen:
			seen.add(addr_key(a))
			out.append(bad)
	return out


def get_maintainer(tr: Tree, path: Path, roles: List[str]) -> List[str]:
	gm = tr.path / 'scripts' / 'get_maintainer.pl'
	if not gm.is_file():
		raise Error(f'{gm} is missing: cannot tell who to send the series to')
	p = treemod.get_maintainer(tr.path, [*GET_MAINTAINER, *roles, str(path)])
	if p.returncode:
		first = (p.stderr.strip().splitlines() or ['?'])[0]
		raise Error(f'get_maintainer.pl failed on {path.name}: {first}')
	return [l.strip() for l in p.stdout.splitlines() if '@' in l]


def recipients(tr: Tree, p: Patch) -> Tuple[List[str], List[str]]:
	to = get_maintainer(tr, p.path, TO_ROLES)
	return to, minus(get_maintainer(tr, p.path, CC_ROLES), to)


def checkpatch(tr: Tree, p: Patch) -> List[str]:
	"""The ERROR lines of checkpatch.pl --strict --terse."""
	cp = tr.path / 'scripts' / 'checkpatch.pl'
	if not cp.is_file():
		return [f'{cp} is missing']
	out = run(['perl', cp, '--strict', '--terse', p.path], cwd=tr.path,
		  check=False).stdout
	return [l for l in out.splitlines() if ': ERROR:' in l]


def in_parallel(fn, items: List) -> List:
	with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
		return list(ex.map(fn, items))


# -- versions ----------------------------------------------------------------

def load_state(sdir: Path) -> Dict:
	f = sdir / 'state.json'
	if not f.is_file():
		return {'versions': []}
	try:
		return json.loads(f.read_text())
	except ValueError as e:
		raise Error(f'{rel(f)} is damaged ({e}); it records what was sent: '
			    f'repair it rather than delete it')


def save_state(sdir: Path, state: Dict) -> None:
	tmp = sdir / 'state.json.tmp'
	tmp.write_text(json.dumps(state, indent=1) + '\n')
	os.replace(tmp, sdir / 'state.json')


def delivered_any(v: Dict) -> bool:
	return any(m['delivered'] for m in v['messages'])

def last_sent(state: Dict, before: Optional[int] = None) -> Optional[Dict]:
	"""The last version that reached anyone (before version before)."""
	sent = [v for v in state['versions'] if delivered_any(v)
		and (before is None or v['version'] < before)]
	return sent[-1] if sent else None


def resumed(state: Dict, key: str) -> Optional[Dict]:
	"""The record of the last version if it is this series: its messages
	are kept and go out again as they were (same Message-Ids)."""
	vs = state['versions']
	return vs[-1] if vs and vs[-1]['key'] == key else None


def changes_since(prev: Dict, patches: List[Patch], rdiff: str) -> str:
	old = prev['messages'][1:]
	by_subject = {m['subject']: m for m in old}
	by_id = {m['patch_id']: m for m in old}
	lines = [f'Changes since v{prev["version"]}:']
	seen, same = set(), 0
	for p in patches[1:]:
		o = by_subject.get(p.subject) or by_id.get(p.patch_id)
		if o is None:
			lines.append(f'- added: {p.subject}')
			continue
		seen.add(o['message_id'])
		if o['patch_id'] != p.patch_id:
			lines.append(f'- changed (code): {p.subject}')
		elif o['msg_hash'] != p.msg_hash:
			lines.append(f'- changed (commit message): {p.subject}')
		else:
			same += 1
	for o in old:
		if o['message_id'] not in seen:
			lines.append(f'- removed: {o["subject"]}')
	if same:
		lines.append(f'- unchanged: {same} patch{"es" if same > 1 else ""}')
	lines.append(f'- v{prev["version"]}: {prev["messages"][0]["message_id"]}')
	if rdiff:
		lines += ['', f'Range-diff against v{prev["version"]}:', rdiff]
	return '\n'.join(lines)

def cover_text(cover: Patch, changes: str) -> str:
	"""The cover letter for b4: the generated one's subject and text
	(b4's template adds the shortlog, diffstat, base-commit, change-id),
	then what changed since the last version."""
	m = SHORTLOG_RE.search(cover.body)
	at = m.start() if m else max(cover.body.find('\nbase-commit:'), 0)
	text = f'{cover.subject}\n\n{cover.body[:at].strip()}'
	return text + (f'\n\n{changes}' if changes else '') + '\n'


# -- messages ----------------------------------------------------------------

def plan(patches: List[Patch], rcpts: List[Tuple[List[str], List[str]]],
	 to: List[str], cc: List[str]) -> List[Tuple[List[str], List[str], bool]]:
	"""(To, Cc, orphan) of each message: a patch to its own people and
	TO=/CC=, the cover letter to all of them."""
	cover_to = merge(*[t for t, _ in rcpts[1:]])
	cover_cc = minus(merge(*[c for _, c in rcpts[1:]]), cover_to)
	out: List[Tuple[List[str], List[str], bool]] = []
	for p, (pto, pcc) in zip(patches, rcpts):
		if p.num == 0:
			pto, pcc = cover_to, cover_cc
		mto = merge(pto, to)
		mcc = minus(merge(pcc, cc), mto)
		orphan = p.num > 0 and not mto and not mcc
		if orphan:
			mto, mcc = out[0][0], out[0][1]
		if not mto:
			mto, mcc = mcc, []
		out.append((mto, mcc, orphan))
	return out


def with_b4(patches: List[Patch], b4msgs: List[B4Message],
	    addressing: List[Tuple[List[str], List[str], bool]]) -> List[Message]:
	if [m.num for m in b4msgs] != [p.num for p in patches]:
		raise Error(f'b4 made {len(b4msgs)} messages of {len(patches)} patch files')
	return [Message(p, b, to, cc, orphan)
		for p, b, (to, cc, orphan) in zip(patches, b4msgs, addressing)]


def qp(body: bytes) -> bytes:
	"""body quoted-printable, its CRs too (binascii's text mode leaves them)."""
	import binascii
	return b'\n'.join(binascii.b2a_qp(l, istext=False) for l in body.split(b'\n'))


def addressed(m: Message, to: List[str], cc: List[str]) -> bytes:
	"""b4's message with To: and Cc: naming to and cc, the body as SMTP
	carries it: quoted-printable if it has a CR or a line over 998 octets
	(b4 0.12 writes every body 8bit)."""
	head, _, body = m.b4.data.partition(b'\n\n')
	lines: List[bytes] = []
	skip = False
	for l in head.split(b'\n'):
		if l[:1] in (b' ', b'\t') and skip:
			continue
		skip = l.lower().split(b':')[0] in (b'to', b'cc', b'content-transfer-encoding')
		if not skip:
			lines.append(l)
	if b'\r' in body or any(len(l) > 998 for l in body.split(b'\n')):
		body = qp(body)
		lines.append(b'Content-Transfer-Encoding: quoted-printable')
	else:
		lines.append(b'Content-Transfer-Encoding: ' +
			     (b'7bit' if body.isascii() else b'8bit'))
	for name, addrs in (('To', to), ('Cc', cc)):
		if addrs:
			lines.append(f'{name}: '.encode() +
				     ',\n\t'.join(header_addr(a) for a in addrs).encode())
	return b'\n'.join(lines) + b'\n\n' + body


def write_box(box: Path, messages: List[Message], raw: bool = False) -> Path:
	"""The messages as files named after their patch files: addressed
	(outbox/) or as b4 made them (vN/)."""
	box.mkdir(parents=True, exist_ok=True)
	for f in box.glob('*.eml'):
		f.unlink()
	for m in messages:
		(box / (m.patch.path.stem + '.eml')).write_bytes(
			m.b4.data if raw else addressed(m, m.to, m.cc))
	return box


def kept_messages(sdir: Path, rec: Dict) -> List[B4Message]:
	box = sdir / f'v{rec["version"]}'
	out = []
	for r in rec['messages']:
		f = box / (Path(r['file']).stem + '.eml')
		if not f.is_file():
			raise Error(f'{rel(f)} is missing: it is v{rec["version"]} as it was '
				    f'sent; restore it, or make a new version')
		out.append(b4prep.parse(f.read_bytes()))
	return out



# -- checks --------------------------------------------------------------------

def check_base(tr: Tree, base: str) -> List[str]:
	if not base:
		return ['the cover letter has no base-commit: run make spatch']
	if base != tr.base:
		return [f'the series is older than the tree: its base-commit {base[:12]} '
			f'is not {treemod.BASE_TAG} {tr.base[:12]} of {rel(tr.path)}: '
			f'run make spatch']
	return []

def check_branch(tr: Tree, prep: Prep, base: str, commits: List[str]) -> List[str]:
	"""The series applied to the baseline must be the branch's tree."""
	tip = commits[-1] if commits else base
	mine = prep.git(['rev-parse', f'{tip}^{{tree}}'])
	theirs = git(['rev-parse', f'{treemod.BRANCH}^{{tree}}'], cwd=tr.path)
	if mine == theirs:
		return []
	k = git(['rev-list', '--count', f'{tr.base}..{treemod.BRANCH}'], cwd=tr.path)
	return [f'the series does not reflect the tree: branch {treemod.BRANCH} of '
		f'{rel(tr.path)} ({k} commits) is not the {len(commits)} patches applied '
		f'to {treemod.BASE_TAG}: run make spatch']


def checks(tr: Tree, patches: List[Patch], messages: List[Message],
	   tree_problems: List[str]) -> List[str]:
	problems = []
	errors = in_parallel(lambda p: checkpatch(tr, p), patches[1:])
	bad = [(p, e) for p, e in zip(patches[1:], errors) if e]
	if bad:
		total = sum(len(e) for _, e in bad)
		p, e = bad[0]
		first = e[0].split(': ERROR: ', 1)[-1]
		problems.append(f'checkpatch.pl --strict: {total} ERROR(s) in {len(bad)} '
				f'patch(es), first {p.path.name}: {first}')
	cover = patches[0].path.read_text(errors='replace')
	left = [t for t in TEMPLATE if t in cover]
	if left:
		problems.append(f'the cover letter is unedited ({" and ".join(left)} '
				f'still in {patches[0].path.name})')
	nobody = [m.name for m in messages if m.orphan]
	if nobody:
		problems.append(f'{len(nobody)} patch(es) with no recipients, first '
				f'{nobody[0]}: get_maintainer.pl names nobody (add TO=...; '
				f'forced, it goes to the cover letter\'s recipients)')
	return problems + tree_problems


# -- make email ----------------------------------------------------------------

def message_record(m: Message, old: Dict) -> Dict:
	rec = {'file': m.name, 'subject': m.patch.subject, 'message_id': m.message_id,
	       'patch_id': m.patch.patch_id, 'msg_hash': m.patch.msg_hash,
	       'to': m.to, 'cc': m.cc, 'delivered': old.get('delivered', []),
	       'log': old.get('log', [])}
	if old.get('error'):
		rec['error'] = old['error']
	return rec


def version_record(state: Dict, version: int, key: str, base: str,
		   messages: List[Message]) -> Dict:
	"""The record of this version in state, made or brought up to date."""
	vs = state['versions']
	old = vs[-1] if vs and vs[-1]['version'] == version else None
	if old is not None and old['key'] != key:
		if delivered_any(old):
			raise Error(f'b4 would send v{version} again, but v{version} went out '
				    f'already (state.json): b4 prep --force-revision {version + 1} '
				    f'in the b4 clone')
		vs.pop()        # never delivered anywhere: b4 did not reroll; replace it
		old = None
	if old is None:
		old = {'version': version, 'key': key, 'base': base, 'messages': []}
		vs.append(old)
	olds = {m['message_id']: m for m in old['messages']}
	old['messages'] = [message_record(m, olds.get(m.message_id, {})) for m in messages]
	return old


def missing(m: Message, rec: Optional[Dict]) -> Tuple[List[str], List[str]]:
	"""The recipients of m it has not been delivered to yet."""
	done = set()
	for r in (rec or {}).get('messages', []):
		if r['message_id'] == m.message_id:
			done = set(r['delivered'])
	return ([a for a in m.to if addr_key(a) not in done],
		[a for a in m.cc if addr_key(a) not in done])


def show(messages: List[Message], rec: Optional[Dict]) -> None:
	for m in messages:
		to, cc = missing(m, rec)
		n = len(m.to) + len(m.cc)
		left = len(to) + len(cc)
		state = ('' if left == n else ' (delivered)' if not left
			 else f' (delivered to {n - left} of {n})')
		print(f'  {m.name[:4]} {m.subject}{state}'
		      + (' (nobody of its own: the cover\'s recipients)' if m.orphan else ''))
		print(f'       To: {", ".join(m.to) or "-"}')
		if m.cc:
			print(f'       Cc: {", ".join(m.cc)}')


def email(tr: Tree, to: str, cc: str, send: bool, smtp: str, force: bool) -> int:
	extra_to = parse_addrs(to, 'TO') if to else []
	extra_cc = parse_addrs(cc, 'CC') if cc else []
	server = parse_smtp(smtp) if send else None
	sdir = state_dir(tr)
	sdir.mkdir(parents=True, exist_ok=True)
	with locked(sdir):
		return email_locked(tr, sdir, extra_to, extra_cc, server, force)


def b4_messages(tr: Tree, sdir: Path, prep: Prep, patches: List[Patch], state: Dict,
		rec: Optional[Dict], cover: Tuple[List[str], List[str]]) -> Tuple[int, List[B4Message]]:
	"""The version and b4's messages of it: kept ones if it was sent
	before, else new ones from b4 send -o, with what changed since the
	last version sent and b4's range-diff against it in the cover letter."""
	if rec is not None:
		return rec['version'], kept_messages(sdir, rec)
	version = prep.revision()
	prev = last_sent(state)
	if prev and version <= prev['version']:
		raise Error(f'b4 counts v{version} in {rel(prep.path)} but v{prev["version"]} '
			    f'went out already ({rel(sdir / "state.json")})')
	changes = ''
	if prev:
		changes = changes_since(prev, patches, prep.range_diff(prev['version']))
	# b4's view of the recipients (make email addresses each message
	# itself): the ones SMTP can take, as b4 0.12 fails on an address it
	# cannot parse; b4 needs someone.
	to, cc = [[a for a in l if not unusable(a, '')] for l in cover]
	if not to and not cc:
		to = [patches[0].header('From')]
	prep.set_cover(cover_text(patches[0], changes), to, cc)
	return version, prep.messages()


def email_locked(tr: Tree, sdir: Path, extra_to: List[str], extra_cc: List[str],
		 server: Optional[Server], force: bool) -> int:
	pdir = patch_dir(tr)
	patches = load_series(pdir, sdir / 'series', tr.path)
	base = base_commit(patches[0])
	key = series_key(base, patches)
	state = load_state(sdir)
	rec = resumed(state, key)
	done = sum(1 for m in (rec or {}).get('messages', []) if m['delivered'])
	stdout.step(f'{rel(pdir)}: cover letter and {len(patches) - 1} patches'
		    + (f', v{rec["version"]} ({done} of {len(patches)} messages sent before)'
		       if rec else ''))
	label = tr.kver if tr.origin == 'debian' else tr.name
	prep = Prep(tr, sdir, label, patches[0].header('From'))
	tree_problems = check_base(tr, base)
	onto = tr.base if tree_problems else base
	stdout.step(f'b4 prep: branch {prep.branch()} in {rel(prep.path)}')
	prep.setup(onto)
	commits = build_commits(prep, onto, patches)
	tree_problems = tree_problems or check_branch(tr, prep, onto, commits)
	prep.set_series(onto, commits)
	stdout.step(f'asking get_maintainer.pl for the recipients of {len(patches) - 1} patches')
	rcpts = [([], [])] + in_parallel(lambda p: recipients(tr, p), patches[1:])
	addressing = plan(patches, rcpts, extra_to, extra_cc)
	version, b4msgs = b4_messages(tr, sdir, prep, patches, state, rec,
				      addressing[0][:2])
	messages = with_b4(patches, b4msgs, addressing)
	stdout.step(f'v{version}: {len(messages)} messages from b4')
	box = write_box(sdir / 'outbox', messages)
	show(messages, rec)
	stdout.step('checking: checkpatch.pl --strict, cover letter, recipients, tree')
	problems = checks(tr, patches, messages, tree_problems)
	bad = unusable_addresses(patches, rcpts)
	todo = [(m, *missing(m, rec)) for m in messages]
	todo = [(m, t, c) for m, t, c in todo if t or c]
	if server is None:
		for p in bad + problems:
			print(f'pinconv: would refuse to send: {p}')
		if not todo:
			print(f'pinconv: v{version} was delivered to all its recipients already: '
			      f'SEND=1 would send nothing')
		stdout.step(f'dry run, nothing sent: wrote {len(messages)} messages to '
			    f'{rel(box)}/ (SEND=1 SMTP=host:port sends them)')
		return 0
	if not todo:
		stdout.step(f'nothing to send: v{version} was delivered to all its '
			    f'recipients ({rel(sdir / "state.json")})')
		return 0
	if bad:
		raise Error(bad[0] + (f' (and {len(bad) - 1} more unusable addresses)'
				      if len(bad) > 1 else ''))
	if problems and not force:
		for p in problems:
			error(f'refusing to send: {p} (FORCE=1 sends anyway)')
		return 1
	if not messages[0].to:
		raise Error('nobody to send the series to: get_maintainer.pl names '
			    'nobody; add TO=...')
	rec = version_record(state, version, key, onto, messages)
	write_box(sdir / f'v{version}', messages, raw=True)
	save_state(sdir, state)
	if server.user and not server.password:
		server.password = credential(server)
	try:
		send(sdir, state, rec, messages, todo, server)
	finally:
		if delivered_any(rec):
			prep.mark_sent(version, messages[0].b4.data, commits)
	stdout.step(f'v{version}: {len(messages)} messages delivered; recorded in '
		    f'{rel(sdir / "state.json")}')
	return 0


def send(sdir: Path, state: Dict, rec: Dict, messages: List[Message],
	 todo: List[Tuple[Message, List[str], List[str]]], server: Server) -> None:
	"""Each message to the recipients it still lacks, recorded as the
	server accepted it; the first failure is one error."""
	for m, to, cc in todo:
		sender = messages[0].patch.header('From')
		out = deliver(addressed(m, m.to, m.cc), sender,
			      [split_addr(a)[1] for a in to + cc], server)
		r = [x for x in rec['messages'] if x['message_id'] == m.message_id][0]
		log = {'at': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
		       'to': [addr_key(a) for a in to + cc], 'result': out.error or 'delivered'}
		if out.error and out.delivered:
			log['delivered'] = out.delivered
		if out.refused:
			log['refused'] = out.refused
		r['log'].append(log)
		r['delivered'] = sorted(set(r['delivered']) | set(out.delivered))
		if out.error:
			r['error'] = out.error
		else:
			r.pop('error', None)
		save_state(sdir, state)
		if out.error:
			n = len(to) + len(cc)
			what = (f'reached {len(out.delivered)} of its {n} recipients' if out.delivered
				else 'was not sent')
			full = sum(1 for x in messages if not any(missing(x, rec)))
			raise Error(f'{m.name} {what}: {out.error}; {full} of {len(messages)} '
				    f'messages delivered to all recipients, recorded in '
				    f'{rel(sdir / "state.json")}: run again to send the rest')
		stdout.step(f'sent {m.name} to {len(to) + len(cc)} recipients')
