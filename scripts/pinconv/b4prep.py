# SPDX-License-Identifier: GPL-2.0
"""The series as a b4 prep branch, and b4's messages of it.

b4 works in a clone of the workspace of its own, work/mail/<kver>/b4/
(a clone that owns its objects, hard-linked from the workspace's, so a
workspace made again cannot break it; a sparse checkout with no files), on
the branch b4/pinconv-<label>: never the user's tree, never the branch
`pinconv` that make spatch regenerates. Its git config is its own
(GIT_CONFIG_GLOBAL=b4.gitconfig): the series' sender as user.name and
user.email, b4's default cover strategy (an empty commit before the
patches) and sendemail.smtpServer=/bin/false, so b4 itself can never send
mail: it only writes messages (b4 send -o); make email delivers them.

b4 counts the versions (its tracking revision), makes the change-id, the
Message-Ids and the threading, the cover letter from its template
(shortlog, diffstat, base-commit, change-id) and the range-diff against a
version sent before (b4 prep --compare-to).
"""

import email
import email.policy
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path
from typing import Dict, List, Optional

from pinconv import workspace
from pinconv.printer import Error
from pinconv.run import git, run
from pinconv.tree import Tree

BASE_BRANCH = 'mail-base'     # the series' base, b4's base-branch


@dataclass
class B4Message:
	num: int                 # 0: the cover letter
	subject: str             # decoded, with b4's [PATCH vN i/n]
	message_id: str
	data: bytes              # b4's message as it wrote it


class Prep:
	"""The b4 prep branch of one workspace, in its own clone."""

	def __init__(self, tr: Tree, sdir: Path, label: str, sender: str) -> None:
		self.tr = tr
		self.path = sdir / 'b4'
		self.config = sdir / 'b4.gitconfig'
		self.label = label
		name, addr = parseaddr(str(make_header(decode_header(sender))))
		self.sender = (name or addr, addr)

	# -- running git and b4 in the clone ----------------------------------------

	def env(self) -> Dict[str, str]:
		return {'GIT_CONFIG_GLOBAL': str(self.config), 'GIT_CONFIG_NOSYSTEM': '1',
			'GIT_DIR': str(self.path / '.git'), 'GIT_WORK_TREE': str(self.path),
			'EDITOR': 'false', 'GIT_EDITOR': 'false'}

	def git(self, args: List[str], input: Optional[str] = None,
		env: Optional[Dict[str, str]] = None) -> str:
		return git(args, cwd=self.path, env=dict(self.env(), **(env or {})), input=input)

	def b4(self, args: List[str], env: Optional[Dict[str, str]] = None,
	       log: bool = False) -> str:
		"""b4's output (log: its log lines too, which go to stderr)."""
		p = run(['b4', *args], cwd=self.path, env=dict(self.env(), **(env or {})), check=False)
		if p.returncode:
			out = (p.stderr + p.stdout).strip().splitlines()
			lines = [l for l in out if 'CRITICAL' in l or 'ERROR' in l] or \
				out[-1:] or ['?']     # a traceback's last line
			raise Error(f'b4 {" ".join(args[:2])} failed in {self.path}: '
				    f'{lines[0].strip()}')
		return p.stdout + p.stderr if log else p.stdout

	# -- the branch -------------------------------------------------------------

	def setup(self, base: str) -> None:
		"""The clone, its config and b4's branch, enrolled with b4 prep."""
		name, addr = self.sender
		self.config.write_text(
			f'[user]\n\tname = {name}\n\temail = {addr}\n'
			f'[b4]\n\tprep-cover-strategy = commit\n'
			f'[sendemail]\n\tsmtpServer = /bin/false\n')
		env = {'GIT_CONFIG_GLOBAL': str(self.config), 'GIT_CONFIG_NOSYSTEM': '1'}
		if workspace.ensure(self.tr.path, self.path, 'b4\'s clone of the workspace', base,
				    env=env, tags=False):
			self.git(['sparse-checkout', 'set', '--no-cone', '/.pinconv-no-files'])
		if not self.git(['branch', '--list', self.branch()]):
			self.git(['checkout', '-q', '-B', BASE_BRANCH, base])
			self.b4(['prep', '-n', f'pinconv-{self.label}'])
		elif self.git(['rev-parse', BASE_BRANCH]) != base:
			self.git(['branch', '-f', BASE_BRANCH, base])

	def branch(self) -> str:
		return 'b4/' + re.sub(r'\W+', '-', f'pinconv-{self.label}').strip('-').lower()

	def cover_commit(self) -> str:
		"""b4's cover letter commit: the first after the base."""
		ids = self.git(['rev-list', '--reverse', f'{BASE_BRANCH}..{self.branch()}']).split()
		if not ids:
			raise Error(f'{self.path}: branch {self.branch()} has no b4 cover letter commit')
		return ids[0]

	def set_series(self, base: str, commits: List[str]) -> None:
		"""The branch becomes base, b4's cover commit, commits replayed on it."""
		cover = self.cover_commit()
		if self.git(['rev-parse', f'{cover}^']) != base:
			msg = self.git(['log', '-1', '--format=%B', cover])
			cover = self.git(['commit-tree', f'{base}^{{tree}}', '-p', base, '-F', '-'],
					 input=msg + '\n')
		tip = cover
		for c in commits:
			who = self.git(['log', '-1', '--format=%an%x00%ae%x00%ad', '--date=raw', c])
			n, e, d = who.split('\0')
			ident = {'GIT_AUTHOR_NAME': n, 'GIT_AUTHOR_EMAIL': e, 'GIT_AUTHOR_DATE': d,
				 'GIT_COMMITTER_NAME': n, 'GIT_COMMITTER_EMAIL': e,
				 'GIT_COMMITTER_DATE': d}
			tip = self.git(['commit-tree', f'{c}^{{tree}}', '-p', tip, '-F', '-'],
				       input=self.git(['log', '-1', '--format=%B', c]) + '\n',
				       env=ident)
		self.git(['checkout', '-q', '-B', self.branch(), tip])

	def set_cover(self, text: str, to: List[str], cc: List[str]) -> None:
		"""b4 prep --edit-cover, the editor writing text and then the
		recipients as To: and Cc: trailers (b4 send takes them from there).
		They also keep text whole: b4 parses the cover letter's last
		paragraph as trailers, and would move any line of text that looks
		like one ('    2560: the rule ...')."""
		lines = [f'To: {a}' for a in to] + [f'Cc: {a}' for a in cc]
		with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
			f.write(text.strip() + '\n\n' + '\n'.join(lines) + '\n')
		try:
			self.b4(['prep', '--edit-cover'], env={'EDITOR': f'cp {f.name}'})
		finally:
			Path(f.name).unlink()

	def revision(self) -> int:
		"""The version b4 will send next."""
		out = self.b4(['prep', '--show-revision'], log=True).strip()
		m = re.match(r'v(\d+)$', out.splitlines()[-1] if out else '')
		if not m:
			raise Error(f'b4 prep --show-revision said {out!r}')
		return int(m.group(1))

	def sent_tag(self, version: int) -> str:
		return f'sent/{self.branch()[3:]}-v{version}'

	def range_diff(self, version: int) -> str:
		"""b4's range-diff of the branch against the version sent as vN."""
		if not self.git(['tag', '--list', self.sent_tag(version)]):
			return ''
		return self.b4(['prep', '--compare-to', f'v{version}']).rstrip()

	# -- messages ----------------------------------------------------------------

	def messages(self) -> List[B4Message]:
		"""b4 send -o: b4's messages, written, not sent."""
		out = Path(tempfile.mkdtemp(prefix='b4-out-', dir=self.path.parent))
		try:
			self.b4(['send', '-o', str(out), '--no-sign'])
			msgs = sorted((parse(f.read_bytes()) for f in out.glob('*.eml')),
				      key=lambda m: m.num)
		finally:
			shutil.rmtree(out)
		commits = self.git(['rev-list', '--reverse',
				    f'{self.cover_commit()}..{self.branch()}']).split()
		for m, c in zip(msgs[1:], commits):
			head, _, body = m.data.partition(b'\n\n')
			m.data = head + b'\n\n' + restore_crs(body, self.show(c))
		return msgs

	def show(self, commit: str) -> bytes:
		"""The body of commit as b4 reads it (git show --format=email)."""
		p = subprocess.run(['git', 'show', '--format=email', '--patch-with-stat',
				    '--encoding=utf-8', commit], cwd=self.path, capture_output=True,
				   env=dict(os.environ, **self.env()))
		if p.returncode:
			raise Error(f'git show {commit[:12]} failed in {self.path}')
		return p.stdout.partition(b'\n\n')[2]

	def mark_sent(self, version: int, cover: bytes, commits: List[str]) -> None:
		"""What b4 send does once a version is out: tag it sent/<series>-vN
		(the series without b4's cover commit, the cover letter as the
		tag's message) and reroll to vN+1. b4 0.12's --manual-reroll would
		fetch the cover letter from lore; make email has it here."""
		tag = self.sent_tag(version)
		if not self.git(['tag', '--list', tag]):
			msg = email.message_from_bytes(cover, policy=email.policy.default)
			subject = re.sub(r'^\[[^]]*\]\s*', '', str(msg['Subject']))
			body = msg.get_content()
			self.git(['tag', '-a', '-F', '-', tag, commits[-1]],
				 input=f'{subject}\n\n{body}')
		if self.revision() == version:
			self.b4(['prep', '--force-revision', str(version + 1)])


def parse(data: bytes) -> B4Message:
	msg = email.message_from_bytes(data, policy=email.policy.default)
	subject = ' '.join(str(msg['Subject']).split())
	m = re.match(r'^\[[^]]*?(\d+)/\d+\]', subject)
	return B4Message(int(m.group(1)) if m else 1, subject, str(msg['Message-Id']).strip(),
			 data)


def restore_crs(b4_body: bytes, source: bytes) -> bytes:
	"""b4 0.12 drops the CR before each LF of a body (get_msg_as_bytes): put
	back those of source (the same patch from git), where b4's lines are
	source's lines without them."""
	if b'\r' not in source:
		return b4_body
	src = source.rstrip(b'\n').split(b'\n')
	bare = [l.rstrip(b'\r') for l in src]
	lines = b4_body.split(b'\n')
	for k in range(len(lines) - len(src) + 1):
		if lines[k:k + len(src)] == bare:
			return b'\n'.join(lines[:k] + src + lines[k + len(src):])
	raise Error('b4 dropped the carriage returns of a patch and they could not be '
		    'put back: the message would not apply')
