# SPDX-License-Identifier: GPL-2.0
"""What a kernel tree has, feature by feature, and the rule set it takes.

The toolkit never keys on a tree's VERSION.PATCHLEVEL: a tree labelled 7.3,
an LTS tree or a vendor tree is judged by the APIs its headers declare.
Each feature is one declaration in one header:

  iov_iter_get_pages2      the reference API of the 'get' generation (6.0)
  iov_iter_extract_pages   the pinning iov_iter API (6.3)
  BIO_PAGE_PINNED          bios that record pinned pages (6.4)
  folio_add_pin            a second pin on a page (6.5)
  ...

A generation is a rule set (cocci/rules-<key>, kernel-overlay/<key>/,
scripts/configs/<key>.config) and the features it needs; a tree takes the
first generation whose needs it has. A tree without any is refused.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from pinconv.printer import Error

# Reads a file of the tree by its path relative to the top; None if absent.
Reader = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class Feature:
	name: str
	header: str	# where the tree declares it
	pattern: str	# a regular expression for the declaration
	since: str	# the mainline release that added it, for messages


def _fn(name: str) -> str:
	"""A declaration or definition of function name: a line that starts
	with its type, so that a comment or a call does not count."""
	return rf'^[A-Za-z_][\w \t*]*[ \t*]{name}\s*\('


FEATURES: List[Feature] = [
	Feature('iov_iter_get_pages2', 'include/linux/uio.h', _fn('iov_iter_get_pages2'), '6.0'),
	Feature('iov_iter_extract_pages', 'include/linux/uio.h', _fn('iov_iter_extract_pages'), '6.3'),
	Feature('iov_iter_extract_will_pin', 'include/linux/uio.h',
		_fn('iov_iter_extract_will_pin'), '6.3'),
	Feature('BIO_PAGE_PINNED', 'include/linux/blk_types.h', r'\bBIO_PAGE_PINNED\b', '6.4'),
	Feature('folio_add_pin', 'include/linux/mm.h', _fn('folio_add_pin'), '6.5'),
	Feature('pin_user_pages_fast', 'include/linux/mm.h', _fn('pin_user_pages_fast'), '5.6'),
	Feature('unpin_user_page', 'include/linux/mm.h', _fn('unpin_user_page'), '5.6'),
	# What kernel-overlay/6.1 adds; a tree that has them needs no overlay.
	Feature('iov_iter_pin_pages', 'include/linux/uio.h', _fn('iov_iter_pin_pages'), 'overlay'),
	Feature('bio_iov_iter_pin_pages', 'include/linux/bio.h', _fn('bio_iov_iter_pin_pages'),
		'overlay'),
]
BY_NAME: Dict[str, Feature] = {f.name: f for f in FEATURES}


@dataclass(frozen=True)
class Generation:
	name: str		# 'get' or 'extract'
	key: str		# rules-<key>, kernel-overlay/<key>, configs/<key>.config
	needs: Tuple[str, ...]	# features the rules and the overlay build on


# Newest first: a tree that has both takes the newer API's rules.
GENERATIONS: List[Generation] = [
	Generation('extract', '6.12', ('iov_iter_extract_pages', 'iov_iter_extract_will_pin',
				       'pin_user_pages_fast', 'unpin_user_page')),
	Generation('get', '6.1', ('iov_iter_get_pages2', 'pin_user_pages_fast',
				  'unpin_user_page')),
]
BY_KEY: Dict[str, Generation] = {g.key: g for g in GENERATIONS}


def file_reader(top: Path) -> Reader:
	def read(rel: str) -> Optional[str]:
		f = top / rel
		return f.read_text(errors='replace') if f.is_file() else None
	return read


def git_reader(repo: Path, rev: str) -> Reader:
	"""Files of a commit: the baseline, not a work tree that may hold the
	overlay or a series (which add features of their own)."""
	import subprocess

	def read(rel: str) -> Optional[str]:
		p = subprocess.run(['git', 'show', f'{rev}:{rel}'], cwd=repo, capture_output=True)
		return p.stdout.decode('utf-8', 'replace') if p.returncode == 0 else None
	return read


def detect(read: Reader) -> Tuple[str, ...]:
	"""The names of the features the tree declares, in FEATURES' order."""
	texts: Dict[str, str] = {}
	have = []
	for f in FEATURES:
		if f.header not in texts:
			texts[f.header] = read(f.header) or ''
		if re.search(f.pattern, texts[f.header], re.M):
			have.append(f.name)
	return tuple(have)


def generation_of(have: Tuple[str, ...]) -> Optional[Generation]:
	for g in GENERATIONS:
		if all(n in have for n in g.needs):
			return g
	return None


def require(have: Tuple[str, ...], where: str) -> Generation:
	"""The generation of a tree, or one Error line saying what it lacks."""
	g = generation_of(have)
	if g is not None:
		return g
	if 'iov_iter_get_pages2' not in have and 'iov_iter_extract_pages' not in have:
		raise Error(f'{where}: include/linux/uio.h has neither iov_iter_get_pages2() '
			    f'(Linux 6.0) nor iov_iter_extract_pages() (6.3): no rule set '
			    f'fits; pinconv needs a tree from Linux 6.0 on')
	# The iov_iter API is there, a pin API every rule set uses is not.
	near = next(g for g in GENERATIONS if g.needs[0] in have)
	lack = [n for n in near.needs if n not in have]
	raise Error(f'{where}: has {near.needs[0]}() but not '
		    f'{", ".join(n + "()" for n in lack)}, which the rules of the '
		    f'{near.name!r} generation (cocci/rules-{near.key}) need')


def describe(have: Tuple[str, ...]) -> str:
	"""'iov_iter_extract_pages, BIO_PAGE_PINNED, ...; lacks ...' for logs."""
	lacks = [f.name for f in FEATURES if f.name not in have]
	return ', '.join(have) + (f'; lacks {", ".join(lacks)}' if lacks else '')
