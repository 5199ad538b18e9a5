# SPDX-License-Identifier: GPL-2.0
"""SMTP delivery of one message, as git send-email was configured
(git config sendemail.*): a recipient is delivered only once the server
has accepted its RCPT TO and then the message (250 after DATA)."""

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Dict, List, Tuple, Union

from pinconv import tree as treemod
from pinconv.printer import Error
from pinconv.mailaddr import split_addr
from pinconv.run import git, run

SMTP_TIMEOUT = 60        # seconds, for each exchange with the server


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


def deliver(data: bytes, sender: str, rcpts: List[str], server: Server) -> Outcome:
	"""One SMTP transaction: data from sender to the envelope recipients
	rcpts; what the server accepted, and why not the rest."""
	data = re.sub(rb'\r\n|\r|\n', b'\r\n', data)
	try:
		s = connect(server)
	except (OSError, smtplib.SMTPException) as e:
		return Outcome([], smtp_error(e, server, False), {})
	try:
		opts = ['BODY=8BITMIME'] if not data.isascii() and s.has_extn('8bitmime') else []
		refused = s.sendmail(split_addr(sender)[1], rcpts, data, opts)
	except (OSError, smtplib.SMTPException) as e:
		refused = e.recipients if isinstance(e, smtplib.SMTPRecipientsRefused) else {}
		return Outcome([], smtp_error(e, server, True),
			       {a.lower(): reply(*r) for a, r in refused.items()})
	finally:
		hang_up(s)
	return Outcome([a.lower() for a in rcpts if a not in refused], refusal(refused),
		       {a.lower(): reply(*r) for a, r in refused.items()})
