# SPDX-License-Identifier: GPL-2.0
"""make email: mail the generated series to the people get_maintainer.pl
names, threaded and versioned, and never by accident.

Everything it keeps is under work/mail/<kver>/ (PINCONV_MAIL moves it):

  outbox/NNNN-*.eml   the messages of the current version, as they go out
  series/             the copy of patches/<kver>/ this run works on
  state.json          each version: per message its diff hash (git
                      patch-id), Message-Id, recipients and the recipients
                      it was delivered to
  repo.git/           the series rebuilt from the patch files onto the
                      baseline, one tag per version sent (for range-diff);
                      it borrows the workspace's objects

It talks SMTP itself, one connection and transaction per message: a
recipient is delivered only once the server has accepted its RCPT and then
the message (250 after DATA), and every address (TO=, CC=, get_maintainer.pl's,
the From:) is checked to be one SMTP can take before the first message goes.
"""

import binascii
import concurrent.futures
from email.header import decode_header, make_header
from email.utils import formataddr, formatdate, getaddresses, parseaddr
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from pinconv import series, tree as treemod
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
# Headers this module writes itself; the rest of format-patch's are kept.
OWN_HEADERS = {'from', 'to', 'cc', 'subject', 'date', 'message-id',
	       'in-reply-to', 'references'}
# An address SMTP takes (RFC 5321): a dot-atom local part, a fully
# qualified domain or an address literal, within its length limits.
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LOCAL_RE = re.compile(rf'^{ATOM}(?:\.{ATOM})*$')
LABEL_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
SMTP_TIMEOUT = 60        # seconds, for each exchange with the server


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
	patch: Patch
	message_id: str
	subject: str             # with [PATCH vN i/n]
	to: List[str]
	cc: List[str]
	body: str
	reply_to: str            # the cover letter's Message-Id, '' for it
	orphan: bool             # nobody of its own: goes to the cover's people
	sender: str              # the series' From: the cover letter's

	@property
	def name(self) -> str:
		return self.patch.path.name


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


# -- the commits of a version, for range-diff and the freshness check -------

def mail_repo(tr: Tree, sdir: Path) -> Path:
	repo = sdir / 'repo.git'
	if not (repo / 'HEAD').is_file():
		git(['init', '-q', '--bare', str(repo)], cwd=sdir)
	common = Path(git(['rev-parse', '--git-common-dir'], cwd=tr.path))
	objects = str((tr.path / common).resolve() / 'objects')
	alt = repo / 'objects' / 'info' / 'alternates'
	if not alt.is_file() or alt.read_text().strip() != objects:
		alt.write_text(objects + '\n')
	return repo


def build_commits(repo: Path, base: str, patches: List[Patch]) -> List[str]:
	"""Apply the patch files onto base as git am would, without a checkout.

	Committer = author, so a version's commit ids depend only on its files.
	"""
	tmp = repo / 'pinconv-build'
	tmp.mkdir(exist_ok=True)
	env = {'GIT_DIR': str(repo), 'GIT_INDEX_FILE': str(tmp / 'index')}
	git(['read-tree', base], cwd=tmp, env=env)
	parent, commits = base, []
	for p in patches[1:]:
		info = run_file(['git', 'mailinfo', str(tmp / 'msg'), str(tmp / 'diff')],
				p.path, tmp, env)
		fields = dict(l.split(': ', 1) for l in
			      info.stdout.decode(errors='replace').splitlines() if ': ' in l)
		ap = run(['git', 'apply', '--cached', tmp / 'diff'], cwd=tmp, env=env,
			 check=False)
		if ap.returncode:
			first = (ap.stderr.strip().splitlines() or ['?'])[0]
			raise Error(f'{p.path.name} does not apply to {base[:12]}: {first}')
		tree_id = git(['write-tree'], cwd=tmp, env=env)
		who = {'GIT_AUTHOR_NAME': fields.get('Author', ''),
		       'GIT_AUTHOR_EMAIL': fields.get('Email', ''),
		       'GIT_AUTHOR_DATE': fields.get('Date', '')}
		who.update({k.replace('AUTHOR', 'COMMITTER'): v for k, v in who.items()})
		msg = fields.get('Subject', p.subject) + '\n\n' + \
			(tmp / 'msg').read_text(errors='replace')
		parent = git(['commit-tree', tree_id, '-p', parent, '-F', '-'], cwd=tmp,
			     env=dict(env, **who), input=msg)
		commits.append(parent)
	return commits


def range_diff(repo: Path, old_base: str, old: List[str], base: str,
	       new: List[str]) -> str:
	if not old or not new:
		return ''
	p = run(['git', 'range-diff', '--no-color', f'{old_base}..{old[-1]}',
		 f'{base}..{new[-1]}'], cwd=repo, env={'GIT_DIR': str(repo)},
		check=False)
	out = p.stdout.rstrip()
	if p.returncode or len(out.splitlines()) > 400:
		p = run(['git', 'range-diff', '--no-color', '-s', f'{old_base}..{old[-1]}',
			 f'{base}..{new[-1]}'], cwd=repo, env={'GIT_DIR': str(repo)},
			check=False)
		out = p.stdout.rstrip() if p.returncode == 0 else ''
	return out


# -- recipients --------------------------------------------------------------

def split_addr(a: str) -> Tuple[str, str]:
	"""(name, address) of 'Name <address>', an address literal (x@[10.0.0.1])
	too, which the strict parseaddr of newer Pythons returns as ('', '')."""
	return addr_list(a)[0] if a else ('', '')


def addr_list(text: str) -> List[Tuple[str, str]]:
	out = getaddresses([text])
	if '@[' in text and not all(a for _, a in out):
		try:
			out = getaddresses([text], strict=False)   # type: ignore[call-arg]
		except TypeError:                                 # a Python without strict
			pass
	return out


def addr_key(a: str) -> str:
	return split_addr(a)[1].lower()


def merge(*lists: List[str]) -> List[str]:
	out: List[str] = []
	seen = set()
	for l in lists:
		for a in l:
			if addr_key(a) and addr_key(a) not in seen:
				seen.add(addr_key(a))
				out.append(a)
	return out


def minus(a: List[str], b: List[str]) -> List[str]:
	drop = {addr_key(x) for x in b}
	return [x for x in a if addr_key(x) not in drop]


def address_problem(addr: str) -> str:
	"""Why SMTP cannot take addr; '' if it can."""
	if re.search(r'[\s\x00-\x1f\x7f]', addr):
		return 'it has a space or a control character'
	local, at, domain = addr.rpartition('@')
	if not at or not local or not domain:
		return 'it is not local@domain'
	if len(addr.encode(errors='surrogateescape')) > 254 or \
	   len(local.encode(errors='surrogateescape')) > 64:
		return 'it is longer than SMTP allows (RFC 5321: 64 octets before the @, 254 in all)'
	if not LOCAL_RE.match(local):
		return f'its local part {local} has characters or dots SMTP does not take unquoted'
	if domain.startswith('[') and domain.endswith(']'):
		lit = domain[1:-1]
		try:
			ipaddress.ip_address(lit[5:] if lit.lower().startswith('ipv6:') else lit)
			return ''
		except ValueError:
			return f'{domain} is not an IPv4 or [IPv6:...] address literal'
	labels = domain.split('.')
	if len(labels) < 2:
		return f'its domain {domain} is not fully qualified (no dot, as in example.org)'
	bad = [l for l in labels if not LABEL_RE.match(l)]
	if bad:
		return (f'its domain {domain} has the label {bad[0]!r}: letters, digits and '
			f'inner hyphens only, 1 to 63 of them')
	return ''


def unusable(addr: str, where: str) -> str:
	"""One line on why addr, which came from where, cannot be mailed; ''
	if it can."""
	a = split_addr(addr)[1]
	why = address_problem(a) if a else 'it is not an email address'
	return f'{a or addr} is not a usable email address (from {where}): {why}' if why else ''


def parse_addrs(text: str, what: str) -> List[str]:
	"""'a@b.org, Name <c@d.org>' -> addresses; TO= and CC= come this way."""
	out = []
	for name, addr in addr_list(text):
		if not addr:
			raise Error(f'{what}={text!r}: {name!r} is not an email address')
		bad = unusable(addr, f'{what}={text!r}')
		if bad:
			raise Error(bad)
		out.append(formataddr((name, addr)))
	return out


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


def pick_version(state: Dict, key: str) -> Tuple[int, Optional[Dict], Optional[Dict]]:
	"""(version number, its record if resuming it, the version before it).

	The same series again is the same version; a changed series is the
	next one, unless the last version never reached anyone: then it is
	that version again.
	"""
	vs = state['versions']
	if not vs:
		return 1, None, None
	last = vs[-1]
	sent = [v for v in vs if delivered_any(v)]
	if last['key'] == key:
		prev = [v for v in sent if v['version'] < last['version']]
		return last['version'], last, prev[-1] if prev else None
	if delivered_any(last):
		return last['version'] + 1, None, last
	return last['version'], None, sent[-1] if sent else None


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


def with_changes(body: str, changes: str) -> str:
	"""The cover letter's body with changes before its shortlog."""
	m = SHORTLOG_RE.search(body)
	at = m.start() if m else body.find('\nbase-commit:') + 1
	return body[:at] + changes + '\n\n' + body[at:]


# -- messages ----------------------------------------------------------------

def domain_of(patches: List[Patch]) -> str:
	d = os.environ.get('PINCONV_MSGID_DOMAIN', '')
	if not d:
		d = parseaddr(patches[0].header('From'))[1].partition('@')[2]
	return d or 'localhost'


def make_messages(patches: List[Patch], rcpts: List[Tuple[List[str], List[str]]],
		  to: List[str], cc: List[str], version: int, key: str,
		  label: str, changes: str) -> List[Message]:
	domain = domain_of(patches)
	v = f' v{version}' if version > 1 else ''
	out: List[Message] = []
	cover_to = merge(*[t for t, _ in rcpts[1:]])
	cover_cc = minus(merge(*[c for _, c in rcpts[1:]]), cover_to)
	for p, (pto, pcc) in zip(patches, rcpts):
		if p.num == 0:
			pto, pcc = cover_to, cover_cc
		mto = merge(pto, to)
		mcc = minus(merge(pcc, cc), mto)
		orphan = p.num > 0 and not mto and not mcc
		if orphan:
			mto, mcc = out[0].to, out[0].cc
		if not mto:
			mto, mcc = mcc, []
		mid = f'<pinconv-{label}-v{version}-{p.num}-{key[:12]}@{domain}>'
		body = with_changes(p.body, changes) if p.num == 0 and changes else p.body
		out.append(Message(p, mid, f'[PATCH{v} {p.num}/{p.total}] {p.subject}',
				   mto, mcc, body, out[0].message_id if out else '', orphan,
				   patches[0].header('From')))
	return out


def header_addr(a: str) -> str:
	"""a for a To: or Cc: header: a name that is not ASCII RFC 2047-encoded."""
	return formataddr(split_addr(a), 'utf-8')


def qp(body: str) -> str:
	"""body quoted-printable, its CRs too (binascii's text mode leaves them)."""
	raw = body.encode('utf-8', 'surrogateescape')
	return b'\n'.join(binascii.b2a_qp(l, istext=False)
			  for l in raw.split(b'\n')).decode('ascii')


def transfer(headers: List[Tuple[str, str]], body: str) -> Tuple[List[Tuple[str, str]], str]:
	"""The MIME headers and the body as they travel, as git send-email
	--8bit-encoding=UTF-8 --transfer-encoding=auto made them: a body that
	is not ASCII declared UTF-8, one with a CR or a line over 998 octets
	(SMTP's limit) quoted-printable."""
	long = '\r' in body or any(len(l.encode('utf-8', 'surrogateescape')) > 998
				   for l in body.split('\n'))
	if not long and body.isascii():
		return headers, body
	have = {k.lower(): v for k, v in headers}
	out = [(k, v) for k, v in headers if k.lower() != 'content-transfer-encoding']
	if 'mime-version' not in have:
		out.insert(0, ('MIME-Version', '1.0'))
	if 'content-type' not in have:
		out.append(('Content-Type', 'text/plain; charset=UTF-8'))
	cte = 'quoted-printable' if long else have.get('content-transfer-encoding', '8bit')
	out.append(('Content-Transfer-Encoding', cte))
	return out, qp(body) if long else body


def render(m: Message, to: List[str], cc: List[str], date: str = '') -> str:
	"""The message as an RFC 5322 file, to and cc as its recipients, made
	as git send-email made it: From: the series' sender (a patch author
	other than it first in the body), the body as transfer() has it."""
	body = m.body
	author = m.patch.header('From')
	if split_addr(author) != split_addr(m.sender):
		body = f'From: {make_header(decode_header(author))}\n\n{body}'
	kept, body = transfer([(k, v) for k, v in m.patch.headers
			       if k.lower() not in OWN_HEADERS], body)
	h = [('From', m.sender)]
	if to:
		h.append(('To', ',\n\t'.join(header_addr(a) for a in to)))
	if cc:
		h.append(('Cc', ',\n\t'.join(header_addr(a) for a in cc)))
	h += [('Subject', m.subject), ('Date', date or m.patch.header('Date')),
	      ('Message-Id', m.message_id)]
	if m.reply_to:
		h += [('In-Reply-To', m.reply_to), ('References', m.reply_to)]
	return ''.join(f'{k}: {v}\n' for k, v in h + kept) + '\n' + body


def write_outbox(sdir: Path, messages: List[Message]) -> Path:
	box = sdir / 'outbox'
	box.mkdir(parents=True, exist_ok=True)
	for f in box.glob('*.eml'):
		f.unlink()
	for m in messages:
		(box / (m.patch.path.stem + '.eml')).write_text(
			render(m, m.to, m.cc), errors='surrogateescape')
	return box


# -- checks --------------------------------------------------------------------

def check_base(tr: Tree, base: str) -> List[str]:
	if not base:
		return ['the cover letter has no base-commit: run make spatch']
	if base != tr.base:
		return [f'the series is older than the tree: its base-commit {base[:12]} '
			f'is not {treemod.BASE_TAG} {tr.base[:12]} of {rel(tr.path)}: '
			f'run make spatch']
	return []


def check_branch(tr: Tree, repo: Path, base: str, commits: List[str]) -> List[str]:
	"""The series applied to the baseline must be the branch's tree."""
	tip = commits[-1] if commits else base
	mine = git(['rev-parse', f'{tip}^{{tree}}'], cwd=repo, env={'GIT_DIR': str(repo)})
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


# -- sending -------------------------------------------------------------------

@dataclass
class Server:
	"""The SMTP server, and how to talk to it (git config sendemail.*)."""
	host: str
	port: int
	encryption: str          # '', 'tls' (STARTTLS) or 'ssl'
	user: str                # '': no login
	password: str            # '' with a user: ask git credential
	helo: str

	def __str__(self) -> str:
		return f'[{self.host}]:{self.port}' if ':' in self.host else \
			f'{self.host}:{self.port}'


@dataclass
class Outcome:
	"""What the server did with one message."""
	delivered: List[str]     # the recipients it took it for, lowercased
	error: str               # why not for the others; '' if none
	refused: Dict[str, str]  # recipient: the server's reply to its RCPT TO


def git_config(key: str) -> str:
	return git(['config', key], cwd=treemod.TOP, check=False)


def parse_smtp(smtp: str) -> Server:
	"""SMTP=host:port, else git config sendemail.smtpServer and
	smtpServerPort; encryption, login and EHLO name from git config, as
	git send-email takes them."""
	enc = git_config('sendemail.smtpEncryption').lower()
	if enc not in ('', 'none', 'tls', 'ssl'):
		raise Error(f'git config sendemail.smtpEncryption={enc!r} is none of tls, ssl, none')
	enc = '' if enc == 'none' else enc
	if smtp:
		host, _, port = smtp.rpartition(':')
		if not host or not port.isdigit():
			raise Error(f'SMTP={smtp!r} is not host:port')
	else:
		host = git_config('sendemail.smtpServer')
		if not host:
			raise Error('SEND=1 needs SMTP=host:port (or git config sendemail.smtpServer)')
		if host.startswith('/'):
			raise Error(f'git config sendemail.smtpServer is a program ({host}): '
				    f'make email needs an SMTP server: give SMTP=host:port')
		port = git_config('sendemail.smtpServerPort') or ('465' if enc == 'ssl' else '25')
		if not port.isdigit():
			raise Error(f'git config sendemail.smtpServerPort={port!r} is not a port number')
	user = git_config('sendemail.smtpUser')
	return Server(host.strip('[]'), int(port), enc, user,
		      git_config('sendemail.smtpPass') if user else '',
		      git_config('sendemail.smtpDomain') or socket.getfqdn())


def credential(server: Server) -> str:
	"""The password of sendemail.smtpUser as git send-email gets it: git
	credential (a helper, else a prompt on the terminal)."""
	p = run(['git', 'credential', 'fill'], cwd=treemod.TOP, check=False,
		input=f'protocol=smtp\nhost={server}\nusername={server.user}\n\n')
	pw = [l[len('password='):] for l in p.stdout.splitlines() if l.startswith('password=')]
	if p.returncode or not pw:
		raise Error(f'no password for SMTP user {server.user} on {server}: set git '
			    f'config sendemail.smtpPass or a credential helper')
	return pw[0]


def connect(server: Server) -> smtplib.SMTP:
	"""A session with the server, encrypted and logged in as git config says."""
	if server.encryption == 'ssl':
		s: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, server.helo,
						  timeout=SMTP_TIMEOUT,
						  context=ssl.create_default_context())
	else:
		s = smtplib.SMTP(server.host, server.port, server.helo, timeout=SMTP_TIMEOUT)
	try:
		s.ehlo_or_helo_if_needed()
		if server.encryption == 'tls':
			s.starttls(context=ssl.create_default_context())
			s.ehlo_or_helo_if_needed()
		if server.user:
			s.login(server.user, server.password)
	except BaseException:
		s.close()
		raise
	return s


def hang_up(s: smtplib.SMTP) -> None:
	try:
		s.quit()
	except (OSError, smtplib.SMTPException):
		s.close()


def reply(code: int, text: Union[bytes, str]) -> str:
	"""An SMTP reply on one line: '550 5.1.1 no such user'."""
	if isinstance(text, bytes):
		text = text.decode('utf-8', 'replace')
	return ' '.join(f'{code} {text}'.split())


def refusal(refused: Dict[str, Tuple[int, bytes]]) -> str:
	"""One line on the recipients the server refused; '' if none."""
	if not refused:
		return ''
	a, (code, text) = next(iter(refused.items()))
	what = f'recipient {a}' if len(refused) == 1 else f'{len(refused)} recipients, first {a}'
	return f'the SMTP server refused {what}: {reply(code, text)}'


def smtp_error(e: Exception, server: Server, connected: bool) -> str:
	"""One line on why the server did not take a message."""
	if isinstance(e, smtplib.SMTPRecipientsRefused):
		return refusal(e.recipients)
	if isinstance(e, smtplib.SMTPSenderRefused):
		return f'the SMTP server refused sender {e.sender}: {reply(e.smtp_code, e.smtp_error)}'
	if isinstance(e, smtplib.SMTPDataError):
		return (f'the SMTP server did not take the message: '
			f'{reply(e.smtp_code, e.smtp_error)}')
	if isinstance(e, smtplib.SMTPAuthenticationError):
		return (f'the SMTP server {server} refused the login of {server.user}: '
			f'{reply(e.smtp_code, e.smtp_error)}')
	if isinstance(e, smtplib.SMTPResponseException):     # greeting, EHLO, STARTTLS
		return f'the SMTP server {server} answered {reply(e.smtp_code, e.smtp_error)}'
	if isinstance(e, smtplib.SMTPNotSupportedError):
		return (f'the SMTP server {server} cannot do what git config sendemail.* '
			f'asks: {str(e).rstrip(".")}')
	if isinstance(e, TimeoutError) or (isinstance(e, smtplib.SMTPServerDisconnected)
					   and 'timed out' in str(e)):
		return f'the SMTP server {server} did not answer within {SMTP_TIMEOUT} s'
	if isinstance(e, smtplib.SMTPServerDisconnected):
		return f'the SMTP server {server} closed the connection'
	if isinstance(e, ssl.SSLError):
		return f'TLS with the SMTP server {server} failed: ' + \
			re.sub(r' \(_ssl\.c:\d+\)$', '', str(e))
	if isinstance(e, OSError):
		what = 'lost the connection to' if connected else 'cannot connect to'
		return f'{what} the SMTP server {server}: {e.strerror or e}'
	return f'SMTP with {server} failed: {e}'


def send_one(m: Message, to: List[str], cc: List[str], server: Server,
	     date: str) -> Outcome:
	"""One SMTP transaction: m to the envelope recipients to+cc, its To:
	and Cc: naming all of m's, from the address of its From:."""
	rcpts = [split_addr(a)[1] for a in to + cc]
	data = render(m, m.to, m.cc, date).encode('utf-8', 'surrogateescape')
	data = re.sub(rb'\r\n|\r|\n', b'\r\n', data)
	try:
		s = connect(server)
	except (OSError, smtplib.SMTPException) as e:
		return Outcome([], smtp_error(e, server, False), {})
	try:
		opts = ['BODY=8BITMIME'] if not data.isascii() and s.has_extn('8bitmime') else []
		refused = s.sendmail(split_addr(m.sender)[1], rcpts, data, opts)
	except (OSError, smtplib.SMTPException) as e:
		refused = e.recipients if isinstance(e, smtplib.SMTPRecipientsRefused) else {}
		return Outcome([], smtp_error(e, server, True),
			       {a.lower(): reply(*r) for a, r in refused.items()})
	finally:
		hang_up(s)
	return Outcome([a.lower() for a in rcpts if a not in refused], refusal(refused),
		       {a.lower(): reply(*r) for a, r in refused.items()})


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
		   commits: List[str], messages: List[Message]) -> Dict:
	"""The record of this version in state, made or brought up to date."""
	vs = state['versions']
	old = vs[-1] if vs and vs[-1]['version'] == version else None
	if old is not None and old['key'] != key:
		vs.pop()        # never delivered anywhere (pick_version): replace it
		old = None
	if old is None:
		old = {'version': version, 'key': key, 'base': base, 'messages': []}
		vs.append(old)
	olds = {m['message_id']: m for m in old['messages']}
	old['commits'] = commits
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


def email_locked(tr: Tree, sdir: Path, extra_to: List[str], extra_cc: List[str],
		 server: Optional[Server], force: bool) -> int:
	pdir = patch_dir(tr)
	patches = load_series(pdir, sdir / 'series', tr.path)
	base = base_commit(patches[0])
	key = series_key(base, patches)
	state = load_state(sdir)
	version, rec, prev = pick_version(state, key)
	done = sum(1 for m in (rec or {}).get('messages', []) if m['delivered'])
	stdout.step(f'{rel(pdir)}: cover letter and {len(patches) - 1} patches, '
		    f'v{version}' + (f' ({done} of {len(patches)} messages sent before)'
				     if rec else ''))
	repo = mail_repo(tr, sdir)
	commits: List[str] = []
	tree_problems = check_base(tr, base)
	if not tree_problems:
		try:
			commits = build_commits(repo, base, patches)
			tree_problems = check_branch(tr, repo, base, commits)
		except Error as e:
			tree_problems = [str(e)]
	changes = ''
	if prev:
		rd = range_diff(repo, prev['base'], prev.get('commits', []), base, commits)
		changes = changes_since(prev, patches, rd)
	stdout.step(f'asking get_maintainer.pl for the recipients of {len(patches) - 1} patches')
	rcpts = [([], [])] + in_parallel(lambda p: recipients(tr, p), patches[1:])
	label = tr.kver if tr.origin == 'debian' else tr.name
	messages = make_messages(patches, rcpts, extra_to, extra_cc, version, key,
				 label, changes)
	box = write_outbox(sdir, messages)
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
	rec = version_record(state, version, key, base, commits, messages)
	if commits:
		git(['update-ref', f'refs/tags/v{version}', commits[-1]], cwd=sdir,
		    env={'GIT_DIR': str(repo)})
	save_state(sdir, state)
	if server.user and not server.password:
		server.password = credential(server)
	# Dates a second apart, in the series' order, as git send-email gave.
	t0 = time.time() - len(messages)
	for m, to, cc in todo:
		out = send_one(m, to, cc, server, formatdate(t0 + m.patch.num, localtime=True))
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
	stdout.step(f'v{version}: {len(messages)} messages delivered; recorded in '
		    f'{rel(sdir / "state.json")}')
	return 0
