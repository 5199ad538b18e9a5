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
"""

import concurrent.futures
from email.utils import formataddr, getaddresses, parseaddr
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
	text = path.read_text(errors='surrogateescape')
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

def addr_key(a: str) -> str:
	return parseaddr(a)[1].lower()


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


def parse_addrs(text: str, what: str) -> List[str]:
	"""'a@b, Name <c@d>' -> addresses; TO= and CC= come this way."""
	out = []
	for name, addr in getaddresses([text]):
		if not re.match(r'^[^@\s]+@[^@\s]+$', addr):
			raise Error(f'{what}={text!r}: {addr or name!r} is not an email address')
		out.append(formataddr((name, addr)))
	return out


def get_maintainer(tr: Tree, path: Path, roles: List[str]) -> List[str]:
	gm = tr.path / 'scripts' / 'get_maintainer.pl'
	if not gm.is_file():
		raise Error(f'{gm} is missing: cannot tell who to send the series to')
	p = run(['perl', gm, *GET_MAINTAINER, *roles, path], cwd=tr.path, check=False)
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
				   mto, mcc, body, out[0].message_id if out else '', orphan))
	return out


def render(m: Message, to: List[str], cc: List[str]) -> str:
	"""The message as an RFC 2822 file, to and cc as its recipients."""
	h = [('From', m.patch.header('From'))]
	if to:
		h.append(('To', ',\n\t'.join(to)))
	if cc:
		h.append(('Cc', ',\n\t'.join(cc)))
	h += [('Subject', m.subject), ('Date', m.patch.header('Date')),
	      ('Message-Id', m.message_id)]
	if m.reply_to:
		h += [('In-Reply-To', m.reply_to), ('References', m.reply_to)]
	h += [(k, v) for k, v in m.patch.headers if k.lower() not in OWN_HEADERS]
	return ''.join(f'{k}: {v}\n' for k, v in h) + '\n' + m.body


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

def parse_smtp(smtp: str) -> List[str]:
	"""SMTP=host:port -> git send-email options."""
	if not smtp:
		if git(['config', 'sendemail.smtpServer'], cwd=treemod.TOP, check=False):
			return []
		raise Error('SEND=1 needs SMTP=host:port (or git config sendemail.smtpServer)')
	host, _, port = smtp.rpartition(':')
	if not host or not port.isdigit():
		raise Error(f'SMTP={smtp!r} is not host:port')
	return [f'--smtp-server={host.strip("[]")}', f'--smtp-server-port={port}']


def send_one(m: Message, sender: str, to: List[str], cc: List[str],
	     smtp: List[str], sdir: Path, force: bool) -> Tuple[bool, str]:
	"""git send-email one message to to+cc; (delivered, why not)."""
	out = sdir / 'sending'
	out.mkdir(exist_ok=True)
	f = out / (m.patch.path.stem + '.eml')
	# Recipients only from the command line, so that nothing (body Cc:,
	# Signed-off-by:, sendemail.to) adds one behind the record's back.
	f.write_text(render(m, [], []), errors='surrogateescape')
	cmd = ['git', 'send-email', *smtp, '--confirm=never', '--no-thread',
	       '--suppress-cc=all', '--no-to', '--no-cc', '--no-bcc',
	       '--8bit-encoding=UTF-8', '--no-format-patch', '--smtp-debug=1',
	       f'--from={sender}']
	cmd += [f'--to={a}' for a in to] + [f'--cc={a}' for a in cc]
	if force:
		cmd.append('--force')   # its own check: a template cover letter
	try:
		p = subprocess.run(cmd + [str(f)], cwd=sdir, text=True, capture_output=True,
				   stdin=subprocess.DEVNULL, timeout=120)
	except subprocess.TimeoutExpired:
		return False, 'git send-email timed out after 120 s'
	if p.returncode == 0:
		return True, ''
	return False, send_error(p.stderr, p.returncode, smtp)


def send_error(stderr: str, code: int, smtp: List[str]) -> str:
	"""One line on why git send-email failed."""
	server = ':'.join(a.split('=', 1)[1] for a in smtp) or 'sendemail.smtpServer'
	if 'Unable to initialize SMTP' in stderr:
		return f'cannot connect to the SMTP server {server}'
	if "module is not here" in stderr or "Can't locate" in stderr:
		m = re.search(r"'([\w:]+)' module|Can't locate (\S+)", stderr)
		return (f'git send-email cannot run: Perl module '
			f'{m.group(1) or m.group(2) if m else "?"} is missing (Debian '
			f'package libmailtools-perl; run make deps)')
	lines = [l.strip() for l in stderr.split('\n\n')[0].splitlines()
		 if l.strip() and not l.startswith('Net::SMTP')]
	first = re.sub(r' at \S+ line \d+\.?$', '', ' '.join(lines))
	return refused(stderr) or first or f'git send-email exit code {code}'


def refused(debug: str) -> str:
	"""From git send-email --smtp-debug output: the recipient the server
	refused, and its reply."""
	rcpt = ''
	for l in debug.splitlines():
		m = re.search(r'>>> RCPT TO:<([^>]*)>', l)
		if m:
			rcpt = m.group(1)
		m = re.search(r'<<< ([45]\d\d[ -].*)', l)
		if m and rcpt:
			return f'the SMTP server refused recipient {rcpt}: {m.group(1).strip()}'
	return ''


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
	smtp_args = parse_smtp(smtp) if send else []
	sdir = state_dir(tr)
	sdir.mkdir(parents=True, exist_ok=True)
	with locked(sdir):
		return email_locked(tr, sdir, extra_to, extra_cc, send, smtp_args, force)


def email_locked(tr: Tree, sdir: Path, extra_to: List[str], extra_cc: List[str],
		 send: bool, smtp: List[str], force: bool) -> int:
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
	todo = [(m, *missing(m, rec)) for m in messages]
	todo = [(m, t, c) for m, t, c in todo if t or c]
	if not send:
		for p in problems:
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
	sender = patches[0].header('From')
	for m, to, cc in todo:
		ok, why = send_one(m, sender, to, cc, smtp, sdir, force)
		r = [x for x in rec['messages'] if x['message_id'] == m.message_id][0]
		r['log'].append({'at': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
				 'to': [addr_key(a) for a in to + cc], 'result': why or 'delivered'})
		if not ok:
			r['error'] = why
			save_state(sdir, state)
			full = sum(1 for x in messages if not any(missing(x, rec)))
			raise Error(f'{m.name} was not sent: {why}; {full} of {len(messages)} '
				    f'messages delivered to all recipients, recorded in '
				    f'{rel(sdir / "state.json")}: run again to send the rest')
		r['delivered'] = sorted(set(r['delivered']) | {addr_key(a) for a in to + cc})
		r.pop('error', None)
		save_state(sdir, state)
		stdout.step(f'sent {m.name} to {len(to) + len(cc)} recipients')
	stdout.step(f'v{version}: {len(messages)} messages delivered; recorded in '
		    f'{rel(sdir / "state.json")}')
	return 0
