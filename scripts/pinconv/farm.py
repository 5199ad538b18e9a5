# SPDX-License-Identifier: GPL-2.0
"""Kernel builds on a compile farm: distcc or icecream, behind ccache.

Every kernel make of the toolkit (build.make: make check, make boottest,
make bisect) builds on a farm when the environment names one (make passes
its command line's variables on):

  DISTCC_HOSTS=...            distcc's own host list ('host[:port][/limit][,lzo]
                              ...'); a host with ',cpp' asks for pump mode
                              (make runs under distcc-pump), used only if a
                              probe shows its include server working: on
                              Debian 12 it fails on every file (below).
  ICECC_SCHEDULER=host[:port] an icecream scheduler (port 8765 by default);
                              the local iceccd must be running and use it.

CC stays 'ccache gcc': ccache answers its hits here and hands its misses to
the farm (CCACHE_PREFIX=distcc or icecc), so cache entries are shared
between farm and local builds. make's -j is the farm's slots: 'distcc -j'
(the sum of the hosts' /limit) or the sum of the compile servers' job slots
the icecream scheduler lists.

Before the first make, one probe file is compiled on every distcc host (on
the icecream farm: through it) and must give the same bytes as the local gcc:
a host with another compiler would give other objects. A host that does not
answer, refuses the job or differs is one error line; so is a scheduler that
does not answer or a local iceccd that is not running. An empty variable
is no farm: 'make check DISTCC_HOSTS=' builds locally whatever the shell
exports.

Pump mode does not work on Debian 12: distcc-pump 3.4's include server
fails on every translation unit under Python 3.11 ('PY_SSIZE_T_CLEAN macro
must be defined', distcc/distcc#454, fixed upstream by #479 after 3.4) and
distcc preprocesses locally, as without pump. With ccache in front, a miss
has been preprocessed here already for ccache's hash anyway.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

from pinconv.printer import Error, stdout

# A function gcc compiles to a few instructions; its .comment section names
# the compiler that compiled it, so another gcc gives other bytes.
PROBE = 'int pinconv_farm_probe(int x)\n{\n\treturn x * 3 + 1;\n}\n'
PROBE_FLAGS = ['-O2', '-c']
# distcc waits 300 s for a silent host by default.
IO_TIMEOUT = 20
ICECC_PORT = 8765
ICECC_SOCKETS = ('/var/run/icecc/iceccd.socket', '/var/run/iceccd.socket')
PUMP = 'distcc-pump'
# What distcc and its include server say when pump mode falls back.
PUMP_FAILED_RE = re.compile(r'Preprocessing locally|failed to get includes|'
			    r'Could not start distcc-pump|include server gave up')


@dataclass
class Farm:
	kind: str		# 'distcc' or 'icecc'
	hosts: List[str]	# as the user gave them (distcc) or the scheduler lists them
	jobs: int		# make -j
	env: Dict[str, str] = field(default_factory=dict)	# for every kernel make
	wrapper: List[str] = field(default_factory=list)	# ['pump'] in pump mode

	def describe(self) -> str:
		mode = ' (pump mode)' if self.wrapper else ''
		return (f'{self.kind}{mode}, {len(self.hosts)} host(s): {", ".join(self.hosts)}; '
			f'-j{self.jobs}; ccache misses compile there')


_current: Optional[Tuple[Tuple[str, str], Optional[Farm]]] = None


def current(environ: Optional[Mapping[str, str]] = None) -> Optional[Farm]:
	"""The farm the environment names (checked once per process), or None."""
	global _current
	env = os.environ if environ is None else environ
	key = (env.get('DISTCC_HOSTS', ''), env.get('ICECC_SCHEDULER', ''))
	if _current is not None and _current[0] == key:
		return _current[1]
	farm = from_env(env)
	if farm:
		stdout.step(f'farm: {farm.describe()}')
	_current = (key, farm)
	return farm


def from_env(env: Mapping[str, str]) -> Optional[Farm]:
	distcc_hosts = env.get('DISTCC_HOSTS', '').strip()
	scheduler = env.get('ICECC_SCHEDULER', '').strip()
	if distcc_hosts and scheduler:
		raise Error('DISTCC_HOSTS and ICECC_SCHEDULER are both set: use one farm')
	if distcc_hosts:
		return distcc_farm(distcc_hosts, env)
	if scheduler:
		return icecc_farm(scheduler, env)
	return None


# ---- distcc ----

def distcc_run(args: List[str], env: Mapping[str, str], cwd: Optional[Path] = None,
	       timeout: float = IO_TIMEOUT + 10) -> subprocess.CompletedProcess:
	if not shutil.which('distcc'):
		raise Error('DISTCC_HOSTS is set but distcc is not installed (run make deps)')
	try:
		return subprocess.run(['distcc'] + args, env=dict(env), cwd=cwd, text=True,
				      capture_output=True, timeout=timeout)
	except subprocess.TimeoutExpired:
		raise Error(f'DISTCC_HOSTS: distcc {" ".join(args)} got no answer in {timeout:.0f}s')


def distcc_complaint(text: str, warnings: bool = False) -> str:
	"""distcc's first ERROR or CRITICAL message (or warning), without its
	prefix."""
	kinds = 'ERROR|CRITICAL!' + ('|Warning' if warnings else '')
	for line in text.splitlines():
		m = re.search(rf'(?:{kinds}): (.*)$', line)
		if m:
			return m.group(1).strip()
	return ''


def parse_hosts(shown: str) -> List[str]:
	"""The host lines of 'distcc --show-hosts'."""
	return [l.strip() for l in shown.splitlines() if l.strip()]


def host_limit(host: str) -> str:
	"""'127.0.0.1:3632/4,lzo' -> '127.0.0.1:3632' (what distccd's log and
	DISTCC_HOSTS name one host by)."""
	return re.split(r'[/,]', host, 1)[0]


def is_local(host: str) -> bool:
	return host_limit(host) == 'localhost'


def distcc_farm(hosts_text: str, env: Mapping[str, str]) -> Farm:
	p = distcc_run(['--show-hosts'], env)
	hosts = parse_hosts(p.stdout)
	why = distcc_complaint(p.stderr, warnings=not hosts)
	if not hosts or why:
		raise Error(f'DISTCC_HOSTS={hosts_text!r} is unusable: {why or "no hosts"}')
	if all(is_local(h) for h in hosts):
		raise Error(f'DISTCC_HOSTS={hosts_text!r} names only localhost: '
			    f'that is a local build (unset it)')
	pump = any(',cpp' in h for h in hosts)
	probe_distcc_hosts(hosts, env)
	if pump:
		probe_pump(env)
	j = distcc_run(['-j'], env)
	if not j.stdout.strip().isdigit():
		raise Error(f'distcc -j: {distcc_complaint(j.stderr) or j.stdout.strip() or "no answer"}')
	return Farm('distcc', hosts, int(j.stdout), {'CCACHE_PREFIX': 'distcc'},
		    [PUMP] if pump else [])


def local_probe(tmp: Path) -> bytes:
	(tmp / 'probe.c').write_text(PROBE)
	p = subprocess.run(['gcc', *PROBE_FLAGS, 'probe.c', '-o', 'local.o'], cwd=tmp,
			   capture_output=True, text=True)
	if p.returncode:
		raise Error(f'gcc cannot compile the farm probe: {p.stderr.strip()[:200]}')
	return (tmp / 'local.o').read_bytes()


def probe_distcc_hosts(hosts: List[str], env: Mapping[str, str]) -> None:
	"""Each remote host compiles the probe, without falling back to a local
	compile, to the bytes gcc gives here."""
	with tempfile.TemporaryDirectory(prefix='pinconv-farm-') as d:
		tmp = Path(d)
		want = local_probe(tmp)
		for i, host in enumerate(h for h in hosts if not is_local(h)):
			e = dict(env, DISTCC_HOSTS=host, DISTCC_FALLBACK='0',
				 DISTCC_IO_TIMEOUT=str(IO_TIMEOUT))
			e.pop('INCLUDE_SERVER_PORT', None)
			obj = f'remote{i}.o'
			p = distcc_run(['gcc', *PROBE_FLAGS, 'probe.c', '-o', obj], e, cwd=tmp)
			if p.returncode:
				why = distcc_complaint(p.stderr) or f'exit {p.returncode}'
				raise Error(f'DISTCC_HOSTS: {host_limit(host)} cannot compile: {why}')
			if (tmp / obj).read_bytes() != want:
				raise Error(f'DISTCC_HOSTS: {host_limit(host)} compiles to other bytes '
					    f'than the local gcc (another compiler version?): its '
					    f'objects would differ from a local build')


def probe_pump(env: Mapping[str, str]) -> None:
	"""The probe (with a header) under distcc-pump: its include server
	must send the headers, not leave the file to local preprocessing."""
	if not shutil.which(PUMP):
		raise Error('DISTCC_HOSTS has ,cpp (pump mode) but distcc-pump is not '
			    'installed (Debian package distcc-pump)')
	with tempfile.TemporaryDirectory(prefix='pinconv-farm-') as d:
		tmp = Path(d)
		(tmp / 'probe.c').write_text('#include <stddef.h>\n' + PROBE)
		try:
			p = subprocess.run([PUMP, 'distcc', 'gcc', *PROBE_FLAGS, 'probe.c', '-o', 'pump.o'],
					   cwd=tmp, env=dict(env, DISTCC_IO_TIMEOUT=str(IO_TIMEOUT)),
					   capture_output=True, text=True, timeout=IO_TIMEOUT + 30)
		except subprocess.TimeoutExpired:
			raise Error('DISTCC_HOSTS: the pump mode probe got no answer')
	text = p.stdout + p.stderr
	m = PUMP_FAILED_RE.search(text)
	if p.returncode or m:
		why = re.search(r'(\w*Error: .*)$', text, re.M)
		raise Error('DISTCC_HOSTS: pump mode (,cpp) does not work here, every file would '
			    'be preprocessed locally: ' + (why.group(1).strip() if why else
							   m.group(0) if m else f'exit {p.returncode}')
			    + '; drop ,cpp')


# ---- icecream ----

def icecc_socket(env: Mapping[str, str]) -> Optional[str]:
	"""The local iceccd's socket, as the icecc client looks for it."""
	cands = [env.get('ICECC_TEST_SOCKET', '')] if env.get('ICECC_TEST_SOCKET') else \
		list(ICECC_SOCKETS) + [os.path.expanduser('~/.iceccd.socket')]
	for path in cands:
		if not path or not os.path.exists(path):
			continue
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		try:
			s.settimeout(3)
			s.connect(path)
			return path
		except OSError:
			continue
		finally:
			s.close()
	return None


def scheduler_address(spec: str) -> Tuple[str, int]:
	host, _, port = spec.rpartition(':') if ':' in spec else (spec, '', '')
	if not host:
		host, port = spec, ''
	if port and not port.isdigit():
		raise Error(f'ICECC_SCHEDULER={spec!r}: use host or host:port')
	return host, int(port) if port else ICECC_PORT


def list_compile_servers(host: str, port: int) -> List[Tuple[str, int]]:
	"""(name, job slots) of each compile server the scheduler lists on its
	text interface (the scheduler's port + 1)."""
	try:
		s = socket.create_connection((host, port + 1), timeout=5)
	except OSError as e:
		raise Error(f'ICECC_SCHEDULER={host}:{port}: the scheduler does not answer '
			    f'({e.strerror or e}) on {host}:{port + 1}')
	data = b''
	try:
		s.settimeout(5)
		s.sendall(b'listcs\r\nquit\r\n')
		while True:
			chunk = s.recv(65536)
			if not chunk:
				break
			data += chunk
	except OSError:
		pass
	finally:
		s.close()
	text = data.decode(errors='replace')
	if not text.startswith('200'):
		raise Error(f'ICECC_SCHEDULER={host}:{port}: no icecream scheduler answers there')
	return [(m.group(1), int(m.group(2)))
		for m in re.finditer(r'^\s*(\S+) \(\S+\) \[[^]]*\].*?\bjobs=\d+/(\d+)', text, re.M)]


def icecc_farm(spec: str, env: Mapping[str, str]) -> Farm:
	if not shutil.which('icecc'):
		raise Error('ICECC_SCHEDULER is set but icecc is not installed (run make deps)')
	host, port = scheduler_address(spec)
	servers = list_compile_servers(host, port)
	slots = sum(n for _, n in servers)
	if not slots:
		raise Error(f'ICECC_SCHEDULER={spec}: the scheduler lists no compile server '
			    f'with job slots')
	if not icecc_socket(env):
		raise Error('ICECC_SCHEDULER is set but no local iceccd is running '
			    f'(start it: iceccd -d -s {host}:{port})')
	with tempfile.TemporaryDirectory(prefix='pinconv-farm-') as d:
		tmp = Path(d)
		want = local_probe(tmp)
		try:
			p = subprocess.run(['icecc', 'gcc', *PROBE_FLAGS, 'probe.c', '-o', 'farm.o'],
					   cwd=tmp, env=dict(env), capture_output=True, text=True,
					   timeout=300)
		except subprocess.TimeoutExpired:
			raise Error(f'ICECC_SCHEDULER={spec}: the probe compile took over 300 s')
		if p.returncode:
			raise Error(f'ICECC_SCHEDULER={spec}: icecc cannot compile: '
				    f'{(p.stderr.strip().splitlines() or ["exit " + str(p.returncode)])[0]}')
		if (tmp / 'farm.o').read_bytes() != want:
			raise Error(f'ICECC_SCHEDULER={spec}: the farm compiles to other bytes '
				    f'than the local gcc')
	return Farm('icecc', [f'{n}/{k}' for n, k in servers if k], slots,
		    {'CCACHE_PREFIX': 'icecc'})

