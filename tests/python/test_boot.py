# SPDX-License-Identifier: GPL-2.0
"""Tests for the boot test's pure parts: PINPROBE parsing, verdicts, the
cpio writer and the config check.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python
"""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'scripts'))

from pinconv import boot, build  # noqa: E402
from pinconv.printer import Error  # noqa: E402


def files_of(name: str) -> List[str]:
	"""The files a scenario states its pages under."""
	if name == boot.CONTROL:
		return [boot.CONTROL_FILE]
	return [f for f, scs in boot.SCENARIOS_OF_FILE.items() if name in scs]


def line(name: str, acquired: int = 0, released: int = 0, data_ok: bool = True,
	 skipped: bool = False, reason: str = '', pages: Optional[dict] = None) -> str:
	"""A PINPROBE line; unless given, the pages it states are the pages it
	pinned (one if none), under each of its files."""
	if pages is None:
		n = max(acquired, 1)
		pages = {f: [n, n] for f in files_of(name)}
	obj = {'scenario': name, 'skipped': skipped, 'reason': reason,
	       'acquired': acquired, 'released': released, 'data_ok': data_ok,
	       'bytes': 4096, 'note': ''}
	if pages:
		obj['pages'] = pages
	return 'PINPROBE ' + json.dumps(obj, separators=(',', ':'))


def console(lines: List[str], warnings: List[str] = ()) -> str:
	"""A boot log with a kernel-log line at the end."""
	log = 'PINPROBE ' + json.dumps({'scenario': 'kernel-log',
					'warnings': list(warnings)})
	return '\n'.join(['[    0.000000] Linux version 6.1.192'] + lines +
			 [log, '[    2.0] reboot: Restarting system']) + '\n'


def all_lines(acquired: int = 0) -> List[str]:
	"""Every scenario with the given balanced count; the control pins, the
	never-pinned ones take none."""
	def count(n: str) -> int:
		return 64 if n == boot.CONTROL else 0 if n in boot.NEVER_PINNED else acquired
	return [line(n, count(n), count(n)) for n in boot.SCENARIOS]


def statuses(verdicts: List[boot.Verdict]) -> Dict[str, str]:
	return {v.scenario: v.status for v in verdicts}


# ---- parsing ----

def test_parse_lines_and_interleaved_kernel_text() -> None:
	text = console([
		line('blk-raw-read', 4096, 4096),
		# A printk that landed in front of the probe's line on the console.
		'[    1.2] random: crng init done' + line('ext4-write', 2048, 2048),
		'\r',
	])
	results, warnings = boot.parse_console(text)
	assert results['blk-raw-read']['acquired'] == 4096
	assert results['ext4-write']['released'] == 2048
	assert 'kernel-log' in results
	assert warnings == []


def test_parse_collects_probe_and_console_warnings() -> None:
	text = console([line('blk-raw-read'),
			'[    1.5] WARNING: CPU: 0 PID: 1 at mm/gup.c:123 foo+0x1/0x2',
			'[    1.6] BUG: Bad page state in process init  pfn:01234',
			'[    1.7] x86/bugs: nothing to see (lower-case bugs is fine)'],
		       warnings=['WARNING: CPU: 0 PID: 1 at mm/gup.c:123 foo+0x1/0x2'])
	_, warnings = boot.parse_console(text)
	# The probe's copy and the console's copy of the same line count once.
	assert len(warnings) == 2
	assert any('Bad page' in w for w in warnings)
	assert not any('x86/bugs' in w for w in warnings)


def test_parse_reports_a_broken_line() -> None:
	results, warnings = boot.parse_console('PINPROBE {"scenario":"sg-io",\n')
	assert 'sg-io' not in results
	assert warnings and 'unparsable' in warnings[0]


# ---- verdicts ----

def test_baseline_with_references_passes() -> None:
	results, warnings = boot.parse_console(console(all_lines(0)))
	verdicts = boot.judge(results, boot.expectations([], boot.EXPECT_REF), warnings)
	assert set(statuses(verdicts).values()) == {'pass'}


def test_fake_converted_expectation_on_baseline_fails() -> None:
	results, warnings = boot.parse_console(console(all_lines(0)))
	exp = boot.expectations(['blk-raw-read', 'vfat-write'], boot.EXPECT_REF)
	st = statuses(boot.judge(results, exp, warnings))
	assert st['blk-raw-read'] == 'fail'
	assert st['vfat-write'] == 'fail'
	assert st['blk-raw-write'] == 'pass'


def test_converted_kernel_passes_when_balanced() -> None:
	results, warnings = boot.parse_console(console(all_lines(4096)))
	exp = boot.expectations(['blk-raw-read'], boot.EXPECT_ANY)
	assert set(statuses(boot.judge(results, exp, warnings)).values()) == {'pass'}


def test_references_expected_but_pins_taken_fails() -> None:
	results, warnings = boot.parse_console(console(all_lines(16)))
	st = statuses(boot.judge(results, boot.expectations([], boot.EXPECT_REF), warnings))
	assert st['blk-raw-read'] == 'fail'
	assert st[boot.CONTROL] == 'pass'


@pytest.mark.parametrize('bad, reason', [
	(line('blk-raw-read', 4096, 4095), 'released'),
	(line('blk-raw-read', 4096, 4096, data_ok=False, reason='read back differs'),
	 'data not ok'),
	(line('blk-raw-read', skipped=True, reason='no /dev/ram0'), 'skipped'),
])
def test_converted_scenario_failures(bad: str, reason: str) -> None:
	lines = [l for l in all_lines(4096) if '"blk-raw-read"' not in l] + [bad]
	results, warnings = boot.parse_console(console(lines))
	verdicts = boot.judge(results, boot.expectations(['blk-raw-read'], boot.EXPECT_ANY),
			      warnings)
	v = next(v for v in verdicts if v.scenario == 'blk-raw-read')
	assert v.status == 'fail'
	assert reason in ' '.join(v.reasons)


def test_unbalanced_fails_even_when_not_expected_converted() -> None:
	lines = [l for l in all_lines(0) if '"sg-io"' not in l] + [line('sg-io', 8, 0)]
	results, warnings = boot.parse_console(console(lines))
	st = statuses(boot.judge(results, boot.expectations([], boot.EXPECT_ANY), warnings))
	assert st['sg-io'] == 'fail'


def test_warning_fails_converted_scenarios_and_the_log() -> None:
	results, warnings = boot.parse_console(
		console(all_lines(4096), warnings=['WARNING: CPU: 0 at block/bio.c:1']))
	st = statuses(boot.judge(results, boot.expectations(['ext4-read'], boot.EXPECT_ANY),
				 warnings))
	assert st['ext4-read'] == 'fail'
	assert st['kernel-log'] == 'fail'
	assert st['ext4-write'] == 'pass'


def test_missing_lines_fail() -> None:
	# The kernel died after the first scenario: no more lines, no kernel-log.
	results, warnings = boot.parse_console(all_lines(0)[0] + '\nKernel panic\n')
	st = statuses(boot.judge(results, boot.expectations([], boot.EXPECT_REF), warnings))
	assert st[boot.CONTROL] == 'pass'
	assert st['sg-io'] == 'fail'
	assert st['kernel-log'] == 'fail'


def test_skipped_unexpected_is_skip() -> None:
	lines = [l for l in all_lines(0) if '"zonefs-read"' not in l]
	lines.append(line('zonefs-read', skipped=True, reason='no /dev/nullb0'))
	results, warnings = boot.parse_console(console(lines))
	st = statuses(boot.judge(results, boot.expectations([], boot.EXPECT_REF), warnings))
	assert st['zonefs-read'] == 'skip'


def test_skip_of_an_expected_scenario_fails() -> None:
	"""Any skip of a scenario expected to pin fails (there is no opt-in);
	one that needs a config symbol names it."""
	lines = [l for l in all_lines(8) if '"zonefs-append"' not in l and '"sg-io"' not in l
		 and '"nfs-direct-read"' not in l]
	lines.append(line('zonefs-append', skipped=True, reason='not set up'))
	lines.append(line('sg-io', skipped=True, reason='no /dev/sg0'))
	lines.append(line('nfs-direct-read', skipped=True, reason='no nfsd'))
	results, warnings = boot.parse_console(console(lines))
	exp = boot.expectations(['zonefs-append', 'sg-io', 'nfs-direct-read'], boot.EXPECT_ANY)
	verdicts = boot.judge(results, exp, warnings)
	st = statuses(verdicts)
	assert st['zonefs-append'] == st['sg-io'] == st['nfs-direct-read'] == 'fail'
	why = next(v for v in verdicts if v.scenario == 'nfs-direct-read').reasons
	assert 'CONFIG_NFSD_V4' in ' '.join(why)


def test_known_baseline_defect() -> None:
	"""EXPECT_KNOWN: unbalanced counts are 'known', bad data still fails."""
	lines = [l for l in all_lines(0) if '"vfat-read"' not in l and '"vfat-write"' not in l]
	lines.append(line('vfat-read', 2048, 6144))
	lines.append(line('vfat-write', 2048, 6144, data_ok=False, reason='differs'))
	results, warnings = boot.parse_console(console(lines))
	exp = boot.expectations([], boot.EXPECT_REF)
	exp['vfat-read'] = exp['vfat-write'] = boot.EXPECT_KNOWN
	st = statuses(boot.judge(results, exp, warnings))
	assert st['vfat-read'] == 'known'
	assert st['vfat-write'] == 'fail'
	exp2 = dict(exp, **{'vfat-read': boot.EXPECT_REF})
	assert statuses(boot.judge(results, exp2, warnings))['vfat-read'] == 'fail'


def test_unknown_expected_scenario_is_an_error() -> None:
	with pytest.raises(Error):
		boot.expectations(['no-such-scenario'], boot.EXPECT_ANY)


# ---- cpio ----

def make_cpio() -> bytes:
	buf = io.BytesIO()
	w = boot.CpioWriter(buf)
	w.directory('dev')
	w.char_device('dev/console', 5, 1)
	w.file('init', b'#!/bin/sh\necho hi\n', 0o755)
	w.file('odd', b'abc')
	w.symlink('sbin/tomoyo-init', '/init')
	w.trailer()
	return buf.getvalue()


def test_cpio_layout() -> None:
	data = make_cpio()
	assert len(data) % 512 == 0
	assert data.startswith(b'070701')
	# newc: 110-byte header, name and data each padded to 4 bytes.
	off = 0
	names = []
	while True:
		head = data[off:off + 110]
		assert head[:6] == b'070701'
		fields = [int(head[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
		namesize, filesize = fields[11], fields[6]
		name = data[off + 110:off + 110 + namesize - 1].decode()
		names.append(name)
		off += 110 + namesize
		off += -off % 4
		off += filesize + (-filesize % 4)
		if name == 'TRAILER!!!':
			break
	assert names == ['dev', 'dev/console', 'init', 'odd', 'sbin/tomoyo-init', 'TRAILER!!!']


@pytest.mark.skipif(not shutil.which('cpio'), reason='no cpio(1)')
def test_cpio_reads_back_with_cpio_tool() -> None:
	p = subprocess.run(['cpio', '-itv'], input=make_cpio(), capture_output=True)
	assert p.returncode == 0, p.stderr
	out = p.stdout.decode()
	assert 'dev/console' in out and '5,   1' in out
	assert 'rwxr-xr-x' in out and 'init' in out
	assert 'sbin/tomoyo-init -> /init' in out


# ---- config check ----

def test_config_unmet(tmp_path: Path) -> None:
	frag = tmp_path / 'frag'
	frag.write_text('CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_S="x"\n')
	conf = tmp_path / 'config'
	conf.write_text('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S="y"\n')
	bad = build.unmet(build.read_config(frag), build.read_config(conf))
	assert bad == ['CONFIG_B=y (got n)', 'CONFIG_S="x" (got "y")']


def test_first_error_line(tmp_path: Path) -> None:
	log = tmp_path / 'make.log'
	log.write_text('  CC      fs/a.o\nfs/b.c:3:1: error: expected ;\n'
		       'make[3]: *** [fs/b.o] Error 1\n')
	assert build.first_error(log) == 'fs/b.c:3:1: error: expected ;'


# ---- report ----

def test_report_with_a_tip_that_did_not_build(tmp_path: Path) -> None:
	results, warnings = boot.parse_console(console(all_lines(0)))
	exp = {'base': boot.expectations([], boot.EXPECT_REF),
	       'tip': boot.expectations(['sg-io'], boot.EXPECT_ANY)}
	base = boot.KernelResult('base', 'a' * 40, results, warnings,
				 boot.judge(results, exp['base'], warnings),
				 300.0, 4.0, 'tcg', False)
	tip = boot.not_built('tip', 'b' * 40, 'fs/x.c:1:1: error: boom')
	tree = boot.Tree(path=tmp_path / 'linux-6.1', kver='6.1', version='6.1.192',
			 generation='get', base='a' * 40, origin='debian')
	md = boot.report_md(tree, [base, tip], exp, [])
	assert 'NOT BUILT: fs/x.c:1:1: error: boom' in md
	assert '| sg-io |' in md and base.ok and not tip.ok
	data = json.loads(boot.report_json(tree, [base, tip], exp, []))
	assert data['kernels']['tip']['scenarios']['sg-io']['verdict'] == 'fail'
	assert data['kernels']['tip']['scenarios']['sg-io']['expected'] == 'pin'
	assert data['kernels']['base']['scenarios']['blk-raw-read']['result']['acquired'] == 0


def test_pinned_by_series_maps_converted_files(fake_kernel) -> None:
	import subprocess
	from pinconv import boot as b, tree as tr
	k = fake_kernel
	run = lambda *a: subprocess.run(['git', *a], cwd=k, check=True, capture_output=True)
	run('tag', tr.BASE_TAG)
	run('checkout', '-q', '-b', tr.BRANCH)
	(k / 'block' / 'fops.c').write_text('int y;\n')
	run('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'convert')
	t = tr.Tree(path=k, kver='6.1', version='6.1.7', generation='get', base='', origin='t')
	assert b.pinned_by_series(t) == b.SCENARIOS_OF_FILE['block/fops.c']
	for names in b.SCENARIOS_OF_FILE.values():
		assert set(names) <= set(b.SCENARIOS)


def test_pinned_by_series_gup_callers(fake_kernel) -> None:
	"""A series converting tomoyo_dump_page() and __access_remote_vm()
	expects tomoyo-argv and procmem-rw to pin."""
	import subprocess
	from pinconv import boot as b, tree as tr
	k = fake_kernel
	run = lambda *a: subprocess.run(['git', *a], cwd=k, check=True, capture_output=True)
	run('tag', tr.BASE_TAG)
	run('checkout', '-q', '-b', tr.BRANCH)
	for f in ('security/tomoyo/domain.c', 'mm/memory.c'):
		(k / f).parent.mkdir(parents=True, exist_ok=True)
		(k / f).write_text('int y;\n')
	run('add', '.')
	run('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'convert')
	t = tr.Tree(path=k, kver='6.1', version='6.1.7', generation='get', base='', origin='t')
	assert sorted(b.pinned_by_series(t)) == ['procmem-rw', 'tomoyo-argv']
	exp = b.expectations(b.pinned_by_series(t), b.EXPECT_ANY)
	assert exp['tomoyo-argv'] == exp['procmem-rw'] == b.EXPECT_PIN


@pytest.mark.parametrize('call, pinned', [('iov_iter_extract_pages(ii, &p, n, m, 0, &s);', True),
					  ('iov_iter_get_pages2(ii, p, n, m, &s);', False)])
def test_pinned_upstream_fuse_by_its_baseline(fake_kernel, call: str, pinned: bool) -> None:
	"""On an 'extract' tree fuse pins upstream only where its baseline's
	fs/fuse/file.c calls iov_iter_extract_pages() (6.10 on), not by the
	generation alone; a 'get' tree pins nothing upstream."""
	from pinconv import boot as b, tree as tr
	k = fake_kernel
	(k / 'fs' / 'fuse').mkdir(parents=True)
	(k / 'fs' / 'fuse' / 'file.c').write_text(f'void f(void)\n{{\n\t{call}\n}}\n')
	run = lambda *a: subprocess.run(['git', *a], cwd=k, check=True, capture_output=True)
	run('add', '.')
	run('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fuse')
	run('tag', tr.BASE_TAG)
	t = tr.Tree(path=k, kver='6.12', version='6.12.7', generation='extract', base='', origin='t')
	fuse = set(b.SCENARIOS_OF_FILE['fs/fuse/file.c'])
	got = set(b.pinned_upstream(t))
	assert set(b.SCENARIOS_OF_FILE['block/fops.c']) <= got
	assert (fuse <= got) == pinned and (fuse & got == set()) != pinned
	t.generation = 'get'
	assert b.pinned_upstream(t) == []


# ---- converted files and the scenarios that reach them ----

def test_reach_classifies_converted_files() -> None:
	r = {x.file: x for x in boot.reach(['fs/fuse/file.c', 'drivers/block/ublk_drv.c',
					    'block/bio.c', 'arch/arm64/kernel/mte.c',
					    'arch/x86/kernel/cpu/sgx/ioctl.c',
					    'drivers/virt/fsl_hypervisor.c', 'drivers/foo/new.c'])}
	assert 'fuse-direct-write' in r['fs/fuse/file.c'].scenarios
	assert r['drivers/block/ublk_drv.c'].scenarios == ['ublk-write', 'ublk-read', 'fio-ublk']
	assert 'blk-raw-read' in r['block/bio.c'].scenarios
	assert 'arm64' in r['arch/arm64/kernel/mte.c'].cannot_run
	assert 'SGX' in r['arch/x86/kernel/cpu/sgx/ioctl.c'].cannot_run
	assert not any(x.unreached for f, x in r.items() if f != 'drivers/foo/new.c')
	# A converted file nobody mapped, that could run in the guest: unreached.
	assert r['drivers/foo/new.c'].unreached and not r['drivers/foo/new.c'].cannot_run


@pytest.mark.parametrize('kver', ['6.1', '6.12'])
def test_committed_series_files_are_all_reached_or_cannot_run(kver: str) -> None:
	"""Every file the committed series changes has a scenario, or a reason
	why it cannot run in the guest."""
	files = set()
	for p in sorted((TOP / 'patches' / kver).glob('0*.patch')):
		for l in p.read_text().splitlines():
			if l.startswith('diff --git a/'):
				files.add(l.split()[2][2:])
	assert files
	bad = [r.file for r in boot.reach(sorted(files)) if r.unreached]
	assert not bad, bad
	for r in boot.reach(sorted(files)):
		assert set(r.scenarios) <= set(boot.SCENARIOS), r


def test_unconfigured_scenarios_may_skip() -> None:
	"""6.1's config has no ublk: its scenarios skip, even where block/fops.c
	(which fio-ublk also runs) is converted."""
	pinned = boot.SCENARIOS_OF_FILE['block/fops.c']
	exp = boot.expectations(pinned, boot.EXPECT_REF, ['ublk-write', 'ublk-read', 'fio-ublk'])
	assert exp['fio-ublk'] == exp['ublk-read'] == boot.EXPECT_ANY
	assert exp['fio-blk'] == boot.EXPECT_PIN
	skipped = {'scenario': 'fio-ublk', 'skipped': True, 'reason': 'no /dev/ublk-control'}
	assert boot.judge_one('fio-ublk', skipped, exp['fio-ublk'], []).status == 'skip'
	assert boot.judge_one('fio-ublk', skipped, boot.EXPECT_PIN, []).status == 'fail'
	frag = {k: v for k, v in build.read_config(TOP / 'scripts' / 'configs' / '6.1.config').items()}
	assert frag.get('CONFIG_BLK_DEV_UBLK') != 'y'
	assert build.read_config(TOP / 'scripts' / 'configs' / '6.12.config')['CONFIG_BLK_DEV_UBLK'] == 'y'


def test_fio_verdict_in_the_report(tmp_path: Path) -> None:
	lines = all_lines(0)
	lines = [l for l in lines if '"fio-ext4"' not in l]
	lines.append('PINPROBE ' + json.dumps({
		'scenario': 'fio-ext4', 'skipped': False, 'reason': 'fio job bs512-psync: error 84',
		'acquired': 0, 'released': 0, 'data_ok': False, 'bytes': 0, 'note': '',
		'fio': 'FAIL: fio job bs512-psync: error 84, wrote 262144 B, verified 0 B'}))
	results, warnings = boot.parse_console(console(lines))
	exp = {'base': boot.expectations([], boot.EXPECT_REF)}
	base = boot.KernelResult('base', 'a' * 40, results, warnings,
				 boot.judge(results, exp['base'], warnings), 1.0, 2.0, 'tcg', False)
	tree = boot.Tree(path=tmp_path / 'linux-6.1', kver='6.1', version='6.1.192',
			 generation='get', base='a' * 40, origin='debian')
	md = boot.report_md(tree, [base], exp, [], boot.reach(['fs/fuse/file.c', 'drivers/x.c']))
	assert statuses(base.verdicts)['fio-ext4'] == 'fail'
	assert '| fio-ext4 | fio on ext4: fs/iomap/direct-io.c | 0 | 0 | FAIL: fio job bs512-psync' in md
	assert '| drivers/x.c | **none, though it could run here: FAIL** |' in md
	assert '| fs/fuse/file.c | fuse-direct-write (pass)' in md


@pytest.mark.skipif(not boot.FIO.is_file(), reason='no fio (make deps)')
def test_fio_files_carry_its_libraries_and_loader() -> None:
	files = dict(boot.fio_files())
	assert str(boot.FIO) in files
	assert any(n.startswith('/lib64/ld-linux') for n in files)
	assert any('libaio' in n for n in files)
	assert all(f.is_file() for f in files.values())


@pytest.mark.skipif(not boot.FIO.is_file(), reason='no fio (make deps)')
def test_fio_verdict_of_the_probe_on_real_fio_runs(tmp_path: Path) -> None:
	"""The probe's reading of fio (pinprobe.c fio_verdict(), called here as
	pinprobe-fio-verdict) on real fio runs on this machine: a write with
	verify=crc32c passes; verifying a file that fio did not write (its
	blocks changed behind fio's back) fails, with fio's error."""
	probe = tmp_path / 'pinprobe'
	subprocess.run(['gcc', '-static', '-O2', '-o', probe, boot.PROBE_SRC, '-lpthread'],
		       check=True)
	# Anywhere but as the guest's init it refuses to run the scenarios.
	p = subprocess.run([probe], capture_output=True, text=True)
	assert p.returncode == 2 and 'not pid 1' in p.stderr, p
	data = tmp_path / 'fio.dat'

	def fio(name: str, *opts: str) -> dict:
		out, log = tmp_path / f'{name}.json', tmp_path / f'{name}.log'
		with open(log, 'w') as f:
			p = subprocess.run([str(boot.FIO), '--output-format=json', f'--output={out}',
					    f'--name={name}', f'--filename={data}', '--size=256k',
					    '--bs=4k', '--verify=crc32c', '--verify_fatal=1',
					    '--verify_state_save=0', *opts], stdout=f, stderr=f)
		v = subprocess.run(['pinprobe-fio-verdict', str(out), str(log),
				    str(p.returncode << 8)], executable=probe,
				   capture_output=True, text=True, check=True)
		res, _ = boot.parse_console(v.stdout)
		return res['pinprobe-fio-verdict']

	good = fio('good', '--rw=randwrite')
	assert good['data_ok'] and good['fio'].startswith('pass: fio-'), good
	assert '256 KiB written, 256 KiB read back and verified' in good['fio'], good
	data.write_bytes(b'\x5a' * (256 << 10))
	bad = fio('bad', '--rw=read', '--verify_only=1')
	assert not bad['data_ok'] and bad['fio'].startswith('FAIL: '), bad


# ---- NFS direct I/O and vmsplice ----

def test_probe_runs_the_scenarios_in_order() -> None:
	"""pinprobe.c's scenario table names the scenarios of SCENARIOS, in
	its order (the report's)."""
	text = boot.PROBE_SRC.read_text()
	table = text[text.index('static const struct scenario scenarios[]'):]
	table = table[:table.index('\n};')]
	import re
	assert re.findall(r'\{ "([\w-]+)", \w+ \}', table) == list(boot.SCENARIOS)


def test_nfs_and_vmsplice_mapping() -> None:
	"""fs/nfs/direct.c and fs/splice.c expect their scenarios to pin; the
	containers that own the pins (nfs_page, pipe_buffer) are reached
	through them."""
	nfs = ['nfs-direct-write', 'nfs-direct-read', 'fio-nfs']
	vms = ['vmsplice-read', 'vmsplice-tee', 'vmsplice-splice', 'vmsplice-close']
	assert boot.SCENARIOS_OF_FILE['fs/nfs/direct.c'] == nfs
	assert boot.SCENARIOS_OF_FILE['fs/splice.c'] == vms
	r = {x.file: x for x in boot.reach(['fs/nfs/direct.c', 'fs/nfs/pagelist.c',
					    'include/linux/nfs_page.h', 'fs/splice.c',
					    'include/linux/pipe_fs_i.h'])}
	assert not any(x.unreached or x.cannot_run for x in r.values())
	assert r['fs/nfs/pagelist.c'].scenarios == r['include/linux/nfs_page.h'].scenarios == nfs
	assert r['include/linux/pipe_fs_i.h'].scenarios == vms
	exp = boot.expectations(nfs + vms, boot.EXPECT_REF)
	assert all(exp[n] == boot.EXPECT_PIN for n in nfs + vms)
	assert exp['fuse-direct-write'] == boot.EXPECT_REF


@pytest.mark.parametrize('kver', ['6.1', '6.12'])
def test_nfs_scenarios_need_nfsd(kver: str, tmp_path: Path, monkeypatch) -> None:
	"""Both fragments build the guest's NFS server and NFSv4.2 client. A
	fragment that lost nfsd fails the scenarios expected to pin, naming the
	symbol; one that says "# CONFIG_NFSD_V4 is not set" lets them skip;
	vmsplice needs no config."""
	frag = TOP / 'scripts' / 'configs' / f'{kver}.config'
	cfg = build.read_config(frag)
	for sym in ('CONFIG_NFSD', 'CONFIG_NFSD_V4', 'CONFIG_NFS_V4', 'CONFIG_NFS_V4_1',
		    'CONFIG_NFS_V4_2', 'CONFIG_INOTIFY_USER'):
		assert cfg.get(sym) == 'y', sym
	from pinconv import tree as tr
	t = tr.Tree(path=tmp_path, kver=kver, version=f'{kver}.7', generation='get', base='',
		    origin='t')
	assert not {'nfs-direct-write', 'vmsplice-read'} & set(boot.unconfigured(t))
	assert not boot.lost_config(t)
	nfs = boot.SCENARIOS_OF_FILE['fs/nfs/direct.c']
	assert not boot.config_failures(t, nfs)
	kept = [l for l in frag.read_text().splitlines() if not l.startswith('CONFIG_NFSD')]
	monkeypatch.setattr(build, 'CONFIGS', tmp_path)
	# Lost: the converted scenarios fail, naming the symbol.
	(tmp_path / f'{kver}.config').write_text(''.join(l + '\n' for l in kept))
	lost = set(boot.lost_config(t))
	assert lost == {'nfs-direct-write', 'nfs-direct-read', 'fio-nfs', 'cow-splice-nfs'}
	fails = boot.config_failures(t, nfs)
	assert len(fails) == 3 and all('CONFIG_NFSD_V4' in f for f in fails), fails
	exp = boot.expectations(nfs, boot.EXPECT_REF, boot.unconfigured(t), lost)
	assert exp['nfs-direct-read'] == boot.EXPECT_PIN
	skipped = {'scenario': 'nfs-direct-read', 'skipped': True,
		   'reason': 'no nfsd (CONFIG_NFSD, CONFIG_NFSD_V4, CONFIG_NFS_V4)'}
	v = boot.judge_one('nfs-direct-read', skipped, exp['nfs-direct-read'], [])
	assert v.status == 'fail' and 'needs CONFIG_NFSD_V4' in v.reasons[0]
	# Not expected to pin (the baseline): a skip.
	exp = boot.expectations([], boot.EXPECT_REF, boot.unconfigured(t), lost)
	assert boot.judge_one('nfs-direct-read', skipped, exp['nfs-direct-read'], []).status == 'skip'
	# Off on purpose: a skip, pinned or not.
	(tmp_path / f'{kver}.config').write_text(''.join(l + '\n' for l in kept)
						 + '# CONFIG_NFSD_V4 is not set\n')
	assert not boot.lost_config(t) and not boot.config_failures(t, nfs)
	off = set(boot.unconfigured(t)) - {'ublk-write', 'ublk-read', 'fio-ublk'}
	assert off == {'nfs-direct-write', 'nfs-direct-read', 'fio-nfs', 'cow-splice-nfs'}
	exp = boot.expectations(nfs, boot.EXPECT_REF, off)
	assert boot.judge_one('nfs-direct-read', skipped, exp['nfs-direct-read'], []).status == 'skip'
	# Never pinned, configured or not: 'ref', and without nfsd a skip.
	assert exp['cow-splice-nfs'] == boot.EXPECT_REF
	assert boot.judge_one('cow-splice-nfs', dict(skipped, scenario='cow-splice-nfs'),
			      exp['cow-splice-nfs'], []).status == 'skip'


def test_pins_within_the_pages_the_io_implies() -> None:
	"""EXPECT_PIN holds the count to the probe's range for the files that
	pin on the kernel: fewer (a branch still on references) or more fails,
	and so does a scenario that states no pages."""
	fops, ublk = 'block/fops.c', 'drivers/block/ublk_drv.c'
	res = {'scenario': 'fio-ublk', 'skipped': False, 'acquired': 300, 'released': 300,
	       'data_ok': True, 'pages': {fops: [100, 120], ublk: [180, 200]}}
	judge = boot.judge_one
	assert judge('fio-ublk', res, boot.EXPECT_PIN, [], [fops, ublk]).status == 'pass'
	# Only block/fops.c pins on this kernel (6.12's baseline): 100-120.
	v = judge('fio-ublk', res, boot.EXPECT_PIN, [], [fops])
	assert v.status == 'fail' and 'must pin 100-120' in v.reasons[0], v.reasons
	assert judge('fio-ublk', dict(res, acquired=110, released=110), boot.EXPECT_PIN, [],
		     [fops]).status == 'pass'
	# Half converted: 150 of 280-320.
	v = judge('fio-ublk', dict(res, acquired=150, released=150), boot.EXPECT_PIN, [],
		  [fops, ublk])
	assert v.status == 'fail' and 'must pin 280-320' in v.reasons[0]
	# No range stated.
	v = judge('fio-ublk', {k: x for k, x in res.items() if k != 'pages'}, boot.EXPECT_PIN,
		  [], [fops, ublk])
	assert v.status == 'fail' and 'states no pages' in v.reasons[0]
	# Expected to pin (--expect-pinned) through none of its stated files: all of them.
	assert boot.expected_range('fio-ublk', res, boot.EXPECT_PIN, []) == (280, 320)
	# Only EXPECT_PIN is held to a range.
	assert judge('fio-ublk', res, boot.EXPECT_ANY, [], []).status == 'pass'
	assert boot.expected_range('fio-ublk', res, boot.EXPECT_ANY, [fops]) is None


def kernel(label: str, results: Dict[str, dict], expect: Dict[str, str],
	   pinning: List[str] = ()) -> boot.KernelResult:
	verdicts = boot.judge(results, expect, [], pinning)
	return boot.KernelResult(label, label * 10, results, [], verdicts, 1.0, 1.0, 'tcg',
				 False, '', list(pinning))


def test_baseline_skip_beside_a_tip_pin_fails() -> None:
	"""The 0-pins contrast: a scenario the baseline skips while the tip
	pins it fails on the baseline, with the reason (and the other way)."""
	base_res, _ = boot.parse_console(console(all_lines(0)))
	tip_res, _ = boot.parse_console(console(all_lines(256)))
	base_res['zonefs-read'] = json.loads(line('zonefs-read', skipped=True,
						  reason='no /dev/nullb0')[len('PINPROBE '):])
	files = ['fs/iomap/direct-io.c']
	base = kernel('base', base_res, boot.expectations([], boot.EXPECT_REF))
	tip = kernel('tip', tip_res, boot.expectations(boot.scenarios_of(files), boot.EXPECT_ANY),
		     files)
	assert statuses(base.verdicts)['zonefs-read'] == 'skip'
	assert statuses(tip.verdicts)['zonefs-read'] == 'pass'
	assert boot.cross_check([base, tip]) == ['base zonefs-read']
	v = next(v for v in base.verdicts if v.scenario == 'zonefs-read')
	assert v.status == 'fail' and 'tip pins 256' in v.reasons[-1] and not base.ok
	# Both skip (not configured anywhere): no contrast to lose.
	tip.results['zonefs-read'] = base_res['zonefs-read']
	base2 = kernel('base', base_res, boot.expectations([], boot.EXPECT_REF))
	assert boot.cross_check([base2, tip]) == []


def test_converted_file_whose_scenarios_all_skip_fails() -> None:
	"""A converted file none of whose scenarios ran on the tip fails the
	run (not a note), and the report says so."""
	res, _ = boot.parse_console(console(all_lines(256)))
	for sc in boot.SCENARIOS_OF_FILE['fs/zonefs/file.c']:
		res[sc] = {'scenario': sc, 'skipped': True, 'reason': 'no /dev/nullb0'}
	tip = kernel('tip', res, boot.expectations([], boot.EXPECT_ANY))
	reaches = boot.reach(['fs/zonefs/file.c', 'block/fops.c'])
	unran = boot.unreached_on(tip, reaches)
	assert len(unran) == 1 and unran[0].startswith('fs/zonefs/file.c: converted, but none')


def test_known_defect_explains_data_and_log() -> None:
	"""6.1's baseline zonefs sync append: EIO and a "Corrupted write
	pointer" warning are the named defect there; the same on the tip, or
	another warning on the baseline, fails."""
	known = boot.KNOWN_BASE['get']
	warn = 'zonefs (nullb0) WARNING: Corrupted write pointer 8192 for zone at 0'
	lines = [l for l in all_lines(0) if '"zonefs-append"' not in l]
	lines.append(line('zonefs-append', data_ok=False,
			  reason='sync append returned -1 (Input/output error)'))
	results, warnings = boot.parse_console(console(lines, [warn]))
	exp = boot.expectations([], boot.EXPECT_REF)
	exp['zonefs-append'] = boot.EXPECT_KNOWN
	st = statuses(boot.judge(results, exp, warnings, [], known))
	assert st['zonefs-append'] == 'known' and st['kernel-log'] == 'known', st
	assert 'fail' not in st.values()
	# Another warning is not explained.
	results, warnings = boot.parse_console(console(lines, [warn, 'WARNING: at mm/gup.c:58']))
	st = statuses(boot.judge(results, exp, warnings, [], known))
	assert st['kernel-log'] == 'fail' and st['zonefs-append'] == 'fail'
	# On the tip (expected to pin, no known defect): the same line fails.
	exp = boot.expectations(['zonefs-append'], boot.EXPECT_ANY)
	results, warnings = boot.parse_console(console(lines, [warn]))
	st = statuses(boot.judge(results, exp, warnings, ['fs/zonefs/file.c']))
	assert st['zonefs-append'] == 'fail' and st['kernel-log'] == 'fail'


def test_initramfs_has_the_nfs_directories() -> None:
	"""The export's mount point and nfsd's legacy client-tracking directory
	(no nfsdcld in the guest) are in the initramfs, parents first."""
	dirs = boot.INITRAMFS_DIRS
	for d in ('srv', 'var/lib/nfs/v4recovery'):
		assert d in dirs
	for i, d in enumerate(dirs):
		parent = str(Path(d).parent)
		assert parent == '.' or parent in dirs[:i], d


# ---- COW-shared pages: never pinned ----

COW = ['cow-splice-blk', 'cow-splice-ext4', 'cow-splice-vfat', 'cow-splice-zonefs',
       'cow-splice-fuse', 'cow-splice-nfs', 'cow-peek']


def test_never_pinned_scenarios_are_known_and_not_must_pin() -> None:
	"""The COW scenarios are scenarios of the probe, never pinned, and in
	no list of SCENARIOS_OF_FILE (those must pin once converted)."""
	assert boot.NEVER_PINNED == set(COW)
	assert boot.NEVER_PINNED <= set(boot.SCENARIOS)
	for f, names in boot.SCENARIOS_OF_FILE.items():
		assert not boot.NEVER_PINNED & set(names), f
	assert boot.NEEDS_CONFIG['cow-splice-nfs'] == boot.NEEDS_CONFIG['nfs-direct-write']
	assert boot.CONTROL not in boot.NEVER_PINNED


@pytest.mark.parametrize('default', [boot.EXPECT_REF, boot.EXPECT_ANY, boot.EXPECT_PIN])
def test_never_pinned_expect_ref_last(default: str) -> None:
	"""'ref' for the COW scenarios on every kernel, whatever the default,
	even when listed as pinned (a series converting their files, or
	--expect-pinned naming them) and when unconfigured; the rest as before."""
	every_file = [sc for names in boot.SCENARIOS_OF_FILE.values() for sc in names]
	exp = boot.expectations(every_file + COW, default, ['cow-splice-nfs', 'fio-nfs'])
	for name in COW:
		assert exp[name] == boot.EXPECT_REF, (name, default)
	assert exp['blk-raw-write'] == boot.EXPECT_PIN
	assert exp['fio-nfs'] == boot.EXPECT_ANY
	assert exp[boot.CONTROL] == boot.EXPECT_PIN
	assert boot.expectations([], default)['tomoyo-argv'] == default


def cow_result(name: str, acquired: int, released: int, data_ok: bool = True,
	       reason: str = '') -> dict:
	results, _ = boot.parse_console(console([line(name, acquired, released, data_ok,
							 reason=reason)]))
	return results[name]


@pytest.mark.parametrize('name', COW)
def test_never_pinned_judged(name: str) -> None:
	"""Under the expectation the tip gets (its series pins the rest): 0
	pins and intact data pass; balanced pins, an unpin of what was never
	pinned, or bad data fail."""
	expect = boot.expectations(list(boot.SCENARIOS_OF_FILE['block/fops.c']) + [name],
				   boot.EXPECT_ANY)[name]
	assert expect == boot.EXPECT_REF
	assert boot.judge_one(name, cow_result(name, 0, 0), expect, []).status == 'pass'
	v = boot.judge_one(name, cow_result(name, 4, 4), expect, [])
	assert v.status == 'fail' and 'expected page references, 4 pins taken' in v.reasons
	v = boot.judge_one(name, cow_result(name, 0, 4), expect, [])
	assert v.status == 'fail' and 'pins acquired 0 != released 4' in v.reasons
	v = boot.judge_one(name, cow_result(name, 0, 0, False,
					    'after the splice: page 2 unshared'), expect, [])
	assert v.status == 'fail'
	assert v.reasons == ['data not ok: after the splice: page 2 unshared']


def test_cow_splice_pins_fail_the_whole_run() -> None:
	"""A tip whose Direct I/O pins a kernel iterator's pages: every other
	scenario passes, cow-splice-ext4 fails (4 pins acquired, 4 released),
	and a cow-peek with unshared pages fails on its data."""
	lines = [l for l in all_lines(0) if '"cow-splice-ext4"' not in l and '"cow-peek"' not in l]
	lines.append(line('cow-splice-ext4', 4, 4))
	lines.append(line('cow-peek', 0, 0, data_ok=False, reason='after the reads: page 0 '
			  'unshared: PFN 0x1234 in the parent, 0x5678 in the child'))
	results, warnings = boot.parse_console(console(lines))
	st = statuses(boot.judge(results, boot.expectations(COW, boot.EXPECT_ANY), warnings))
	assert st['cow-splice-ext4'] == st['cow-peek'] == 'fail'
	assert {s for n, s in st.items() if n not in ('cow-splice-ext4', 'cow-peek')} == {'pass'}


def test_selftest_regression_fails_the_tip() -> None:
	"""mm-selftests: 'any' on every kernel (gup_test pins on the baseline
	too); a case the baseline passes and the tip fails fails the tip's
	verdict, naming it, and the report lists it."""
	from pinconv import selftests
	assert boot.expectations([], boot.EXPECT_REF)[boot.SELFTESTS] == boot.EXPECT_ANY

	def cons(cow_ok: bool) -> str:
		out = ['PINSELFTEST cow 1..2', 'PINSELFTEST cow # [RUN] vmsplice() + unmap in child',
		       'PINSELFTEST cow ok 1 No leak from parent into child',
		       'PINSELFTEST cow # [RUN] R/O-mapping a page registered as iouring fixed buffer',
		       f'PINSELFTEST cow {"ok" if cow_ok else "not ok"} 2 Longterm R/O pin is reliable',
		       f'PINSELFTEST cow exit {0 if cow_ok else 1}']
		return console(all_lines(0) + out)
	base_res, _ = boot.parse_console(cons(True))
	base = kernel('base', base_res, boot.expectations([], boot.EXPECT_REF))
	base.selftests = selftests.parse(cons(True))
	tip = kernel('tip', base_res, boot.expectations([], boot.EXPECT_ANY))
	tip.selftests = selftests.parse(cons(False))
	assert base.ok and tip.ok
	bad = boot.selftest_regressions(base, tip)
	assert len(bad) == 2 and not tip.ok, bad
	v = next(v for v in tip.verdicts if v.scenario == boot.SELFTESTS)
	assert 'iouring fixed buffer' in ' '.join(v.reasons)
	tree = boot.Tree(path=Path('/x/linux-6.12'), kver='6.12', version='6.12.118',
			 generation='extract', base='a' * 40, origin='debian')
	exp = {'base': boot.expectations([], boot.EXPECT_REF),
	       'tip': boot.expectations([], boot.EXPECT_ANY)}
	md = boot.report_md(tree, [base, tip], exp, [])
	assert '| cow | 2 / 0 / 0, exit 0 | 1 / 1 / 0, exit 1 |' in md, md[-800:]
	assert '- cow: exit 0 on the baseline, exit 1 on the tip' in md
	# The same results on both: nothing.
	tip.selftests = selftests.parse(cons(True))
	assert boot.selftest_regressions(base, tip) == []
