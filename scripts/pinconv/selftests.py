# SPDX-License-Identifier: GPL-2.0
"""The kernel's own mm selftests that exercise pinning, run in the boot
test's guest on the baseline and on the tip.

Built once per tree from its baseline commit (the series does not touch
tools/), as static binaries with the host's gcc against the UAPI headers
of the tree itself (make headers), and cached:

  work/selftests/<kver>-<hash>/   gup_test, cow, gup_longterm (what the
                                  tree has), build.log and build.json;
                                  <hash> covers the sources used, gcc's
                                  version and whether liburing was linked.

In the guest the probe reads /selftests/commands (commands_file()), runs
each line's /selftests/<argv0> and prints every output line as

  PINSELFTEST <run name> <line>
  PINSELFTEST <run name> exit <status>	(a code, "signal N" or "timeout")

parse() turns those into per-run results (kselftest TAP, see
tools/testing/selftests/kselftest.h), compare() lists what passed on the
baseline and does not on the tip.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from pinconv import build as kbuild
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import BASE_TAG, Tree, work_dir

# Bump when the way binaries are built changes: it is part of the cache key.
RECIPE = 1

# The tests, in the order run_vmtests.sh runs them, each built where the
# tree has it: gup_test (5.11+), cow (6.2+), gup_longterm (6.5+).
TESTS = ['gup_test', 'gup_longterm', 'cow']
# tools/testing/selftests/vm was renamed mm in 6.3.
TEST_DIRS = ['tools/testing/selftests/mm', 'tools/testing/selftests/vm']
# What `make headers` needs of a tree (x86_64, no .config), and what the
# tests include besides their own directory.
HEADER_PATHS = ['Makefile', 'scripts', 'include/uapi', 'arch/x86', 'tools/include']
TEST_PATHS = ['tools/testing/selftests/kselftest.h', 'mm/gup_test.h']

CFLAGS = ['-static', '-O2', '-Wall', '-U_FORTIFY_SOURCE']
LDLIBS = ['-lrt', '-lpthread', '-lm']

# The guest's limit for one run, suggested to the probe (seconds). In TCG
# (QEMU 7.2, 1 GiB, the 6.1 baseline) every run below took under 1 s by
# the guest's clock, all of them 1.5 s; the whole boot 5 s of wall time.
RUN_TIMEOUT = 30

# run_vmtests.sh's gup_test lines (6.1 and 6.12 alike, its 128 MiB each:
# the guest has 1 GiB), then a few of its run_gup_matrix (RUN_ALL) on 32 MiB
# with 123 pages per call, so the last call is partial: the pinning
# commands (-b pin_user_pages() and -L FOLL_LONGTERM, both checked by
# verify_dma_pinned(), which WARNs), their get_user_pages() twin -U, and
# the page dump with -p: run_vmtests' -ct -F 0x1 says "using
# pin_user_pages" but -F 0x1 has meant FOLL_WRITE since -p took over.
GUP_TEST_RUNS: List[Tuple[str, List[str]]] = [
	('gup_test-u', ['gup_test', '-u']),
	('gup_test-a', ['gup_test', '-a']),
	('gup_test-ct', ['gup_test', '-ct', '-F', '0x1', '0', '19', '0x1000']),
	('gup_test-ctp', ['gup_test', '-ct', '-p', '-F', '0x1', '-m', '32', '0', '19', '0x1000']),
	('gup_test-U', ['gup_test', '-U', '-m', '32', '-n', '123']),
	('gup_test-b', ['gup_test', '-b', '-m', '32', '-n', '123']),
	('gup_test-L', ['gup_test', '-L', '-m', '32', '-n', '123']),
]
# run_vmtests.sh runs gup_longterm right after gup_test, cow last.
ALL_RUNS = GUP_TEST_RUNS + [('gup_longterm', ['gup_longterm']), ('cow', ['cow'])]
# What Debian's trees have: 6.1 only gup_test.
COMMANDS: Dict[str, List[Tuple[str, List[str]]]] = {
	'6.1': GUP_TEST_RUNS,
	'6.12': ALL_RUNS,
}

PASS = 'pass'
FAIL = 'fail'
SKIP = 'skip'
KSFT_SKIP = 4	# a test's exit code for "skipped" (kselftest.h)


def commands(kver: str, binaries: Optional[Iterable[str]] = None) -> List[Tuple[str, List[str]]]:
	"""(run name, argv) in the order to run them: Debian's kver tree's, or,
	given binaries (what build() made for a tree: a KDIR tree of the 6.1
	rules may have cow), the runs of those."""
	if kver not in COMMANDS:
		raise Error(f'no selftest commands for Linux {kver}')
	if binaries is None:
		return [(n, list(a)) for n, a in COMMANDS[kver]]
	have = set(binaries)
	return [(n, list(a)) for n, a in ALL_RUNS if a[0] in have]


def commands_file(kver: str, binaries: Optional[Iterable[str]] = None) -> str:
	"""/selftests/commands: '<run name> <argv joined by spaces>' a line."""
	return ''.join(f'{n} {" ".join(a)}\n' for n, a in commands(kver, binaries))


# ---- building ----

def base_rev(tree: Tree) -> str:
	return tree.base or git(['rev-parse', f'{BASE_TAG}^{{commit}}'], cwd=tree.path)


def object_id(tree: Tree, rev: str, path: str) -> str:
	"""The blob or tree id of path at rev, '' where it does not exist."""
	return git(['rev-parse', '-q', '--verify', f'{rev}:{path}'], cwd=tree.path, check=False)


def test_dir(tree: Tree, rev: str) -> str:
	for d in TEST_DIRS:
		if object_id(tree, rev, d):
			return d
	raise Error(f'{tree.name}: no {" or ".join(TEST_DIRS)} at {rev[:12]}')


def tests_of(tree: Tree, rev: str, tdir: str) -> List[str]:
	return [t for t in TESTS if object_id(tree, rev, f'{tdir}/{t}.c')]


def source_paths(tree: Tree, rev: str) -> List[str]:
	"""The paths of the tree the binaries are built from."""
	paths = HEADER_PATHS + TEST_PATHS + [test_dir(tree, rev)]
	return [p for p in paths if object_id(tree, rev, p)]


def changed_on(tree: Tree, rev: str) -> List[str]:
	"""Files of source_paths() that rev changes against the baseline: the
	binaries, built from the baseline, do not have those changes."""
	base = base_rev(tree)
	out = git(['diff', '--name-only', base, rev, '--'] + source_paths(tree, base),
		  cwd=tree.path)
	return out.splitlines()


_liburing: Optional[bool] = None


def have_liburing() -> bool:
	"""Whether gcc finds <liburing.h> and links liburing statically (Debian's
	liburing-dev), as check_config.sh probes it; cached for the process."""
	global _liburing
	if _liburing is None:
		with tempfile.TemporaryDirectory() as d:
			c = Path(d) / 'uring.c'
			c.write_text('#include <sys/types.h>\n#include <liburing.h>\n'
				     'int main(void) { struct io_uring r; '
				     'return io_uring_queue_init(1, &r, 0); }\n')
			p = run(['gcc', '-static', '-o', Path(d) / 'uring', c, '-luring'], check=False)
			_liburing = p.returncode == 0
	return _liburing


def gcc_version() -> str:
	return run(['gcc', '-dumpfullversion', '-dumpversion']).stdout.strip()


def cache_key(tree: Tree, rev: str, paths: List[str], liburing: bool) -> str:
	h = hashlib.sha1()
	h.update(f'recipe {RECIPE}\ngcc {gcc_version()}\nliburing {liburing}\n'.encode())
	for p in paths:
		h.update(f'{p} {object_id(tree, rev, p)}\n'.encode())
	return h.hexdigest()[:12]


def cache_dir(tree: Tree, key: str) -> Path:
	return work_dir() / 'selftests' / f'{tree.kver}-{key}'


def extra_sources(makefile: str, test: str, tdir: Path) -> List[str]:
	"""The .c files the directory's Makefile links into test besides
	test.c: '$(TEST_GEN_FILES): vm_util.c thp_settings.c' (6.12) or
	'$(OUTPUT)/khugepaged: vm_util.c' (6.1)."""
	srcs: List[str] = []
	for line in makefile.splitlines():
		m = re.match(r'^(\$\(\w+\)[^:=]*?):\s*(\S+\.c(?:\s+\S+\.c)*)\s*$', line)
		if not m:
			continue
		targets = m.group(1).split()
		if any(t in ('$(TEST_GEN_FILES)', '$(TEST_GEN_PROGS)', f'$(OUTPUT)/{test}')
		       for t in targets):
			srcs += [s for s in m.group(2).split() if (tdir / s).is_file()]
	return list(dict.fromkeys(srcs))


def uses_liburing(src: Path) -> bool:
	return 'LOCAL_CONFIG_HAVE_LIBURING' in src.read_text(errors='replace')


def extract(tree: Tree, rev: str, paths: List[str], dest: Path) -> None:
	"""git archive rev paths | tar -x -C dest."""
	dest.mkdir(parents=True, exist_ok=True)
	with tempfile.TemporaryFile() as errf:
		arc = subprocess.Popen(['git', 'archive', '--format=tar', rev, '--'] + paths,
				       cwd=tree.path, stdout=subprocess.PIPE, stderr=errf)
		assert arc.stdout
		tar = subprocess.run(['tar', '-x', '-C', str(dest)], stdin=arc.stdout,
				     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
		arc.stdout.close()
		rc = arc.wait()
		errf.seek(0)
		err = errf.read().decode(errors='replace').strip()
	if rc or tar.returncode:
		raise Error(f'{tree.name}: git archive {rev[:12]} of the selftest sources failed: '
			    f'{(err or tar.stderr.strip() or "no message").splitlines()[0]}')


def make_headers(tree: Tree, src: Path, out: Path, log: Path) -> None:
	"""make headers: the tree's UAPI headers in out/usr/include (as the
	selftests' lib.mk expects them in usr/include); needs no .config."""
	cmd = ['make', '-s', '-C', str(src), f'O={out}', f'ARCH={kbuild.ARCH}',
	       f'-j{kbuild.jobs()}', 'headers']
	with open(log, 'a') as f:
		f.write(' '.join(cmd) + '\n')
		f.flush()
		rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
	if rc or not (out / 'usr' / 'include' / 'linux' / 'types.h').is_file():
		raise Error(f'{tree.name}: selftests: make headers failed: {kbuild.first_error(log)} '
			    f'(log: {log})')


def compile_cmd(test: str, extra: List[str], top: Path, include: Path,
		config_dir: Path, out: Path, liburing: bool) -> List[str]:
	"""gcc, run in the test's directory on names relative to it, as the
	selftests' Makefile does: gup_longterm makes its "local tmpfile" from
	__FILE__, in the guest's working directory."""
	libs = LDLIBS + (['-luring'] if liburing else [])
	return (['gcc'] + CFLAGS +
		['-isystem', str(include), '-isystem', str(top / 'tools' / 'include' / 'uapi'),
		 '-I', str(top), '-I', str(config_dir), '-I', '.',
		 '-o', str(out), f'{test}.c'] + extra + libs)


def cached(final: Path) -> Optional[Dict[str, Path]]:
	manifest = final / 'build.json'
	if not manifest.is_file():
		return None
	names = json.loads(manifest.read_text()).get('binaries', {})
	if not names or not all((final / n).is_file() for n in names):
		return None
	return {n: final / n for n in names}


def compile_tests(tree: Tree, tmp: Path, tdir_name: str, tests: List[str],
		  liburing: bool, log: Path) -> Dict[str, str]:
	"""Compile tests into tmp/bin; returns their gcc command lines."""
	cfg = tmp / 'config'
	cfg.mkdir()
	(cfg / 'local_config.h').write_text('#define LOCAL_CONFIG_HAVE_LIBURING 1\n' if liburing
					    else '// No liburing support found\n')
	tdir = tmp / 'src' / tdir_name
	makefile = (tdir / 'Makefile').read_text(errors='replace')
	bins = tmp / 'bin'
	bins.mkdir()
	cmds: Dict[str, str] = {}
	for t in tests:
		cmd = compile_cmd(t, extra_sources(makefile, t, tdir), tmp / 'src',
				  tmp / 'hdr' / 'usr' / 'include', cfg, bins / t,
				  liburing and uses_liburing(tdir / f'{t}.c'))
		cmds[t] = ' '.join(cmd).replace(str(tmp), '$TMP')
		with open(log, 'a') as f:
			f.write(f'cd {tdir} && {" ".join(cmd)}\n')
			f.flush()
			rc = subprocess.run(cmd, cwd=tdir, stdout=f, stderr=subprocess.STDOUT).returncode
		if rc or not (bins / t).is_file():
			raise Error(f'{tree.name}: selftest {t} ({tdir_name}/{t}.c) did not build: '
				    f'{kbuild.first_error(log)} (log: {log})')
	return cmds


def build(tree: Tree) -> Dict[str, Path]:
	"""The selftest binaries of tree's baseline: name -> path, built once
	and cached by the hash of what they are built from."""
	rev = base_rev(tree)
	tdir_name = test_dir(tree, rev)
	tests = tests_of(tree, rev, tdir_name)
	if not tests:
		raise Error(f'{tree.name}: none of {", ".join(TESTS)} in {tdir_name}')
	paths = source_paths(tree, rev)
	liburing = have_liburing()
	key = cache_key(tree, rev, paths, liburing)
	final = cache_dir(tree, key)
	have = cached(final)
	if have:
		return have
	stdout.step(f'{tree.name}: building the mm selftests {", ".join(tests)} of '
		    f'{rev[:12]} (static, {"with" if liburing else "no"} liburing)')
	final.parent.mkdir(parents=True, exist_ok=True)
	# The log stays, as <kver>-<key>-failed.log, when the build fails.
	log = final.parent / f'{final.name}-failed.log'
	log.write_text('')
	tmp = Path(tempfile.mkdtemp(prefix=f'.{final.name}-', dir=final.parent))
	try:
		start = time.monotonic()
		extract(tree, rev, paths, tmp / 'src')
		make_headers(tree, tmp / 'src', tmp / 'hdr', log)
		headers_s = time.monotonic() - start
		cmds = compile_tests(tree, tmp, tdir_name, tests, liburing, log)
		seconds = time.monotonic() - start
		bins = tmp / 'bin'
		log.rename(bins / 'build.log')
		info = {
			'tree': tree.name, 'kver': tree.kver, 'rev': rev, 'key': key,
			'test_dir': tdir_name, 'liburing': liburing, 'gcc': gcc_version(),
			'headers_seconds': round(headers_s, 1), 'seconds': round(seconds, 1),
			'binaries': {t: (bins / t).stat().st_size for t in tests},
			'commands': cmds,
		}
		(bins / 'build.json').write_text(json.dumps(info, indent=1) + '\n')
		try:
			os.rename(bins, final)
		except OSError:
			if not cached(final):	# not another build's, done meanwhile
				raise
		stdout.step(f'{tree.name}: mm selftests built in {seconds:.1f}s '
			    f'(make headers {headers_s:.1f}s) into {final}')
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	return {t: final / t for t in tests}


def built_info(tree: Tree) -> dict:
	"""build.json of tree's cached binaries ({} if not built)."""
	rev = base_rev(tree)
	f = cache_dir(tree, cache_key(tree, rev, source_paths(tree, rev), have_liburing())) / \
		'build.json'
	return json.loads(f.read_text()) if f.is_file() else {}


def initramfs_files(tree: Tree) -> List[Tuple[str, bytes, int]]:
	"""(path in the initramfs, data, mode): /selftests/<binary> and
	/selftests/commands for tree."""
	bins = build(tree)
	files = [(f'selftests/{n}', p.read_bytes(), 0o755) for n, p in bins.items()]
	files.append(('selftests/commands', commands_file(tree.kver, bins).encode(), 0o644))
	return files


# ---- results (pure; see tests/python/test_selftests.py) ----

@dataclass
class Case:
	number: int
	desc: str	# the TAP description ('' for "ok N # SKIP reason")
	status: str	# PASS, FAIL or SKIP
	reason: str = ''	# the directive's text (# SKIP why, # XFAIL ...)


@dataclass
class RunResult:
	name: str
	status: str = ''	# '0', '1', 'signal 9', 'timeout'; '' if it never ended
	cases: Dict[str, Case] = field(default_factory=dict)
	plan: Optional[int] = None
	totals: Dict[str, int] = field(default_factory=dict)
	bail: str = ''	# "Bail out! ..." text
	lines: List[str] = field(default_factory=list)

	@property
	def passed(self) -> bool:
		return self.status == '0'

	def ended(self) -> str:
		if not self.status:
			return 'no exit status (the guest stopped before it ended)'
		if self.status in ('timeout',) or self.status.startswith('signal'):
			return self.status
		return f'exit {self.status}'


LINE_RE = re.compile(r'PINSELFTEST (\S+) ?(.*)$')
EXIT_RE = re.compile(r'^exit (-?\d+|signal \d+|timeout)\s*$')
RESULT_RE = re.compile(r'^(not ok|ok)\s+(\d+)\b\s*(.*)$')
PLAN_RE = re.compile(r'^1\.\.(\d+)\s*(?:#\s*(?:SKIP|skip)\b\s*(.*))?$')
TOTALS_RE = re.compile(r'^#\s*Totals:\s*(.*)$')
RUN_RE = re.compile(r'^#\s*\[RUN\]\s*(.*?)\s*$')
# A directive: '# SKIP why', '# XFAIL ', '# XPASS ', '# TODO', '# error'.
DIRECTIVE_RE = re.compile(r'(?:^|\s)#\s*(SKIP|XFAIL|XPASS|TODO|error)\b\s*(.*)$', re.I)


def console_runs(console: str) -> Dict[str, List[str]]:
	"""Each run's PINSELFTEST lines, in order, prefix removed."""
	runs: Dict[str, List[str]] = {}
	for line in console.splitlines():
		m = LINE_RE.search(line.rstrip('\r'))
		if m:
			runs.setdefault(m.group(1), []).append(m.group(2).rstrip())
	return runs


def tap_case(m: 're.Match[str]') -> Case:
	ok = m.group(1) == 'ok'
	rest = m.group(3)
	d = DIRECTIVE_RE.search(rest)
	desc, word, why = rest, '', ''
	if d:
		desc, word, why = rest[:d.start()].strip(), d.group(1).upper(), d.group(2).strip()
	elif re.search(r'(^|\s)#\s', rest):
		# ksft_test_result_code()'s "name #  message": message is a comment.
		desc, why = re.split(r'(?:^|\s)#\s', rest, maxsplit=1)
		desc, why = desc.strip(), why.strip()
	if word == 'SKIP':
		status = SKIP
	elif not ok or word == 'XPASS':	# kselftest counts an XPASS against the test
		status = FAIL
	else:
		status = PASS	# ok, ok # XFAIL (failed as expected), ok # TODO
	return Case(int(m.group(2)), desc.strip(), status,
		    f'{word} {why}'.strip() if word and word != 'SKIP' else why)


def parse_run(name: str, lines: List[str]) -> RunResult:
	r = RunResult(name)
	out = list(lines)
	if out and EXIT_RE.match(out[-1]):
		r.status = EXIT_RE.match(out.pop()).group(1)
	r.lines = out
	context = ''
	tap = False
	for line in out:
		s = line.strip()
		m = RESULT_RE.match(s)
		if m:
			tap = True
			c = tap_case(m)
			key = context or c.desc or c.reason or f'test {c.number}'
			context = ''
			if key in r.cases:
				n = 2
				while f'{key} #{n}' in r.cases:
					n += 1
				key = f'{key} #{n}'
			r.cases[key] = c
			continue
		m = PLAN_RE.match(s)
		if m:
			tap = True
			r.plan = int(m.group(1))
			if r.plan == 0 and m.group(2) is not None:
				r.cases[name] = Case(1, name, SKIP, m.group(2).strip())
			continue
		m = TOTALS_RE.match(s)
		if m:
			r.totals = {k: int(v) for k, v in re.findall(r'(\w+):(\d+)', m.group(1))}
			continue
		m = RUN_RE.match(s)
		if m:
			context = m.group(1)
			continue
		if s.startswith('Bail out!'):
			tap = True
			r.bail = s[len('Bail out!'):].strip()
		elif s == 'TAP version 13':
			tap = True
	if not tap:
		# Free text (6.1's gup_test): the run is its one case.
		status = PASS if r.status == '0' else SKIP if r.status == str(KSFT_SKIP) else FAIL
		reason = '' if status == PASS else (out[-1].strip() if out else r.ended())
		r.cases[name] = Case(1, name, status, reason)
	return r


def parse(console: str) -> Dict[str, RunResult]:
	"""The selftest runs on a console, by run name."""
	return {n: parse_run(n, lines) for n, lines in console_runs(console).items()}


def counterpart(base_case: Case, base: RunResult,
		tip: RunResult) -> Optional[Tuple[str, Case]]:
	"""The tip's case of the same TAP number, when its key is not one of
	the baseline's (gup_test's 'ioctl status 0' is 'ioctl status -1' when
	it fails)."""
	for key, c in tip.cases.items():
		if c.number == base_case.number and key not in base.cases:
			return key, c
	return None


def compare(base: Dict[str, RunResult], tip: Dict[str, RunResult]) -> List[str]:
	"""One line per regression: a run that exited 0 on the baseline and not
	on the tip; a case that passed on the baseline and did not on the tip
	(failed, skipped or missing)."""
	out: List[str] = []
	for name, b in base.items():
		t = tip.get(name)
		passed = [k for k, c in b.cases.items() if c.status == PASS]
		if t is None:
			if b.passed or passed:
				out.append(f'{name}: ran on the baseline ({b.ended()}, {len(passed)} '
					   f'passed), missing on the tip')
			continue
		if b.passed and not t.passed:
			why = f': Bail out! {t.bail}' if t.bail else ''
			out.append(f'{name}: exit 0 on the baseline, {t.ended()} on the tip{why}')
		for key in passed:
			tc = t.cases.get(key)
			if tc is None:
				other = counterpart(b.cases[key], b, t)
				if other is None:
					out.append(f'{name}: {key}: passed on the baseline, missing on the tip')
					continue
				tkey, tc = other
				if tc.status != PASS:
					out.append(f'{name}: {key}: passed on the baseline; on the tip case '
						   f'{tc.number} is "{tkey}": {tc.status}'
						   + (f' ({tc.reason})' if tc.reason not in ('', tkey) else ''))
				continue
			if tc.status != PASS:
				out.append(f'{name}: {key}: passed on the baseline, {tc.status} on the tip'
					   + (f' ({tc.reason})' if tc.reason else ''))
	return out


def summary(results: Dict[str, RunResult]) -> Dict[str, Dict[str, int]]:
	"""Cases per status, per run."""
	return {n: {s: sum(1 for c in r.cases.values() if c.status == s)
		    for s in (PASS, FAIL, SKIP)}
		for n, r in results.items()}
