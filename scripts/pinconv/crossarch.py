# SPDX-License-Identifier: GPL-2.0
"""Which architecture builds a touched .c file, and cross builds of it.

make check builds x86_64 kernels. A file that x86_64 cannot build is
built by a cross compiler Debian ships (scripts/deps.txt):

  arch/<a>/...          the targets of <a> only (arch/arm64/ -> arm64);
  anything else         x86_64 first (the check config), then arm64,
                        powerpc, s390: the first target whose olddefconfig
                        keeps every CONFIG_ symbol the file's Makefiles
                        build it under (drivers/virt/fsl_hypervisor.c needs
                        FSL_SOC: powerpc's corenet64_smp_defconfig).

A target is an architecture with one configuration: x86_64 with check.py's
config, the others with a defconfig target of the tree plus the files'
symbols. A cross target builds no kernel: make prepare, then only the
single objects (make path/file.o, make C=2 path/file.o for sparse), in a
worktree and O= directory of its own (label 'check-arm64', ...), through
ccache like the x86_64 builds.

choose() is pure: the Makefile reading and olddefconfig runs come in as
functions (tests/python/test_crossarch.py fakes them).
"""

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pinconv import build
from pinconv.printer import Error, stdout
from pinconv.run import run


@dataclass(frozen=True)
class Arch:
	name: str		# as reports say it: x86_64, arm64, powerpc, s390
	make_arch: str		# ARCH=
	srcarch: str		# the directory under arch/
	cross: str		# CROSS_COMPILE= ('' for the host's gcc)
	package: str		# the Debian package of the compiler
	configs: Tuple[str, ...]	# config targets tried in order ('' = check.py's)


X86_64 = Arch('x86_64', 'x86_64', 'x86', '', 'gcc', ('',))
ARM64 = Arch('arm64', 'arm64', 'arm64', 'aarch64-linux-gnu-',
	     'gcc-aarch64-linux-gnu', ('defconfig',))
# The little-endian compiler also builds big-endian kernels (-mbig-endian,
# ld -EB): corenet64 is the 64-bit e5500/e6500 BookE with FSL_SOC and KVM_E500MC.
POWERPC = Arch('powerpc', 'powerpc', 'powerpc', 'powerpc64le-linux-gnu-',
	       'gcc-powerpc64le-linux-gnu', ('ppc64le_defconfig', 'corenet64_smp_defconfig'))
S390 = Arch('s390', 's390', 's390', 's390x-linux-gnu-', 'gcc-s390x-linux-gnu',
	    ('defconfig',))
ARCHES: Tuple[Arch, ...] = (X86_64, ARM64, POWERPC, S390)


@dataclass(frozen=True)
class Target:
	arch: Arch
	config: str		# a make config target; '' for x86_64's check config

	@property
	def name(self) -> str:
		return self.arch.name + (f' ({self.config})' if self.config else '')

	def label(self, base: str) -> str:
		"""Its worktree label: 'check-arm64', 'check-powerpc-corenet64_smp'."""
		if self.arch is X86_64:
			return base
		label = f'{base}-{self.arch.name}'
		if self.config != self.arch.configs[0]:
			label += '-' + self.config.replace('_defconfig', '')
		return label

	def kept(self, value: str) -> bool:
		"""Does this value build the file? x86_64 builds bzImage (only
		built-in objects); a cross target makes the object itself."""
		return value == 'y' or (self.arch is not X86_64 and value == 'm')


TARGETS: Tuple[Target, ...] = tuple(Target(a, c) for a in ARCHES for c in a.configs)
X86_TARGET = TARGETS[0]


def compiler(arch: Arch) -> str:
	return f'{arch.cross}gcc' if arch.cross else 'gcc'


def installed(arch: Arch) -> bool:
	return shutil.which(compiler(arch)) is not None


def arch_dir(path: str) -> str:
	"""'arm64' for arch/arm64/kernel/mte.c, '' outside arch/."""
	parts = path.split('/')
	return parts[1] if len(parts) > 2 and parts[0] == 'arch' else ''


def candidates(cfile: str) -> Tuple[List[Target], str]:
	"""The targets that may build cfile, in order, and why there are none."""
	a = arch_dir(cfile)
	if not a:
		return list(TARGETS), ''
	found = [t for t in TARGETS if t.arch.srcarch == a]
	if not found:
		return [], (f'arch/{a}/ has no compiler here (cross builds: '
			    f'{", ".join(x.name for x in ARCHES)})')
	return found, ''


def other_arch(path: str) -> bool:
	"""A file under arch/ of another architecture than x86: an x86_64
	build never reads it."""
	a = arch_dir(path)
	return bool(a) and a != X86_64.srcarch


# (cfile, arch, symbols to avoid) -> (the CONFIG_ symbols that must be set,
# problems met): check.kconfig_symbols() at the last commit touching cfile.
SymbolsOf = Callable[[str, Arch, Sequence[str]], Tuple[List[str], List[str]]]
# (target, wanted symbols) -> the config's value of each after olddefconfig
# ('n' if not set); raises Error if the target cannot be configured.
Probe = Callable[[Target, List[str]], Dict[str, str]]
# (arch, symbol) -> the plain symbols its Kconfig entry depends on (kconfig_deps()).
DepsOf = Callable[[Arch, str], List[str]]
# Configure rounds per target: a dropped symbol may have another Makefile
# route (KVM_E500V2 -> KVM_E500MC) or unset dependencies (KVM: VIRTUALIZATION).
ROUNDS = 3


@dataclass
class Choice:
	where: Dict[str, Target] = field(default_factory=dict)		# file -> its target
	symbols: Dict[Target, Dict[str, List[str]]] = field(default_factory=dict)  # sym -> files
	unbuildable: Dict[str, str] = field(default_factory=dict)	# file -> why
	tried: Dict[str, List[str]] = field(default_factory=dict)	# file -> what failed where

	def files(self, target: Target) -> List[str]:
		return [f for f, t in self.where.items() if t == target]

	def targets(self) -> List[Target]:
		return [t for t in TARGETS if t in self.where.values()]


def no_deps(arch: Arch, sym: str) -> List[str]:
	return []


def choose(cfiles: Sequence[str], symbols_of: SymbolsOf, probe: Probe,
	   deps_of: DepsOf = no_deps,
	   have: Callable[[Arch], bool] = installed) -> Choice:
	"""Place every file on the first target (TARGETS order) that can build
	it: its compiler is installed, its Makefiles link it and olddefconfig
	keeps all its symbols. Each target is probed with the symbols of all
	the files still looking for one; on a cross target a dropped symbol's
	dependencies are added and another round is tried (x86_64 keeps the
	check config as scripts/configs has it)."""
	ch = Choice()
	pending: Dict[str, List[Target]] = {}
	for f in cfiles:
		ts, why = candidates(f)
		ch.tried[f] = [why] if why else []
		pending[f] = ts
	for t in TARGETS:
		files = [f for f in cfiles if f in pending and t in pending[f]]
		if not files:
			continue
		if not have(t.arch):
			for f in files:
				ch.tried[f].append(f'{t.name}: no {compiler(t.arch)} '
						   f'(make deps: {t.arch.package})')
			continue
		placed = place_on(t, files, symbols_of, probe, deps_of, ch)
		for f in placed:
			ch.where[f] = t
			del pending[f]
		if placed:
			ch.symbols[t] = {}
			for f, syms in placed.items():
				for x in syms:
					ch.symbols[t].setdefault(x, []).append(f)
	for f in cfiles:
		if f not in ch.where:
			ch.unbuildable[f] = ('builds on no architecture here: '
					     + ('; '.join(ch.tried[f]) or 'no target tried'))
	return ch


def place_on(t: Target, files: Sequence[str], symbols_of: SymbolsOf, probe: Probe,
	     deps_of: DepsOf, ch: Choice) -> Dict[str, List[str]]:
	"""The files t builds, each with its symbols; the others' reasons go
	to ch.tried."""
	avoid: Dict[str, List[str]] = {f: [] for f in files}
	extra: List[str] = []
	lost: Dict[str, List[str]] = {}
	syms: Dict[str, List[str]] = {}
	seen: Dict[str, List[List[str]]] = {}	# the routes tried per file
	for _ in range(ROUNDS if t.arch is not X86_64 else 1):
		syms = {}
		for f in files:
			s, problems = symbols_of(f, t.arch, avoid[f])
			if problems:
				if f not in lost:
					ch.tried[f].append(f'{t.name}: {"; ".join(problems)}')
				lost[f] = []
				continue
			syms[f] = s
		if not syms:
			return {}
		wanted = list(dict.fromkeys([x for s in syms.values() for x in s] + extra))
		try:
			got = probe(t, wanted)
		except Error as e:
			for f in syms:
				ch.tried[f].append(f'{t.name}: {e}')
			return {}
		lost = {f: [x for x in s if not t.kept(got.get(x, 'n'))] for f, s in syms.items()}
		if not any(lost.values()) or t.arch is X86_64:
			break
		again = False
		for f, gone in lost.items():
			seen.setdefault(f, []).append(syms[f])
			if gone and symbols_of(f, t.arch, avoid[f] + gone)[0] not in seen[f]:
				avoid[f] += gone
				again = True
		deps = [d for gone in lost.values() for x in gone
			for d in deps_of(t.arch, x) if d not in wanted]
		if deps:
			extra += list(dict.fromkeys(deps))
			again = True
		if not again:
			break
	for f, gone in lost.items():
		if gone:
			vals = [f'{x}={got.get(x, "n")}' for x in gone]
			ch.tried[f].append(f'{t.name}: olddefconfig drops {", ".join(vals)}')
	return {f: syms[f] + [x for x in extra if t.kept(got.get(x, 'n'))]
		for f in syms if not lost.get(f)}


# ---- Kconfig dependencies (pure: text in, symbols out) ----

def kconfig_entry_deps(text: str, sym: str) -> List[str]:
	"""The plain symbols (the identifiers of a top-level && list) that the
	entry 'config sym' in a Kconfig text depends on: its enclosing
	'if X' blocks and its 'depends on' lines."""
	name = sym[len('CONFIG_'):] if sym.startswith('CONFIG_') else sym
	ifs: List[str] = []
	lines = text.splitlines()
	for i, line in enumerate(lines):
		s = line.strip()
		if line.startswith('if '):	# blocks start at column 0, help text not
			ifs.append(s[3:])
		elif line.startswith('endif'):
			if ifs:
				ifs.pop()
		elif s in (f'config {name}', f'menuconfig {name}'):
			exprs = list(ifs)
			for l in lines[i + 1:]:
				e = l.strip()
				if l and not l[0].isspace():
					break
				if e.startswith('depends on '):
					exprs.append(e[len('depends on '):])
			return list(dict.fromkeys(f'CONFIG_{x}' for e in exprs for x in plain(e)))
	return []


def plain(expr: str) -> List[str]:
	"""The bare identifiers of expr's top-level && list ('A && !B &&
	(C || D)' -> ['A'])."""
	out = []
	for p in expr.split('#')[0].split('&&'):
		p = p.strip()
		if p and all(c.isalnum() or c == '_' for c in p) and p not in ('y', 'm', 'n'):
			out.append(p)
	return out


def kconfig_deps(tree_path: Path, rev: str, arch: Arch, sym: str) -> List[str]:
	"""kconfig_entry_deps() of sym's entry in the tree at rev (the first
	Kconfig defining it that is not another architecture's)."""
	name = sym[len('CONFIG_'):]
	p = run(['git', 'grep', '-l', '-E', rf'^\s*(menu)?config {name}\s*$', rev, '--',
		 '*Kconfig*'], cwd=tree_path, check=False)
	paths = [l.split(':', 1)[1] for l in p.stdout.split() if ':' in l]
	paths = [x for x in paths if arch_dir(x) in ('', arch.srcarch)]
	for path in paths[:1]:
		text = run(['git', 'cat-file', '-p', f'{rev}:{path}'], cwd=tree_path,
			   check=False).stdout
		return kconfig_entry_deps(text, sym)
	return []


def x86_needed(files: Sequence[str], ch: Choice) -> bool:
	"""Does an x86_64 build test anything of a commit touching files?
	Not if each is a .c file built elsewhere (or nowhere) or lies under
	another architecture's arch/ directory."""
	for f in files:
		if f.endswith('.c') and (f in ch.unbuildable or
					 (f in ch.where and ch.where[f] != X86_TARGET)):
			continue
		if other_arch(f):
			continue
		return True
	return False


# ---- cross builds (single objects, no kernel) ----

STAMP = '.pinconv-cross-config'


def make(src: Path, out: Path, target: Target, args: List[str], label: str,
	 log_name: str = 'make.log') -> float:
	return build.make(src, out, args, label, log_name, arch=target.arch.make_arch,
			  cross=target.arch.cross)


def configure(src: Path, out: Path, target: Target, wanted: Sequence[str],
	      label: str) -> Dict[str, str]:
	"""The target's config target + wanted=y, olddefconfig, make prepare;
	skipped when out/.config came from the same config target and keeps
	every wanted symbol. Returns the wanted symbols' values."""
	stamp = out / STAMP
	config = out / '.config'

	def values() -> Dict[str, str]:
		have = build.read_config(config)
		return {s: have.get(s, 'n') for s in wanted}
	if config.is_file() and stamp.is_file():
		old = json.loads(stamp.read_text())
		got = values()
		if old.get('config') == target.config and \
				all(target.kept(v) for v in got.values()):
			return got
	stdout.step(f'{label}: configuring {target.name}'
		    + (f' + {", ".join(wanted)}' if wanted else ''))
	out.mkdir(parents=True, exist_ok=True)
	stamp.unlink(missing_ok=True)
	start = time.monotonic()
	make(src, out, target, [target.config], label, 'config.log')
	with open(config, 'a') as f:
		f.write('\n# pinconv check: needed by the touched files\n')
		f.write(''.join(f'{s}=y\n' for s in wanted))
	make(src, out, target, ['olddefconfig'], label, 'config.log')
	got = values()
	if all(target.kept(v) for v in got.values()):
		make(src, out, target, ['prepare'], label, 'prepare.log')
	stamp.write_text(json.dumps({'config': target.config, 'symbols': list(wanted),
				     'seconds': round(time.monotonic() - start, 1)}) + '\n')
	return got


def build_objects(src: Path, out: Path, target: Target, cfiles: Sequence[str],
		  label: str) -> Tuple[float, str]:
	"""make path/file.o for each of cfiles: (seconds, first error or '')."""
	objs = [f[:-2] + '.o' for f in cfiles]
	start = time.monotonic()
	try:
		make(src, out, target, objs, label, 'make.log')
	except Error as e:
		return time.monotonic() - start, str(e)
	return time.monotonic() - start, ''


def configured_seconds(out: Path) -> Optional[float]:
	"""How long the last configure (config, olddefconfig, prepare) took."""
	stamp = out / STAMP
	if not stamp.is_file():
		return None
	return json.loads(stamp.read_text()).get('seconds')
