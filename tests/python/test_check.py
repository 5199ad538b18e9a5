# SPDX-License-Identifier: GPL-2.0
"""make check and make bisect: Kconfig symbols from Makefiles, the sparse
new-warning diff, checkpatch parsing and the reports (unit tests); and, on
the real 6.1 workspace, a series with a commit that does not compile
(e2e: check fails on exactly that commit, bisect names it).

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python
"""

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import commit_file, pinconv
from pinconv import build, check, tree

KVER = '6.1'
WORKSPACE = tree.work_dir() / f'linux-{KVER}'
TEST_BRANCH = 'pinconv-check-test'


def git(*args: str, cwd: Path = WORKSPACE, env: Optional[Dict[str, str]] = None,
	input: Optional[str] = None) -> str:
	e = dict(os.environ, **(env or {}))
	return subprocess.run(['git', *args], cwd=cwd, check=True, text=True, env=e,
			      input=input, capture_output=True).stdout.strip()


def files_reader(files: Dict[str, str]) -> check.Reader:
	return lambda path: files.get(path)


@pytest.fixture(scope='module')
def real_reader() -> check.Reader:
	"""The baseline's Makefiles, read from the workspace's git objects."""
	if not (WORKSPACE / '.git').is_dir():
		pytest.skip(f'no {WORKSPACE}: run make tree')
	return check.git_reader(WORKSPACE, tree.BASE_TAG)


# ---- Kconfig symbols ----

@pytest.mark.parametrize('cfile,symbols', [
	('fs/zonefs/file.c', ['CONFIG_ZONEFS_FS']),		# composite zonefs-y
	('block/fops.c', ['CONFIG_BLOCK']),			# top Kbuild: block/
	('fs/nfs/direct.c', ['CONFIG_NFS_FS']),
	('fs/nfs/nfs4proc.c', ['CONFIG_NFS_FS', 'CONFIG_NFS_V4']),
	('fs/fuse/file.c', ['CONFIG_FUSE_FS']),
	('fs/iomap/direct-io.c', ['CONFIG_FS_IOMAP', 'CONFIG_BLOCK']),	# iomap-$(CONFIG_BLOCK)
	('fs/direct-io.c', ['CONFIG_BLOCK']),			# ifeq ($(CONFIG_BLOCK),y)
	('mm/gup.c', []),
	('mm/memory.c', ['CONFIG_MMU']),			# mmu-$(CONFIG_MMU), $(mmu-y)
	('lib/iov_iter.c', []),					# libs-y := lib/ in Makefile
	('drivers/block/aoe/aoecmd.c', ['CONFIG_ATA_OVER_ETH']),	# block/aoe/ in drivers/
	('drivers/vhost/vhost.c', ['CONFIG_VHOST']),		# vhost/ listed three times
	('arch/x86/lib/usercopy_64.c', []),			# usercopy_$(BITS).o, arch Makefile
])
def test_symbols_of_real_files(real_reader: check.Reader, cfile: str,
			       symbols: List[str]) -> None:
	syms, problems = check.kconfig_symbols(real_reader, cfile)
	assert problems == []
	assert sorted(syms) == sorted(symbols)


def test_unlinked_file_is_a_problem(real_reader: check.Reader) -> None:
	syms, problems = check.kconfig_symbols(real_reader, 'fs/zonefs/nosuch.c')
	assert problems == ['fs/zonefs/nosuch.c: nosuch.o is not linked by fs/zonefs/Makefile']
	syms, problems = check.kconfig_symbols(real_reader, 'nosuch/x.c')
	assert problems == ['nosuch/x.c: no nosuch/Makefile']


def test_conditionals_continuations_and_comments() -> None:
	files = {
		'Kbuild': 'obj-y += fs/\n',
		'fs/Makefile': (
			'# obj-$(CONFIG_WRONG) += foo/\n'
			'obj-$(CONFIG_FOO) += foo/  # the foo filesystem\n'
			'ifdef CONFIG_BAR\n'
			'obj-y += bar.o\n'
			'else\n'
			'obj-y += notbar.o\n'
			'endif\n'
			'ifeq ($(CONFIG_BAZ),y)\n'
			'ifneq ($(CONFIG_QUX),)\n'
			'obj-y += baz.o\n'
			'endif\n'
			'endif\n'),
		'fs/foo/Makefile': (
			'obj-$(CONFIG_FOO) += foo.o\n'
			'foo-y := super.o \\\n'
			'\t  file.o\n'
			'foo-$(CONFIG_FOO_DIO) += dio.o\n'),
	}
	read = files_reader(files)
	assert check.kconfig_symbols(read, 'fs/foo/file.c') == (['CONFIG_FOO'], [])
	assert check.kconfig_symbols(read, 'fs/foo/dio.c') == (['CONFIG_FOO', 'CONFIG_FOO_DIO'], [])
	assert check.kconfig_symbols(read, 'fs/bar.c') == (['CONFIG_BAR'], [])
	# An else branch needs a symbol to be off: nothing we can set.
	assert check.kconfig_symbols(read, 'fs/notbar.c') == ([], [])
	assert check.kconfig_symbols(read, 'fs/baz.c') == (['CONFIG_BAZ', 'CONFIG_QUX'], [])


# ---- sparse, checkpatch, kernel-doc ----

SPARSE_PARENT = '''\
  CHECK   ../fs/direct-io.c
../fs/direct-io.c:1129:36: warning: Using plain integer as NULL pointer
../lib/iov_iter.c:541:38: warning: incorrect type in argument 1 (different address spaces)
../lib/iov_iter.c:541:38:    expected void const volatile [noderef] __user *ptr
'''

SPARSE_COMMIT = '''\
  CHECK   ../fs/direct-io.c
../fs/direct-io.c:1140:36: warning: Using plain integer as NULL pointer
../fs/direct-io.c:1200:9: warning: Using plain integer as NULL pointer
/src/lib/iov_iter.c:560:38: warning: incorrect type in argument 1 (different address spaces)
../fs/direct-io.c:300:1: error: bad constant expression
'''


def test_sparse_counts_ignore_line_numbers_and_paths() -> None:
	parent = check.diag_counts(SPARSE_PARENT)
	assert parent == Counter({
		'fs/direct-io.c: warning: Using plain integer as NULL pointer': 1,
		'lib/iov_iter.c: warning: incorrect type in argument 1 (different address spaces)': 1,
	})
	commit = check.diag_counts(SPARSE_COMMIT, '/src')
	assert commit['lib/iov_iter.c: warning: incorrect type in argument 1 '
		      '(different address spaces)'] == 1


def test_sparse_new_warnings_are_counts_per_message() -> None:
	new = check.new_diags(check.diag_counts(SPARSE_PARENT),
			      check.diag_counts(SPARSE_COMMIT, '/src'))
	# The moved warning is not new; its second instance and the error are.
	assert new == [
		{'message': 'fs/direct-io.c: error: bad constant expression',
		 'new': 1, 'parent': 0, 'commit': 1},
		{'message': 'fs/direct-io.c: warning: Using plain integer as NULL pointer',
		 'new': 1, 'parent': 1, 'commit': 2},
	]
	assert check.new_diags(check.diag_counts(SPARSE_COMMIT, '/src'),
			       check.diag_counts(SPARSE_PARENT)) == []


def test_checkpatch_parse() -> None:
	text = ('fs/direct-io.c:13: ERROR: space required before the open brace \'{\'\n'
		':345: WARNING: Possible unwrapped commit description\n'
		'block/blk-map.c:297: CHECK: Alignment should match open parenthesis\n'
		'total: 1 errors, 1 warnings, 1 checks, 46 lines checked\n')
	assert check.parse_checkpatch(text) == {
		'errors': ["fs/direct-io.c:13: space required before the open brace '{'"],
		'warnings': ['Possible unwrapped commit description'],
		'checks': ['block/blk-map.c:297: Alignment should match open parenthesis'],
	}


def test_rev_range() -> None:
	assert check.rev_range('a..b') == 'a..b'
	assert check.rev_range('pinconv') == 'pinconv-base..pinconv'


# ---- verdicts and reports ----

def result(sha: str, **kw: object) -> check.CommitResult:
	r = check.CommitResult(sha, f'subject of {sha}', 'p' + sha, ['fs/direct-io.c'],
			       build_ok=True, build_seconds=1.5,
			       objects={'fs/direct-io.c': 'fs/direct-io.o'},
			       checkpatch={'errors': [], 'warnings': [], 'checks': []})
	for k, v in kw.items():
		setattr(r, k, v)
	check.judge(r)
	return r


def test_judge() -> None:
	assert result('a').ok
	assert result('a', checkpatch={'errors': [], 'warnings': ['w'], 'checks': ['c']}).ok
	assert result('a', kernel_doc=['x.c:1: warning: y'], kernel_doc_new=['x.c:1: warning: y']).ok
	bad = result('b', build_ok=False, build_error='fs/direct-io.c:9: error: x',
		     objects={'fs/direct-io.c': None})
	assert bad.reasons == ['build failed: fs/direct-io.c:9: error: x',
			       'not compiled: fs/direct-io.c']
	assert result('c', sparse_new=[{'message': 'm', 'new': 2, 'parent': 0, 'commit': 2}]
		      ).reasons == ['2 new sparse warning(s)']
	assert result('d', checkpatch={'errors': ['e'], 'warnings': [], 'checks': []}
		      ).reasons == ['1 checkpatch ERROR(s)']


def test_reports(tmp_path: Path) -> None:
	good = result('a' * 40, checkpatch={'errors': [], 'warnings': ['a | b'], 'checks': []})
	bad = result('b' * 40, build_ok=False, build_error='boom', objects={'fs/direct-io.c': None})
	rep = check.Report('6.1.192', '/w', 'x..y', 'check', {'CONFIG_BLOCK': ['fs/direct-io.c']},
			   [], [good, bad], 12.0, 2.0, '3 hits, 1 misses')
	md, js = check.write_reports(rep, tmp_path)
	data = json.loads(js.read_text())
	assert data['ok'] is False
	assert data['failed'] == ['b' * 40]
	assert [c['ok'] for c in data['commits']] == [True, False]
	assert data['commits'][1]['build_ok'] is False
	assert data['commits'][0]['objects'] == {'fs/direct-io.c': 'fs/direct-io.o'}
	assert data['config'] == {'CONFIG_BLOCK': ['fs/direct-io.c']}
	text = md.read_text()
	assert '**FAIL**' in text and 'CONFIG_BLOCK=y' in text
	assert f'| 2 | `{"b" * 12}` | subject of {"b" * 40} | FAIL 1.5s | 0/1 |' in text
	assert 'a \\| b' in text	# a table-safe cell
	rep.commits = [good]
	assert check.report_json(rep).count('"ok": true') == 2


def test_bisect_needs_good_and_bad() -> None:
	p = pinconv('bisect', '--kver', KVER, '--bad', 'HEAD')
	assert p.returncode != 0
	assert p.stderr.strip() == 'pinconv: error: make bisect needs GOOD=<rev> and BAD=<rev>'


# ---- end to end on the 6.1 workspace ----

BROKEN = '''
/* pinconv make check test: this does not compile. */
int pinconv_check_broken(void)
{
	return
}
'''


def commit_on(base: str, path: str, text: str, subject: str) -> str:
	msg = (f'{subject}\n\nA commit that does not compile, for make check and '
	       f'make bisect.\n\nSigned-off-by: pinconv test <test@pinconv.invalid>\n')
	return commit_file(WORKSPACE, base, path, text, msg)


@pytest.fixture(scope='module')
def broken() -> Iterator[Tuple[str, str, str]]:
	"""(start, tip, bad): the branch pinconv-check-test is the series tip
	(or the baseline) plus a commit breaking fs/direct-io.c; start..bad is
	the tip's own commit (if the series has one) and the bad one."""
	if not (WORKSPACE / '.git').is_dir():
		pytest.skip(f'no {WORKSPACE}: run make tree')
	tip = git('rev-parse', f'{tree.BRANCH}^{{commit}}')
	base = git('rev-parse', f'{tree.BASE_TAG}^{{commit}}')
	start = base if tip == base else git('rev-parse', f'{tip}^')
	text = git('cat-file', '-p', f'{tip}:fs/direct-io.c') + '\n' + BROKEN
	bad = commit_on(tip, 'fs/direct-io.c', text,
			'fs/direct-io: make check test commit that does not compile')
	git('branch', '-f', TEST_BRANCH, bad)
	try:
		yield start, tip, bad
	finally:
		git('branch', '-D', TEST_BRANCH)


def check_fails_on(rng: str, bad: str, out: Path) -> Dict:
	"""make check of rng fails, on bad only; returns its check.json."""
	p = pinconv('check', '--kver', KVER, '--rev', rng, env={'PINCONV_OUT': str(out)})
	assert p.returncode == 1, p.stdout[-3000:] + p.stderr
	data = json.loads((out / 'reports' / KVER / 'check.json').read_text())
	assert data['failed'] == [bad]
	return data


@pytest.mark.e2e
@pytest.mark.kbuild
def test_check_fails_on_the_broken_commit(broken: Tuple[str, str, str],
					  tmp_path: Path) -> None:
	start, tip, bad = broken
	data = check_fails_on(f'{start}..{TEST_BRANCH}', bad, tmp_path)
	last = data['commits'][-1]
	assert last['sha'] == bad and last['build_ok'] is False
	assert 'fs/direct-io.c' in last['build_error']
	assert last['objects'] == {'fs/direct-io.c': None}
	for c in data['commits'][:-1]:
		assert c['ok'] and c['build_ok'], c
		assert all(c['objects'].values()), c
	assert (tmp_path / 'reports' / KVER / 'check.md').is_file()


@pytest.mark.e2e
@pytest.mark.kbuild
def test_bisect_names_the_broken_commit(broken: Tuple[str, str, str]) -> None:
	start, tip, bad = broken
	p = pinconv('bisect', '--kver', KVER, '--good', start, '--bad', TEST_BRANCH,
		    '--test', 'build')
	assert p.returncode == 0, p.stdout[-3000:] + p.stderr
	subject = 'fs/direct-io: make check test commit that does not compile'
	assert f'first bad commit: {bad} {subject}' in p.stdout
	# No bisect state is left, neither in its worktree nor in the workspace.
	t = tree.prepare(KVER)
	for where in (build.worktree_dir(t, check.BISECT_LABEL), WORKSPACE):
		assert subprocess.run(['git', 'bisect', 'log'], cwd=where,
				      capture_output=True).returncode != 0


# A header change that qualifies for the header proof (one plain
# declaration added to bio.h) but collides with a static function an
# earlier commit gave block/blk-map.c: the proof keeps the objects that do
# not see the name, and must leave blk-map.o to make, which fails on it.
PROBE = 'pinconv_probe_pages'
STATIC = f'''
/* pinconv make check test: a static function the next commit collides with. */
static int __maybe_unused {PROBE}(struct bio *bio)
{{
	return bio->bi_vcnt;
}}
'''


@pytest.fixture(scope='module')
def collision() -> Iterator[Tuple[str, str, str]]:
	"""(start, base, bad) on the tip (start): a commit adds the function
	to blk-map.c; base changes block/Makefile (a comment), so the header
	proof cannot run across it and starts from its build; bad declares
	the function in bio.h."""
	if not (WORKSPACE / '.git').is_dir():
		pytest.skip(f'no {WORKSPACE}: run make tree')
	start = git('rev-parse', f'{tree.BRANCH}^{{commit}}')
	text = git('cat-file', '-p', f'{start}:block/blk-map.c') + '\n' + STATIC
	static = commit_on(start, 'block/blk-map.c', text,
			   'block: make check test: a static function in blk-map.c')
	mk = git('cat-file', '-p', f'{start}:block/Makefile') + '\n# pinconv make check test\n'
	base = commit_on(static, 'block/Makefile', mk,
			 'block: make check test: a Makefile change ends the proof chain')
	bio_h = git('cat-file', '-p', f'{start}:include/linux/bio.h') + '\n'	# git() strips it
	anchor = 'void bio_iov_bvec_set(struct bio *bio, struct iov_iter *iter);\n'
	assert anchor in bio_h
	bio_h = bio_h.replace(anchor, anchor + f'int {PROBE}(struct bio *bio);\n')
	bad = commit_on(base, 'include/linux/bio.h', bio_h,
			'block: make check test: a declaration that collides')
	git('branch', '-f', TEST_BRANCH + '-collision', bad)
	try:
		yield start, base, bad
	finally:
		git('branch', '-D', TEST_BRANCH + '-collision')


@pytest.mark.e2e
@pytest.mark.kbuild
def test_header_proof_leaves_a_collision_to_make(collision: Tuple[str, str, str],
						 tmp_path: Path) -> None:
	start, base, bad = collision
	last = check_fails_on(f'{start}..{bad}', bad, tmp_path)['commits'][-1]
	proof = last['proof']
	assert proof['base'] == base and proof['skipped'] == ''
	assert proof['headers']['include/linux/bio.h']['ok']
	assert proof['headers']['include/linux/bio.h']['added'] == [PROBE]
	# Most objects that include bio.h are kept; blk-map.o is not.
	assert proof['proven'] > 100
	assert proof['reasons']['block/blk-map.o'] == f'{PROBE} occurs 2 times'
	assert last['build_ok'] is False
	assert 'block/blk-map.c' in last['build_error'] and PROBE in last['build_error']

