# SPDX-License-Identifier: GPL-2.0
"""headerproof: which header changes qualify (pure), and, with the real
gcc and git on a small kbuild-like tree, which objects are proven and
kept and which are left to make.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python
"""

import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from pinconv import headerproof as hp

UIO_OLD = '''ssize_t iov_iter_get_pages2(struct iov_iter *i, struct page **pages,
			size_t maxsize, unsigned maxpages, size_t *start);
int iov_iter_npages(const struct iov_iter *i, int maxpages);
'''
UIO_NEW = '''ssize_t iov_iter_get_pages2(struct iov_iter *i, struct page **pages,
			size_t maxsize, unsigned maxpages, size_t *start);
ssize_t iov_iter_pin_pages(struct iov_iter *i, struct page **pages,
			   size_t maxsize, unsigned int maxpages, size_t *start);
int iov_iter_npages(const struct iov_iter *i, int maxpages);
'''
ENUM_OLD = '''/*
 * bio flags
 */
enum {
	BIO_NO_PAGE_REF,	/* don't put release vec pages */
	BIO_CLONED,		/* doesn't own data */
	BIO_ZONE_WRITE_LOCKED,	/* Owns a zoned device zone write lock */
	BIO_FLAG_LAST
};
'''


def diff(old: str, new: str, tmp_path: Path) -> str:
	(tmp_path / 'a.h').write_text(old)
	(tmp_path / 'b.h').write_text(new)
	p = subprocess.run(['git', 'diff', '--no-index', '-U0', 'a.h', 'b.h'],
			   cwd=tmp_path, capture_output=True, text=True)
	return p.stdout


def classify(old: str, new: str, tmp_path: Path) -> hp.Header:
	return hp.classify('x.h', diff(old, new, tmp_path), old, new)


# ---- step 1: headers ----

@pytest.mark.parametrize('stmt,expect', [
	('void pin_user_page(struct page *page)', ('pin_user_page', ['struct page'], [])),
	('ssize_t iov_iter_pin_pages_alloc(struct iov_iter *i, struct page ***pages, '
	 'size_t maxsize, size_t *start)',
	 ('iov_iter_pin_pages_alloc', ['struct iov_iter', 'struct page'], ['size_t', 'ssize_t'])),
	('extern void bio_unpin_pages(struct bio *, bool mark_dirty)',
	 ('bio_unpin_pages', ['struct bio'], ['bool'])),
	('int f(unsigned int n, size_t)', ('f', [], ['size_t'])),
	('int f(void)', ('f', [], [])),
	('__must_check int f(void)', ('f', [], ['__must_check'])),
	('static inline int f(void)', None),
	('int (*f)(void)', None),
	('int x = 3', None),
	('int f(void) { return 0; }', None),
])
def test_declaration(stmt: str, expect: object) -> None:
	assert hp.declaration(stmt) == expect


def test_added_prototype_qualifies(tmp_path: Path) -> None:
	h = classify(UIO_OLD, UIO_NEW, tmp_path)
	assert h.ok, h.why
	assert h.added == ['iov_iter_pin_pages'] and h.removed == [] and h.shifted == []
	assert h.needs == {'iov_iter_pin_pages': (['struct iov_iter', 'struct page'],
						  ['size_t', 'ssize_t'])}
	back = classify(UIO_NEW, UIO_OLD, tmp_path)
	assert back.ok and back.removed == ['iov_iter_pin_pages'] and back.added == []


def test_enumerator_appended_shifts_only_the_last(tmp_path: Path) -> None:
	new = ENUM_OLD.replace('\tBIO_FLAG_LAST', '\tBIO_PAGE_PINNED,\t/* pinned */\n\tBIO_FLAG_LAST')
	h = classify(ENUM_OLD, new, tmp_path)
	assert h.ok, h.why
	assert h.added == ['BIO_PAGE_PINNED'] and h.shifted == ['BIO_FLAG_LAST']


def test_enumerator_inserted_first_shifts_all_after(tmp_path: Path) -> None:
	new = ENUM_OLD.replace('\tBIO_CLONED', '\tBIO_PAGE_PINNED,\n\tBIO_CLONED')
	h = classify(ENUM_OLD, new, tmp_path)
	assert h.ok
	assert h.shifted == ['BIO_CLONED', 'BIO_ZONE_WRITE_LOCKED', 'BIO_FLAG_LAST']


@pytest.mark.parametrize('old,new,why', [
	(UIO_OLD, UIO_OLD.replace('int maxpages', 'unsigned int maxpages'), 'changed'),
	(UIO_OLD, UIO_OLD + '#include <linux/mm.h>\n', 'preprocessor'),
	(UIO_OLD, UIO_OLD + '#define PIN 1\n', 'preprocessor'),
	(UIO_OLD, UIO_OLD + 'static inline int f(void)\n{\n\treturn 0;\n}\n', 'not'),
	(UIO_OLD, UIO_OLD + 'extern int pin_count;\n', 'not a plain function declaration'),
	(UIO_OLD, UIO_OLD + 'struct pin;\n', 'not a plain function declaration'),
	(UIO_OLD, UIO_OLD + 'int f(void)\n', 'not a complete declaration'),
	(ENUM_OLD.replace('BIO_CLONED,', 'BIO_CLONED = 4,'),
	 ENUM_OLD.replace('BIO_CLONED,', 'BIO_CLONED = 4,').replace(
		'\tBIO_FLAG_LAST', '\tBIO_PAGE_PINNED,\n\tBIO_FLAG_LAST'), 'explicit values'),
	('struct s {\n\tint a;\n};\n', 'struct s {\n\tint a;\n\tB,\n};\n', 'outside a plain enum'),
])
def test_other_changes_do_not_qualify(old: str, new: str, why: str, tmp_path: Path) -> None:
	h = classify(old, new, tmp_path)
	assert not h.ok
	assert why in h.why


def test_comments_and_blank_lines_qualify(tmp_path: Path) -> None:
	h = classify(UIO_OLD, '/* a new comment */\n\n' + UIO_OLD, tmp_path)
	assert h.ok and h.added == [] and h.removed == []


# ---- step 2 on preprocessed text (pure) ----

def test_judge_text() -> None:
	h = hp.Header('h.h', ok=True, added=['pin_it'], shifted=['F_LAST'],
		      needs={'pin_it': (['struct thing'], ['size_t'])})
	good = ('typedef unsigned long size_t; struct thing { int x; }; '
		'int pin_it(struct thing *t, size_t n); enum { F_A, F_LAST };')
	assert hp.judge_text(good, [h]) == ''
	assert 'occurs 2 times' in hp.judge_text(good + ' int pin_it(void);', [h])
	assert 'F_LAST changes value' in hp.judge_text(good + ' int n = F_LAST;', [h])
	assert 'struct thing is not declared' in hp.judge_text(
		good.replace('struct thing { int x; };', ''), [h])
	# A mention in another prototype's parameters does not declare it.
	assert 'struct thing is not declared' in hp.judge_text(
		good.replace('struct thing { int x; };', 'int g(struct thing *);'), [h])
	assert 'size_t does not occur' in hp.judge_text(
		good.replace('typedef unsigned long size_t; ', ''), [h])
	# Whole identifiers only: pin_it_all and my_pin_it are other names.
	assert hp.judge_text(good + ' int pin_it_all; int my_pin_it;', [h]) == ''
	gone = hp.Header('h.h', ok=True, removed=['pin_it'])
	assert hp.judge_text('int x;', [gone]) == ''
	assert 'still used' in hp.judge_text('int y = pin_it();', [gone])


# ---- both steps, real gcc and git ----

H_OLD = '''struct thing { int x; };
int thing_get(struct thing *t);
enum { F_A, F_B,
	F_LAST };
'''
H_NEW = '''struct thing { int x; };
int thing_get(struct thing *t);
int thing_pin(struct thing *t);
enum { F_A, F_B,
	F_NEW,
	F_LAST };
'''
G_OLD = 'int g_old(struct gthing *p);\n'
G_NEW = 'int g_old(struct gthing *p);\nint g_new(struct gthing *p);\n'
SOURCES = {
	# Uses nothing new: proven.
	'a.c': '#include "h.h"\nint fa(struct thing *t) { return thing_get(t); }\n',
	# Uses an enumerator whose value changes.
	'b.c': '#include "h.h"\nint fb(void) { return F_LAST; }\n',
	# Defines thing_pin through token pasting: a collision grep cannot see.
	'd.c': '#include "h.h"\n#define PIN(x) x ## _pin\nstatic int PIN(thing)(struct thing *t) '
	       '{ return t->x; }\nint fd(struct thing *t) { return thing_pin(t); }\n',
	# Changed by the commit: make compiles it.
	'k.c': '#include "h.h"\nint fk(void) { return 0; }\n',
	# struct gthing is not declared before g_new.
	'e.c': '#include "g.h"\nint fe(void) { return 0; }\n',
	# It is here.
	'f.c': 'struct gthing { int y; };\n#include "g.h"\nint ff(void) { return 0; }\n',
	# Includes both.
	'm.c': 'struct gthing;\n#include "h.h"\n#include "g.h"\nint fm(void) { return 0; }\n',
	# Includes no changed header.
	'n.c': 'int fn(void) { return 1; }\n',
}
DEPS = {'a.c': ['include/h.h'], 'b.c': ['include/h.h'], 'd.c': ['include/h.h'],
	'k.c': ['include/h.h'],
	'e.c': ['include/g.h'], 'f.c': ['include/g.h'], 'm.c': ['include/h.h', 'include/g.h'],
	'n.c': []}


def sh(cmd: List[str], cwd: Path) -> str:
	return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True,
			      env=dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t.invalid',
				       GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t.invalid')
			      ).stdout.strip()


def compile_cmd(c: str) -> str:
	o = c[:-2] + '.o'
	return (f'gcc -Wp,-MMD,./.{o}.d -nostdinc -I../include -D__KERNEL__ -Wall '
		f'-c -o {o} ../{c}')


@pytest.fixture
def toy(tmp_path: Path) -> Dict[str, str]:
	"""A git tree at S with objects built in src/out and .o.cmd files as
	kbuild writes them; c is checked out. Returns {'S': sha, 'c': sha}."""
	src = tmp_path / 'src'
	(src / 'include').mkdir(parents=True)
	(src / 'include' / 'h.h').write_text(H_OLD)
	(src / 'include' / 'g.h').write_text(G_OLD)
	for name, text in SOURCES.items():
		(src / name).write_text(text)
	(src / '.gitignore').write_text('out/\n')
	sh(['git', 'init', '-q'], src)
	sh(['git', 'add', '.'], src)
	sh(['git', 'commit', '-qm', 'S'], src)
	s = sh(['git', 'rev-parse', 'HEAD'], src)
	out = src / 'out'
	out.mkdir()
	for c, deps in DEPS.items():
		o = c[:-2] + '.o'
		cmd = compile_cmd(c)
		subprocess.run(cmd, shell=True, cwd=out, check=True)
		dep_lines = ''.join(f'  ../{d} \\\n' for d in deps)
		(out / f'.{o}.cmd').write_text(
			f'cmd_{o} := {cmd}\n\nsource_{o} := ../{c}\n\ndeps_{o} := \\\n'
			f'  $(wildcard include/config/X) \\\n{dep_lines}\n{o}: $(deps_{o})\n\n'
			f'$(deps_{o}):\n')
	old = time.time() - 100
	for o in out.glob('*.o'):
		os.utime(o, (old, old))
	(src / 'include' / 'h.h').write_text(H_NEW)
	(src / 'include' / 'g.h').write_text(G_NEW)
	(src / 'k.c').write_text(SOURCES['k.c'] + 'int fk2(void) { return 2; }\n')
	sh(['git', 'commit', '-qam', 'c'], src)
	return {'S': s, 'c': sh(['git', 'rev-parse', 'HEAD'], src), 'src': str(src)}


def prove(src: Path, base: str, commits: List[Tuple[str, List[str]]]) -> hp.Proof:
	"""As make check does: the build's own checkout (src) stays behind
	(here: at base), the preprocessor reads a checkout of the last commit."""
	head = sh(['git', 'rev-parse', 'HEAD'], src)
	sh(['git', 'checkout', '-q', base or head], src)

	def checkout(sha: str) -> Path:
		wt = src.parent / f'proof-{sha[:12]}'
		if not wt.exists():
			sh(['git', 'worktree', 'add', '-q', '--detach', str(wt), sha], src)
		return wt
	try:
		return hp.prove(src, src / 'out', base, commits, checkout, 'test', 2)
	finally:
		sh(['git', 'checkout', '-q', head], src)


def test_prove_real_objects(toy: Dict[str, str]) -> None:
	src = Path(toy['src'])
	out = src / 'out'
	before = {o.name: o.stat().st_mtime for o in out.glob('*.o')}
	# As make check passes them: every file the commit touches.
	pr = prove(src, toy['S'], [(toy['c'], ['a.c', 'include/h.h', 'include/g.h'])])
	assert pr.skipped == '' and pr.covers == [toy['c']] and pr.stop == ''
	assert pr.headers['include/h.h']['ok'] and pr.headers['include/g.h']['ok']
	assert pr.headers['include/h.h']['shifted'] == ['F_LAST']
	# a.c is "touched" (as make check's sparse run at the parent may have
	# compiled it there), k.c is changed: make compiles them.
	assert pr.candidates == 5
	assert pr.proven == 2 and pr.compiled == 3
	assert pr.reasons == {'b.o': 'F_LAST changes value and occurs 2 times',
			      # d.c's pasted name collides with the new declaration.
			      'd.o': 'thing_pin occurs 3 times',
			      'e.o': 'struct gthing is not declared before g_new'}
	assert pr.kept == ['f.o', 'm.o']
	assert {o.name: o.stat().st_mtime for o in out.glob('*.o')} == before
	assert hp.keep(out, pr, ['include/h.h']) == 1	# m.o only: f.o has no h.h
	assert hp.keep(out, pr, ['include/h.h', 'include/g.h']) == 2
	after = {o.name: o.stat().st_mtime for o in out.glob('*.o')}
	kept = {n for n in after if after[n] != before[n]}
	assert kept == {'f.o', 'm.o'}
	# make would now keep exactly those: newer than every header.
	newest = max((src / 'include' / h).stat().st_mtime for h in ('h.h', 'g.h'))
	assert all(after[n] > newest for n in kept)
	assert all(after[n] < newest for n in after if n not in kept)
	# And a.o, not touched: proven too.
	pr = prove(src, toy['S'], [(toy['c'], [])])
	assert pr.proven == 3 and 'a.o' not in pr.reasons


def test_removal_is_left_to_make(toy: Dict[str, str]) -> None:
	"""From c back to S the headers lose lines: nothing is proven (the
	chain argument needs each step to add only)."""
	src = Path(toy['src'])
	sh(['git', 'checkout', '-q', toy['S']], src)
	pr = prove(src, toy['c'], [(toy['S'], [])])
	assert pr.covers == [toy['S']]
	assert pr.headers['include/h.h']['ok'] is False
	assert pr.headers['include/h.h']['why'] == 'a step removes or changes lines'
	assert pr.skipped == 'no proof: no header qualifies' and pr.kept == []


def test_chain_over_commits(toy: Dict[str, str]) -> None:
	"""One proof at the last commit covers the commits before it, as long
	as every step only adds declarations; it stops at a step that does
	anything else, and a header that loses lines in a step is out."""
	src = Path(toy['src'])
	g = (src / 'include' / 'g.h').read_text()
	(src / 'include' / 'g.h').write_text(g + 'int g_more(struct gthing *p);\n')
	sh(['git', 'commit', '-qam', 'c2'], src)
	c2 = sh(['git', 'rev-parse', 'HEAD'], src)
	pr = prove(src, toy['S'], [(toy['c'], []), (c2, [])])
	assert pr.covers == [toy['c'], c2]
	assert pr.headers['include/g.h']['added'] == ['g_new', 'g_more']
	# Each covered commit's own header changes, for keep() and the report.
	assert sorted(pr.steps) == sorted([toy['c'], c2])
	assert list(pr.steps[c2]) == ['include/g.h'] and pr.steps[c2]['include/g.h']['added'] == ['g_more']
	assert hp.as_dict(pr, c2)['headers'] == pr.steps[c2]
	assert pr.kept == ['a.o', 'f.o', 'm.o']
	# A step that removes a line: g.h is out, h.h still in.
	(src / 'include' / 'g.h').write_text(g.replace('int g_new(struct gthing *p);\n', ''))
	sh(['git', 'commit', '-qam', 'c3'], src)
	c3 = sh(['git', 'rev-parse', 'HEAD'], src)
	pr = prove(src, toy['S'], [(toy['c'], []), (c2, []), (c3, [])])
	assert pr.covers == [toy['c'], c2, c3]
	# g.h is as it was at S, but not in between: f.o and m.o are not kept.
	assert 'include/g.h' not in pr.headers and pr.kept == ['a.o']
	# A step that changes a Makefile ends the chain before it.
	(src / 'Makefile').write_text('obj-y += a.o\n')
	sh(['git', 'add', 'Makefile'], src)
	sh(['git', 'commit', '-qm', 'c4'], src)
	c4 = sh(['git', 'rev-parse', 'HEAD'], src)
	pr = prove(src, toy['S'], [(toy['c'], []), (c2, []), (c4, [])])
	assert pr.covers == [toy['c'], c2] and pr.stop == f'{c4[:12]} changes Makefile'


def test_generator_sources_end_the_chain(toy: Dict[str, str]) -> None:
	"""A .c file compiled to something that becomes a header (kbuild's
	asm-offsets.c -> .s) is no plain source."""
	src = Path(toy['src'])
	(src / 'out' / '.offsets.s.cmd').write_text(
		'cmd_offsets.s := gcc -S -o offsets.s ../offsets.c\n\n'
		'source_offsets.s := ../offsets.c\n')
	(src / 'offsets.c').write_text('int x;\n')
	sh(['git', 'add', 'offsets.c'], src)
	sh(['git', 'commit', '-qm', 'c2'], src)
	c2 = sh(['git', 'rev-parse', 'HEAD'], src)
	pr = prove(src, toy['S'], [(toy['c'], []), (c2, [])])
	assert pr.covers == [toy['c']]
	assert pr.stop == f'{c2[:12]} changes offsets.c, a generator'



def test_other_files_stop_the_proof(toy: Dict[str, str]) -> None:
	src = Path(toy['src'])
	(src / 'Makefile').write_text('obj-y += a.o\n')
	sh(['git', 'add', 'Makefile'], src)
	sh(['git', 'commit', '-qm', 'Makefile'], src)
	head = sh(['git', 'rev-parse', 'HEAD'], src)
	pr = prove(src, toy['S'], [(head, [])])
	assert pr.skipped == f'no proof: {head[:12]} changes Makefile' and pr.proven == 0


def test_no_stamp_no_proof(toy: Dict[str, str]) -> None:
	src = Path(toy['src'])
	out = src / 'out'
	assert prove(src, '', [(toy['c'], [])]).skipped.startswith('no proof')
	(out / '.config').write_text('CONFIG_X=y\n')
	hp.write_stamp(out, toy['S'])
	assert hp.read_stamp(out) == toy['S']
	(out / '.config').write_text('CONFIG_X=n\n')	# another config: not that build
	assert hp.read_stamp(out) == ''
	hp.drop_stamp(out)
	assert not (out / hp.STAMP).exists() and hp.read_stamp(out) == ''
