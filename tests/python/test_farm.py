# SPDX-License-Identifier: GPL-2.0
"""Builds on a compile farm (scripts/pinconv/farm.py): bad DISTCC_HOSTS and
ICECC_SCHEDULER get one error line; a real distccd on 127.0.0.1 compiles
the probe; and (e2e) make check of a commit of the 6.1 series through that
distccd, with an empty ccache so that every compile misses, writes the same
report, object hashes included, as the local make check, while distccd's
log shows the compile jobs it ran. No mocks: distcc and distccd are
Debian's (make deps).

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python/test_farm.py
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from conftest import TOP
from pinconv import build, check, farm, tree
from pinconv.printer import Error

KVER = '6.1'
WORKSPACE = tree.work_dir() / f'linux-{KVER}'
# The test's own worktree and build dir (work/wt/linux-6.1/farm-test/):
# make check's 'check' stays as the other tests and the user left it.
LABEL = 'farm-test'
FARM_VARS = ('DISTCC_HOSTS', 'ICECC_SCHEDULER', 'CCACHE_PREFIX', 'INCLUDE_SERVER_PORT')

needs_distcc = pytest.mark.skipif(not (shutil.which('distcc') and shutil.which('distccd')),
				  reason='no distcc/distccd: run make deps')


def free_port() -> int:
	with socket.socket() as s:
		s.bind(('127.0.0.1', 0))
		return s.getsockname()[1]


def local_env(**extra: str) -> Dict[str, str]:
	"""The environment without any farm the caller's shell names."""
	env = {k: v for k, v in os.environ.items() if k not in FARM_VARS}
	env.update(extra)
	return env


class Distccd:
	"""distccd on 127.0.0.1 (loopback clients only), in the foreground of
	its own process group, logging every job."""

	def __init__(self, slots: int = 2) -> None:
		# As root distccd drops to its own user: the log's directory
		# must be open to it (pytest's tmp_path is not).
		self.dir = Path(tempfile.mkdtemp(prefix='pinconv-distccd-'))
		self.dir.chmod(0o755)
		self.log = self.dir / 'distccd.log'
		self.log.touch()
		self.log.chmod(0o666)
		self.port = free_port()
		self.slots = slots
		self.proc = subprocess.Popen(
			['distccd', '--daemon', '--no-detach', '--allow', '127.0.0.1',
			 '--listen', '127.0.0.1', '--port', str(self.port), '--jobs', str(slots),
			 '--log-file', str(self.log), '--verbose'],
			stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
		deadline = time.monotonic() + 15
		while True:
			try:
				socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
				break
			except OSError:
				if self.proc.poll() is not None or time.monotonic() > deadline:
					self.stop()
					pytest.fail(f'distccd did not start: {self.log.read_text()[-2000:]}')
				time.sleep(0.2)

	@property
	def hosts(self) -> str:
		return f'127.0.0.1:{self.port}/{self.slots}'

	def jobs(self) -> List[str]:
		"""The compile jobs distccd ran: its job summary lines (not the
		connection that found it listening)."""
		return [l for l in self.log.read_text(errors='replace').splitlines()
			if '(dcc_job_summary)' in l and ' COMPILE_' in l]

	def stop(self) -> None:
		if self.proc.poll() is None:
			os.killpg(self.proc.pid, signal.SIGTERM)
			try:
				self.proc.wait(timeout=10)
			except subprocess.TimeoutExpired:
				os.killpg(self.proc.pid, signal.SIGKILL)
				self.proc.wait()
		shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def distccd() -> Iterator[Distccd]:
	d = Distccd()
	try:
		yield d
	finally:
		d.stop()


def distcc_env(d: Distccd, tmp: Path, **extra: str) -> Dict[str, str]:
	# distcc's client state (host backoff, locks) private to the test.
	(tmp / 'distcc-state').mkdir(exist_ok=True)
	return local_env(DISTCC_HOSTS=d.hosts, DISTCC_DIR=str(tmp / 'distcc-state'), **extra)


# ---- bad input: one line each ----

def error_of(env: Dict[str, str]) -> str:
	with pytest.raises(Error) as e:
		farm.from_env(env)
	msg = str(e.value)
	assert '\n' not in msg
	return msg


def test_no_farm_is_a_local_build() -> None:
	assert farm.from_env(local_env()) is None


def test_both_farms_are_refused_an_empty_one_is_none() -> None:
	assert 'use one farm' in error_of(local_env(DISTCC_HOSTS='a', ICECC_SCHEDULER='b'))
	# make check DISTCC_HOSTS= : a local build whatever the shell exports.
	assert farm.from_env(local_env(DISTCC_HOSTS=' ', ICECC_SCHEDULER='')) is None


@needs_distcc
def test_unusable_distcc_hosts(tmp_path: Path) -> None:
	env = local_env(DISTCC_DIR=str(tmp_path))	# no backoff state from other runs
	msg = error_of(dict(env, DISTCC_HOSTS='garbage::://'))
	assert msg.startswith("DISTCC_HOSTS='garbage::://' is unusable: invalid tcp port"), msg
	assert 'only localhost' in error_of(dict(env, DISTCC_HOSTS='localhost/2'))
	port = free_port()	# nobody listens there
	msg = error_of(dict(env, DISTCC_HOSTS=f'127.0.0.1:{port}/4'))
	assert msg.startswith(f'DISTCC_HOSTS: 127.0.0.1:{port} cannot compile: '), msg
	assert 'Connection refused' in msg, msg


def test_unreachable_icecc_scheduler() -> None:
	if not shutil.which('icecc'):
		pytest.skip('no icecc: run make deps')
	port = free_port()
	msg = error_of(local_env(ICECC_SCHEDULER=f'127.0.0.1:{port - 1}'))
	assert msg == (f'ICECC_SCHEDULER=127.0.0.1:{port - 1}: the scheduler does not answer '
		       f'(Connection refused) on 127.0.0.1:{port}'), msg
	assert 'use host or host:port' in error_of(local_env(ICECC_SCHEDULER='h:x'))


def test_host_names() -> None:
	assert farm.parse_hosts('10.0.0.1:3632/8,lzo\nlocalhost/2\n') == [
		'10.0.0.1:3632/8,lzo', 'localhost/2']
	assert farm.host_limit('10.0.0.1:3632/8,lzo') == '10.0.0.1:3632'
	assert farm.is_local('localhost/2') and not farm.is_local('build1/4')
	assert farm.scheduler_address('ice') == ('ice', 8765)
	assert farm.scheduler_address('ice:9000') == ('ice', 9000)


# ---- a real distccd ----

@needs_distcc
def test_distccd_compiles_the_probe(distccd: Distccd, tmp_path: Path) -> None:
	f = farm.from_env(distcc_env(distccd, tmp_path))
	assert f is not None and f.kind == 'distcc'
	assert f.jobs == distccd.slots	# distcc -j: the host's /limit
	assert f.env == {'CCACHE_PREFIX': 'distcc'} and f.wrapper == []
	jobs = distccd.jobs()
	assert len(jobs) == 1 and 'COMPILE_OK' in jobs[0] and 'probe.c' in jobs[0], jobs
	# make's command line: the farm's -j, CC unchanged (ccache in front).
	os.environ['DISTCC_HOSTS'] = distccd.hosts
	os.environ['DISTCC_DIR'] = str(tmp_path / 'distcc-state')
	try:
		cmd = build.make_cmd(Path('/src'), Path('/src/out'), ['bzImage'])
		assert 'CC=ccache gcc' in cmd and f'-j{distccd.slots}' in cmd
		assert build.make_env()['CCACHE_PREFIX'] == 'distcc'
	finally:
		del os.environ['DISTCC_HOSTS'], os.environ['DISTCC_DIR']
	assert 'CCACHE_PREFIX' not in build.make_env()


@needs_distcc
def test_pump_mode_is_used_only_if_it_works(distccd: Distccd, tmp_path: Path) -> None:
	"""Debian 12's distcc-pump falls back to local preprocessing on every
	file (farm.py): ',cpp' is refused with the include server's reason,
	unless a fixed one sends the headers."""
	if not shutil.which(farm.PUMP):
		pytest.skip('no distcc-pump: run make deps')
	env = distcc_env(distccd, tmp_path)
	env['DISTCC_HOSTS'] += ',cpp,lzo'
	try:
		f = farm.from_env(env)
	except Error as e:
		assert str(e).startswith('DISTCC_HOSTS: pump mode (,cpp) does not work here, '
					 'every file would be preprocessed locally: '), e
		assert '\n' not in str(e) and str(e).endswith('; drop ,cpp')
		print(f'pump mode refused: {e}')
		return
	assert f.wrapper == [farm.PUMP]


# ---- icecream on 127.0.0.1 ----

def wait_for(what: str, cond, timeout: float = 40) -> None:
	deadline = time.monotonic() + timeout
	while not cond():
		if time.monotonic() > deadline:
			pytest.fail(f'{what}: not within {timeout:.0f}s')
		time.sleep(0.5)


class Icecream:
	"""icecc-scheduler and two iceccd on 127.0.0.1: 'client', without job
	slots, the one icecc talks to (ICECC_TEST_SOCKET), and 'server' with
	two. icecream's test switches (ICECC_TESTS: loopback daemons are
	accepted; ICECC_TEST_REMOTEBUILD: the client sends the job even though
	server is its own machine) make one machine a farm."""

	def __init__(self) -> None:
		# The scheduler drops to user icecc: its log directory is open.
		self.dir = Path(tempfile.mkdtemp(prefix='pinconv-icecc-'))
		self.dir.chmod(0o777)
		self.port = free_port()
		self.env = local_env(ICECC_TESTS='1', ICECC_TEST_SOCKET=str(self.dir / 'client.sock'),
				     ICECC_TEST_REMOTEBUILD='1')
		self.procs: List[subprocess.Popen] = []
		# iceccd empties its environment cache (-b) when it starts: the
		# client's gcc is packed again on every run.
		envs = self.dir
		try:
			self.start(['icecc-scheduler', '-p', str(self.port),
				    '-l', str(self.dir / 'scheduler.log'), '-vvv'])
			sched = f'127.0.0.1:{self.port}'
			self.start(['iceccd', '-s', sched, '-p', str(free_port()), '-N', 'server',
				    '-m', '2', '-b', str(envs / 'server-envs'),
				    '-l', str(self.dir / 'server.log'), '-vvv'],
				   ICECC_TEST_SOCKET=str(self.dir / 'server.sock'))
			self.start(['iceccd', '-s', sched, '-p', str(free_port()), '-N', 'client',
				    '-m', '0', '--no-remote', '-b', str(envs / 'client-envs'),
				    '-l', str(self.dir / 'client.log'), '-vvv'])
			wait_for('both iceccd logged in to the scheduler', lambda: all(
				f'login {n} ' in self.read('scheduler.log') for n in ('server', 'client')))
		except BaseException:
			self.stop()
			raise

	def start(self, cmd: List[str], **env: str) -> None:
		self.procs.append(subprocess.Popen(cmd, env=dict(self.env, **env),
						   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
						   start_new_session=True))

	def read(self, name: str) -> str:
		p = self.dir / name
		return p.read_text(errors='replace') if p.exists() else ''

	def remote_jobs(self) -> List[str]:
		return re.findall(r'remote compile for file (\S+)', self.read('server.log'))

	def stop(self) -> None:
		for p in reversed(self.procs):
			if p.poll() is None:
				os.killpg(p.pid, signal.SIGTERM)
				try:
					p.wait(timeout=10)
				except subprocess.TimeoutExpired:
					os.killpg(p.pid, signal.SIGKILL)
					p.wait()
		shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.e2e
def test_icecc_farm_on_loopback() -> None:
	"""The scheduler lists the server's two slots (-j2) and the probe
	compiles on it, byte for byte as the local gcc (one to two minutes:
	icecc packs the local gcc for the server first)."""
	if not (shutil.which('icecc') and shutil.which('iceccd')):
		pytest.skip('no icecc: run make deps')
	if os.geteuid() != 0:
		pytest.skip('iceccd compiles in a chroot: run as root')
	ice = Icecream()
	try:
		f = farm.from_env(dict(ice.env, ICECC_SCHEDULER=f'127.0.0.1:{ice.port}'))
		assert f is not None and f.kind == 'icecc'
		assert f.hosts == ['server/2'] and f.jobs == 2, f
		assert f.env == {'CCACHE_PREFIX': 'icecc'}
		assert ice.remote_jobs() == ['probe.c'], ice.read('server.log')[-2000:]
	finally:
		ice.stop()


# ---- make check through distccd (e2e) ----

def fragment_symbols() -> set:
	frag = build.read_config(build.config_fragment(KVER))
	# x86_64's tinyconfig has MMU: a file that needs only it needs nothing more.
	return {s for s, v in frag.items() if v == 'y'} | {'CONFIG_MMU'}


def cheap_commit() -> Optional[str]:
	"""The newest commit of the series that touches only .c files outside
	arch/ needing no symbol beyond the config fragment: the build dir's
	config is then the fragment's, as the boot test's and bisect's
	builds are, and its first build is ccache hits."""
	from test_check import git
	have = fragment_symbols()
	for sha in git('rev-list', f'{tree.BASE_TAG}..{tree.BRANCH}').split():
		files = git('diff-tree', '--no-commit-id', '--name-only', '-r', sha).split()
		if not files or not all(f.endswith('.c') and not f.startswith('arch/')
					for f in files):
			continue
		read = check.git_reader(WORKSPACE, sha)
		if all(not problems and set(syms) <= have
		       for syms, problems in (check.kconfig_symbols(read, f) for f in files)):
			return sha
	return None


def make_check(rng: str, out: Path, env: Dict[str, str]) -> Dict:
	start = time.monotonic()
	p = subprocess.run([sys.executable, '-m', 'pinconv', 'check', '--kver', KVER,
			    '--rev', rng, '--label', LABEL], cwd=TOP, text=True,
			   capture_output=True,
			   env=dict(env, PYTHONPATH=str(TOP / 'scripts'), PINCONV_OUT=str(out)))
	assert p.returncode == 0, p.stdout[-3000:] + p.stderr
	data = json.loads((out / 'reports' / KVER / 'check.json').read_text())
	data['_wall'] = time.monotonic() - start
	data['_stdout'] = p.stdout
	return data


def verdicts(data: Dict) -> Dict:
	"""check.json without what differs between two runs of the same check:
	times, ccache counts, the farm named."""
	def strip(v: object) -> object:
		if isinstance(v, dict):
			return {k: strip(x) for k, x in v.items()
				if not k.endswith('seconds') and k not in ('ccache', 'farm')
				and not k.startswith('_')}
		if isinstance(v, list):
			return [strip(x) for x in v]
		return v
	return strip(data)


@pytest.mark.e2e
@pytest.mark.kbuild
@needs_distcc
def test_check_through_distccd_equals_local(distccd: Distccd, tmp_path: Path) -> None:
	if not (WORKSPACE / '.git').is_dir():
		pytest.skip(f'no {WORKSPACE}: run make tree')
	sha = cheap_commit()
	if not sha:
		pytest.skip('the series has no commit buildable with the config fragment alone')
	rng = f'{sha}^..{sha}'
	t = tree.prepare(KVER)
	out = build.build_dir(t, LABEL)
	# Local, with the shared ccache: also brings the build dir to the tip
	# of the range (the first time: a full build, ccache hits).
	local = make_check(rng, tmp_path / 'local', local_env())
	vmlinux_local = (out / 'vmlinux').read_bytes()
	assert local['farm'] == '' and local['ok']
	# Through distccd, with an empty ccache: no hit can keep a compile
	# from it. make check moves the worktree to the parent and back, so
	# the touched files (and what make relinks) compile again.
	env = distcc_env(distccd, tmp_path, PINCONV_CCACHE=str(tmp_path / 'ccache'))
	remote = make_check(rng, tmp_path / 'farm', env)
	assert remote['farm'].startswith(f'distcc, 1 host(s): {distccd.hosts}; -j2'), remote['farm']
	# Hits only of what this run compiled before (the parent's objects
	# again at the commit).
	assert re.search(r'^\d+ hits, [1-9]\d* misses', remote['ccache']), remote['ccache']
	# The same verdicts, objects and their sha256, sparse and checkpatch
	# lines, config; and the same vmlinux.
	assert verdicts(remote) == verdicts(local)
	c, = remote['commits']
	assert c['sha256'] and set(c['sha256']) == set(c['objects'])
	assert (out / 'vmlinux').read_bytes() == vmlinux_local
	# distccd compiled them: one job per compile, every one ok; the
	# touched files among them (at the parent for sparse, at the commit).
	jobs = distccd.jobs()[1:]	# the first is the probe
	assert jobs and all('COMPILE_OK' in j for j in jobs), jobs[:5]
	# A job line ends with the compiler and the source as kbuild names
	# it: '... time:1227ms /usr/bin/gcc ../security/tomoyo/domain.c'.
	compiled = [j.rsplit(' ', 1)[-1] for j in jobs]
	for f in c['objects']:
		assert f'../{f}' in compiled, (f, compiled)
	print(f'make check {sha[:12]}: local {local["_wall"]:.0f}s, through distccd '
	      f'{remote["_wall"]:.0f}s, {len(jobs)} jobs on distccd: '
	      + ', '.join(compiled))
