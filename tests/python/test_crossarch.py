# SPDX-License-Identifier: GPL-2.0
"""make check on other architectures: which target builds a touched .c
file (unit tests, the Makefiles and olddefconfig faked); and, on the real
6.1 workspace, a commit converting arch/arm64/kernel/mte.c that only the
arm64 cross compiler builds (e2e).

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/python/test_crossarch.py
"""

import json
import time
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple

import pytest

from conftest import commit_file, pinconv
from pinconv import check, crossarch, tree
from pinconv.crossarch import ARM64, POWERPC, S390, X86_64, Arch, Target

KVER = '6.1'
WORKSPACE = tree.work_dir() / f'linux-{KVER}'
TEST_BRANCH = 'pinconv-crossarch-test'

PPC64LE = Target(POWERPC, 'ppc64le_defconfig')
CORENET64 = Target(POWERPC, 'corenet64_smp_defconfig')


# ---- the choice, with Makefiles and olddefconfig faked ----

class Fake:
	"""Symbols per (file, arch) and what each target's olddefconfig keeps."""

	def __init__(self, symbols: Dict[str, List[str]], keeps: Dict[Target, Dict[str, str]],
		     routes: Dict[str, List[List[str]]] = None,
		     deps: Dict[str, List[str]] = None) -> None:
		self.symbols = symbols
		self.keeps = keeps
		self.routes = routes or {}
		self.deps = deps or {}
		self.probed: List[Tuple[str, List[str]]] = []

	def symbols_of(self, f: str, arch: Arch,
		       avoid: Sequence[str]) -> Tuple[List[str], List[str]]:
		if f in self.routes:
			return check.cheapest(self.routes[f], [], avoid), []
		if f not in self.symbols:
			return [], [f'{f}: not linked']
		return self.symbols[f], []

	def probe(self, t: Target, wanted: List[str]) -> Dict[str, str]:
		self.probed.append((t.name, list(wanted)))
		k = self.keeps.get(t, {})
		return {s: k.get(s, 'n') for s in wanted}

	def deps_of(self, arch: Arch, sym: str) -> List[str]:
		return self.deps.get(sym, [])

	def choose(self, files: Sequence[str], have=lambda a: True) -> crossarch.Choice:
		return crossarch.choose(files, self.symbols_of, self.probe, self.deps_of, have)


def test_arch_directory_decides() -> None:
	fake = Fake({'arch/arm64/kernel/mte.c': ['CONFIG_ARM64_MTE'],
		     'arch/s390/kvm/interrupt.c': ['CONFIG_KVM']},
		    {Target(ARM64, 'defconfig'): {'CONFIG_ARM64_MTE': 'y'},
		     Target(S390, 'defconfig'): {'CONFIG_KVM': 'm'}})
	ch = fake.choose(['arch/arm64/kernel/mte.c', 'arch/s390/kvm/interrupt.c'])
	assert {f: t.name for f, t in ch.where.items()} == {
		'arch/arm64/kernel/mte.c': 'arm64 (defconfig)',
		'arch/s390/kvm/interrupt.c': 's390 (defconfig)'}	# a module is built too
	assert ch.unbuildable == {}
	# x86_64 is never configured for them, each target only once.
	assert [n for n, _ in fake.probed] == ['arm64 (defconfig)', 's390 (defconfig)']
	assert ch.targets() == [Target(ARM64, 'defconfig'), Target(S390, 'defconfig')]


def test_outside_arch_tries_x86_first_then_the_others_in_order() -> None:
	fsl = 'drivers/virt/fsl_hypervisor.c'
	block = 'block/fops.c'
	fake = Fake({fsl: ['CONFIG_FSL_HV_MANAGER'], block: ['CONFIG_BLOCK']},
		    {crossarch.X86_TARGET: {'CONFIG_BLOCK': 'y'},
		     CORENET64: {'CONFIG_FSL_HV_MANAGER': 'y'}})
	ch = fake.choose([fsl, block])
	assert ch.where == {block: crossarch.X86_TARGET, fsl: CORENET64}
	assert [n for n, _ in fake.probed] == [
		'x86_64', 'arm64 (defconfig)', 'powerpc (ppc64le_defconfig)',
		'powerpc (corenet64_smp_defconfig)']
	assert ch.tried[fsl][0] == 'x86_64: olddefconfig drops CONFIG_FSL_HV_MANAGER=n'
	assert ch.symbols[crossarch.X86_TARGET] == {'CONFIG_BLOCK': [block]}
	assert ch.symbols[CORENET64] == {'CONFIG_FSL_HV_MANAGER': [fsl]}
	# x86_64 keeps its config as scripts/configs has it: one round, no deps.
	assert fake.probed[0] == ('x86_64', ['CONFIG_FSL_HV_MANAGER', 'CONFIG_BLOCK'])


def test_x86_wants_y_a_cross_target_takes_m() -> None:
	fake = Fake({'drivers/x/a.c': ['CONFIG_A']},
		    {crossarch.X86_TARGET: {'CONFIG_A': 'm'}, Target(ARM64, 'defconfig'): {'CONFIG_A': 'm'}})
	ch = fake.choose(['drivers/x/a.c'])
	assert ch.where['drivers/x/a.c'] == Target(ARM64, 'defconfig')


def test_no_architecture_builds_it() -> None:
	f = 'drivers/virt/fsl_hypervisor.c'
	fake = Fake({f: ['CONFIG_FSL_HV_MANAGER']}, {})
	ch = fake.choose([f, 'arch/mips/mm/gup.c'])
	assert ch.where == {}
	why = ch.unbuildable[f]
	assert why.startswith('builds on no architecture here: x86_64: olddefconfig drops '
			      'CONFIG_FSL_HV_MANAGER=n; arm64 (defconfig): ')
	for t in crossarch.TARGETS:
		assert f'{t.name}: olddefconfig drops' in why
	assert ch.unbuildable['arch/mips/mm/gup.c'] == (
		'builds on no architecture here: arch/mips/ has no compiler here '
		'(cross builds: x86_64, arm64, powerpc, s390)')


def test_missing_compiler_is_named() -> None:
	f = 'arch/arm64/kernel/mte.c'
	fake = Fake({f: ['CONFIG_ARM64_MTE']}, {Target(ARM64, 'defconfig'): {'CONFIG_ARM64_MTE': 'y'}})
	ch = fake.choose([f], have=lambda a: a is not ARM64)
	assert ch.unbuildable[f] == ('builds on no architecture here: arm64 (defconfig): no '
				     'aarch64-linux-gnu-gcc (make deps: gcc-aarch64-linux-gnu)')
	assert fake.probed == []


def test_unlinked_file_is_a_reason() -> None:
	ch = Fake({}, {}).choose(['arch/s390/kvm/nosuch.c'])
	assert ch.unbuildable['arch/s390/kvm/nosuch.c'] == (
		'builds on no architecture here: s390 (defconfig): arch/s390/kvm/nosuch.c: not linked')


def test_dropped_symbol_takes_another_route_and_dependencies() -> None:
	"""arch/powerpc/kvm/e500_mmu.o is in kvm-objs-$(CONFIG_KVM_E500V2) and
	-$(CONFIG_KVM_E500MC); corenet64 (e5500) drops E500V2, and KVM needs
	VIRTUALIZATION, which corenet64_smp_defconfig does not set."""
	f = 'arch/powerpc/kvm/e500_mmu.c'
	routes = [['CONFIG_KVM', 'CONFIG_KVM_E500V2'], ['CONFIG_KVM', 'CONFIG_KVM_E500MC']]
	keeps = {CORENET64: {'CONFIG_KVM_E500MC': 'y', 'CONFIG_VIRTUALIZATION': 'y'}}
	fake = Fake({}, keeps, routes={f: routes}, deps={'CONFIG_KVM': ['CONFIG_VIRTUALIZATION']})
	# KVM is only kept once VIRTUALIZATION is set.
	orig = fake.probe

	def probe(t: Target, wanted: List[str]) -> Dict[str, str]:
		got = orig(t, wanted)
		if t == CORENET64 and 'CONFIG_VIRTUALIZATION' in wanted:
			got['CONFIG_KVM'] = 'y'
		return got
	fake.probe = probe	# type: ignore
	ch = fake.choose([f])
	assert ch.where == {f: CORENET64}
	assert fake.probed[-2:] == [
		('powerpc (corenet64_smp_defconfig)', ['CONFIG_KVM', 'CONFIG_KVM_E500V2']),
		('powerpc (corenet64_smp_defconfig)',
		 ['CONFIG_KVM', 'CONFIG_KVM_E500MC', 'CONFIG_VIRTUALIZATION'])]
	assert sorted(ch.symbols[CORENET64]) == ['CONFIG_KVM', 'CONFIG_KVM_E500MC',
						 'CONFIG_VIRTUALIZATION']


def test_x86_needed() -> None:
	ch = crossarch.Choice(where={'arch/arm64/kernel/mte.c': Target(ARM64, 'defconfig'),
				     'drivers/virt/fsl_hypervisor.c': CORENET64,
				     'block/fops.c': crossarch.X86_TARGET},
			      unbuildable={'arch/mips/mm/gup.c': 'builds on no architecture here: x'})
	assert not crossarch.x86_needed(['arch/arm64/kernel/mte.c'], ch)
	assert not crossarch.x86_needed(['arch/arm64/kernel/mte.c', 'arch/arm64/include/asm/mte.h',
					 'drivers/virt/fsl_hypervisor.c', 'arch/mips/mm/gup.c'], ch)
	assert crossarch.x86_needed(['arch/arm64/kernel/mte.c', 'include/linux/mm.h'], ch)
	assert crossarch.x86_needed(['block/fops.c'], ch)
	assert crossarch.x86_needed(['arch/x86/kernel/cpu/sgx/ioctl.c'], crossarch.Choice())


def test_labels() -> None:
	assert crossarch.X86_TARGET.label('check') == 'check'
	assert Target(ARM64, 'defconfig').label('check') == 'check-arm64'
	assert PPC64LE.label('check') == 'check-powerpc'
	assert CORENET64.label('check') == 'check-powerpc-corenet64_smp'


KCONFIG = '''
menuconfig VIRTUALIZATION
	bool "Virtualization"

if VIRTUALIZATION

config KVM_E500MC
	bool "KVM support for PowerPC E500MC/E5500/E6500 processors"
	depends on PPC_E500MC && !CONTEXT_TRACKING_USER
	depends on (A || B)
	select KVM
	help
	  if you say Y here
	  ...

endif # VIRTUALIZATION

config OTHER
	depends on X
'''


def test_kconfig_entry_deps() -> None:
	assert crossarch.kconfig_entry_deps(KCONFIG, 'CONFIG_KVM_E500MC') == [
		'CONFIG_VIRTUALIZATION', 'CONFIG_PPC_E500MC']
	assert crossarch.kconfig_entry_deps(KCONFIG, 'CONFIG_OTHER') == ['CONFIG_X']
	assert crossarch.kconfig_entry_deps(KCONFIG, 'CONFIG_NONE') == []


def test_symbols_per_architecture(real_reader: check.Reader) -> None:
	"""The Makefiles are read with the target's arch/<srcarch>/Makefile."""
	assert check.kconfig_symbols(real_reader, 'arch/arm64/kernel/mte.c', 'arm64') == (
		['CONFIG_ARM64_MTE'], [])
	assert check.kconfig_symbols(real_reader, 'arch/s390/kvm/interrupt.c', 's390') == (
		['CONFIG_KVM'], [])
	assert check.kconfig_symbols(real_reader, 'arch/powerpc/kvm/e500_mmu.c', 'powerpc',
				     ['CONFIG_KVM_E500V2'])[0] == ['CONFIG_KVM', 'CONFIG_KVM_E500MC']


@pytest.fixture(scope='module')
def real_reader() -> check.Reader:
	if not (WORKSPACE / '.git').is_dir():
		pytest.skip(f'no {WORKSPACE}: run make tree')
	return check.git_reader(WORKSPACE, tree.BASE_TAG)


# ---- end to end: an arm64-only conversion on the 6.1 workspace ----

MTE = 'arch/arm64/kernel/mte.c'


def mte_conversion(text: str) -> str:
	"""__access_remote_tags(): get_user_pages_remote() -> pin_user_pages_remote(),
	its two put_page() -> unpin_user_page()."""
	start = text.index('static int __access_remote_tags(')
	end = text.index('\n}\n', start)
	body = text[start:end]
	assert body.count('get_user_pages_remote(') == 1 and body.count('put_page(page)') == 2
	body = body.replace('get_user_pages_remote(mm, addr, 1, gup_flags, &page,\n'
			    '\t\t\t\t\t    &vma, NULL)',
			    'pin_user_pages_remote(mm, addr, 1, gup_flags, &page,\n'
			    '\t\t\t\t\t    &vma, NULL)')
	body = body.replace('put_page(page)', 'unpin_user_page(page)')
	assert 'pin_user_pages_remote(' in body
	return text[:start] + body + text[end:]


@pytest.fixture(scope='module')
def mte_commit() -> Iterator[str]:
	"""A commit on the baseline converting mte.c, on a scratch branch."""
	if not (WORKSPACE / '.git').is_dir():
		pytest.skip(f'no {WORKSPACE}: run make tree')
	if not crossarch.installed(ARM64):
		pytest.skip('no aarch64-linux-gnu-gcc: run make deps')
	from test_check import git
	base = git('rev-parse', f'{tree.BASE_TAG}^{{commit}}')
	text = mte_conversion(git('cat-file', '-p', f'{base}:{MTE}') + '\n')
	msg = ('arm64: mte: pin the pages of __access_remote_tags()\n\n'
	       'ptrace(PTRACE_PEEKMTETAGS/POKEMTETAGS) reads and writes the tags of\n'
	       'the page it gets: pin it (pin_user_pages.rst case 5).\n\n'
	       'Signed-off-by: pinconv test <test@pinconv.invalid>\n')
	sha = commit_file(WORKSPACE, base, MTE, text, msg)
	git('branch', '-f', TEST_BRANCH, sha)
	try:
		yield sha
	finally:
		git('branch', '-D', TEST_BRANCH)


@pytest.mark.e2e
@pytest.mark.kbuild
def test_arm64_builds_the_mte_conversion(mte_commit: str, tmp_path: Path) -> None:
	start = time.monotonic()
	p = pinconv('check', '--kver', KVER, '--rev', mte_commit,
		    env={'PINCONV_OUT': str(tmp_path)})
	seconds = time.monotonic() - start
	assert p.returncode == 0, p.stdout[-3000:] + p.stderr
	data = json.loads((tmp_path / 'reports' / KVER / 'check.json').read_text())
	c, = data['commits']
	assert c['sha'] == mte_commit and c['ok']
	assert c['arch'] == {MTE: 'arm64'}
	assert c['objects'] == {MTE: 'arch/arm64/kernel/mte.o'}
	x86, arm64 = c['builds']
	assert x86['target'] == 'x86_64' and x86['skipped']	# nothing for x86_64 to build
	assert arm64['target'] == 'arm64 (defconfig)' and arm64['ok']
	assert arm64['label'] == 'check-arm64' and arm64['files'] == [MTE]
	assert c['sparse_new'] == [] and c['checkpatch']['errors'] == []
	assert data['cross_config'] == {'arm64 (defconfig)': {'CONFIG_ARM64_MTE': [MTE]}}
	md = (tmp_path / 'reports' / KVER / 'check.md').read_text()
	assert f'- {MTE}: compiled to arch/arm64/kernel/mte.o (arm64)' in md
	assert '| arm64 |' in md
	print(f'make check REV=<mte commit>: {seconds:.0f}s')
