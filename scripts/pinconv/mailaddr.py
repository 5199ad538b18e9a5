# SPDX-License-Identifier: GPL-2.0
"""Email addresses: the ones SMTP can take (RFC 5321), lists of them
without duplicates, and how they go into a To: or Cc: header."""

import ipaddress
import re
from email.utils import formataddr, getaddresses
from typing import List, Tuple

from pinconv.printer import Error

# An address SMTP takes (RFC 5321): a dot-atom local part, a fully
# qualified domain or an address literal, within its length limits.
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LOCAL_RE = re.compile(rf'^{ATOM}(?:\.{ATOM})*$')
LABEL_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')


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


def header_addr(a: str) -> str:
	"""a for a To: or Cc: header: a name that is not ASCII RFC 2047-encoded."""
	return formataddr(split_addr(a), 'utf-8')
