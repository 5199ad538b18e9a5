# SPDX-License-Identifier: GPL-2.0
"""make email against a real SMTP server on 127.0.0.1 (aiosmtpd).

Most tests use a small kernel-like KDIR (its own MAINTAINERS, the real
get_maintainer.pl and checkpatch.pl) and a series made in it with git
format-patch, so they do not depend on patches/6.1 changing under them.
The e2e test mails a copy of patches/6.1 and git-ams what arrives onto the
6.1 workspace's baseline.
"""

import email
import email.policy
import json
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import FAKE_MM, FAKE_UIO_GET, TOP, pinconv
from pinconv import mail, tree

WORKSPACE = tree.work_dir() / 'linux-6.1'
SCRIPTS = ['get_maintainer.pl', 'checkpatch.pl', 'spelling.txt',
	   'const_structs.checkpatch']
AUTHOR = ('A U Thor', 'author@example.org')
DATE0 = 1767225600

MAINTAINERS = '''\
BLOCK LAYER
M:	Block Maintainer <block@example.org>
R:	Block Reviewer <block-review@example.org>
L:	linux-block@example.org
S:	Maintained
F:	block/

ZONEFS FILESYSTEM
M:	Zone Maintainer <zone@example.org>
L:	linux-fsdevel@example.org
S:	Maintained
F:	fs/zonefs/

THE REST
L:	linux-kernel@example.org
S:	Buried alive in reporters
F:	block/
F:	fs/
'''

C_FILE = '// SPDX-License-Identifier: GPL-2.0\n\nint {name}(int x)\n{{\n\treturn x;\n}}\n'


# -- an SMTP server -------------------------------------------------------------

class Inbox:
	"""An aiosmtpd handler that keeps every message it accepts."""

	def __init__(self) -> None:
		self.mails: List[Tuple[List[str], email.message.EmailMessage]] = []
		self.refuse: Dict[str, int] = {}   # address: accept it this often first
		self.accepted: Dict[str, int] = {}
		self.data_reply = '250 OK'          # the answer to the end of DATA
		self.fail_data: Dict[int, str] = {}  # the n-th DATA (from 1): this answer
		self.datas = 0
		self.logins: List[str] = []

	async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
		n = self.accepted.get(address, 0)
		if address in self.refuse and n >= self.refuse[address]:
			return '550 5.2.2 mailbox full'
		self.accepted[address] = n + 1
		envelope.rcpt_tos.append(address)
		return '250 OK'

	async def handle_DATA(self, server, session, envelope):
		self.datas += 1
		answer = self.fail_data.get(self.datas, self.data_reply)
		if answer.startswith('250'):
			msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
			self.mails.append((list(envelope.rcpt_tos), msg))
		return answer

	def authenticate(self, server, session, envelope, mechanism, auth) -> AuthResult:
		self.logins.append(f'{auth.login.decode()}:{auth.password.decode()}')
		ok = (auth.login, auth.password) == (b'pinconv', b'secret')
		return AuthResult(success=ok, handled=ok)

	def ids(self) -> List[str]:
		return [m['Message-Id'] for _, m in self.mails]


def free_port() -> int:
	with socket.socket() as s:
		s.bind(('127.0.0.1', 0))
		return s.getsockname()[1]


@contextmanager
def serve(inbox: Inbox, **kw) -> Iterator[str]:
	c = Controller(inbox, hostname='127.0.0.1', port=free_port(), **kw)
	c.start()
	try:
		yield f'127.0.0.1:{c.port}'
	finally:
		c.stop()


@pytest.fixture
def smtpd() -> Iterator[Tuple[Inbox, str]]:
	inbox = Inbox()
	with serve(inbox) as server:
		yield inbox, server


# -- a small kernel and a series in it ----------------------------------------------

def run_git(args: List[str], cwd: Path, env: Optional[Dict[str, str]] = None,
	    input: Optional[str] = None) -> str:
	p = subprocess.run(['git', *args], cwd=cwd, env=env, text=True, input=input,
			   capture_output=True)
	assert p.returncode == 0, f'git {" ".join(args)}: {p.stderr}'
	return p.stdout.strip()


def git_env(n: int) -> Dict[str, str]:
	date = f'@{DATE0 + 60 * n} +0000'
	return dict(os.environ, GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1],
		    GIT_COMMITTER_NAME=AUTHOR[0], GIT_COMMITTER_EMAIL=AUTHOR[1],
		    GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)


class Kernel:
	"""A KDIR, the toolkit's workspace of it, and its series."""

	def __init__(self, tmp: Path) -> None:
		self.kdir = tmp / 'linux'
		self.work = tmp / 'work'
		self.env = {'PINCONV_WORK': str(self.work), 'PINCONV_MAIL': '',
			    'PINCONV_OUT': str(tmp / 'out'),
			    'GIT_CONFIG_GLOBAL': str(tmp / 'gitconfig'), 'GIT_CONFIG_NOSYSTEM': '1'}
		(tmp / 'gitconfig').write_text('')
		self.n = 0
		k = self.kdir
		for d in ('Documentation', 'arch', 'include', 'drivers', 'init', 'ipc',
			  'kernel', 'lib', 'scripts', 'block', 'fs/zonefs'):
			(k / d).mkdir(parents=True, exist_ok=True)
			(k / d / '.keep').write_text('')
		for f in ('COPYING', 'CREDITS', 'Kbuild', 'README'):
			(k / f).write_text(f'{f}\n')
		(k / 'Makefile').write_text('VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 7\n')
		(k / 'MAINTAINERS').write_text(MAINTAINERS)
		# What makes it a tree of the 'get' generation (features.py).
		(k / 'include' / 'linux').mkdir()
		(k / 'include' / 'linux' / 'uio.h').write_text(FAKE_UIO_GET)
		(k / 'include' / 'linux' / 'mm.h').write_text(FAKE_MM)
		for s in SCRIPTS:
			if (WORKSPACE / 'scripts' / s).is_file():
				shutil.copy(WORKSPACE / 'scripts' / s, k / 'scripts' / s)
		(k / 'block' / 'fops.c').write_text(C_FILE.format(name='fops'))
		(k / 'fs' / 'zonefs' / 'file.c').write_text(C_FILE.format(name='zfile'))
		run_git(['init', '-q', '-b', 'master'], k)
		run_git(['add', '-A'], k)
		run_git(['commit', '-q', '-m', 'Linux 6.1.7'], k, env=git_env(0))
		p = self.cli('tree')
		assert p.returncode == 0, p.stderr
		self.clone = next(self.work.glob('kdir-linux-*'))
		self.base = run_git(['rev-parse', 'pinconv-base'], self.clone)
		self.patches = self.work / 'patches' / self.clone.name
		self.state_file = self.work / 'mail' / self.clone.name / 'state.json'

	def cli(self, *args: str) -> subprocess.CompletedProcess:
		return pinconv(args[0], '--kver', '6.1', '--kdir', str(self.kdir), *args[1:],
			       env=self.env)

	def commit(self, path: str, text: str, subject: str) -> None:
		self.n += 1
		f = self.clone / path
		f.parent.mkdir(parents=True, exist_ok=True)
		f.write_text(text)
		run_git(['add', path], self.clone)
		run_git(['commit', '-q', '-F', '-'], self.clone, env=git_env(self.n),
			input=f'{subject}\n\nChange {path} for the test.\n\n'
			      f'Signed-off-by: {AUTHOR[0]} <{AUTHOR[1]}>\n')

	def export(self, edit_cover: bool = True) -> List[Path]:
		"""What make spatch does: format-patch, then fill in the cover."""
		if self.patches.exists():
			shutil.rmtree(self.patches)
		run_git(['format-patch', '-q', '--zero-commit', '--no-signature',
			 '--cover-letter', f'--base={self.base}', '-o', str(self.patches),
			 f'{self.base}..pinconv'], self.clone, env=git_env(self.n + 1))
		cover = self.patches / '0000-cover-letter.patch'
		if edit_cover:
			text = cover.read_text().replace('*** SUBJECT HERE ***', 'test series')
			cover.write_text(text.replace('*** BLURB HERE ***', 'A series for tests.'))
		return sorted(self.patches.glob('*.patch'))

	def state(self) -> Dict:
		return json.loads(self.state_file.read_text())


@pytest.fixture
def kernel(tmp_path: Path) -> Kernel:
	"""Three patches: block/, fs/zonefs/ and fs/zonefs/ again."""
	if not (WORKSPACE / 'scripts' / 'get_maintainer.pl').is_file():
		pytest.skip(f'no {WORKSPACE} (make tree) to take get_maintainer.pl from')
	k = Kernel(tmp_path)
	k.commit('block/fops.c', C_FILE.format(name='fops').replace('x;', 'x + 1;'),
		 'block: pin user pages in fops')
	k.commit('fs/zonefs/file.c', C_FILE.format(name='zfile').replace('x;', 'x + 2;'),
		 'zonefs: pin user pages in file')
	k.commit('fs/zonefs/super.c', C_FILE.format(name='zsuper'),
		 'zonefs: add super')
	k.export()
	return k


# -- checking what arrived ---------------------------------------------------------------

def addrs(msg: email.message.EmailMessage, name: str) -> Set[str]:
	h = msg[name]
	return {a.addr_spec.lower() for a in h.addresses} if h else set()


def get_maintainer(tree: Path, patch: Path, roles: List[str]) -> Set[str]:
	p = subprocess.run(['perl', 'scripts/get_maintainer.pl', '--nogit',
			    '--nogit-fallback', '--norolestats', *roles, str(patch)],
			   cwd=tree, text=True, capture_output=True, check=True)
	return {email.utils.parseaddr(l)[1].lower() for l in p.stdout.splitlines() if '@' in l}


def check_arrived(inbox: Inbox, tree: Path, patches: List[Path], version: str = '') -> None:
	"""Each message once, to the people get_maintainer.pl names, threaded."""
	n = len(patches) - 1
	assert len(inbox.mails) == n + 1, [m['Subject'] for _, m in inbox.mails]
	assert len(set(inbox.ids())) == n + 1
	by_num = {}
	for rcpt, m in inbox.mails:
		s = re.match(rf'\[PATCH{version} (\d+)/{n}\] ', m['Subject'])
		assert s, m['Subject']
		by_num[int(s.group(1))] = (rcpt, m)
	assert sorted(by_num) == list(range(n + 1))
	cover_id = by_num[0][1]['Message-Id']
	all_to: Set[str] = set()
	all_cc: Set[str] = set()
	for i, p in enumerate(patches[1:], 1):
		rcpt, m = by_num[i]
		to = get_maintainer(tree, p, ['--nol', '--nor'])
		cc = get_maintainer(tree, p, ['--nom']) - to
		# A file nobody maintains (drivers/virt/fsl_hypervisor.c): its
		# lists are the To: of its message (mail.plan()).
		mto, mcc = (to, cc) if to else (cc, set())
		assert addrs(m, 'To') == mto, p.name
		assert addrs(m, 'Cc') == mcc, p.name
		assert {r.lower() for r in rcpt} == to | cc, p.name
		assert m['In-Reply-To'] == cover_id and m['References'] == cover_id
		all_to |= to
		all_cc |= cc
	rcpt, cover = by_num[0]
	assert addrs(cover, 'To') == all_to
	assert addrs(cover, 'Cc') == all_cc - all_to
	assert {r.lower() for r in rcpt} == all_to | all_cc
	assert cover['In-Reply-To'] is None
	assert re.search(r'^base-commit: [0-9a-f]{40}$', body(cover), re.M)


def received(inbox: Inbox) -> Dict[str, List[str]]:
	"""Message-Id: the envelope recipients of all its copies that arrived."""
	out: Dict[str, List[str]] = {}
	for rcpt, m in inbox.mails:
		out.setdefault(m['Message-Id'], []).extend(r.lower() for r in rcpt)
	return out


def check_arrived_once(inbox: Inbox, tree: Path, patches: List[Path]) -> None:
	"""check_arrived over several runs: each message reached each of its
	recipients exactly once, whatever copy took it there."""
	got = received(inbox)
	assert all(len(r) == len(set(r)) for r in got.values()), got
	merged = Inbox()
	for _, m in inbox.mails:
		if m['Message-Id'] not in merged.ids():
			merged.mails.append((got[m['Message-Id']], m))
	check_arrived(merged, tree, patches)


def git_am_tree(inbox: Inbox, repo: Path, tmp: Path) -> str:
	"""git am the patch mails, in order, onto a fresh worktree of repo at
	pinconv-base; the tree it ends on."""
	mails = sorted((m for _, m in inbox.mails if not re.search(r' 0+/\d+\]', m['Subject'])),
		       key=lambda m: int(re.search(r' (\d+)/\d+\]', m['Subject']).group(1)))
	files = []
	for i, m in enumerate(mails, 1):
		f = tmp / f'mail-{i:04d}.eml'
		f.write_bytes(m.as_bytes())
		files.append(str(f))
	wt = tmp / 'am-worktree'
	run_git(['worktree', 'add', '-q', '--no-checkout', '--detach', str(wt),
		 'pinconv-base'], repo)
	try:
		# Only the files the series touches are checked out: a whole 6.1
		# checkout takes 20 s. The index has every file, so the tree is whole.
		run_git(['read-tree', 'HEAD'], wt)
		touched = set()
		for _, m in inbox.mails:
			touched |= set(re.findall(r'^diff --git a/(\S+) b/', body(m), re.M))
		exist = run_git(['ls-tree', '-r', '--name-only', 'HEAD', '--', *touched], wt)
		if exist:
			run_git(['checkout', 'HEAD', '--', *exist.split('\n')], wt)
		run_git(['am', '-q', *files], wt, env=git_env(99))
		return run_git(['rev-parse', 'HEAD^{tree}'], wt)
	finally:
		run_git(['worktree', 'remove', '--force', str(wt)], repo)


def body(msg: email.message.EmailMessage) -> str:
	return msg.get_content().replace('\r\n', '\n')


def error_lines(p: subprocess.CompletedProcess) -> List[str]:
	return [l for l in (p.stdout + p.stderr).splitlines() if l.startswith('pinconv: error:')]


def delivered(k: Kernel) -> List[List[str]]:
	return [m['delivered'] for m in k.state()['versions'][-1]['messages']]


# -- the tests ---------------------------------------------------------------------------------

def test_dry_run_sends_nothing(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	inbox, server = smtpd
	# SEND from the environment must not send: only SEND=1 on make's command line.
	env = dict(kernel.env, SEND='1', FORCE='1', CC='gcc')
	p = subprocess.run(['make', '-s', '-C', str(TOP), 'email', f'KDIR={kernel.kdir}',
			    f'SMTP={server}'], env=dict(os.environ, **env), text=True,
			   capture_output=True)
	assert p.returncode == 0, p.stdout + p.stderr
	assert inbox.mails == []
	assert 'dry run, nothing sent' in p.stdout
	box = kernel.work / 'mail' / kernel.clone.name / 'outbox'
	assert str(box) in p.stdout
	emls = sorted(box.glob('*.eml'))
	assert [e.stem for e in emls] == [f.stem for f in sorted(kernel.patches.glob('*.patch'))]
	cover = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
	assert cover['Subject'] == '[PATCH 0/3] test series'
	assert 'block@example.org' in addrs(cover, 'To') and 'gcc' not in str(cover['Cc'])
	assert '  0001 [PATCH 1/3] block: pin user pages in fops' in p.stdout
	assert not kernel.state_file.exists()


def test_send_each_message_once(kernel: Kernel, smtpd: Tuple[Inbox, str],
				tmp_path: Path) -> None:
	inbox, server = smtpd
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	patches = sorted(kernel.patches.glob('*.patch'))
	check_arrived(inbox, kernel.clone, patches)
	assert git_am_tree(inbox, kernel.clone, tmp_path) == \
		run_git(['rev-parse', 'pinconv^{tree}'], kernel.clone)
	# The body's Cc:/Signed-off-by: add nobody; the reviewer is in Cc.
	assert all('author@example.org' not in r for r, _ in inbox.mails)
	assert 'block-review@example.org' in addrs(inbox.mails[1][1], 'Cc')
	v = kernel.state()['versions']
	assert [x['version'] for x in v] == [1]
	assert all(m['delivered'] for m in v[0]['messages'])
	assert [m['message_id'] for m in v[0]['messages']] == inbox.ids()

	# Sending the same version again sends nothing.
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	assert 'nothing to send: v1 was delivered' in p.stdout
	assert len(inbox.mails) == 4


def test_new_recipient_gets_only_what_it_lacks(kernel: Kernel,
						smtpd: Tuple[Inbox, str]) -> None:
	inbox, server = smtpd
	assert kernel.cli('email', '--send', '--smtp', server).returncode == 0
	p = kernel.cli('email', '--send', '--smtp', server, '--cc', 'Late <late@example.org>')
	assert p.returncode == 0, p.stdout + p.stderr
	assert len(inbox.mails) == 8
	assert all(r == ['late@example.org'] for r, _ in inbox.mails[4:])
	assert inbox.ids()[4:] == inbox.ids()[:4]


def test_unreachable_server_then_retry(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	inbox, server = smtpd
	p = kernel.cli('email', '--send', '--smtp', f'127.0.0.1:{free_port()}')
	assert p.returncode == 1
	errs = error_lines(p)
	assert len(errs) == 1, p.stdout + p.stderr
	assert 'cannot connect to the SMTP server 127.0.0.1:' in errs[0]
	assert '0 of 4 messages delivered' in errs[0]
	assert delivered(kernel) == [[], [], [], []]
	assert 'cannot connect' in kernel.state()['versions'][0]['messages'][0]['error']
	assert 'cannot connect' in kernel.state()['versions'][0]['messages'][0]['log'][-1]['result']
	assert inbox.mails == []

	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	check_arrived(inbox, kernel.clone, sorted(kernel.patches.glob('*.patch')))
	assert [v['version'] for v in kernel.state()['versions']] == [1]


def test_refused_recipient_then_retry(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	inbox, server = smtpd
	patches = sorted(kernel.patches.glob('*.patch'))
	# zone@ takes the cover letter, then its mailbox is full for 2/3: 2/3
	# reaches its lists, not zone@.
	inbox.refuse['zone@example.org'] = 1
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 1
	errs = error_lines(p)
	assert len(errs) == 1, p.stdout + p.stderr
	assert 'refused recipient zone@example.org: 550 5.2.2 mailbox full' in errs[0]
	assert '0002-' in errs[0] and '2 of 4 messages delivered' in errs[0]
	two = get_maintainer(kernel.clone, patches[2], [])
	assert 'zone@example.org' in two and len(two) > 1
	d = delivered(kernel)
	assert [bool(x) for x in d] == [True, True, True, False]
	assert set(d[2]) == two - {'zone@example.org'}
	r = kernel.state()['versions'][0]['messages'][2]
	assert '550 5.2.2 mailbox full' in r['error']
	assert r['log'][-1]['refused'] == {'zone@example.org': '550 5.2.2 mailbox full'}
	assert len(inbox.mails) == 3
	assert set(inbox.mails[2][0]) == two - {'zone@example.org'}

	inbox.refuse.clear()
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	# Only what the server did not take: 2/3 to zone@, and 3/3.
	assert len(inbox.mails) == 5 and inbox.mails[3][0] == ['zone@example.org']
	check_arrived_once(inbox, kernel.clone, patches)
	assert 'error' not in kernel.state()['versions'][0]['messages'][2]


def nothing_delivered(k: Kernel) -> bool:
	return not k.state_file.exists() or \
		not any(m['delivered'] for v in k.state()['versions'] for m in v['messages'])


def test_unqualified_to_is_refused_before_sending(kernel: Kernel,
						   smtpd: Tuple[Inbox, str]) -> None:
	"""Issue 13: git send-email dropped x@localhost (no dot in its domain),
	exited 0, and every message was recorded as delivered."""
	inbox, server = smtpd
	p = subprocess.run(['make', '-s', '-C', str(TOP), 'email', f'KDIR={kernel.kdir}',
			    'SEND=1', f'SMTP={server}', 'TO=x@localhost'],
			   env=dict(os.environ, **kernel.env), text=True, capture_output=True)
	assert p.returncode != 0
	errs = error_lines(p)
	assert len(errs) == 1, p.stdout + p.stderr
	assert errs[0].startswith("pinconv: error: x@localhost is not a usable email "
				  "address (from TO='x@localhost'): its domain localhost is "
				  "not fully qualified"), errs[0]
	assert 'delivered' not in p.stdout
	assert inbox.mails == [] and inbox.accepted == {}
	assert nothing_delivered(kernel)
	# The dry run says so too, and so does CC=.
	p = kernel.cli('email', '--cc', 'Some One <one@localhost>, two@example.org')
	assert p.returncode == 1
	assert error_lines(p) == ["pinconv: error: one@localhost is not a usable email address "
				  "(from CC='Some One <one@localhost>, two@example.org'): its "
				  "domain localhost is not fully qualified (no dot, as in "
				  "example.org)"]
	# An address literal is an address.
	p = kernel.cli('email', '--send', '--smtp', server, '--to', 'x@[127.0.0.1]')
	assert p.returncode == 0, p.stdout + p.stderr
	assert all('x@[127.0.0.1]' in r for r, _ in inbox.mails) and len(inbox.mails) == 4


def test_unusable_maintainer_address(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	"""An address get_maintainer.pl gives is checked before anything goes,
	FORCE=1 or not."""
	inbox, server = smtpd
	m = kernel.clone / 'MAINTAINERS'
	m.write_text(m.read_text().replace('M:\tZone Maintainer <zone@example.org>\n',
					   'M:\tZone Maintainer <zone@example.org>\n'
					   'M:\tZone Box <zone@box>\n'))
	why = ('zone@box is not a usable email address (from get_maintainer.pl on '
	       '0002-zonefs-pin-user-pages-in-file.patch): its domain box is not '
	       'fully qualified')
	p = kernel.cli('email')
	assert p.returncode == 0, p.stdout + p.stderr
	assert f'pinconv: would refuse to send: {why}' in p.stdout
	for force in ([], ['--force']):
		p = kernel.cli('email', '--send', '--smtp', server, *force)
		assert p.returncode == 1
		errs = error_lines(p)
		assert len(errs) == 1, p.stdout + p.stderr
		assert errs[0].startswith(f'pinconv: error: {why}'), errs[0]
		assert inbox.mails == [] and inbox.accepted == {}
		assert nothing_delivered(kernel)


def test_failed_data_then_retry(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	"""The server takes the RCPTs of 2/3 but not its DATA: 2/3 has reached
	nobody, and a retry sends 2/3 and 3/3 only."""
	inbox, server = smtpd
	patches = sorted(kernel.patches.glob('*.patch'))
	inbox.fail_data[3] = '451 4.3.0 try again later'
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 1
	errs = error_lines(p)
	assert len(errs) == 1, p.stdout + p.stderr
	assert ('0002-zonefs-pin-user-pages-in-file.patch was not sent: the SMTP server did '
		'not take the message: 451 4.3.0 try again later; 2 of 4 messages') in errs[0]
	d = delivered(kernel)
	assert [bool(x) for x in d] == [True, True, False, False]
	assert set(d[1]) == get_maintainer(kernel.clone, patches[1], [])
	r = kernel.state()['versions'][0]['messages'][2]
	assert '451 4.3.0 try again later' in r['error'] and r['log'][-1]['result'] == r['error']
	assert len(inbox.mails) == 2

	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	assert inbox.datas == 5 and len(inbox.mails) == 4
	check_arrived_once(inbox, kernel.clone, patches)
	assert all(m['delivered'] and 'error' not in m
		   for m in kernel.state()['versions'][0]['messages'])


def test_data_refused_is_not_delivered(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	"""Only the server's 250 after DATA delivers: RCPTs taken and a clean
	SMTP session are not enough."""
	inbox, server = smtpd
	inbox.data_reply = '554 5.6.0 message content rejected'
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 1
	errs = error_lines(p)
	assert len(errs) == 1, p.stdout + p.stderr
	assert '0000-cover-letter.patch was not sent' in errs[0]
	assert '554 5.6.0 message content rejected; 0 of 4 messages delivered' in errs[0]
	assert inbox.accepted and inbox.mails == []
	assert nothing_delivered(kernel)
	assert 'delivered' not in p.stdout

	inbox.data_reply = '250 OK'
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	check_arrived(inbox, kernel.clone, sorted(kernel.patches.glob('*.patch')))


def self_signed(tmp: Path) -> Tuple[Path, Path]:
	cert, key = tmp / 'cert.pem', tmp / 'key.pem'
	subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
			'-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
			'-keyout', str(key), '-out', str(cert)], check=True, capture_output=True)
	return cert, key


@pytest.mark.filterwarnings('ignore:Requiring AUTH while not requiring TLS')
@pytest.mark.parametrize('encryption', ['', 'tls', 'ssl'])
def test_git_config_server_and_login(kernel: Kernel, tmp_path: Path,
				     encryption: str) -> None:
	"""No SMTP=: git config sendemail.smtpServer, smtpServerPort,
	smtpEncryption, smtpUser and smtpPass, as git send-email took them."""
	inbox = Inbox()
	kw: Dict = dict(auth_required=True, auth_require_tls=False,
			authenticator=inbox.authenticate)
	if encryption:
		cert, key = self_signed(tmp_path)
		ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
		ctx.load_cert_chain(cert, key)
		kw['tls_context' if encryption == 'tls' else 'ssl_context'] = ctx
		kw['require_starttls'] = encryption == 'tls'
		kernel.env['SSL_CERT_FILE'] = str(cert)
	with serve(inbox, **kw) as server:
		host, port = server.split(':')
		config = (f'[sendemail]\n\tsmtpServer = {host}\n\tsmtpServerPort = {port}\n'
			  f'\tsmtpEncryption = {encryption or "none"}\n\tsmtpUser = pinconv\n')
		(tmp_path / 'gitconfig').write_text(config + '\tsmtpPass = wrong\n')
		p = kernel.cli('email', '--send')
		assert p.returncode == 1
		errs = error_lines(p)
		assert len(errs) == 1, p.stdout + p.stderr
		assert f'the SMTP server {server} refused the login of pinconv: 535' in errs[0]
		assert inbox.mails == [] and nothing_delivered(kernel)

		(tmp_path / 'gitconfig').write_text(config + '\tsmtpPass = secret\n')
		p = kernel.cli('email', '--send')
		assert p.returncode == 0, p.stdout + p.stderr
	check_arrived(inbox, kernel.clone, sorted(kernel.patches.glob('*.patch')))
	# smtplib tries each mechanism the server offers with the wrong password.
	assert set(inbox.logins[:-4]) == {'pinconv:wrong'}
	assert inbox.logins[-4:] == ['pinconv:secret'] * 4


def test_8bit_crlf_and_long_lines_arrive_intact(kernel: Kernel, smtpd: Tuple[Inbox, str],
						tmp_path: Path) -> None:
	"""What git send-email did to a message, done here: UTF-8 declared,
	non-ASCII names encoded, CRs and lines over 998 octets quoted-printable,
	another author's From: in the body."""
	inbox, server = smtpd
	m = kernel.clone / 'MAINTAINERS'
	m.write_text(m.read_text().replace('Block Maintainer', 'Blöck Maintainer'))
	kernel.commit('block/data.txt', 'Grüße\r\n' + 'x' * 2000 + '\n', 'block: add data')
	other = ('Other Author', 'other@example.org')
	run_git(['commit', '-q', '--amend', '--no-edit', f'--author={other[0]} <{other[1]}>'],
		kernel.clone, env=git_env(kernel.n))
	patches = kernel.export()
	assert 'Content-Type' not in patches[-1].read_text()
	p = kernel.cli('email', '--send', '--smtp', server, '--force')
	assert p.returncode == 0, p.stdout + p.stderr
	check_arrived(inbox, kernel.clone, patches)
	assert git_am_tree(inbox, kernel.clone, tmp_path) == \
		run_git(['rev-parse', 'pinconv^{tree}'], kernel.clone)
	last = inbox.mails[-1][1]
	assert last['Content-Transfer-Encoding'] == 'quoted-printable'
	assert last.get_content_charset() == 'utf-8'
	assert addrs(last, 'From') == {AUTHOR[1]}
	assert body(last).startswith(f'From: {other[0]} <{other[1]}>\n\n')
	assert 'Blöck Maintainer' in str(last['To']) and not last['To'].defects
	eml = kernel.work / 'mail' / kernel.clone.name / 'outbox' / (patches[-1].stem + '.eml')
	head = eml.read_bytes().split(b'\n\n')[0]
	assert head.isascii() and b'To: =?utf-8?q?Bl=C3=B6ck_Maintainer?= <block@example.org>' in head


def resend_as_v2(kernel: Kernel, inbox: Inbox, server: str, v1: List[str]) -> None:
	"""The reworked series goes out as v2: each message once, to the right
	people, threaded, none with a v1 Message-Id."""
	patches = kernel.export()
	inbox.mails.clear()
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	check_arrived(inbox, kernel.clone, patches, ' v2')
	assert not set(inbox.ids()) & set(v1)


def test_changed_series_is_v2(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	inbox, server = smtpd
	assert kernel.cli('email', '--send', '--smtp', server).returncode == 0
	v1 = inbox.ids()
	# Rework: patch 2 changes, patch 3 goes, a new patch comes.
	run_git(['reset', '-q', '--hard', 'HEAD~2'], kernel.clone)
	kernel.commit('fs/zonefs/file.c', C_FILE.format(name='zfile').replace('x;', 'x + 3;'),
		      'zonefs: pin user pages in file')
	kernel.commit('block/bdev.c', C_FILE.format(name='bdev'), 'block: add bdev')
	resend_as_v2(kernel, inbox, server, v1)
	cover = [m for _, m in inbox.mails if ' 0/3]' in m['Subject']][0]
	cover = body(cover)
	changes = cover[cover.index('Changes since v1:'):]
	assert '- changed (code): zonefs: pin user pages in file' in changes
	assert '- added: block: add bdev' in changes
	assert '- removed: zonefs: add super' in changes
	assert '- unchanged: 1 patch' in changes
	assert f'- v1: {v1[0]}' in changes
	assert 'Range-diff against v1:' in changes and '2:  ' in changes
	assert changes.index('Range-diff') < changes.index('A U Thor (3):')
	assert [v['version'] for v in kernel.state()['versions']] == [1, 2]


def test_b4_clone_survives_a_workspace_made_again(kernel: Kernel,
						  smtpd: Tuple[Inbox, str]) -> None:
	"""b4's clone owns its objects: the workspace it was cloned from made
	again (KDIR re-created, workspace.py) does not break it; the series
	made anew on the new workspace mails as v2 of the same thread."""
	inbox, server = smtpd
	assert kernel.cli('email', '--send', '--smtp', server).returncode == 0
	v1 = inbox.ids()
	shutil.rmtree(kernel.clone)
	assert kernel.cli('tree').returncode == 0
	kernel.n = 0
	kernel.commit('block/fops.c', C_FILE.format(name='fops').replace('x;', 'x + 1;'),
		      'block: pin user pages in fops')
	kernel.commit('fs/zonefs/file.c', C_FILE.format(name='zfile').replace('x;', 'x + 5;'),
		      'zonefs: pin user pages in file')
	resend_as_v2(kernel, inbox, server, v1)


def break_checkpatch(k: Kernel) -> None:
	k.commit('block/fops.c', C_FILE.format(name='fops') + 'int y; \n', 'block: trailing')
	k.export()


def unedited_cover(k: Kernel) -> None:
	k.export(edit_cover=False)


def orphan_patch(k: Kernel) -> None:
	k.commit('lib/orphan.c', C_FILE.format(name='orphan'), 'lib: add orphan')
	k.export()


def branch_moved_on(k: Kernel) -> None:
	k.commit('block/fops.c', C_FILE.format(name='fops2'), 'block: newer than the series')


def other_base(k: Kernel) -> None:
	cover = k.patches / '0000-cover-letter.patch'
	cover.write_text(re.sub(r'base-commit: \w+', 'base-commit: ' + 'a' * 40,
				cover.read_text()))


@pytest.mark.parametrize('spoil,why', [
	(break_checkpatch, 'checkpatch.pl --strict: 1 ERROR(s) in 1 patch(es), first 0004-'),
	(unedited_cover, 'the cover letter is unedited (*** SUBJECT HERE *** and '
			 '*** BLURB HERE ***'),
	(orphan_patch, '1 patch(es) with no recipients, first 0004-lib-add-orphan.patch'),
	(branch_moved_on, 'the series does not reflect the tree: branch pinconv'),
	(other_base, 'the series is older than the tree: its base-commit aaaaaaaaaaaa'),
])
def test_checks_refuse_unless_forced(kernel: Kernel, smtpd: Tuple[Inbox, str],
				     spoil, why: str) -> None:
	inbox, server = smtpd
	spoil(kernel)
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 1
	errs = error_lines(p)
	assert len(errs) == 1, p.stdout + p.stderr
	assert errs[0].startswith(f'pinconv: error: refusing to send: {why}'), errs[0]
	assert errs[0].endswith('(FORCE=1 sends anyway)')
	assert inbox.mails == []
	assert not kernel.state_file.exists()
	if spoil is break_checkpatch:
		p = kernel.cli('email')
		assert p.returncode == 0 and f'would refuse to send: {why}' in p.stdout
	p = kernel.cli('email', '--send', '--smtp', server, '--force')
	assert p.returncode == 0, p.stdout + p.stderr
	assert len(inbox.mails) == len(list(kernel.patches.glob('*.patch')))


def test_half_written_series_is_refused(kernel: Kernel) -> None:
	"""make spatch rewriting the series while make email reads it."""
	sorted(kernel.patches.glob('*.patch'))[-1].unlink()
	p = kernel.cli('email')
	assert p.returncode == 1
	assert 'is not one series' in error_lines(p)[0]


def test_resumed_and_last_sent() -> None:
	"""Which record a run resumes (its kept messages go out again) and
	which version the changes are counted from; b4 counts the versions."""
	def v(n: int, key: str, sent: bool) -> Dict:
		return {'version': n, 'key': key, 'messages': [{'delivered': ['a@b'] if sent else []}]}
	assert mail.resumed({'versions': []}, 'k1') is None
	one = v(1, 'k1', True)
	assert mail.resumed({'versions': [one]}, 'k1') is one
	assert mail.resumed({'versions': [one]}, 'k2') is None
	assert mail.last_sent({'versions': [one]}) is one
	two = v(2, 'k2', False)
	assert mail.resumed({'versions': [one, two]}, 'k2') is two
	assert mail.last_sent({'versions': [one, two]}) is one


def test_unsent_version_is_not_counted(kernel: Kernel, smtpd: Tuple[Inbox, str]) -> None:
	"""What pick_version asserted, now through b4: v2 reached nobody (the
	server was down), the series changed again: it goes out as v2, with
	the changes and the range-diff against v1."""
	inbox, server = smtpd
	assert kernel.cli('email', '--send', '--smtp', server).returncode == 0
	v1 = inbox.ids()
	kernel.commit('block/bdev.c', C_FILE.format(name='bdev'), 'block: add bdev')
	kernel.export()
	p = kernel.cli('email', '--send', '--smtp', f'127.0.0.1:{free_port()}')
	assert p.returncode == 1 and 'cannot connect' in error_lines(p)[0]
	assert [v['version'] for v in kernel.state()['versions']] == [1, 2]
	kernel.commit('block/bdev2.c', C_FILE.format(name='bdev2'), 'block: add bdev2')
	patches = kernel.export()
	inbox.mails.clear()
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0, p.stdout + p.stderr
	check_arrived(inbox, kernel.clone, patches, ' v2')
	assert [v['version'] for v in kernel.state()['versions']] == [1, 2]
	cover = body([m for _, m in inbox.mails if ' 0/5]' in m['Subject']][0])
	assert f'- v1: {v1[0]}' in cover and 'Range-diff against v1:' in cover
	assert '- added: block: add bdev2' in cover
	assert re.search(r'^change-id: ', cover, re.M)
	# The same series again: v2 was delivered, nothing to send.
	p = kernel.cli('email', '--send', '--smtp', server)
	assert p.returncode == 0 and 'nothing to send: v2 was delivered' in p.stdout


def test_restore_crs() -> None:
	"""b4 0.12 writes a patch's CRLF lines without their CR: they are put
	back from the patch as git shows it, around b4's in-body From: and
	signature."""
	from pinconv import b4prep
	source = b'Subject.\n---\n+Gr\xc3\xbc\xc3\x9fe\r\n+x\n'
	b4 = b'From: Other <o@example.org>\n\n' + source.replace(b'\r', b'') + b'-- \n2.39.5\n'
	assert b4prep.restore_crs(b4, source) == \
		b'From: Other <o@example.org>\n\n' + source + b'-- \n2.39.5\n'
	assert b4prep.restore_crs(b'x\n', b'x\n') == b'x\n'
	with pytest.raises(mail.Error):
		b4prep.restore_crs(b'other\n', source)


def test_send_errors_are_one_line() -> None:
	server = mail.Server('h', 2, '', 'me', '', 'x')
	assert mail.smtp_error(ConnectionRefusedError(111, 'Connection refused'), server,
			       False) == 'cannot connect to the SMTP server h:2: Connection refused'
	assert mail.smtp_error(TimeoutError(), server, True) == \
		'the SMTP server h:2 did not answer within 60 s'
	assert mail.smtp_error(smtplib.SMTPDataError(554, b'5.6.0 no\nthanks'), server, True) == \
		'the SMTP server did not take the message: 554 5.6.0 no thanks'
	refused = {'a@b.org': (550, b'5.1.1 unknown'), 'c@d.org': (550, b'5.1.1 unknown')}
	assert mail.smtp_error(smtplib.SMTPRecipientsRefused(refused), server, True) == \
		'the SMTP server refused 2 recipients, first a@b.org: 550 5.1.1 unknown'
	assert mail.smtp_error(smtplib.SMTPAuthenticationError(535, b'5.7.8 bad'), server,
			       False) == 'the SMTP server h:2 refused the login of me: 535 5.7.8 bad'


@pytest.mark.parametrize('addr', [
	'a@b.org', 'a.b+c_d@x-y.example.org', "o'neil@a1.b2.example", 'x@[127.0.0.1]',
	'x@[IPv6:::1]', 'a@' + 'b' * 63 + '.org'])
def test_usable_address(addr: str) -> None:
	assert mail.address_problem(addr) == ''


@pytest.mark.parametrize('addr,why', [
	('x@localhost', 'its domain localhost is not fully qualified'),
	('x@-a.org', "the label '-a'"),
	('x@a-.org', "the label 'a-'"),
	('x@a..org', "the label ''"),
	('x@a.org.', "the label ''"),
	('x@exa_mple.org', "the label 'exa_mple'"),
	('x@' + 'b' * 64 + '.org', 'the label'),
	('a b@c.org', 'a space or a control character'),
	('a@b.org\r', 'a space or a control character'),
	('.a@b.org', 'its local part .a'),
	('a..b@c.org', 'its local part a..b'),
	('"a"@c.org', 'its local part "a"'),
	('x' * 65 + '@a.org', 'longer than SMTP allows'),
	('a@' + '.'.join(['b' * 60] * 5) + '.org', 'longer than SMTP allows'),
	('x@[300.1.1.1]', 'not an IPv4 or [IPv6:...] address literal'),
	('x', 'not local@domain'),
	('@a.org', 'not local@domain'),
])
def test_unusable_address(addr: str, why: str) -> None:
	assert why in mail.address_problem(addr)


# -- end to end on the 6.1 workspace ------------------------------------------------------

@pytest.fixture(scope='module')
def real_series(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
	"""A copy of patches/6.1 if it is the workspace's branch, else a series
	made afresh (make spatch into a temporary PINCONV_OUT)."""
	tmp = tmp_path_factory.mktemp('real')
	env = {'PINCONV_OUT': str(tmp / 'out'), 'PINCONV_MAIL': str(tmp / 'mail'),
	       'PINCONV_AUTHOR': 'pinconv test <test@example.org>'}
	src = TOP / 'patches' / '6.1'
	if (src / '0000-cover-letter.patch').is_file():
		shutil.copytree(src, tmp / 'out' / 'patches' / '6.1')
		p = pinconv('email', '--kver', '6.1', env=env)
		assert p.returncode == 0, p.stdout + p.stderr
		if 'than the tree' not in p.stdout and 'does not reflect' not in p.stdout:
			return env
		shutil.rmtree(tmp / 'out')
	p = pinconv('spatch', '--kver', '6.1', env=env)
	assert p.returncode == 0, p.stdout[-2000:] + p.stderr
	return env


@pytest.mark.e2e
def test_real_series(real_series: Dict[str, str], smtpd: Tuple[Inbox, str],
		     tmp_path: Path) -> None:
	"""The 6.1 series mailed, then git am'd onto the workspace's baseline."""
	inbox, server = smtpd
	env = real_series
	p = pinconv('email', '--kver', '6.1', env=env)
	assert p.returncode == 0, p.stdout + p.stderr
	assert inbox.mails == []
	assert 'would refuse' not in p.stdout, p.stdout
	p = pinconv('email', '--kver', '6.1', '--send', '--smtp', server, env=env)
	assert p.returncode == 0, p.stdout + p.stderr
	patches = sorted((Path(env['PINCONV_OUT']) / 'patches' / '6.1').glob('*.patch'))
	check_arrived(inbox, WORKSPACE, patches)
	assert git_am_tree(inbox, WORKSPACE, tmp_path) == \
		run_git(['rev-parse', 'pinconv^{tree}'], WORKSPACE)
	# b4's cover letter has the generated one's text as it is.
	text = patches[0].read_text()
	text = text[text.index('\n\n') + 2:re.search(r'^\S[^\n]* \(\d+\):$', text, re.M).start()]
	cover = [m for _, m in inbox.mails if re.search(r' 0+/\d+\]', m['Subject'])][0]
	assert text.strip() in body(cover)
	assert re.search(r'^change-id: \S+$', body(cover), re.M)
	p = pinconv('email', '--kver', '6.1', '--send', '--smtp', server, env=env)
	assert p.returncode == 0 and len(inbox.mails) == len(patches)
