# SPDX-License-Identifier: GPL-2.0
"""Tests for scripts/pinconv/selftests.py: the kselftest TAP parser, the
baseline/tip comparison, the commands file, and the static builds of the
trees' own mm selftests.

The TAP samples are what tools/testing/selftests/kselftest.h prints (6.12
and 6.1: ksft_print_header, ksft_set_plan, ksft_test_result_*,
ksft_test_result_code, ksft_exit_skip, ksft_exit_fail_msg, ksft_print_cnts)
and what cow.c and gup_longterm.c print around them ("# [RUN] ...").

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python
"""

import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'scripts'))

from pinconv import selftests, tree  # noqa: E402
from pinconv.printer import Error  # noqa: E402


def console(runs: Dict[str, List[str]], noise: bool = True) -> str:
	"""A serial console as the probe writes it: each output line and the
	exit line prefixed, CRLF ends, kernel messages in between."""
	lines = ['[    0.000000] Linux version 6.12.118', 'PINPROBE {"scenario":"gup-control"}']
	for name, out in runs.items():
		for i, l in enumerate(out):
			lines.append(f'PINSELFTEST {name} {l}')
			if noise and i == 1:
				lines.append('[    3.141592] gup_test: dump_pages() test')
	lines.append('[    9.0] reboot: Restarting system')
	return '\r\n'.join(lines) + '\r\n'


# cow.c on a guest with no THP and no hugetlb (6.12's kselftest.h).
COW = [
	'TAP version 13',
	'1..6',
	'# [INFO] Anonymous memory tests in private mappings',
	'# [RUN] Basic COW after fork() ... with base page',
	'ok 1 No leak from parent into child',
	'# [RUN] Basic COW after fork() ... with swapped out base page',
	'ok 2 # SKIP MADV_PAGEOUT did not work, is swap enabled?',
	'# [RUN] vmsplice() + unmap in child ... with base page',
	'ok 3 No leak from parent into child',
	'# [RUN] R/O GUP pin on R/O-mapped shared page ... with base page',
	'ok 4 Longterm R/O pin is reliable',
	'# [RUN] R/O GUP-fast pin on R/O-mapped shared page ... with base page',
	'ok 5 Longterm R/O pin is reliable',
	'# [INFO] Non-anonymous memory tests in private mappings',
	'# [RUN] Basic COW ... with shared zeropage',
	'ok 6 Other mapping not modified',
	'# Totals: pass:5 fail:0 xfail:0 xpass:0 skip:1 error:0',
	'exit 0',
]

# The same on a kernel that breaks a pin: descriptions change with the
# outcome ("Leak from ..."), a case vanishes, and cow bails out.
COW_BROKEN = [
	'TAP version 13',
	'1..6',
	'# [RUN] Basic COW after fork() ... with base page',
	'not ok 1 Leak from parent into child',
	'# [RUN] Basic COW after fork() ... with swapped out base page',
	'ok 2 # SKIP MADV_PAGEOUT did not work, is swap enabled?',
	'# [RUN] vmsplice() + unmap in child ... with base page',
	'ok 3 No leak from parent into child',
	'# [RUN] R/O GUP pin on R/O-mapped shared page ... with base page',
	'ok 4 # SKIP PIN_LONGTERM_TEST_START failed',
	'# [RUN] Basic COW ... with shared zeropage',
	'ok 5 Other mapping not modified',
	'Bail out! 1 out of 5 tests failed',
	'# Planned tests != run tests (6 != 5)',
	'# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:2 error:0',
	'exit 1',
]

# 6.12's gup_test: one thread, ksft_test_result(!status, "ioctl status %d\n").
GUP_TEST_612 = [
	'TAP version 13',
	'1..1',
	'# PIN_FAST_BENCHMARK: Time: get:2144 put:311 us',
	'ok 1 ioctl status 0',
	'# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0',
	'exit 0',
]
GUP_TEST_612_FAIL = [
	'TAP version 13',
	'1..1',
	'not ok 1 ioctl status -1',
	'# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0',
	'exit 0',
]
GUP_TEST_612_NO_DEBUGFS = [
	'TAP version 13',
	'1..1',
	'# mount debugfs at /sys/kernel/debug',
	'# check if CONFIG_GUP_TEST is enabled in kernel config',
	'ok 1 # SKIP Please run this test as root',
	'# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0',
	'exit 0',
]

# 6.1's gup_test prints free text: exit 0, 1 (perror, exit(1)) or
# KSFT_SKIP (no /sys/kernel/debug/gup_test).
GUP_TEST_61 = ['GUP_FAST_BENCHMARK: Time: get:2310 put:402 us', 'exit 0']
GUP_TEST_61_FAIL = ['ioctl: Bad address', 'exit 1']
GUP_TEST_61_SKIP = ['check if CONFIG_GUP_TEST is enabled in kernel config', 'exit 4']


# Linux 6.1.192 (the pinconv 6.1 baseline, TCG), console as QEMU wrote it:
# the gup_test runs built from 6.1, and cow from 6.12 (6.1's gup_test has
# no PIN_LONGTERM_TEST_*: those cases skip). gup_test -c's dump_page()
# lines land on the console between the runs' lines.
REAL_61 = """\
Run /init as init process\r
PINSELFTEST gup_test-u GUP_FAST_BENCHMARK: Time: get:12000 put:0 us\r
PINSELFTEST gup_test-u exit 0\r
PINSELFTEST gup_test-a PIN_FAST_BENCHMARK: Time: get:16001 put:4000 us\r
PINSELFTEST gup_test-a exit 0\r
---- page #0, starting from user virt addr: 0x7ff3d1463000\r
page:(____ptrval____) refcount:2 mapcount:1 mapping:0000000000000000 index:0x0 pfn:0x1afa\r
anon flags: 0xa0016(referenced|uptodate|lru|mappedtodisk|swapbacked|section=0|zone=0)\r
raw: 00000000000a0016 ffff88803f3bcbb0 ffff88803f1de6f0 ffff8880027e7ca9\r
raw: 0000000000000000 0000000000000000 0000000200000000\r
page dumped because: gup_test: dump_pages() test\r
PINSELFTEST gup_test-ct DUMP_USER_PAGES_TEST: done\r
PINSELFTEST gup_test-ct exit 0\r
PINSELFTEST cow TAP version 13\r
PINSELFTEST cow 1..33\r
PINSELFTEST cow # [INFO] Anonymous memory tests in private mappings\r
PINSELFTEST cow # [RUN] Basic COW after fork() ... with base page\r
PINSELFTEST cow ok 1 No leak from parent into child\r
PINSELFTEST cow # [RUN] Basic COW after fork() ... with swapped out base page\r
PINSELFTEST cow ok 2 # SKIP MADV_PAGEOUT did not work, is swap enabled?\r
PINSELFTEST cow # [RUN] R/O GUP pin on R/O-mapped shared page ... with base page\r
PINSELFTEST cow ok 13 # SKIP PIN_LONGTERM_TEST_START failed\r
PINSELFTEST cow # [RUN] Non-anonymous memory tests in private mappings\r
PINSELFTEST cow # [RUN] Basic COW ... with shared zeropage\r
PINSELFTEST cow ok 25 Other mapping not modified\r
PINSELFTEST cow # [RUN] Basic COW ... with tmpfile\r
PINSELFTEST cow ok 27 Other mapping not modified\r
PINSELFTEST cow # Totals: pass:9 fail:0 xfail:0 xpass:0 skip:24 error:0\r
PINSELFTEST cow exit 0\r
reboot: Restarting system\r
"""


def test_parse_real_console() -> None:
	res = selftests.parse(REAL_61)
	assert {n: r.status for n, r in res.items()} == \
		{'gup_test-u': '0', 'gup_test-a': '0', 'gup_test-ct': '0', 'cow': '0'}
	assert res['gup_test-ct'].lines == ['DUMP_USER_PAGES_TEST: done']
	assert selftests.summary(res) == {
		'gup_test-u': {'pass': 1, 'fail': 0, 'skip': 0},
		'gup_test-a': {'pass': 1, 'fail': 0, 'skip': 0},
		'gup_test-ct': {'pass': 1, 'fail': 0, 'skip': 0},
		'cow': {'pass': 3, 'fail': 0, 'skip': 2},
	}
	cow = res['cow']
	assert cow.plan == 33 and cow.totals['pass'] == 9
	# "[RUN] Non-anonymous memory tests ..." is a heading: the next [RUN] names the case.
	assert list(cow.cases)[-2:] == ['Basic COW ... with shared zeropage',
					'Basic COW ... with tmpfile']
	assert cow.cases['R/O GUP pin on R/O-mapped shared page ... with base page'].reason == \
		'PIN_LONGTERM_TEST_START failed'
	assert selftests.compare(res, res) == []


def test_parse_cow() -> None:
	r = selftests.parse(console({'cow': COW}))['cow']
	assert r.status == '0' and r.passed and r.plan == 6
	assert r.totals == {'pass': 5, 'fail': 0, 'xfail': 0, 'xpass': 0, 'skip': 1, 'error': 0}
	# Keyed by the "[RUN]" line before each result: cow's descriptions are
	# outcomes ("No leak from parent into child"), the same for many cases.
	assert list(r.cases) == [
		'Basic COW after fork() ... with base page',
		'Basic COW after fork() ... with swapped out base page',
		'vmsplice() + unmap in child ... with base page',
		'R/O GUP pin on R/O-mapped shared page ... with base page',
		'R/O GUP-fast pin on R/O-mapped shared page ... with base page',
		'Basic COW ... with shared zeropage',
	]
	skip = r.cases['Basic COW after fork() ... with swapped out base page']
	assert (skip.number, skip.status, skip.desc, skip.reason) == \
		(2, 'skip', '', 'MADV_PAGEOUT did not work, is swap enabled?')
	first = r.cases['Basic COW after fork() ... with base page']
	assert (first.status, first.desc) == ('pass', 'No leak from parent into child')
	assert selftests.summary({'cow': r}) == {'cow': {'pass': 5, 'fail': 0, 'skip': 1}}
	# The kernel's line in between is not the run's.
	assert not any('dump_pages' in l for l in r.lines)


def test_parse_bail_out_and_plan() -> None:
	r = selftests.parse(console({'cow': COW_BROKEN}))['cow']
	assert r.status == '1' and not r.passed
	assert r.bail == '1 out of 5 tests failed'
	assert r.cases['Basic COW after fork() ... with base page'].status == 'fail'
	assert r.cases['Basic COW after fork() ... with base page'].desc == \
		'Leak from parent into child'
	assert selftests.summary({'cow': r})['cow'] == {'pass': 2, 'fail': 1, 'skip': 2}


def test_parse_ksft_forms() -> None:
	"""Every line form of kselftest.h (6.12; 6.1 prints the same with %d)."""
	out = [
		'TAP version 13',
		'1..9',
		'ok 1 plain pass',
		'not ok 2 plain fail',
		'ok 3 # SKIP skipped, with no description',
		'ok 4 # XFAIL failed as expected',
		'not ok 5 # error broke',
		'ok 6 named #  a message',	# ksft_test_result_code(KSFT_PASS, "named", "a message")
		'ok 7 named2 # SKIP why not',	# ksft_test_result_code(KSFT_SKIP, ...)
		'not ok 8 named3 #  what went wrong',
		'ok 9 named4 # XPASS unexpectedly',
		'# Totals: pass:3 fail:3 xfail:1 xpass:1 skip:2 error:1',
		'exit 1',
	]
	r = selftests.parse(console({'t': out}))['t']
	got = {k: (c.number, c.status, c.reason) for k, c in r.cases.items()}
	assert got == {
		'plain pass': (1, 'pass', ''),
		'plain fail': (2, 'fail', ''),
		'skipped, with no description': (3, 'skip', 'skipped, with no description'),
		'XFAIL failed as expected': (4, 'pass', 'XFAIL failed as expected'),
		'ERROR broke': (5, 'fail', 'ERROR broke'),
		'named': (6, 'pass', 'a message'),
		'named2': (7, 'skip', 'why not'),
		'named3': (8, 'fail', 'what went wrong'),
		'named4': (9, 'fail', 'XPASS unexpectedly'),
	}


def test_parse_repeated_descriptions() -> None:
	out = ['TAP version 13', '1..4', 'ok 1 same', 'ok 2 same', 'not ok 3 same', 'ok 4 other',
	       'exit 1']
	r = selftests.parse(console({'t': out}))['t']
	assert {k: c.status for k, c in r.cases.items()} == \
		{'same': 'pass', 'same #2': 'pass', 'same #3': 'fail', 'other': 'pass'}


def test_parse_exit_skip_and_statuses() -> None:
	"""ksft_exit_skip() before a plan; runs killed, timed out, unfinished."""
	res = selftests.parse(console({
		'a': ['TAP version 13', '1..0 # SKIP no gup_test here', 'exit 4'],
		'b': ['TAP version 13', '1..2', 'ok 1 first', 'exit signal 11'],
		'c': ['TAP version 13', '1..2', 'exit timeout'],
		'd': ['TAP version 13', '1..2', 'ok 1 first'],
	}))
	assert res['a'].status == '4'
	assert {k: (c.status, c.reason) for k, c in res['a'].cases.items()} == \
		{'a': ('skip', 'no gup_test here')}
	assert res['b'].status == 'signal 11' and res['b'].ended() == 'signal 11'
	assert res['c'].status == 'timeout' and res['c'].cases == {}
	assert res['d'].status == '' and not res['d'].passed
	assert 'no exit status' in res['d'].ended()


def test_parse_free_text_gup_test_61() -> None:
	res = selftests.parse(console({'gup_test-u': GUP_TEST_61, 'gup_test-a': GUP_TEST_61_FAIL,
				       'gup_test-ct': GUP_TEST_61_SKIP}))
	assert {n: {k: (c.status, c.reason) for k, c in r.cases.items()} for n, r in res.items()} == {
		'gup_test-u': {'gup_test-u': ('pass', '')},
		'gup_test-a': {'gup_test-a': ('fail', 'ioctl: Bad address')},
		'gup_test-ct': {'gup_test-ct': ('skip', 'check if CONFIG_GUP_TEST is enabled in '
							'kernel config')},
	}
	assert res['gup_test-u'].lines == ['GUP_FAST_BENCHMARK: Time: get:2310 put:402 us']


def test_parse_ignores_other_lines() -> None:
	text = ('PINSELFTESTS nothing\nPINPROBE {"scenario":"x"}\n'
		'[   1.0] PINSELFTEST cow ok 1 fine\nPINSELFTEST cow exit 0\n')
	res = selftests.parse(text)
	assert list(res) == ['cow'] and res['cow'].cases['fine'].status == 'pass'
	assert selftests.parse('') == {}


def test_compare_clean() -> None:
	base = selftests.parse(console({'cow': COW, 'gup_test-a': GUP_TEST_612}))
	assert selftests.compare(base, base) == []
	# Better on the tip is no regression; neither is a new run.
	tip = selftests.parse(console({'cow': COW, 'gup_test-a': GUP_TEST_612,
				       'gup_test-b': GUP_TEST_612}))
	worse_base = selftests.parse(console({'cow': COW_BROKEN, 'gup_test-a': GUP_TEST_612_FAIL}))
	assert selftests.compare(worse_base, tip) == []
	# A case the baseline failed may fail on the tip.
	assert selftests.compare(worse_base, worse_base) == []


def test_compare_regressions() -> None:
	base = selftests.parse(console({'cow': COW, 'gup_test-a': GUP_TEST_612,
					'gup_test-u': GUP_TEST_612, 'gup_test-ct': GUP_TEST_612}))
	tip = selftests.parse(console({'cow': COW_BROKEN, 'gup_test-a': GUP_TEST_612_FAIL,
				       'gup_test-u': GUP_TEST_612_NO_DEBUGFS}))
	assert selftests.compare(base, tip) == [
		'cow: exit 0 on the baseline, exit 1 on the tip: Bail out! 1 out of 5 tests failed',
		'cow: Basic COW after fork() ... with base page: passed on the baseline, fail on '
		'the tip',
		'cow: R/O GUP pin on R/O-mapped shared page ... with base page: passed on the '
		'baseline, skip on the tip (PIN_LONGTERM_TEST_START failed)',
		'cow: R/O GUP-fast pin on R/O-mapped shared page ... with base page: passed on '
		'the baseline, missing on the tip',
		# The description carries the outcome: matched by its TAP number.
		'gup_test-a: ioctl status 0: passed on the baseline; on the tip case 1 is '
		'"ioctl status -1": fail',
		'gup_test-u: ioctl status 0: passed on the baseline; on the tip case 1 is '
		'"Please run this test as root": skip',
		'gup_test-ct: ran on the baseline (exit 0, 1 passed), missing on the tip',
	]


def test_compare_free_text_runs() -> None:
	base = selftests.parse(console({'gup_test-u': GUP_TEST_61, 'gup_test-a': GUP_TEST_61,
					'gup_test-ct': GUP_TEST_61_SKIP}))
	tip = selftests.parse(console({'gup_test-u': GUP_TEST_61_FAIL,
				       'gup_test-a': GUP_TEST_61_SKIP,
				       'gup_test-ct': GUP_TEST_61}))
	assert selftests.compare(base, tip) == [
		'gup_test-u: exit 0 on the baseline, exit 1 on the tip',
		'gup_test-u: gup_test-u: passed on the baseline, fail on the tip (ioctl: Bad address)',
		'gup_test-a: exit 0 on the baseline, exit 4 on the tip',
		'gup_test-a: gup_test-a: passed on the baseline, skip on the tip (check if '
		'CONFIG_GUP_TEST is enabled in kernel config)',
	]
	killed = selftests.parse(console({'gup_test-u': ['exit signal 9']}))
	assert selftests.compare(base, {**tip, **killed})[:2] == [
		'gup_test-u: exit 0 on the baseline, signal 9 on the tip',
		'gup_test-u: gup_test-u: passed on the baseline, fail on the tip (signal 9)',
	]


def test_commands() -> None:
	for kver in ('6.1', '6.12'):
		cmds = selftests.commands(kver)
		names = [n for n, _ in cmds]
		assert len(set(names)) == len(names)
		assert all(' ' not in n and a[0] in selftests.TESTS for n, a in cmds)
		# run_vmtests.sh's own gup_test lines come first, in its order.
		assert cmds[:3] == [('gup_test-u', ['gup_test', '-u']),
				    ('gup_test-a', ['gup_test', '-a']),
				    ('gup_test-ct', ['gup_test', '-ct', '-F', '0x1', '0', '19',
						     '0x1000'])]
		text = selftests.commands_file(kver)
		assert text.endswith('\n')
		back = [(l.split()[0], l.split()[1:]) for l in text.splitlines()]
		assert back == cmds
	assert {a[0] for _, a in selftests.commands('6.1')} == {'gup_test'}
	assert [n for n, _ in selftests.commands('6.12')][-2:] == ['gup_longterm', 'cow']
	assert [n for n, _ in selftests.commands('6.12', ['gup_test', 'cow'])][-1] == 'cow'
	assert 'gup_longterm' not in selftests.commands_file('6.12', ['gup_test', 'cow'])
	# A tree of the 6.1 rules that has cow (a KDIR tree of Linux 6.2) runs it.
	assert selftests.commands('6.1', ['gup_test', 'cow'])[-1] == ('cow', ['cow'])
	with pytest.raises(Error):
		selftests.commands('5.10')


MAKEFILE_61 = """\
$(OUTPUT)/khugepaged: vm_util.c
$(OUTPUT)/madv_populate: vm_util.c
$(OUTPUT)/mlock-random-test $(OUTPUT)/memfd_secret: LDLIBS += -lcap
"""
MAKEFILE_612 = """\
$(TEST_GEN_PROGS): vm_util.c thp_settings.c
$(TEST_GEN_FILES): vm_util.c thp_settings.c

$(OUTPUT)/uffd-stress: uffd-common.c
$(OUTPUT)/cow: LDLIBS += $(IOURING_EXTRA_LIBS)
"""


def test_extra_sources(tmp_path: Path) -> None:
	for f in ('vm_util.c', 'thp_settings.c', 'uffd-common.c'):
		(tmp_path / f).write_text('')
	assert selftests.extra_sources(MAKEFILE_61, 'gup_test', tmp_path) == []
	assert selftests.extra_sources(MAKEFILE_61, 'khugepaged', tmp_path) == ['vm_util.c']
	assert selftests.extra_sources(MAKEFILE_612, 'cow', tmp_path) == \
		['vm_util.c', 'thp_settings.c']
	assert selftests.extra_sources(MAKEFILE_612, 'uffd-stress', tmp_path) == \
		['vm_util.c', 'thp_settings.c', 'uffd-common.c']


# ---- builds ----

def git(repo: Path, *args: str) -> str:
	env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
		   GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
	return subprocess.run(['git', *args], cwd=repo, check=True, text=True, env=env,
			      capture_output=True).stdout.strip()


def fake_tree(root: Path, gup_test_c: str) -> tree.Tree:
	"""A git tree with what build() reads of a 6.12 tree but the headers."""
	k = root / 'linux-fake'
	d = k / 'tools' / 'testing' / 'selftests' / 'mm'
	d.mkdir(parents=True)
	(k / 'mm').mkdir()
	(k / 'mm' / 'gup_test.h').write_text('#define GUP_TEST_FAKE 1\n')
	(k / 'tools' / 'testing' / 'selftests' / 'kselftest.h').write_text('')
	(d / 'Makefile').write_text('$(TEST_GEN_FILES): vm_util.c\n')
	(d / 'vm_util.c').write_text('int vm_util_linked = 1;\n')
	(d / 'gup_test.c').write_text(gup_test_c)
	git(k, 'init', '-q', '-b', 'master')
	git(k, 'add', '-A')
	git(k, 'commit', '-q', '-m', 'fake')
	git(k, 'tag', tree.BASE_TAG)
	return tree.Tree(path=k, kver='6.12', version='6.12.0', generation='extract',
			 base=git(k, 'rev-parse', 'HEAD'), origin='test')


@pytest.fixture
def no_headers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
	"""work/ in tmp_path, and make headers replaced by one empty header."""
	def make_headers(t: tree.Tree, src: Path, out: Path, log: Path) -> None:
		(out / 'usr' / 'include' / 'linux').mkdir(parents=True)
		(out / 'usr' / 'include' / 'linux' / 'types.h').write_text('')
	monkeypatch.setenv('PINCONV_WORK', str(tmp_path / 'work'))
	monkeypatch.setattr(selftests, 'make_headers', make_headers)


GOOD_C = """\
#include <stdio.h>
#include <mm/gup_test.h>
#include "../kselftest.h"
extern int vm_util_linked;
int main(void)
{
	printf("TAP version 13\\n1..1\\nok 1 fake %d %d\\n", GUP_TEST_FAKE, vm_util_linked);
	return 0;
}
"""


def test_build_fake_tree(tmp_path: Path, no_headers: None) -> None:
	t = fake_tree(tmp_path, GOOD_C)
	bins = selftests.build(t)
	assert list(bins) == ['gup_test']
	assert bins['gup_test'].parent.name.startswith('6.12-')
	assert bins['gup_test'].parent.parent == tmp_path / 'work' / 'selftests'
	out = subprocess.run([str(bins['gup_test'])], capture_output=True, text=True)
	r = selftests.parse_run('fake', out.stdout.splitlines() + [f'exit {out.returncode}'])
	assert {k: c.status for k, c in r.cases.items()} == {'fake 1 1': 'pass'}
	info = selftests.built_info(t)
	assert info['binaries'] == {'gup_test': bins['gup_test'].stat().st_size}
	assert info['commands']['gup_test'].endswith('gup_test.c vm_util.c -lrt -lpthread -lm')
	# Cached: the same file, not rebuilt.
	mtime = bins['gup_test'].stat().st_mtime_ns
	assert selftests.build(t) == bins and bins['gup_test'].stat().st_mtime_ns == mtime
	files = dict((n, d) for n, d, _ in selftests.initramfs_files(t))
	assert files['selftests/commands'].decode() == selftests.commands_file('6.12', ['gup_test'])
	assert files['selftests/gup_test'] == bins['gup_test'].read_bytes()


def test_build_errors_name_tree_and_test(tmp_path: Path, no_headers: None) -> None:
	t = fake_tree(tmp_path / 'a', '#include <no/such/header.h>\nint main(void) { return 0; }\n')
	with pytest.raises(Error) as e:
		selftests.build(t)
	msg = str(e.value)
	assert '\n' not in msg
	assert msg.startswith('linux-fake: selftest gup_test (tools/testing/selftests/mm/'
			      'gup_test.c) did not build: ')
	assert 'no/such/header.h: No such file or directory' in msg
	log = Path(msg.rsplit('(log: ', 1)[1].rstrip(')'))
	assert log.parent == tmp_path / 'work' / 'selftests' and log.name.endswith('-failed.log')
	assert 'no/such/header.h' in log.read_text()
	t = fake_tree(tmp_path / 'b', 'int nosuch(void);\nint main(void) { return nosuch(); }\n')
	with pytest.raises(Error, match=r"^linux-fake: selftest gup_test .*undefined reference "
			   r"to `nosuch'"):
		selftests.build(t)
	# Nothing cached, no temporary directory left.
	assert sorted(p.name.endswith('-failed.log')
		      for p in (tmp_path / 'work' / 'selftests').iterdir()) == [True, True]


def test_build_make_headers_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
	"""A tree whose make headers fails (here: it has no Makefile)."""
	monkeypatch.setenv('PINCONV_WORK', str(tmp_path / 'work'))
	t = fake_tree(tmp_path, GOOD_C)
	# make[1]: under make test (MAKELEVEL is inherited).
	with pytest.raises(Error, match=r"^linux-fake: selftests: make headers failed: make(\[\d+\])?: "
			   r"\*\*\* No rule to make target 'headers'.*\(log: .*\)$"):
		selftests.build(t)


def test_build_needs_a_test_dir(tmp_path: Path) -> None:
	t = fake_tree(tmp_path, GOOD_C)
	git(t.path, 'rm', '-q', '-r', 'tools/testing/selftests/mm')
	git(t.path, 'commit', '-q', '-m', 'no tests')
	t.base = git(t.path, 'rev-parse', 'HEAD')
	with pytest.raises(Error, match=r'^linux-fake: no tools/testing/selftests/mm or '
			   r'tools/testing/selftests/vm at '):
		selftests.build(t)


def elf_header(path: Path) -> Dict[str, int]:
	"""e_ident class and data, e_type, e_machine, and whether a PT_INTERP
	program header (a dynamic loader) is present."""
	data = path.read_bytes()
	assert data[:4] == b'\x7fELF'
	e_type, e_machine = struct.unpack_from('<HH', data, 16)
	e_phoff, = struct.unpack_from('<Q', data, 32)
	e_phentsize, e_phnum = struct.unpack_from('<HH', data, 54)
	types = [struct.unpack_from('<I', data, e_phoff + i * e_phentsize)[0]
		 for i in range(e_phnum)]
	return {'class': data[4], 'data': data[5], 'type': e_type, 'machine': e_machine,
		'interp': int(3 in types), 'dynamic': int(2 in types)}


STATIC_X86_64 = {'class': 2, 'data': 1, 'type': 2, 'machine': 62, 'interp': 0, 'dynamic': 0}
TREES = {kver: tree.work_dir() / f'linux-{kver}' for kver in ('6.1', '6.12')}


def real_tree(kver: str) -> tree.Tree:
	try:
		return tree.debian_tree(kver)
	except Error as e:
		pytest.skip(f'work/linux-{kver}: {e}')


@pytest.mark.e2e
@pytest.mark.parametrize('kver,tests', [('6.1', ['gup_test']),
					('6.12', ['gup_test', 'gup_longterm', 'cow'])])
def test_real_build(kver: str, tests: List[str]) -> None:
	if not (TREES[kver] / '.git').is_dir():
		pytest.skip(f'no {TREES[kver]} (make tree KVER={kver})')
	t = real_tree(kver)
	bins = selftests.build(t)	# cold the first time: about a minute (make headers)
	assert list(bins) == tests
	for name, path in bins.items():
		assert elf_header(path) == STATIC_X86_64, name
	start = time.monotonic()
	assert selftests.build(t) == bins
	assert time.monotonic() - start < 10
	info = selftests.built_info(t)
	assert info['rev'] == t.base and info['liburing'] == selftests.have_liburing()
	# Linked as the directory's Makefile links them: 6.12 every test with
	# vm_util.c and thp_settings.c, 6.1's gup_test alone.
	for name in tests:
		assert info['commands'][name].startswith('gcc -static -O2 -Wall ')
		assert (' vm_util.c thp_settings.c ' in info['commands'][name]) == (kver == '6.12')
	assert selftests.changed_on(t, tree.BRANCH) == []
	assert [a[0] for _, a in selftests.commands(kver, bins)] == \
		[a[0] for _, a in selftests.commands(kver)]


@pytest.mark.e2e
@pytest.mark.skipif(not (TREES['6.12'] / '.git').is_dir(), reason='no work/linux-6.12')
def test_real_cow_on_the_host(tmp_path: Path) -> None:
	"""cow, built from 6.12, started on this machine: a TAP plan, then
	cases; without /sys/kernel/debug/gup_test its GUP cases skip."""
	cow = selftests.build(real_tree('6.12'))['cow']
	try:
		p = subprocess.run([str(cow)], cwd=tmp_path, capture_output=True, text=True,
				   timeout=300)
	except (OSError, subprocess.TimeoutExpired) as e:
		pytest.skip(f'cow cannot run on this host: {e}')
	lines = p.stdout.splitlines()
	plans = [l for l in lines if l.startswith('1..')]
	if not plans:
		pytest.skip(f'cow printed no plan on this host (exit {p.returncode}): '
			    f'{(p.stdout + p.stderr).strip()[-300:]}')
	n = int(plans[0][3:].split()[0])
	assert n > 0
	r = selftests.parse(console({'cow': lines + [f'exit {p.returncode}']}, noise=False))['cow']
	assert r.plan == n
	if r.totals:	# it ran to its end: every case parsed, as counted by cow
		counts = selftests.summary({'cow': r})['cow']
		assert counts['pass'] == r.totals['pass'] + r.totals['xfail']
		assert counts['skip'] == r.totals['skip']
		assert counts['fail'] == r.totals['fail'] + r.totals['xpass'] + r.totals['error']
		assert len(r.cases) == n
	# The io_uring cases are built in only with liburing.
	has_iouring = any('iouring fixed buffer' in k for k in r.cases)
	assert has_iouring == selftests.built_info(real_tree('6.12'))['liburing']
