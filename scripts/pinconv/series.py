# SPDX-License-Identifier: GPL-2.0
"""The generated series: overlay commits, one commit per caller group,
kernel-style messages, git format-patch output and spatch.json."""

import difflib
import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from pinconv import drift, overlay, spatch, tree as treemod
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import TOP, Tree

# PINCONV_OUT redirects patches/ and reports/ (the up-to-date test uses it).
OUT = Path(os.environ.get('PINCONV_OUT', TOP))
PATCHES = OUT / 'patches'
REPORTS = OUT / 'reports'

# Subject prefixes as the subsystems' own logs use them, for trees without
# history (Debian's tarballs). Trees with history use their git log.
PREFIXES: Dict[str, str] = {
	'block': 'block',
	'fs/iomap': 'iomap',
	'fs/zonefs': 'zonefs',
	'fs/direct-io.c': 'fs/direct-io',
	'fs/nfs': 'NFS',
	'fs/fuse': 'fuse',
	'fs/splice.c': 'splice',
	'fs/ceph': 'ceph',
	'net/9p': 'net/9p',
	'crypto': 'crypto',
	'drivers/block/ublk_drv.c': 'ublk',
	'drivers/vhost': 'vhost',
	'arch/x86/kernel/cpu/sgx': 'x86/sgx',
	'arch/x86/kernel/shstk.c': 'x86/shstk',
	'kernel/events/uprobes.c': 'uprobes',
	'security/tomoyo': 'tomoyo',
	'arch/powerpc/kvm/e500': 'KVM: PPC: e500',
	'arch/powerpc/kvm/book3s': 'KVM: PPC: Book3S HV',
	'arch/s390/kvm': 'KVM: s390',
	'arch/arm64/kernel/mte.c': 'arm64: mte',
	'drivers/accel/qaic': 'accel/qaic',
	'drivers/virt/fsl_hypervisor.c': 'virt: fsl_hypervisor',
	'drivers/virt/nitro_enclaves': 'nitro_enclaves',
	'drivers/misc/vmw_vmci': 'VMCI',
	'mm': 'mm',
}

# The get_user_pages*() family and its pin counterparts.
GUP_PIN = {
	'get_user_pages': 'pin_user_pages',
	'get_user_pages_fast': 'pin_user_pages_fast',
	'get_user_pages_fast_only': 'pin_user_pages_fast_only',
	'get_user_pages_unlocked': 'pin_user_pages_unlocked',
	'get_user_pages_remote': 'pin_user_pages_remote',
}

# Series order of the caller groups: block core first, then filesystems.
GROUP_ORDER = ['block/fops.c', 'block/blk-map.c', 'block', 'fs/iomap',
	       'fs/direct-io.c', 'fs/zonefs', 'fs/nfs', 'fs/fuse']

# Old API -> its pin counterpart, for commit messages: 'get' trees (6.1)
# use the overlay's APIs, 'extract' trees (6.12) the tree's own.
PIN_OF_EXTRACT = {
	'iov_iter_get_pages2': 'iov_iter_extract_pages',
	'iov_iter_get_pages_alloc2': 'iov_iter_extract_pages',
	'put_page': 'unpin_user_page',
	'release_pages': 'unpin_user_pages',
	'nfs_page_create_from_page': 'nfs_page_create_from_extracted_page',
	**GUP_PIN,
}
PIN_OF = {
	'bio_iov_iter_get_pages': 'bio_iov_iter_pin_pages',
	'bio_release_pages': 'bio_unpin_pages',
	'iov_iter_get_pages2': 'iov_iter_pin_pages',
	'iov_iter_get_pages_alloc2': 'iov_iter_pin_pages_alloc',
	'put_page': 'unpin_user_page',
	'release_pages': 'unpin_user_pages',
	'get_page': 'pin_user_page',
	'nfs_create_request': 'nfs_create_request_pinned',
	**GUP_PIN,
}

# Fixed dates make the series byte-for-byte reproducible.
DATE0 = 1767225600   # 2026-01-01T00:00:00Z


@dataclass
class Commit:
	subject: str
	files: List[str]
	rules: List[str]
	kind: str          # 'overlay' or 'conversion'


@dataclass
class Site:
	file: str
	line: int
	function: str
	api: str
	status: str        # converted, review, kept
	reason: str
	rule: str


# The reason of a site converted by ownership transfer (cocci/container/).
OWNED_RE = re.compile(r'ownership transfer, each page\'s pin goes to (?P<cont>.+?) through '
		      r'(?P<ctor>\w+)\(\) \(line \d+\), which unpins it in (?P<rel>\w+)\(\) '
		      r'\((?P<file>[^)]+)\); (?P<helper>\w+)\(\) unpins')


def group_of(path: str) -> str:
	parts = path.split('/')
	# Core kernel, mm and arch code: one file per commit (its maintainers
	# differ from file to file); sgx is one driver.
	if parts[0] in ('kernel', 'mm', 'arch', 'security', 'virt') and len(parts) > 1:
		return '/'.join(parts[:-1]) if 'sgx' in parts else path
	if parts[:2] in (['drivers', 'block'], ['drivers', 'virt'], ['drivers', 'misc']) and len(parts) >= 3:
		return '/'.join(parts[:3])	# one driver per file or directory
	if parts[0] == 'block' or len(parts) <= 2:
		return path if parts[0] in ('block', 'fs') else '/'.join(parts[:-1])
	return '/'.join(parts[:2]) if parts[0] in ('fs', 'net') else '/'.join(parts[:-1])


def prefix_of(tr: Tree, group: str) -> str:
	"""The subject prefix: from the tree's history if it has any."""
	log = git(['log', '-50', '--no-merges', '--format=%s', tr.base, '--', group],
		  cwd=tr.path, check=False)
	counts: Dict[str, int] = {}
	for s in log.splitlines():
		m = re.match(r'^([\w./-]+(?:: [\w./-]+)?): ', s)
		if m and not s.startswith(('Merge', 'Revert')):
			counts[m.group(1)] = counts.get(m.group(1), 0) + 1
	if counts:
		return max(sorted(counts), key=lambda k: counts[k])
	for key in sorted(PREFIXES, key=len, reverse=True):
		if group == key or group.startswith(key + '/') or group.startswith(key):
			return PREFIXES[key]
	return group.split('/')[-1].replace('.c', '')


FUNC_RE = re.compile(r'^(?:[A-Za-z_][\w\s\*]*[\s\*])?(\w+)\s*\(')


def function_at(lines: List[str], idx: int) -> str:
	"""The C function a 0-based line index falls in (git's funcname rule)."""
	for i in range(idx, -1, -1):
		l = lines[i]
		if l and not l[0].isspace() and l[0] not in '#{}/*' and not l.rstrip().endswith(';'):
			m = FUNC_RE.match(l)
			if m:
				return m.group(1)
	return ''


def line_opcodes(a: Sequence[str], b: Sequence[str]) -> List[Tuple[str, int, int, int, int]]:
	"""difflib's opcodes of two line lists, with the common head and tail
	cut off first: a rule changes a few lines of a file, and SequenceMatcher
	(autojunk off) is quadratic in runs of equal lines, such as a long
	comment another package revision added above the change."""
	n = min(len(a), len(b))
	head = 0
	while head < n and a[head] == b[head]:
		head += 1
	tail = 0
	while tail < n - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
		tail += 1
	sm = difflib.SequenceMatcher(a=a[head:len(a) - tail], b=b[head:len(b) - tail],
				     autojunk=False)
	out: List[Tuple[str, int, int, int, int]] = []
	if head:
		out.append(('equal', 0, head, 0, head))
	for op, i1, i2, j1, j2 in sm.get_opcodes():
		out.append((op, i1 + head, i2 + head, j1 + head, j2 + head))
	if tail:
		out.append(('equal', len(a) - tail, len(a), len(b) - tail, len(b)))
	return out


def changes(old: str, new: str, generation: str = 'get') -> List[Tuple[str, str, str, int]]:
	"""(function, old api, new api, old line) for each replaced call."""
	pin_of = PIN_OF_EXTRACT if generation == 'extract' else PIN_OF
	a, b = old.splitlines(), new.splitlines()
	out = []
	for op, i1, i2, j1, j2 in line_opcodes(a, b):
		if op == 'equal':
			continue
		olds = ' '.join(a[i1:i2])
		news = ' '.join(b[j1:j2])
		for o, n in pin_of.items():
			no = len(re.findall(rf'\b{o}\(', olds)) - len(re.findall(rf'\b{o}\(', news))
			if no > 0 and re.search(rf'\b{n}\(', news):
				out.append((function_at(a, i1), o, n, i1 + 1))
	return out


def committed_author(kver: str = '6.1') -> str:
	"""The From: of the committed cover letter of patches/<kver>/ (a folded
	header unfolded), so a regenerated series can match it byte for byte;
	'' if there is none."""
	cover = TOP / 'patches' / kver / '0000-cover-letter.patch'
	if not cover.is_file():
		return ''
	m = re.search(r'^From: (.*(?:\n [^\n]*)*)', cover.read_text(), re.M)
	return ' '.join(m.group(1).split()) if m else ''


def ident() -> Tuple[str, str]:
	author = os.environ.get('PINCONV_AUTHOR', '')
	if not author:
		name = git(['config', 'user.name'], cwd=TOP, check=False)
		email = git(['config', 'user.email'], cwd=TOP, check=False)
		if not name or not email:
			raise Error('no author: set git config user.name and user.email, '
				    'or AUTHOR="Name <email>"')
		return name, email
	m = re.match(r'^\s*(.+?)\s*<([^>]+)>\s*$', author)
	if not m:
		raise Error(f'AUTHOR={author!r} is not "Name <email>"')
	return m.group(1), m.group(2)


def git_env(n: int, name: str, email: str) -> Dict[str, str]:
	date = f'@{DATE0 + 60 * n} +0000'
	return {'GIT_AUTHOR_NAME': name, 'GIT_AUTHOR_EMAIL': email,
		'GIT_AUTHOR_DATE': date, 'GIT_COMMITTER_NAME': name,
		'GIT_COMMITTER_EMAIL': email, 'GIT_COMMITTER_DATE': date}


def maintainers(tr: Tree, files: List[str]) -> List[str]:
	"""get_maintainer.pl --nogit for files, cached by the content of
	MAINTAINERS and the script (a second make spatch does not run perl)."""
	gm = tr.path / 'scripts' / 'get_maintainer.pl'
	if not gm.is_file():
		return []
	blobs = git(['rev-parse', f'{tr.base}:MAINTAINERS', f'{tr.base}:scripts/get_maintainer.pl'],
		    cwd=tr.path, check=False)
	# v2: the order of get_maintainer.pl's output is fixed (tree.PERL_FIXED).
	key = hashlib.sha256('\0'.join(['v2', blobs, *files]).encode()).hexdigest()
	cache = treemod.cache_root() / 'maintainers' / f'{key}.json'
	if blobs and cache.is_file():
		return json.loads(cache.read_text())
	p = treemod.get_maintainer(tr.path, ['--nogit', '--nogit-fallback', '--norolestats',
					     '-f', *files])
	out = [l.strip() for l in p.stdout.splitlines() if l.strip()]
	if blobs and p.returncode == 0:
		cache.parent.mkdir(parents=True, exist_ok=True)
		cache.write_text(json.dumps(out))
	return out


def wrap(text: str, width: int = 72) -> str:
	"""Fill each paragraph, never breaking at a hyphen, so that a path such
	as Documentation/core-api/... stays on one line."""
	import textwrap
	return '\n'.join(textwrap.fill(p, width, break_on_hyphens=False, break_long_words=False)
			 for p in text.split('\n'))


def _foll_get(reasons: Sequence[str], body: str) -> str:
	"""The paragraph saying FOLL_GET was dropped, before the list of
	changes (body ends with it)."""
	if not any('FOLL_GET, which' in r and 'dropped from the flags' in r for r in reasons):
		return body
	head = body.rstrip('\n')
	return head[:head.rfind('\n\n') + 2] + wrap(
		'The flags passed FOLL_GET, which the get_user_pages*() calls set '
		'themselves and the pin_user_pages*() calls refuse (FOLL_PIN and '
		'FOLL_GET exclude each other): it is dropped.') + '\n\n' + head[head.rfind('\n\n') + 2:] + '\n\n'


HELD_RE = re.compile(r'held in (->\w+(?:, ->\w+)*) past the call')
# A convert reason of cocci/gup/gup_pin.cocci: the case, then what the
# rule found (the access, its evidence, where the pages are released).
GUP_REASON = re.compile(r'^pin_user_pages\.rst case (?P<case>\d) \([^)]*\): (?P<facts>.*)$')
CASE_WHY = {
	'1': ('Documentation/core-api/pin_user_pages.rst case 1 (Direct IO) asks for '
	      'FOLL_PIN for pages a device accesses by DMA for one request; the same '
	      'holds here, so that the '
	      'rest of the kernel can tell them from pages that are merely referenced '
	      '(folio_maybe_dma_pinned()) and GUP does not hand out a page shared '
	      'copy-on-write with another process.'),
	'2': ('Documentation/core-api/pin_user_pages.rst case 2 (pages held, their data '
	      'accessed, past the call that took them, for as long as userspace says) '
	      'asks for FOLL_PIN | FOLL_LONGTERM. FOLL_LONGTERM first migrates the '
	      'pages out of ZONE_MOVABLE and CMA and refuses memory that must not be '
	      'held (fsdax), so the call can now fail where it did not: gigantic '
	      'hugetlb pages allocated from hugetlb_cma, for one.'),
	'5': ('Documentation/core-api/pin_user_pages.rst case 5 (pin, write to the '
	      'data, unpin) asks for FOLL_PIN for that, so that the rest of the kernel '
	      '(writeback, migration, fork()) can tell a page being written through a '
	      'kernel mapping from one that is merely referenced '
	      '(folio_maybe_dma_pinned()).'),
}


def _gup_message(prefix: str, what: str, gets: List[str], reasons: Sequence[str]) -> Tuple[str, str]:
	"""Subject and body of a get_user_pages*() conversion, from what the
	rule found at each site (its convert reasons): the case, the access
	and its evidence, where the pages are released."""
	found = [m for r in reasons for m in [GUP_REASON.match(r)] if m]
	cases = sorted({m.group('case') for m in found})
	facts = [re.sub(r'; FOLL_GET, which .*$', '', m.group('facts')) for m in found]
	held = sorted({f for r in reasons for m in [HELD_RE.search(r)] if m
		       for f in m.group(1).split(', ')})
	if '2' in cases:
		subject = f'{prefix}: pin the user pages it holds in {what}'
	elif '1' in cases:
		subject = f'{prefix}: pin the user pages a device accesses in {what}'
	else:
		subject = f'{prefix}: pin the user pages it writes in {what}'
	said = []
	for f in facts:
		parts = f.split('; ')
		ret = re.search(r' in (\w+)\(\), which returns the page to its callers \(lines? ([^)]*)\)', parts[0])
		if ret:
			said.append(f'{ret.group(1)}() returns the page to its callers (line {ret.group(2)}): '
				    + ', '.join(parts[1:]))
		else:
			said.append(', and '.join(parts[1:]))
	body = wrap(f'{what} takes page references on user memory with {", ".join(gets)}: '
		    + '; '.join(said) + '.') + '\n\n'
	if '1' in cases and '2' not in cases:
		body += wrap('The pages are released when the request ends, in a caller of the '
			     'function that takes them, so the pin is not FOLL_LONGTERM.') + '\n\n'
	body += '\n\n'.join(wrap(CASE_WHY[c]) for c in cases if c in CASE_WHY)
	if held:
		tail = (f'{", ".join(held)} is only stored, compared, tested, freed and released '
			f'in this file, and holds no page from anywhere else: every acquire and every '
			f'release of those pages change in the same patch:')
	elif any('which returns the page to its callers' in r for r in reasons):
		tail = ('The page goes from the static function that takes it only to its callers '
			'in the same file, which release it: each is taken with a pin and released '
			'with an unpin in the same patch, and no other function sees it:')
	elif any('held in ->' in r for r in reasons):
		tail = ('The field that holds the pages is used only in this file: every acquire '
			'and every release of those pages change in the same patch:')
	else:
		tail = ('The pages never leave the function: each is taken with a pin and released '
			'with an unpin in the same patch, and no other function sees them:')
	body += '\n\n' + wrap(tail) + '\n\n'
	return subject, _foll_get(reasons, body)


def message(tr: Tree, group: str, files: List[str], rules: List[str],
	    chg: List[Tuple[str, str, str, int]], name: str, email: str,
	    reasons: Sequence[str] = ()) -> str:
	prefix = prefix_of(tr, group)
	what = group if '.' in group.split('/')[-1] else group + '/'
	olds = sorted({o for _, o, _, _ in chg})
	held = sorted({f for r in reasons for m in [HELD_RE.search(r)] if m
		       for f in m.group(1).split(', ')})
	gup = any(r.startswith('gup/') for r in rules)
	gets = [o + '()' for o in olds if o in GUP_PIN]
	if gup:
		return _tail(tr, *_gup_message(prefix, what, gets, reasons), chg, files, rules, name, email)
	owned = [m for r in reasons for m in [OWNED_RE.search(r)] if m]
	if any(r.startswith('container/') for r in rules) and owned:
		m = owned[0]
		cont, ctor, rel, relfile, helper = (m.group(g) for g in
						    ('cont', 'ctor', 'rel', 'file', 'helper'))
		subject = f'{prefix}: let {cont} own the pins of Direct I/O pages in {what}'
		body = wrap(
			f'{what} takes page references on the user memory of a Direct I/O '
			f'({", ".join(o + "()" for o in olds)}) and hands each page to '
			f'{cont}, which takes a reference of its own and keeps the page '
			f'while the I/O runs, after the function has returned. '
			f'Documentation/core-api/pin_user_pages.rst (case 1, Direct IO) '
			f'requires FOLL_PIN for such pages, so that the rest of the kernel '
			f'can tell pages under I/O from pages that are merely referenced '
			f'(folio_maybe_dma_pinned()).')
		if tr.generation == 'extract':
			acq = ('iov_iter_extract_pages(), which pins the pages of a '
			       'user-backed iterator and takes nothing on the pages of a kernel '
			       'one; iov_iter_extract_will_pin() tells '
			       f'{ctor}() which of the two it gets, and {helper}() runs only '
			       'when the pages were pinned')
		else:
			acq = 'iov_iter_pin_pages_alloc(), which pins every page'
		body += '\n\n' + wrap(
			f'Move the pin into the container: the pages are taken with {acq}. '
			f'{ctor}() takes over the pin of the page it is given, and {cont} '
			f'unpins it in {rel}() ({relfile}); the array slot of a page handed '
			f'over is cleared, so that {helper}() unpins only the pages that '
			f'never were (a failed constructor, a loop left early). The acquire, '
			f'the hand-over and the release change in the same patch:') + '\n\n'
		return _tail(tr, subject, body, chg, files, rules, name, email)
	if tr.generation == 'extract' and 'container/pipe_buf_pin' in rules:
		subject = f'{prefix}: pin the user pages it hands to a pipe in {what}'
		acqs = [o for o in olds if o.startswith('iov_iter_')] or olds
		body = wrap(
			f'{what} takes page references on user memory '
			f'({", ".join(o + "()" for o in acqs)}) and hands each page to a '
			f'pipe with add_to_pipe(), where whoever consumes the pipe (read(), '
			f'splice() to a file or a socket, tee()) later reads the data of '
			f'the page. Documentation/core-api/pin_user_pages.rst requires '
			f'FOLL_PIN for that (case 1, Direct IO: the data is accessed via '
			f'the page, not only the struct page), so that the rest of the '
			f'kernel can tell such pages from pages that are merely referenced '
			f'(folio_maybe_dma_pinned()).')
		body += '\n\n' + wrap(
			'Use iov_iter_extract_pages(), which pins the pages of a user-backed '
			'iterator and takes neither a pin nor a reference on the pages of a '
			'kernel one (BVEC, KVEC). The pipe buffer, not the function that '
			'fills it, holds the page until it is consumed, so the pipe buffer '
			'now owns the pin: it is flagged PIPE_BUF_FLAG_PINNED when '
			'iov_iter_extract_will_pin() says the pages were pinned, and '
			'user_page_pipe_buf_ops releases it with unpin_user_page() and gives '
			'a copy of the buffer (tee()) a pin of its own. A page of a kernel '
			'iterator gets a reference with get_page() before it is handed over, '
			'which the buffer puts as before. The pages not handed to the pipe '
			'are unpinned only when iov_iter_extract_will_pin(). The acquire '
			'and its releases change in the same patch:') + '\n\n'
		return _tail(tr, subject, body, chg, files, rules, name, email)
	if tr.generation == 'extract':
		subject = f'{prefix}: pin user pages with iov_iter_extract_pages() in {what}'
		body = wrap(
			f'{what} takes page references on user memory '
			f'({", ".join(o + "()" for o in olds)}) and then reads or writes the '
			f'data of those pages. Documentation/core-api/pin_user_pages.rst '
			f'requires FOLL_PIN for that (case 1, Direct IO; case 5, pin, write '
			f'to the data, unpin), so that the rest of the kernel can tell such '
			f'pages from pages that are merely referenced '
			f'(folio_maybe_dma_pinned()).')
		body += '\n\n' + wrap(
			'Use iov_iter_extract_pages(), which pins the pages of a user-backed '
			'iterator and takes neither a pin nor a reference on the pages of a '
			'kernel one (BVEC, KVEC), and release the pages with an unpin only '
			'when iov_iter_extract_will_pin() says they were pinned. The acquire '
			'and its release change in the same patch:') + '\n\n'
		return _tail(tr, subject, body, chg, files, rules, name, email)
	subject = f'{prefix}: pin user pages for Direct I/O in {what}'
	body = wrap(
		f'{what} takes page references on the user memory of a Direct I/O '
		f'({", ".join(o + "()" for o in olds)}) and the device accesses the '
		f'data of those pages (reads them for a write, writes them for a '
		f'read). Documentation/core-api/pin_user_pages.rst '
		f'(case 1, Direct IO) requires FOLL_PIN for such pages, so that the '
		f'rest of the kernel can tell pages under DMA from pages that are '
		f'merely referenced (folio_maybe_dma_pinned()).')
	if set(olds) <= {'bio_iov_iter_get_pages'}:
		# The bio records how it holds its pages: the release stays.
		body += '\n\n' + wrap(
			'Use bio_iov_iter_pin_pages(), which pins the pages of an iterator '
			'over user memory and flags the bio BIO_PAGE_PINNED. The pages of '
			'a kernel iterator are never pinned: a BVEC iterator\'s bvecs are '
			'used as they are, the pages of a PIPE or XARRAY iterator are '
			'referenced, and any other fails with -EFAULT, as before. The '
			'release does not change: bio_release_pages() and '
			'bio_check_pages_dirty() release the pages as the bio\'s flag '
			'says, unpinning those of a BIO_PAGE_PINNED bio.') + '\n\n'
		nofault = ''
		if any(f.startswith('fs/iomap/') for f in files):
			# gfs2 and btrfs mark the iterator nofault around iomap_dio_rw().
			nofault = (' A caller that marks its iterator nofault (gfs2, btrfs) '
				   'gets -EFAULT where a page needs that copy, as for a page '
				   'not present, and retries as it does for those.')
		body += wrap(
			'What changes for user memory: a write now takes read-only pins '
			'too, so a page of the source buffer that fork() left shared '
			'copy-on-write, or a KSM page, is copied before it is pinned, and '
			'the mm is marked MMF_HAS_PINNED, as upstream Direct I/O does since '
			'Linux 6.4.' + nofault + ' The functions:') + '\n\n'
	else:
		body += '\n\n' + wrap(
			'Convert the acquire and its release in the same patch, so that '
			'every page taken with a pin is released with an unpin:') + '\n\n'
	return _tail(tr, subject, body, chg, files, rules, name, email)


def _tail(tr: Tree, subject: str, body: str, chg: List[Tuple[str, str, str, int]],
	  files: List[str], rules: List[str], name: str, email: str) -> str:
	"""The per-function list, the vmstat note and the trailers."""
	per_fn: Dict[Tuple[str, str], List[str]] = {}
	for fn, o, n, _ in chg:
		per_fn.setdefault((fn, f'{o}() -> {n}()'), []).append(fn)
	for (fn, repl), _ in sorted(per_fn.items()):
		line = f'  {fn}(): {repl}'
		# checkpatch: commit description lines of at most 75 characters.
		body += (line if len(line) <= 75 else f'  {fn}():\n    {repl}') + '\n'
	body += '\n' + wrap(
		'nr_foll_pin_acquired and nr_foll_pin_released in /proc/vmstat now '
		'count these pages and must end equal.') + '\n\n'
	for r in rules:
		body += f'Generated by: cocci/{r}.cocci\n'
	body += f'Signed-off-by: {name} <{email}>\n'
	for m in maintainers(tr, files):
		body += f'Cc: {m}\n'
	return f'{subject}\n\n{body}'


def commit_all(tr: Tree, n: int, msg: str, files: List[str], name: str, email: str) -> None:
	git(['add', '-f', '--', *files], cwd=tr.path)
	git(['commit', '-q', '--no-verify', '-F', '-'], cwd=tr.path,
	    env=git_env(n, name, email), input=msg)


def sites_from(results: List[spatch.FileResult],
	       converted: Dict[str, List[Tuple[str, str, str, int]]]) -> List[Site]:
	sites: List[Site] = []
	seen = set()
	for res in results:
		lines = res.old.splitlines()
		conv = {(o, ln) for _, o, _, ln in converted.get(res.path, [])}
		# A site some rule converts is 'converted', whatever another said.
		findings = sorted(res.findings, key=lambda f: f.status != 'convert')
		for f in findings:
			key = (f.file, f.line, f.api)
			if key in seen:
				continue
			seen.add(key)
			base_api = f.api
			done = any(ln == f.line for _, ln in conv)
			status = 'converted' if done else ('review' if f.status == 'review' else 'kept')
			# ref-ok: the rule keeps the reference on purpose (FOLL_GET is right).
			# A conversion the series did not apply says so; a rule's own
			# 'kept' or 'ref-ok' stands as it is.
			reason = f.reason if status != 'kept' or f.status != 'convert' else \
				f'{f.reason} (not applied: its file was not converted)'
			sites.append(Site(f.file, f.line, function_at(lines, f.line - 1),
					  base_api, status, reason, f.rule))
		# Old-API calls no rule spoke of.
		for i, l in enumerate(lines):
			for api in spatch.OLD_APIS:
				if re.search(rf'\b{api}\(', l) and not l.lstrip().startswith(('*', '/*', '//')):
					if any(s.file == res.path and s.line == i + 1 for s in sites):
						continue
					fn = function_at(lines, i)
					if re.match(rf'^\S.*\b{api}\(', l):
						status, reason = 'kept', 'definition or declaration of the API'
					elif (api, i + 1) in conv:
						status, reason = 'converted', 'released and acquired in the same commit'
					else:
						status, reason = 'kept', 'no rule pairs this site with its acquire or release'
					sites.append(Site(res.path, i + 1, fn, api, status, reason, ''))
	return sorted(sites, key=lambda s: (s.file, s.line, s.api))


def own_code(sites: List[Site], commits: List[Commit], tr: Tree) -> List[Site]:
	"""Sites in a file an overlay API patch changes are the pin API's own
	code (the reference path it keeps for kernel iterators, the old API it
	wraps): kept, not callers to convert or review. A fix patch's files
	(overlay_fixes()) are callers like any other."""
	fixes = set(overlay_fixes(tr))
	own = {f for c in commits if c.kind == 'overlay' and c.subject not in fixes
	       for f in c.files}
	out = []
	for x in sites:
		if x.file in own and x.status != 'converted' and not x.reason.startswith('definition'):
			x = Site(x.file, x.line, x.function, x.api, 'kept',
				 f'the pin API\'s own implementation (kernel-overlay/{tr.kver} '
				 'changes this file)', '')
		out.append(x)
	return out


def overlay_fixes(tr: Tree) -> List[str]:
	"""The subjects of the tree's overlay patches that add no API (they
	declare nothing in include/): fixes of the tree, not pin APIs."""
	return [p.subject for p in overlay.read_overlay(tr.kver) if not overlay.provides(p.path)]


def cover_letter(path: Path, tr: Tree, commits: List[Commit], sites: List[Site]) -> None:
	text = path.read_text()
	conv = [c for c in commits if c.kind == 'conversion']
	subject = f'convert Direct I/O callers to pin_user_pages (Linux {tr.series})'
	if tr.generation == 'extract':
		subject = f'pin user pages in the callers that still take references (Linux {tr.series})'
		blurb = wrap(
			f'Linux {tr.version} pins the pages of block, blk-map, iomap, '
			'fs/direct-io and fuse Direct I/O with iov_iter_extract_pages() '
			'(6.3-6.5); other callers still take page references '
			'(iov_iter_get_pages2, iov_iter_get_pages_alloc2) on user memory '
			'whose data they read or write. This series converts those that '
			'release the pages where they take them to the tree\'s own API, '
			'iov_iter_extract_pages() with iov_iter_extract_will_pin() and '
			'unpin_user_page(), one caller per patch, each acquire together '
			'with its release. The patches before the first conversion come '
			'from pinconv\'s kernel overlay for this tree: '
			+ '; '.join(c.subject for c in commits if c.kind == 'overlay') + '.')
		used = {r for c in commits for r in c.rules}
		held_by = [n for r, n in (('container/pipe_buf_pin', 'a pipe buffer'),
					  ('container/nfs_page_pin', 'an NFS request')) if r in used]
		if any(r.startswith('container/') for r in used):
			blurb += '\n\n' + wrap(
				'Where a caller hands its pages to a structure that keeps them '
				f'after the call ({", ".join(held_by) or "a container"}), the overlay '
				'lets that structure own the pin and release it, and the '
				'caller\'s patch hands the pin over instead of a reference.')
	else:
		# What the conversions replace, from the sites they converted.
		olds = sorted({x.api for x in sites if x.status == 'converted'})
		gups = any(r.startswith('gup/') for c in conv for r in c.rules)
		if gups:
			subject = f'pin user pages for Direct I/O and CPU writes (Linux {tr.series})'
		blurb = wrap(
			f'This series moves callers of Linux {tr.version} from page '
			f'references ({", ".join(olds)}) to page pins (FOLL_PIN), as '
			'Documentation/core-api/pin_user_pages.rst asks for Direct IO (case 1)'
			+ (' and for the CPU writing to the data (case 5)' if gups else '') + '. '
			'It first adds the pin APIs the tree lacks, which pin only user memory '
			'(a kernel iterator\'s pages are never pinned), then converts one '
			'caller group per patch, so that every commit builds and runs: a '
			'get_user_pages caller\'s acquire changes in the same patch as its '
			'release; a bio\'s release stays, since the bio releases its pages as '
			'its BIO_PAGE_PINNED flag says (the API patch).')
		fixes = overlay_fixes(tr)
		if fixes:
			blurb += '\n\n' + wrap(
				'Before the conversions it also fixes '
				f'{"a defect" if len(fixes) == 1 else "defects"} of this tree on a '
				'path a conversion takes, found while proving and reviewing that '
				'path; each patch says what it fixes and what it leaves: '
				+ '; '.join(fixes) + '.')
	gup = [c for c in conv if any(r.startswith('gup/') for r in c.rules)]
	if gup:
		kinds = [('it writes', 'the CPU writes the data: case 5, pin, write, unpin'),
			 ('a device accesses', 'a device accesses the data for one request: case 1'),
			 ('it holds', 'the pages are held until userspace releases them: case 2, '
			  'FOLL_LONGTERM')]
		parts = []
		for phrase, why in kinds:
			cs = [c.subject.split(': pin the')[0] for c in gup if f'pin the user pages {phrase} ' in c.subject]
			if cs:
				parts.append(f'{", ".join(cs)} ({why})')
		blurb += '\n\n' + wrap(
			f'{len(gup)} patch{"es" if len(gup) > 1 else ""} convert'
			f'{"" if len(gup) > 1 else "s"} get_user_pages*() callers to '
			f'pin_user_pages*(), each for the pin_user_pages.rst case its commit '
			f'names: {"; ".join(parts)}. A caller whose CPU only reads the data '
			f'keeps FOLL_GET, as upstream keeps it on those paths: that is a '
			f'choice, not the document\'s rule (which asks FOLL_PIN for data '
			f'access), made because a read pin is not free.')
		reads = [x for x in sites if x.status == 'kept' and x.rule.startswith('gup/')
			 and x.reason.startswith('a CPU read')]
		if reads:
			blurb += '\n\n' + wrap('Kept on references on purpose (a CPU read: a pin '
						'would unshare COW-shared and KSM pages and set '
						'MMF_HAS_PINNED on the mm for good):') + '\n\n'
			for x in reads:
				blurb += f'  {x.file}:{x.line} {x.function}(): {x.api}\n'
			blurb = blurb.rstrip('\n')
	blurb += '\n\n' + wrap(
		f'The {len(conv)} conversion{"s were" if len(conv) != 1 else " was"} '
		'generated by the semantic patches '
		'named in each commit (Generated by:); `make spatch` in pinconv '
		'regenerates the series byte for byte.')
	left = [s for s in sites if s.status == 'review']
	if left:
		blurb += '\n\n' + wrap('Left unconverted, for review (a wrong conversion '
				       'is worse than none):') + '\n\n'
		for s in left:
			blurb += f'  {s.file}:{s.line} {s.function}(): {s.api}\n'
			blurb += '\n'.join('      ' + l for l in wrap(s.reason, 64).splitlines()) + '\n'
	text = text.replace('*** SUBJECT HERE ***', subject)
	text = text.replace('*** BLURB HERE ***', blurb.rstrip())
	path.write_text(text)


def export(tr: Tree, outdir: Path, n_commits: int, name: str, email: str) -> List[Path]:
	if outdir.exists():
		for p in outdir.glob('*.patch'):
			p.unlink()
	outdir.mkdir(parents=True, exist_ok=True)
	out = git(['format-patch', '-q', '--zero-commit', '--no-signature', '--cover-letter',
		   f'--base={tr.base}', '-o', str(outdir), f'{tr.base}..{treemod.BRANCH}'],
		  cwd=tr.path, env=git_env(n_commits + 1, name, email))
	return sorted(outdir.glob('*.patch'))


def generate(tr: Tree, jobs: int = 0) -> Dict:
	from pinconv import overlay
	name, email = ident()
	head = overlay.cached_head(tr)
	if head:
		treemod.reset_branch(tr, head)
		stdout.step(f'kernel-overlay/{tr.kver}: unchanged, branch {treemod.BRANCH} '
			    f'reset to its commits ({head[:12]})')
	else:
		treemod.reset_branch(tr)
		stdout.step(f'applying kernel-overlay/{tr.kver} to {tr.path}')
		overlay.apply(tr)
		overlay.remember_head(tr)
	commits = []
	log = git(['log', '--reverse', '--format=%x01%s', '--name-only',
		   f'{tr.base}..{treemod.BRANCH}'], cwd=tr.path)
	for chunk in log.split('\x01')[1:]:
		subject, *files = [l for l in chunk.splitlines() if l]
		commits.append(Commit(subject, files, [], 'overlay'))
	rules = spatch.load_rules(tr.kver)
	files = spatch.candidate_files(tr.path)
	stdout.step(f'running {len(rules)} rules on {len(files)} files that use the old APIs')
	results = spatch.apply_rules(tr.path, files, rules, jobs)
	changed = [r for r in results if r.new != r.old]
	groups: Dict[str, List[spatch.FileResult]] = {}
	for r in changed:
		groups.setdefault(group_of(r.path), []).append(r)

	def order(g: str) -> Tuple[int, str]:
		for i, k in enumerate(GROUP_ORDER):
			if g == k or g.startswith(k + '/'):
				return (i, g)
		return (len(GROUP_ORDER), g)

	converted: Dict[str, List[Tuple[str, str, str, int]]] = {}
	n = len(commits)
	for g in sorted(groups, key=order):
		rs = groups[g]
		chg: List[Tuple[str, str, str, int]] = []
		rules_used: List[str] = []
		for r in rs:
			(tr.path / r.path).write_text(r.new, errors='surrogateescape')
			c = changes(r.old, r.new, tr.generation)
			converted[r.path] = c
			chg += c
			rules_used += [x for x in r.rules if x not in rules_used]
		rules_used = [x.name for x in rules if x.name in rules_used]
		reasons = [f.reason for r in rs for f in r.findings if f.status == 'convert']
		msg = message(tr, g, [r.path for r in rs], rules_used, chg, name, email, reasons)
		n += 1
		commit_all(tr, n, msg, [r.path for r in rs], name, email)
		commits.append(Commit(msg.splitlines()[0], [r.path for r in rs], rules_used,
				      'conversion'))
		stdout.step(f'commit {n}: {msg.splitlines()[0]}')
	sites = own_code(sites_from(results, converted), commits, tr)
	outdir = PATCHES / tr.kver if tr.origin == 'debian' else treemod.work_dir() / 'patches' / tr.name
	patches = export(tr, outdir, n, name, email)
	cover = [p for p in patches if p.name.startswith('0000-')]
	if cover:
		cover_letter(cover[0], tr, commits, sites)
	stdout.step(f'wrote {len(patches)} patches to {outdir}')
	report = {
		'kernel': tr.version, 'base': tr.base,
		'input': drift.input_record(tr, files),
		'spatch': spatch.spatch_version(),
		'rules': [r.name for r in rules], 'files_scanned': len(files),
		'commits': [asdict(c) for c in commits],
		'sites': [asdict(s) for s in sites],
		'counts': {k: sum(1 for s in sites if s.status == k)
			   for k in ('converted', 'review', 'kept')},
	}
	rdir = REPORTS / tr.kver if tr.origin == 'debian' else treemod.work_dir() / 'reports' / tr.name
	rdir.mkdir(parents=True, exist_ok=True)
	(rdir / 'spatch.json').write_text(json.dumps(report, indent=1) + '\n')
	drift.write_manifest(tr, rdir)
	stdout.step(f'wrote {rdir / "spatch.json"}: {report["counts"]}')
	return report
