# SPDX-License-Identifier: GPL-2.0
"""make boottest: prove in a booted kernel that Direct I/O pins and unpins.

For each kernel (the baseline and the series tip) we build bzImage, boot it
in QEMU with an initramfs whose /init is tests/boot/pinprobe.c, and read one
PINPROBE line per scenario from the serial console:

  PINPROBE {"scenario":"blk-raw-read","skipped":false,"acquired":4096,
            "released":4096,"data_ok":true,"bytes":16777216,...}

acquired/released are /proc/vmstat nr_foll_pin_* deltas in pages. A kernel
that takes page references leaves them at 0; one that pins moves both,
equally. Each scenario is judged against what is expected of it on that
kernel (EXPECT_REF, EXPECT_PIN or EXPECT_ANY), and every kernel must keep a
clean log.

Files, under work/boot/ (ignored): the probe binary, the filesystem images,
the initramfs, and per kernel console.log; the report goes to
reports/<kver>/boottest.md and .json.
"""

import gzip
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from pinconv import build, series
from pinconv import selftests as ksft
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.tree import BASE_TAG, BRANCH, TOP, Tree, work_dir

PROBE_SRC = TOP / 'tests' / 'boot' / 'pinprobe.c'
IMAGE_MIB = 32

# Scenario -> the code path it exercises, in the order the probe runs them.
SCENARIOS: Dict[str, str] = {
	'gup-control': 'mm/gup_test.c pin_user_pages (control: always pins)',
	'blk-raw-write': 'block/fops.c __blkdev_direct_IO_simple, write',
	'blk-raw-read': 'block/fops.c __blkdev_direct_IO_simple, read',
	'blk-raw-multibio': 'block/fops.c __blkdev_direct_IO (>256 pages), read',
	'blk-raw-async': 'block/fops.c __blkdev_direct_IO_async and multi-bio, io_submit',
	'ext4-write': 'fs/iomap/direct-io.c via ext4, allocating write',
	'ext4-read': 'fs/iomap/direct-io.c via ext4, read',
	'ext4-zeroing': 'fs/iomap/direct-io.c iomap_dio_zero (sub-block write)',
	'vfat-write': 'fs/direct-io.c via vfat, write',
	'vfat-read': 'fs/direct-io.c via vfat, read',
	'vfat-fault': 'fs/direct-io.c dio_refill_pages ZERO_PAGE on fault: an O_DIRECT write '
		      'whose third page is unmapped; pages 2 and 3 read back as zeroes',
	'zonefs-write': 'fs/iomap/direct-io.c via zonefs, io_submit appends',
	'zonefs-read': 'fs/iomap/direct-io.c via zonefs, read',
	'sg-io': 'block/blk-map.c bio_map_user_iov (SG_IO on scsi_debug)',
	'sg-io-samepage': 'block/blk-map.c bio_map_user_iov same-page merge (SG_IO, two '
			  'iovec segments in one page: the page taken twice, merged once)',
	'fuse-direct-write': 'fs/fuse/file.c fuse_get_user_pages, write to a FOPEN_DIRECT_IO '
			     'file (the probe\'s own FUSE server)',
	'fuse-direct-read': 'fs/fuse/file.c fuse_get_user_pages, read of a FOPEN_DIRECT_IO file',
	'fuse-odirect-write': 'fs/fuse/file.c fuse_direct_IO, O_DIRECT write to a cached file',
	'fuse-odirect-read': 'fs/fuse/file.c fuse_direct_IO, O_DIRECT read of a cached file',
	'fuse-aio': 'fs/fuse/file.c fuse_direct_IO async (FUSE_ASYNC_DIO), io_submit',
	'ublk-write': 'drivers/block/ublk_drv.c ublk_copy_user_pages via ublk_map_io (the '
		      'probe\'s own ublk server; O_DIRECT WRITE_FIXED to /dev/ublkbN)',
	'ublk-read': 'drivers/block/ublk_drv.c ublk_copy_user_pages via ublk_unmap_io '
		     '(O_DIRECT READ_FIXED)',
	# Debian's fio, one run per Direct-I/O path (verify=crc32c).
	'fio-blk': 'fio on /dev/ram0: block/fops.c',
	'fio-ext4': 'fio on ext4: fs/iomap/direct-io.c',
	'fio-vfat': 'fio on vfat: fs/direct-io.c',
	'fio-zonefs': 'fio on zonefs sequential files (async appends): fs/iomap/direct-io.c',
	# After every other zonefs user: Debian's 6.1 baseline fails it and may
	# leave zonefs read-only (KNOWN_BASE).
	'zonefs-append': 'fs/zonefs/file.c zonefs_file_dio_append, a synchronous O_DIRECT '
			 'append as long as one zone append bio carries (through iomap since '
			 'Linux 6.5: 1 MiB there)',
	'fio-fuse': 'fio on the probe\'s FUSE server: fs/fuse/file.c',
	'fio-ublk': 'fio on the probe\'s ublk device: block/fops.c and drivers/block/ublk_drv.c',
	# The guest's own nfsd exports a tmpfs; its NFSv4 client mounts it over
	# loopback with rsize/wsize 16 KiB (pinprobe.c nfs_setup()).
	'nfs-direct-write': 'fs/nfs/direct.c nfs_direct_write_schedule_iovec, O_DIRECT pwrite '
			    'and pwritev through the guest\'s own NFSv4 mount (nfs_page '
			    'subrequests, several WRITEs per call)',
	'nfs-direct-read': 'fs/nfs/direct.c nfs_direct_read_schedule_iovec, O_DIRECT pread, '
			   'preadv and a short read across EOF through the NFSv4 mount',
	'fio-nfs': 'fio on the NFSv4 mount: fs/nfs/direct.c',
	'vmsplice-read': 'fs/splice.c iter_to_pipe (vmsplice of user memory, >16 pages), '
			 'buffers unmapped, read() from the pipe',
	'vmsplice-tee': 'fs/splice.c iter_to_pipe, tee() to a second pipe (pipe_buf_get), '
			'both read',
	'vmsplice-splice': 'fs/splice.c iter_to_pipe, splice() from the pipe to a file',
	'vmsplice-close': 'fs/splice.c iter_to_pipe, pipe closed with vmspliced data unread',
	'uprobe-refctr': 'kernel/events/uprobes.c __update_ref_ctr (a uprobe with a '
			 'reference counter, enabled and disabled)',
	'procmem-rw': 'mm/memory.c __access_remote_vm (/proc/<pid>/mem pwrite and pread, '
		      'ptrace POKEDATA and PEEKDATA, across pages)',
	# Pages shared after fork() (not PageAnonExclusive): vmspliced, then
	# spliced into an O_DIRECT file, they reach Direct I/O as an ITER_BVEC;
	# read by a tracer, they are a CPU read. Neither may pin (NEVER_PINNED).
	'cow-splice-blk': 'block/fops.c, an ITER_BVEC of COW-shared pages: vmsplice, then '
			  'splice() into the raw block device opened O_DIRECT',
	'cow-splice-ext4': 'fs/iomap/direct-io.c via ext4, an ITER_BVEC of COW-shared pages: '
			   'vmsplice, then splice() into an O_DIRECT file (overwrite)',
	'cow-splice-vfat': 'fs/direct-io.c via vfat, an ITER_BVEC of COW-shared pages: '
			   'vmsplice, then splice() into an O_DIRECT file (overwrite)',
	'cow-splice-zonefs': 'fs/zonefs/file.c (iomap from Linux 6.5), an ITER_BVEC of '
			     'COW-shared pages: vmsplice, then splice() into a sequential zone '
			     'file opened O_DIRECT (a synchronous zone append)',
	'cow-splice-fuse': 'fs/fuse/file.c, an ITER_BVEC of COW-shared pages: vmsplice, then '
			   'splice() into the FOPEN_DIRECT_IO file and the cached one opened '
			   'O_DIRECT (the probe\'s FUSE server)',
	'cow-splice-nfs': 'fs/nfs/direct.c, an ITER_BVEC of COW-shared pages: vmsplice, then '
			  'splice() into an O_DIRECT file on the guest\'s NFSv4 mount',
	'cow-peek': 'mm/memory.c __access_remote_vm, a CPU read of a child\'s COW-shared '
		    'pages (ptrace PEEKDATA, /proc/<pid>/mem pread): same PFN in both '
		    'before and after',
	# The kernel's own selftests that exercise pinning (scripts/pinconv/
	# selftests.py), judged case by case: the tip passes every case the
	# baseline passes (selftests.compare()).
	'mm-selftests': 'the kernel\'s mm selftests built from the tree under test: gup_test '
			'(run_vmtests.sh\'s runs and pinning ones), cow and gup_longterm (6.12)',
	'tomoyo-argv': 'security/tomoyo/domain.c tomoyo_dump_page (execve argv/envp '
		       'under a TOMOYO policy: conditions, misc env, audit log)',
}
CONTROL = 'gup-control'
# The file whose pins the control takes (the probe states its pages under it).
CONTROL_FILE = 'mm/gup_test.c'

# Which scenarios must take pins once the series converts a file.
SCENARIOS_OF_FILE: Dict[str, List[str]] = {
	'block/fops.c': ['blk-raw-write', 'blk-raw-read', 'blk-raw-multibio', 'blk-raw-async',
			 'fio-blk', 'fio-ublk'],
	'fs/iomap/direct-io.c': ['ext4-write', 'ext4-read', 'ext4-zeroing', 'zonefs-write',
				 'zonefs-read', 'fio-ext4', 'fio-zonefs'],
	'fs/direct-io.c': ['vfat-write', 'vfat-read', 'vfat-fault', 'fio-vfat'],
	'fs/zonefs/file.c': ['zonefs-append'],
	'block/blk-map.c': ['sg-io', 'sg-io-samepage'],
	'fs/fuse/file.c': ['fuse-direct-write', 'fuse-direct-read', 'fuse-odirect-write',
			   'fuse-odirect-read', 'fuse-aio', 'fio-fuse'],
	'drivers/block/ublk_drv.c': ['ublk-write', 'ublk-read', 'fio-ublk'],
	'fs/nfs/direct.c': ['nfs-direct-write', 'nfs-direct-read', 'fio-nfs'],
	'fs/splice.c': ['vmsplice-read', 'vmsplice-tee', 'vmsplice-splice', 'vmsplice-close'],
	'kernel/events/uprobes.c': ['uprobe-refctr'],
	'mm/memory.c': ['procmem-rw'],
	'security/tomoyo/domain.c': ['tomoyo-argv'],
}
LOG = 'kernel-log'

# Converted files whose code runs under the scenarios of other files: the
# helpers the converted callers use, and the headers that declare them.
REACHED_THROUGH: Dict[str, List[str]] = {
	'block/bio.c': ['blk-raw-write', 'blk-raw-read', 'blk-raw-multibio', 'blk-raw-async',
			'ext4-write', 'ext4-read', 'zonefs-write', 'zonefs-read', 'fio-blk'],
	'lib/iov_iter.c': ['blk-raw-read', 'ext4-read'],
	'mm/gup.c': ['gup-control', 'vfat-write', 'vfat-read', 'vfat-fault'],
	'include/linux/bio.h': ['blk-raw-read', 'ext4-read'],
	'include/linux/blk_types.h': ['blk-raw-read', 'ext4-read'],
	'include/linux/uio.h': ['blk-raw-read', 'ext4-read'],
	'include/linux/mm.h': ['gup-control', 'vfat-fault'],
	# The containers that own the pins: nfs_page (nfs_clear_request()) and
	# pipe_buffer (user_page_pipe_buf_ops, pipe_buf_get/release).
	'fs/nfs/pagelist.c': ['nfs-direct-write', 'nfs-direct-read', 'fio-nfs'],
	'include/linux/nfs_page.h': ['nfs-direct-write', 'nfs-direct-read', 'fio-nfs'],
	'include/linux/pipe_fs_i.h': ['vmsplice-read', 'vmsplice-tee', 'vmsplice-splice',
				      'vmsplice-close'],
}

# Converted files that no scenario can run in this x86_64 TCG guest, and
# why; files under another architecture's arch/ need that architecture.
# make check builds them all (reports/<kver>/check.md).
CANNOT_RUN: Dict[str, str] = {
	'arch/x86/kernel/cpu/sgx/ioctl.c': 'needs SGX enclaves: no CPU model of QEMU\'s TCG has SGX',
	'arch/x86/kernel/shstk.c': 'needs user shadow stacks (CET): TCG does not emulate CET',
	'drivers/virt/fsl_hypervisor.c': 'the Freescale hypervisor\'s partition manager: '
					 'FSL_HV_MANAGER depends on FSL_SOC (powerpc)',
	'drivers/accel/qaic/qaic_control.c': 'needs a Qualcomm Cloud AI 100 PCIe card: QEMU has '
					     'no model of it',
	'drivers/virt/nitro_enclaves/ne_misc_dev.c': 'needs the Nitro Enclaves PCI device of an '
						     'AWS EC2 host: QEMU has no model of it',
}
GUEST_ARCH = 'x86'

# Scenarios that need a kernel config symbol a tree's config fragment may
# not set (scripts/configs/6.1.config has no ublk: 6.1's series does not
# convert it); where it is not set they skip, whatever is expected.
NEEDS_CONFIG: Dict[str, str] = {
	'ublk-write': 'CONFIG_BLK_DEV_UBLK',
	'ublk-read': 'CONFIG_BLK_DEV_UBLK',
	'fio-ublk': 'CONFIG_BLK_DEV_UBLK',
	# The guest is its own NFS server (the client, CONFIG_NFS_V4, is in
	# both fragments anyway).
	'nfs-direct-write': 'CONFIG_NFSD_V4',
	'nfs-direct-read': 'CONFIG_NFSD_V4',
	'fio-nfs': 'CONFIG_NFSD_V4',
	'cow-splice-nfs': 'CONFIG_NFSD_V4',
}

# Scenarios that must take no pin on any kernel, baseline or tip, of
# either tree, whatever the series converts: a kernel iterator's pages
# (ITER_BVEC here) are never pinned (iov_iter_extract_will_pin() is false),
# and a CPU read takes no pin. Their pages are COW-shared after fork():
# a pin would make GUP unshare them first. Not in SCENARIOS_OF_FILE,
# whose lists mean "must pin".
NEVER_PINNED: Set[str] = {
	'cow-splice-blk', 'cow-splice-ext4', 'cow-splice-vfat', 'cow-splice-zonefs',
	'cow-splice-fuse', 'cow-splice-nfs', 'cow-peek',
}

# Scenarios that pin on every kernel, but through no file a series
# converts: balanced, whatever the series does (their verdict is their own).
ALWAYS_ANY: Set[str] = {'mm-selftests'}
SELFTESTS = 'mm-selftests'

# What a scenario must show on a kernel.
EXPECT_REF = 'ref'	# references, not pins: acquired == released == 0
EXPECT_PIN = 'pin'	# converted: acquired > 0 and == released
EXPECT_ANY = 'any'	# either, but balanced
# A defect of the tree itself, fixed by its kernel overlay: on the baseline
# the counts may be off as described; data and log must still be good.
EXPECT_KNOWN = 'known'



@dataclass(frozen=True)
class Known:
	"""A defect of the baseline tree itself, fixed by its kernel overlay."""
	why: str
	data: str = ''	# a data failure whose reason matches this regex is the defect
	log: str = ''	# kernel log lines matching this regex are the defect


# 6.1's zonefs sync append defect in the log: the check's warning, then
# zonefs's error recovery for the zone.
ZONEFS_RECOVERY_LOG = (r'zonefs \(\S+\) WARNING: (Corrupted write pointer|inode \d+: invalid '
		       r'size|remounting filesystem read-only)')

# Known defects of a baseline by API generation: scenario -> the defect.
# On EXPECT_KNOWN the pin counts may differ; the data and the kernel log
# must be good but for what Known.data and Known.log name.
KNOWN_BASE: Dict[str, Dict[str, Known]] = {
	'extract': {sc: Known('folio_add_pin() (fs/direct-io.c dio_pin_page()) does not count '
			      'nr_foll_pin_acquired, unpin counts nr_foll_pin_released; fixed by '
			      'kernel-overlay/6.12/0001')
		    for sc in ('vfat-write', 'vfat-read', 'vfat-fault', 'fio-vfat')},
	'get': {'zonefs-append': Known(
		'zonefs_file_dio_write() advances z_wpoffset before zonefs_file_dio_append() '
		'checks where the append landed, so every synchronous append "lands" at the '
		'wrong place: EIO and a "Corrupted write pointer" warning, and zonefs '
		'goes read-only; fixed by kernel-overlay/6.1/0003',
		data=r'^sync append returned', log=ZONEFS_RECOVERY_LOG),
		# Runs after zonefs-append: on the baseline zonefs is read-only by
		# then (EROFS); where it is not, the zone append of an ITER_BVEC
		# hits the warning of bio_iov_bvec_set() and the same EIO.
		'cow-splice-zonefs': Known(
			'zonefs_file_dio_append() gives a bvec iterator\'s bio vectors of its own, '
			'which bio_iov_bvec_set() warns about and bio_put() frees as the '
			'iterator\'s (fixed by kernel-overlay/6.1/0004); and the defect of '
			'zonefs-append (0003): EIO, or zonefs already read-only',
			data=r'(Read-only file system|Input/output error)',
			# Without kallsyms the warning names an address, not the function.
			log=r'(WARNING: CPU: \d+ PID: \d+ at block/bio\.c:\d+ (bio_iov_bvec_set|0x)|'
			    + ZONEFS_RECOVERY_LOG + ')')},
}

KERNEL_ARGS = [
	'console=ttyS0', 'panic=-1', 'oops=panic',
	'brd.rd_nr=1', 'brd.rd_size=16384',
	'null_blk.nr_devices=1', 'null_blk.zoned=1', 'null_blk.gb=1',
	'null_blk.zone_size=4', 'null_blk.zone_nr_conv=1',
	'null_blk.memory_backed=1',
	'scsi_debug.dev_size_mb=16',
	# TOMOYO (tomoyo-argv); the configs build it but leave it out of CONFIG_LSM.
	'lsm=tomoyo',
]

PROBE_RE = re.compile(r'PINPROBE (\{.*)')
# As the probe looks for them: WARNING and BUG in capitals, bad page in any.
MARKER_RE = re.compile(r'WARNING|BUG|(?i:bad page)')


@dataclass
class Boot:
	label: str
	console: str
	seconds: float
	timed_out: bool
	accel: str


@dataclass
class Verdict:
	scenario: str
	status: str	# 'pass', 'fail', 'skip' or 'known' (a baseline defect)
	reasons: List[str] = field(default_factory=list)


@dataclass
class KernelResult:
	label: str
	rev: str
	results: Dict[str, dict]
	warnings: List[str]
	verdicts: List[Verdict]
	build_seconds: float
	boot_seconds: float
	accel: str
	timed_out: bool
	error: str = ''	# the kernel did not build: why
	pinning: List[str] = field(default_factory=list)	# the files that pin on it
	selftests: Dict[str, ksft.RunResult] = field(default_factory=dict)

	@property
	def ok(self) -> bool:
		return all(v.status != 'fail' for v in self.verdicts)


# ---- parsing and judging (pure; see tests/python/test_boot.py) ----

def parse_console(text: str) -> Tuple[Dict[str, dict], List[str]]:
	"""PINPROBE results by scenario, and kernel-log warnings reported by the
	probe plus marker lines seen on the console outside PINPROBE lines."""
	results: Dict[str, dict] = {}
	warnings: List[str] = []
	for line in text.splitlines():
		line = line.rstrip('\r')
		m = PROBE_RE.search(line)
		if not m:
			if MARKER_RE.search(line):
				warnings.append(line.strip())
			continue
		try:
			# raw_decode: text a printk appended after the object is ignored.
			obj, _ = json.JSONDecoder().raw_decode(m.group(1))
		except json.JSONDecodeError:
			warnings.append(f'unparsable PINPROBE line: {line.strip()[:200]}')
			continue
		name = obj.get('scenario')
		if not isinstance(name, str):
			continue
		if name == LOG:
			warnings.extend(str(w) for w in obj.get('warnings', []))
			if obj.get('error'):
				warnings.append(f'kernel-log: {obj["error"]}')
		results[name] = obj
	return results, unique(warnings)


def unique(items: Iterable[str]) -> List[str]:
	seen: Set[str] = set()
	out = []
	for i in items:
		key = re.sub(r'^\[\s*\d+\.\d+\]\s*', '', i)
		if key not in seen:
			seen.add(key)
			out.append(i)
	return out


def page_range(res: dict, files: Iterable[str]) -> Optional[Tuple[int, int]]:
	"""The pages a scenario's I/O must pin on a kernel where files pin: the
	sum of the ranges the probe states per file ("pages"), None if it
	states none of them."""
	stated = res.get('pages')
	if not isinstance(stated, dict):
		return None
	hit = [stated[f] for f in sorted(set(files)) if f in stated]
	if not hit:
		return None
	return sum(int(r[0]) for r in hit), sum(int(r[1]) for r in hit)


def range_text(rng: Optional[Tuple[int, int]]) -> str:
	if rng is None:
		return ''
	return f'{rng[0]}' if rng[0] == rng[1] else f'{rng[0]}-{rng[1]}'


def expected_range(name: str, res: Optional[dict], expect: str,
		   pinning: Iterable[str]) -> Optional[Tuple[int, int]]:
	"""The pages a scenario expected to pin must pin here: the probe's
	ranges of the files that pin on this kernel (the control: its own
	file). A scenario expected to pin through none of the files it names
	(--expect-pinned) is held to all of them."""
	if expect != EXPECT_PIN or not res or res.get('skipped'):
		return None
	files = set(pinning) | {CONTROL_FILE}
	rng = page_range(res, files)
	if rng is None and isinstance(res.get('pages'), dict):
		rng = page_range(res, res['pages'])
	return rng


def judge_one(name: str, res: Optional[dict], expect: str,
	      warnings: Sequence[str], pinning: Iterable[str] = (),
	      known: Optional[Known] = None) -> Verdict:
	"""The verdict of one scenario. pinning: the files that pin on this
	kernel (the series' and upstream's); known: the baseline's defect on
	this scenario (expect is then EXPECT_KNOWN)."""
	v = Verdict(name, 'pass')
	if res is None:
		v.status = 'fail'
		v.reasons.append('no result line (probe crashed, kernel died or timed out)')
		return v
	if res.get('skipped'):
		if expect == EXPECT_PIN:
			v.status = 'fail'
			sym = NEEDS_CONFIG.get(name)
			v.reasons.append(f'expected pins but skipped: {res.get("reason", "")}'
					 + (f' (needs {sym}: is it in the config fragment?)' if sym else ''))
		else:
			v.status = 'skip'
			v.reasons.append(str(res.get('reason', '')))
		return v
	acq = int(res.get('acquired', -1))
	rel = int(res.get('released', -1))
	reason = str(res.get('reason', ''))
	defect = False
	if not res.get('data_ok'):
		if expect == EXPECT_KNOWN and known and known.data and re.search(known.data, reason):
			defect = True
		else:
			v.reasons.append(f'data not ok: {reason}'.rstrip(': '))
	if expect == EXPECT_KNOWN:
		if v.reasons or warnings:
			v.status = 'fail'
			v.reasons += [f'kernel log has {len(warnings)} warning line(s)'] if warnings else []
		elif acq != rel or defect:
			v.status = 'known'
			v.reasons.append((f'pins acquired {acq} != released {rel}: ' if acq != rel else '')
					 + f'known defect of the baseline'
					 + (f': {known.why}' if known else ''))
		return v
	if acq != rel:
		v.reasons.append(f'pins acquired {acq} != released {rel}')
	if expect == EXPECT_PIN and acq <= 0:
		v.reasons.append('expected pins, none taken (still page references?)')
	elif expect == EXPECT_PIN:
		rng = expected_range(name, res, expect, pinning)
		if rng is None:
			v.reasons.append('the probe states no pages this scenario must pin '
					 '(pinprobe.c: io_pages())')
		elif not rng[0] <= acq <= rng[1]:
			v.reasons.append(f'pinned {acq} pages, its I/O must pin {range_text(rng)} '
					 f'(a path of it still on page references, or pinned twice?)')
	if expect == EXPECT_REF and acq != 0:
		v.reasons.append(f'expected page references, {acq} pins taken')
	if expect == EXPECT_PIN and warnings:
		v.reasons.append(f'kernel log has {len(warnings)} warning line(s)')
	if v.reasons:
		v.status = 'fail'
	return v


def known_lines(warnings: Sequence[str], expect: Dict[str, str],
		known: Dict[str, Known]) -> Tuple[List[str], List[str]]:
	"""The kernel log lines split into those a known defect of a scenario
	expected EXPECT_KNOWN explains, and the rest."""
	pats = [k.log for sc, k in known.items() if k.log and expect.get(sc) == EXPECT_KNOWN]
	hit = [w for w in warnings if any(re.search(p, w) for p in pats)]
	return hit, [w for w in warnings if w not in hit]


def judge(results: Dict[str, dict], expect: Dict[str, str],
	  warnings: Sequence[str], pinning: Iterable[str] = (),
	  known: Optional[Dict[str, Known]] = None) -> List[Verdict]:
	"""One verdict per known scenario, plus the kernel log."""
	known = known or {}
	pinning = list(pinning)
	explained, warnings = known_lines(warnings, expect, known)
	verdicts = [judge_one(name, results.get(name), expect.get(name, EXPECT_ANY),
			      warnings, pinning, known.get(name)) for name in SCENARIOS]
	log = Verdict(LOG, 'pass')
	if LOG not in results:
		log.status = 'fail'
		log.reasons.append('no kernel-log line (probe did not finish)')
	if warnings:
		log.status = 'fail'
		log.reasons.extend(warnings[:10])
	elif explained:
		log.status = 'known'
		log.reasons.extend(f'known defect: {w}' for w in explained[:10])
	verdicts.append(log)
	return verdicts


# Files that pin upstream on some trees of the 'extract' generation only:
# those whose baseline calls the marker (fuse moved to
# iov_iter_extract_pages() in 6.10; 6.1's series converts it).
UPSTREAM_MARKERS: Dict[str, str] = {
	'fs/fuse/file.c': 'iov_iter_extract_pages(',
}


def files_pinned_upstream(tree: Tree) -> List[str]:
	"""The files the tree itself already pins in: on 'extract' trees (6.5
	and later) block, blk-map, iomap, fs/direct-io and zonefs use
	iov_iter_extract_pages() and BIO_PAGE_PINNED; fuse does where its
	baseline calls iov_iter_extract_pages()."""
	if tree.generation != 'extract':
		return []
	files = ['block/fops.c', 'block/blk-map.c', 'fs/iomap/direct-io.c',
		 'fs/direct-io.c', 'fs/zonefs/file.c']
	for f, marker in UPSTREAM_MARKERS.items():
		text = git(['show', f'{tree.base or BASE_TAG}:{f}'], cwd=tree.path, check=False)
		if marker in text:
			files.append(f)
	return files


def scenarios_of(files: Iterable[str]) -> List[str]:
	"""The scenarios that must pin where files pin."""
	return [sc for f in files for sc in SCENARIOS_OF_FILE.get(f, [])]


def pinned_upstream(tree: Tree) -> List[str]:
	"""The scenarios whose path the tree itself already pins."""
	return scenarios_of(files_pinned_upstream(tree))


def pinned_by_series(tree: Tree) -> List[str]:
	"""The scenarios whose code path the series (base..pinconv) converts."""
	return scenarios_of(converted_files(tree))


def unconfigured(tree: Tree) -> List[str]:
	"""The scenarios whose config symbol the tree's fragment turns off on
	purpose ("# CONFIG_X is not set", with its reason beside it)."""
	frag = build.read_config(build.config_fragment(tree.kver))
	return [sc for sc, sym in NEEDS_CONFIG.items() if frag.get(sym) == 'n']


def lost_config(tree: Tree) -> List[str]:
	"""The scenarios whose config symbol the tree's fragment does not
	mention at all: a scenario expected to pin fails on it."""
	frag = build.read_config(build.config_fragment(tree.kver))
	return [sc for sc, sym in NEEDS_CONFIG.items() if sym not in frag]


def expectations(pinned: Iterable[str], default: str,
		 unconfigured: Iterable[str] = (), lost: Iterable[str] = ()) -> Dict[str, str]:
	"""default for every scenario, EXPECT_PIN for pinned ones and the
	control; EXPECT_ANY for those the fragment turns off on purpose
	(unconfigured), and for the others whose symbol it lost (a pinned one
	stays EXPECT_PIN: its skip fails, naming the symbol); last, EXPECT_REF
	for NEVER_PINNED, whatever came before (one the kernel is not
	configured for may still skip: a skip fails only EXPECT_PIN)."""
	pinned = set(pinned)
	unknown = pinned - set(SCENARIOS)
	if unknown:
		raise Error(f'unknown scenario(s): {", ".join(sorted(unknown))} '
			    f'(known: {", ".join(SCENARIOS)})')
	exp = {name: default for name in SCENARIOS}
	for name in lost:
		exp[name] = EXPECT_ANY
	for name in pinned | {CONTROL}:
		exp[name] = EXPECT_PIN
	for name in unconfigured:
		exp[name] = EXPECT_ANY
	for name in ALWAYS_ANY:
		exp[name] = EXPECT_ANY
	for name in NEVER_PINNED:
		exp[name] = EXPECT_REF
	return exp


def converted_files(tree: Tree) -> List[str]:
	"""The files the series (base..pinconv) changes."""
	return git(['diff', '--name-only', f'{BASE_TAG}..{BRANCH}'], cwd=tree.path).split()


@dataclass
class Reach:
	file: str
	scenarios: List[str]	# the scenarios that run its code
	cannot_run: str = ''	# why none can here ('' if some can)

	@property
	def unreached(self) -> bool:
		"""No scenario reaches it, though it could run here."""
		return not self.scenarios and not self.cannot_run


def reach(files: Iterable[str]) -> List[Reach]:
	"""Which scenarios reach each converted file, or why none can here."""
	out = []
	for f in files:
		scs = list(dict.fromkeys(SCENARIOS_OF_FILE.get(f, []) + REACHED_THROUGH.get(f, [])))
		why = ''
		m = re.match(r'arch/([^/]+)/', f)
		if scs:
			pass
		elif m and m.group(1) != GUEST_ARCH:
			why = f'{m.group(1)} code: the boot test runs an x86_64 guest'
		else:
			why = CANNOT_RUN.get(f, '')
		out.append(Reach(f, scs, why))
	return out


# ---- initramfs ----

def cpio_header(name: str, mode: int, size: int, ino: int,
		rdev: Tuple[int, int] = (0, 0), nlink: int = 1) -> bytes:
	"""A newc header plus the NUL-terminated name, padded to 4 bytes."""
	fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1],
		  len(name) + 1, 0]
	head = b'070701' + b''.join(b'%08X' % f for f in fields)
	head += name.encode() + b'\0'
	return head + b'\0' * (-len(head) % 4)


class CpioWriter:
	"""Writes a newc archive (the format of the kernel's initramfs)."""

	def __init__(self, out: BinaryIO) -> None:
		self._out = out
		self._ino = 721
		self._size = 0

	def _write(self, data: bytes) -> None:
		self._out.write(data)
		self._size += len(data)

	def _entry(self, name: str, mode: int, data: bytes = b'',
		   rdev: Tuple[int, int] = (0, 0)) -> None:
		self._ino += 1
		nlink = 2 if mode & 0o170000 == 0o040000 else 1
		self._write(cpio_header(name, mode, len(data), self._ino, rdev, nlink))
		self._write(data)
		self._write(b'\0' * (-len(data) % 4))

	def directory(self, name: str) -> None:
		self._entry(name, 0o040755)

	def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
		self._entry(name, 0o100000 | mode, data)

	def char_device(self, name: str, major: int, minor: int) -> None:
		self._entry(name, 0o020600, rdev=(major, minor))

	def symlink(self, name: str, target: str) -> None:
		self._entry(name, 0o120777, target.encode())

	def trailer(self) -> None:
		"""The end marker, padded to 512 bytes as cpio(1) does."""
		self._write(cpio_header('TRAILER!!!', 0, 0, 0, nlink=1))
		self._write(b'\0' * (-self._size % 512))


def boot_dir() -> Path:
	return work_dir() / 'boot'


def build_probe() -> Path:
	out = boot_dir() / 'pinprobe'
	out.parent.mkdir(parents=True, exist_ok=True)
	if out.is_file() and out.stat().st_mtime >= PROBE_SRC.stat().st_mtime:
		return out
	stdout.step(f'compiling {PROBE_SRC.relative_to(TOP)} (gcc -static)')
	run(['gcc', '-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out,
	     PROBE_SRC, '-lpthread'])
	return out


def make_images() -> Dict[str, Path]:
	"""ext4 (4 KiB blocks) and vfat (32 KiB clusters) images, made once."""
	d = boot_dir()
	d.mkdir(parents=True, exist_ok=True)
	images = {'ext4': d / 'ext4.img', 'vfat': d / 'vfat.img'}
	cmds = {
		'ext4': ['mkfs.ext4', '-q', '-F', '-b', '4096', '-L', 'pinprobe',
			 '-E', 'lazy_itable_init=0,lazy_journal_init=0'],
		'vfat': ['mkfs.vfat', '-s', '64', '-S', '512', '-n', 'PINPROBE'],
	}
	for fs, img in images.items():
		if img.is_file():
			continue
		tmp = img.with_suffix('.tmp')
		with open(tmp, 'wb') as f:
			f.truncate(IMAGE_MIB << 20)
		run(cmds[fs] + [tmp])
		tmp.rename(img)
	return images


FIO = Path('/usr/bin/fio')


def fio_files(fio: Path = FIO) -> List[Tuple[str, Path]]:
	"""Debian's fio and what it needs to run, as (path in the initramfs,
	file on this machine): the binary, every library ldd names at the path
	ldd gives, and the loader. Empty without fio."""
	if not fio.is_file():
		return []
	files = [(str(fio), fio)]
	for line in run(['ldd', fio]).stdout.splitlines():
		m = re.match(r'\s*(\S+) => (/\S+) \(', line) or re.match(r'\s*(/\S+) \(', line)
		if m:
			path = m.group(m.lastindex)
			files.append((path, Path(path).resolve()))
	return files


# srv: the NFS export's mount point; var/lib/nfs/v4recovery: nfsd's legacy
# NFSv4 client tracking, which it falls back to without nfsdcld.
INITRAMFS_DIRS = ['dev', 'proc', 'sys', 'mnt', 'images', 'sbin', 'tmp', 'srv', 'var',
		  'var/lib', 'var/lib/nfs', 'var/lib/nfs/v4recovery']


def make_initramfs() -> Path:
	"""initramfs.cpio.gz: /init (the probe), /dev/console, the images,
	/sbin/tomoyo-init -> /init (the probe is TOMOYO's policy loader too),
	and fio with its libraries."""
	probe = build_probe()
	images = make_images()
	fio = fio_files()
	out = boot_dir() / 'initramfs.cpio.gz'
	inputs = [probe, PROBE_SRC, Path(__file__)] + list(images.values()) + [f for _, f in fio]
	if out.is_file() and all(out.stat().st_mtime >= p.stat().st_mtime
				 for p in inputs):
		return out
	stdout.step(f'writing the initramfs ({len(fio)} files of fio)')
	dirs = list(INITRAMFS_DIRS)
	for name, _ in fio:
		parents = Path(name.lstrip('/')).parents
		dirs += [str(d) for d in reversed(parents) if str(d) != '.']
	tmp = out.with_suffix('.tmp')
	with gzip.open(tmp, 'wb', compresslevel=1) as gz:
		w = CpioWriter(gz)
		for d in dict.fromkeys(dirs):
			w.directory(d)
		w.char_device('dev/console', 5, 1)
		w.file('init', probe.read_bytes(), 0o755)
		w.symlink('sbin/tomoyo-init', '/init')
		for fs, img in images.items():
			w.file(f'images/{fs}.img', img.read_bytes())
		for name, f in fio:
			w.file(name.lstrip('/'), f.read_bytes(), 0o755)
		w.trailer()
	tmp.rename(out)
	return out


def tree_initramfs(tree: Tree) -> Path:
	"""The initramfs of make_initramfs() and, appended as a second cpio
	archive (the kernel unpacks them in turn), the tree's own selftests
	(selftests.initramfs_files())."""
	base = make_initramfs()
	files = ksft.initramfs_files(tree)
	out = boot_dir() / f'initramfs-{tree.name}.cpio.gz'
	tmp = out.with_suffix('.tmp')
	with open(tmp, 'wb') as f:
		f.write(base.read_bytes())
		with gzip.GzipFile(fileobj=f, mode='wb', compresslevel=1, mtime=0) as gz:
			w = CpioWriter(gz)
			w.directory('selftests')
			for name, data, mode in files:
				w.file(name, data, mode)
			w.trailer()
	tmp.rename(out)
	return out


# ---- QEMU ----

def qemu_cmd(bzimage: Path, initrd: Optional[Path], accel: str,
	     append: Sequence[str]) -> List[str]:
	cmd = ['qemu-system-x86_64', '-m', '1G', '-nographic', '-no-reboot',
	       '-kernel', str(bzimage), '-append', ' '.join(append)]
	if initrd:
		cmd += ['-initrd', str(initrd)]
	if accel == 'kvm':
		cmd += ['-accel', 'kvm', '-cpu', 'host']
	else:
		cmd += ['-accel', 'tcg']
	return cmd


def qemu(bzimage: Path, initrd: Optional[Path], accel: str,
	 append: Sequence[str], timeout: float) -> Tuple[str, float, bool]:
	"""Run QEMU to its end (the guest reboots, -no-reboot exits);
	returns (console, seconds, timed_out)."""
	cmd = qemu_cmd(bzimage, initrd, accel, append)
	start = time.monotonic()
	p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
			     stderr=subprocess.STDOUT)
	try:
		out, _ = p.communicate(timeout=timeout)
		timed_out = False
	except subprocess.TimeoutExpired:
		p.kill()
		out, _ = p.communicate()
		timed_out = True
	return out.decode(errors='replace'), time.monotonic() - start, timed_out


def qemu_version() -> str:
	p = run(['qemu-system-x86_64', '--version'], check=False)
	return (p.stdout.splitlines() or ['?'])[0]


def kvm_works(bzimage: Path) -> bool:
	"""Whether KVM really runs a guest here. /dev/kvm can exist while
	nested KVM hangs, so boot the kernel with no initramfs (it panics and,
	with panic=-1 and -no-reboot, QEMU exits) under a short timeout; the
	answer is cached per host kernel and QEMU version."""
	forced = os.environ.get('PINCONV_ACCEL', '')
	if forced in ('kvm', 'tcg'):
		return forced == 'kvm'
	if not os.access('/dev/kvm', os.R_OK | os.W_OK):
		return False
	cache = boot_dir() / 'kvm-check.json'
	key = f'{os.uname().release} {qemu_version()}'
	if cache.is_file():
		data = json.loads(cache.read_text())
		if data.get('key') == key:
			return bool(data['works'])
	stdout.step('checking whether KVM works (once, 20 s at most)')
	console, seconds, timed_out = qemu(bzimage, None, 'kvm',
					   ['console=ttyS0', 'panic=-1'], 20)
	works = not timed_out and 'Kernel panic' in console
	stdout.step(f'KVM {"works" if works else "does not work"} '
		    f'({seconds:.1f}s{", timed out" if timed_out else ""}); using '
		    f'{"kvm" if works else "tcg"}')
	cache.parent.mkdir(parents=True, exist_ok=True)
	cache.write_text(json.dumps({'key': key, 'works': works,
				     'seconds': round(seconds, 1)}) + '\n')
	return works


def boot(kernel: build.Kernel, initrd: Path, timeout: float,
	 extra: Sequence[str] = ()) -> Boot:
	accel = 'kvm' if kvm_works(kernel.bzimage) else 'tcg'
	stdout.step(f'{kernel.label}: booting {kernel.rev[:12]} ({accel}, '
		    f'timeout {timeout:.0f}s)')
	console, seconds, timed_out = qemu(kernel.bzimage, initrd, accel,
					   KERNEL_ARGS + list(extra), timeout)
	log = kernel.out / 'console.log'
	log.write_text(console)
	stdout.step(f'{kernel.label}: QEMU ended after {seconds:.1f}s'
		    f'{" (timed out)" if timed_out else ""}; console in {log}')
	return Boot(kernel.label, console, seconds, timed_out, accel)


# ---- the whole test ----

def test_kernel(kernel: build.Kernel, initrd: Path, expect: Dict[str, str],
		timeout: float, pinning: Iterable[str] = (),
		known: Optional[Dict[str, Known]] = None) -> KernelResult:
	b = boot(kernel, initrd, timeout)
	results, warnings = parse_console(b.console)
	if b.timed_out:
		warnings.append(f'QEMU timed out after {timeout:.0f}s')
	verdicts = judge(results, expect, warnings, pinning, known)
	print_failures(kernel.label, verdicts)
	return KernelResult(kernel.label, kernel.rev, results, warnings, verdicts,
			    kernel.seconds, b.seconds, b.accel, b.timed_out, '', list(pinning),
			    ksft.parse(b.console))


def selftest_regressions(base: KernelResult, tip: KernelResult) -> List[str]:
	"""The selftest cases the baseline passes and the tip does not; they
	fail the tip's mm-selftests verdict (in place)."""
	if base.error or tip.error:
		return []
	bad = ksft.compare(base.selftests, tip.selftests)
	if bad:
		v = next(v for v in tip.verdicts if v.scenario == SELFTESTS)
		v.status = 'fail'
		v.reasons += [f'regression: {b}' for b in bad[:10]]
	return bad


def cross_check(kernels: Sequence[KernelResult]) -> List[str]:
	"""A scenario that skips on one kernel where another pins loses the
	contrast the boot test is for: the skip fails, with the reason. The
	verdicts change in place; returns what failed."""
	failed = []
	for name in SCENARIOS:
		pinners = [(k.label, int(k.results[name].get('acquired', 0))) for k in kernels
			   if name in k.results and not k.results[name].get('skipped')
			   and int(k.results[name].get('acquired', 0)) > 0]
		if not pinners:
			continue
		for k in kernels:
			res = k.results.get(name)
			if not res or not res.get('skipped'):
				continue
			v = next(v for v in k.verdicts if v.scenario == name)
			if v.status == 'fail':
				continue
			v.status = 'fail'
			others = ', '.join(f'{label} pins {n}' for label, n in pinners)
			v.reasons.append(f'skipped ({res.get("reason", "")}) while {others}: '
					 f'the contrast is lost')
			failed.append(f'{k.label} {name}')
	return failed


def unreached_on(tip: KernelResult, reaches: Sequence[Reach]) -> List[str]:
	"""Converted files none of whose scenarios passed on the tip (all
	skipped or failed), with the verdicts."""
	ran = {v.scenario for v in tip.verdicts if v.status in ('pass', 'known')}
	out = []
	for r in reaches:
		if r.scenarios and not ran & set(r.scenarios):
			why = '; '.join(f'{v.scenario}: {v.status}: {" ".join(v.reasons)}'
					for v in tip.verdicts if v.scenario in r.scenarios)
			out.append(f'{r.file}: converted, but none of its scenarios ran on the '
				   f'{tip.label} ({why})')
	return out


def print_failures(label: str, verdicts: Sequence[Verdict]) -> None:
	for v in verdicts:
		if v.status == 'fail':
			stdout.step(f'{label}: FAIL {v.scenario}: {"; ".join(v.reasons)}')


def cell(res: Optional[dict], key: str) -> str:
	if res is None:
		return '-'
	if res.get('skipped'):
		return 'skip'
	val = res.get(key)
	if isinstance(val, bool):
		return 'yes' if val else 'NO'
	return str(val)


def fio_cell(res: Optional[dict]) -> str:
	if res is None:
		return '-'
	if res.get('skipped'):
		return f'skip: {res.get("reason", "")}'
	return res.get('fio') or res.get('reason') or '-'


def report_md(tree: Tree, kernels: List[KernelResult], expect: Dict[str, Dict[str, str]],
	      notes: List[str], reaches: Sequence[Reach] = ()) -> str:
	lines = [f'# Boot test: Linux {tree.version} ({tree.path.name})', '']
	lines += [f'- {k.label}: `{k.rev[:12]}`, '
		  + (f'NOT BUILT: {k.error}' if k.error else
		     f'last make {k.build_seconds:.1f}s, boot + scenarios '
		     f'{k.boot_seconds:.1f}s ({k.accel}), '
		     f'{"PASS" if k.ok else "FAIL"}') for k in kernels]
	lines += [f'- {n}' for n in notes]
	lines += ['', 'acq/rel: pages counted by nr_foll_pin_acquired/released; '
		  'expected: ref (page references, 0 pins), pin N or pin N-M (pins, within '
		  'the pages the scenario\'s I/O implies through the files that pin on that '
		  'kernel), any (balanced), known (a defect of the baseline that its kernel '
		  'overlay fixes: counts may differ; data and log must be good but for the '
		  'defect named in the notes).', '']
	head = '| scenario | path |'
	sep = '| --- | --- |'
	for k in kernels:
		head += f' {k.label} expected | {k.label} acq | {k.label} rel | {k.label} data | {k.label} verdict |'
		sep += ' --- | ---: | ---: | --- | --- |'
	lines += [head, sep]
	for name, path in SCENARIOS.items():
		row = f'| {name} | {path} |'
		for k in kernels:
			res = k.results.get(name)
			v = next(v for v in k.verdicts if v.scenario == name)
			exp = expect[k.label].get(name, EXPECT_ANY)
			rng = range_text(expected_range(name, res, exp, k.pinning))
			row += (f' {exp}{" " + rng if rng else ""} | {cell(res, "acquired")} |'
				f' {cell(res, "released")} | {cell(res, "data_ok")} | {v.status} |')
		lines.append(row)
	fio = [name for name in SCENARIOS if name.startswith('fio-')]
	lines += ['', '## fio', '',
		  'Debian\'s fio in the guest, one run per Direct-I/O path (`pinprobe.c` '
		  'fio_*: O_DIRECT, verify=crc32c, 512 B to 128 KiB blocks, psync, libaio and '
		  'io_uring); its verdict beside the pins it made the kernel take.', '']
	head = '| scenario | path |'
	sep = '| --- | --- |'
	for k in kernels:
		head += f' {k.label} acq | {k.label} rel | {k.label} fio |'
		sep += ' ---: | ---: | --- |'
	lines += [head, sep]
	for name in fio:
		row = f'| {name} | {SCENARIOS[name]} |'
		for k in kernels:
			res = k.results.get(name)
			row += (f' {cell(res, "acquired")} | {cell(res, "released")} |'
				f' {fio_cell(res)} |')
		lines.append(row)
	runs = list(dict.fromkeys(n for k in kernels for n in k.selftests))
	if runs:
		lines += ['', '## Kernel selftests', '',
			  'The mm selftests of the tree under test (`scripts/pinconv/selftests.py`), '
			  'run in the guest by `mm-selftests`: cases passed / failed / skipped and '
			  'the exit status per run. The tip must pass every case the baseline '
			  'passes.', '']
		head = '| run |' + ''.join(f' {k.label} |' for k in kernels)
		lines += [head, '| --- |' + ' --- |' * len(kernels)]
		for n in runs:
			row = f'| {n} |'
			for k in kernels:
				r = k.selftests.get(n)
				if r is None:
					row += ' - |'
					continue
				c = ksft.summary({n: r})[n]
				row += (f' {c.get("pass", 0)} / {c.get("fail", 0)} / {c.get("skip", 0)}, '
					f'{r.ended()} |')
			lines.append(row)
		if len(kernels) > 1:
			bad = ksft.compare(kernels[0].selftests, kernels[-1].selftests)
			lines += ['', f'Regressions ({kernels[0].label} passes, {kernels[-1].label} '
				  f'does not): ' + ('none' if not bad else '')]
			lines += [f'- {b}' for b in bad]
	if reaches:
		tip = kernels[-1]
		lines += ['', '## Converted files and the scenarios that reach them', '',
			  f'The files the series changes; the scenarios that run their code, with '
			  f'their verdict on the {tip.label}.', '',
			  '| file | scenarios |', '| --- | --- |']
		for r in reaches:
			if r.scenarios:
				verdicts = {v.scenario: v.status for v in tip.verdicts}
				text = ', '.join(f'{sc} ({verdicts.get(sc, "-")})' for sc in r.scenarios)
				if not any(verdicts.get(sc) in ('pass', 'known') for sc in r.scenarios):
					text += ': **none of them ran: FAIL**'
			elif r.cannot_run:
				text = f'none: cannot run here: {r.cannot_run}'
			else:
				text = '**none, though it could run here: FAIL**'
			lines.append(f'| {r.file} | {text} |')
	lines += ['', '## Notes per scenario', '']
	for k in kernels:
		for name in SCENARIOS:
			res = k.results.get(name) or {}
			v = next(v for v in k.verdicts if v.scenario == name)
			parts = [res.get('note', ''), res.get('reason', '')] + v.reasons
			text = '; '.join(dict.fromkeys(x for x in parts if x))
			if text:
				lines.append(f'- {k.label} {name}: {text}')
	lines += ['', '## Kernel log', '']
	for k in kernels:
		if k.warnings:
			lines.append(f'- {k.label}: {len(k.warnings)} warning line(s):')
			lines += [f'  - `{w}`' for w in k.warnings[:20]]
		else:
			lines.append(f'- {k.label}: clean (no WARNING, BUG or bad page)')
	return '\n'.join(lines) + '\n'


def report_json(tree: Tree, kernels: List[KernelResult],
		expect: Dict[str, Dict[str, str]], notes: List[str],
		reaches: Sequence[Reach] = ()) -> str:
	data = {
		'kernel_version': tree.version,
		'tree': str(tree.path),
		'notes': notes,
		'converted_files': {r.file: {'scenarios': r.scenarios, 'cannot_run': r.cannot_run,
					     'unreached': r.unreached} for r in reaches},
		'kernels': {k.label: {
			'rev': k.rev,
			'ok': k.ok,
			'error': k.error,
			'accel': k.accel,
			'build_seconds': round(k.build_seconds, 1),
			'boot_seconds': round(k.boot_seconds, 1),
			'timed_out': k.timed_out,
			'pinning': k.pinning,
			'selftests': ksft.summary(k.selftests),
			'warnings': k.warnings,
			'scenarios': {v.scenario: {
				'expected': expect[k.label].get(v.scenario, EXPECT_ANY),
				'expected_pages': expected_range(
					v.scenario, k.results.get(v.scenario),
					expect[k.label].get(v.scenario, EXPECT_ANY), k.pinning),
				'verdict': v.status,
				'reasons': v.reasons,
				'result': k.results.get(v.scenario),
			} for v in k.verdicts},
		} for k in kernels},
	}
	return json.dumps(data, indent=1) + '\n'


def not_built(label: str, rev: str, err: str) -> KernelResult:
	"""The result of a kernel that failed to build: every verdict fails."""
	verdicts = [Verdict(name, 'fail', [f'not built: {err}'])
		    for name in list(SCENARIOS) + [LOG]]
	return KernelResult(label, rev, {}, [], verdicts, 0.0, 0.0, '-', False, err)


def test_rev(tree: Tree, rev: str, label: str, initrd: Path,
	     expect: Dict[str, str], timeout: float, pinning: Iterable[str] = (),
	     known: Optional[Dict[str, Known]] = None) -> KernelResult:
	try:
		kernel = build.build_kernel(tree, rev, label)
	except Error as e:
		stdout.step(f'{label}: FAIL build: {e}')
		return not_built(label, build.resolve(tree, rev), str(e))
	return test_kernel(kernel, initrd, expect, timeout, pinning, known)


def config_failures(tree: Tree, pinned: Iterable[str]) -> List[str]:
	"""Scenarios expected to pin whose config symbol the tree's fragment
	lost (neither sets it nor says it is not set): each fails the run,
	naming the symbol."""
	lost = set(lost_config(tree))
	return [f'{sc}: expected to pin, but {NEEDS_CONFIG[sc]} is not in '
		f'scripts/configs/{tree.kver}.config' for sc in dict.fromkeys(pinned)
		if sc in lost and sc not in NEVER_PINNED]


def run_rev(tree: Tree, rev: str, pinned: Iterable[str], timeout: float) -> bool:
	"""Boot one revision (a candidate tip: a fix, a bisect step, a kernel
	with a deliberate bug) in the tip's build directory, judged as the tip;
	the reports go to work/reports/<tree>/, not reports/."""
	initrd = tree_initramfs(tree)
	pinning = list(dict.fromkeys(converted_files(tree) + files_pinned_upstream(tree)))
	scs = list(pinned) + pinned_upstream(tree)
	expect = {'tip': expectations(scs, EXPECT_ANY, unconfigured(tree), lost_config(tree))}
	k = test_rev(tree, rev, 'tip', initrd, expect['tip'], timeout, pinning)
	out = work_dir() / 'reports' / tree.name
	out.mkdir(parents=True, exist_ok=True)
	notes = [f'one revision: {rev} booted as the tip, no baseline boot']
	notes += [f'FAIL {c}' for c in config_failures(tree, scs)]
	(out / 'boottest-rev.md').write_text(report_md(tree, [k], expect, notes))
	(out / 'boottest-rev.json').write_text(report_json(tree, [k], expect, notes))
	failed = [v.scenario for v in k.verdicts if v.status == 'fail']
	stdout.step(f'{tree.kver} {rev}: {"FAIL " + ", ".join(failed) if failed else "PASS"}; '
		    f'report: {out / "boottest-rev.md"}')
	return k.ok


def run_boottest(trees: Sequence[Tree], pinned: Iterable[str] = (),
		 timeout: float = 180.0) -> bool:
	"""Boot the baseline and the series tip of each tree; write
	reports/<kver>/boottest.{md,json}. pinned: scenarios the tip is expected
	to have converted. True if every kernel passed."""
	pinned = list(pinned)
	ok = True
	for tree in trees:
		initrd = tree_initramfs(tree)
		notes: List[str] = []
		up_files = files_pinned_upstream(tree)
		upstream = scenarios_of(up_files)
		converted = converted_files(tree)
		tip_files = list(dict.fromkeys(converted + up_files))
		tip_pinned = pinned + scenarios_of(converted) + upstream
		off = unconfigured(tree)
		lost = lost_config(tree)
		for sc in off:
			notes.append(f'{sc}: not configured (scripts/configs/{tree.kver}.config: '
				     f'# {NEEDS_CONFIG[sc]} is not set): skips')
		bad_config = config_failures(tree, tip_pinned)
		notes += [f'FAIL {c}' for c in bad_config]
		for c in bad_config:
			stdout.step(f'{tree.kver}: FAIL {c}')
		ok = ok and not bad_config
		reaches = reach(converted)
		expect = {'base': expectations(upstream, EXPECT_REF, off, lost)}
		known = KNOWN_BASE.get(tree.generation, {})
		for sc, k in known.items():
			expect['base'][sc] = EXPECT_KNOWN
			notes.append(f'base {sc}: known baseline defect: {k.why}')
		base = test_rev(tree, BASE_TAG, 'base', initrd, expect['base'], timeout,
				up_files, known)
		kernels = [base]
		tip_rev = build.resolve(tree, BRANCH)
		if tip_rev == base.rev:
			notes.append(f'tip ({BRANCH}) equals the baseline: the base boot '
				     f'stands for both')
			expect['tip'] = expectations(tip_pinned, EXPECT_REF, off, lost)
			tip = KernelResult(**{**base.__dict__, 'label': 'tip', 'pinning': tip_files})
			if not tip.error:
				tip.verdicts = judge(tip.results, expect['tip'], tip.warnings, tip_files)
				print_failures('tip', tip.verdicts)
		else:
			expect['tip'] = expectations(tip_pinned, EXPECT_ANY, off, lost)
			tip = test_rev(tree, BRANCH, 'tip', initrd, expect['tip'], timeout, tip_files)
		kernels.append(tip)
		for c in cross_check(kernels):
			stdout.step(f'{tree.kver}: FAIL {c}: skipped where another kernel pins')
		for r in selftest_regressions(base, tip):
			stdout.step(f'{tree.kver}: FAIL mm-selftests: {r}')
		unran = unreached_on(tip, reaches)
		for u in unran:
			stdout.step(f'{tree.kver}: FAIL {u}')
		ok = ok and not unran
		out = series.REPORTS / tree.kver
		out.mkdir(parents=True, exist_ok=True)
		(out / 'boottest.md').write_text(report_md(tree, kernels, expect, notes, reaches))
		(out / 'boottest.json').write_text(report_json(tree, kernels, expect, notes, reaches))
		for r in reaches:
			if r.unreached:
				stdout.step(f'{tree.kver}: FAIL {r.file}: converted, no scenario reaches it, '
					    f'and nothing says it cannot run here')
			elif r.cannot_run:
				stdout.step(f'{tree.kver}: {r.file}: converted, no scenario reaches it: '
					    f'{r.cannot_run}')
		ok = ok and not any(r.unreached for r in reaches)
		for k in kernels:
			counts = {s: sum(1 for v in k.verdicts if v.status == s)
				  for s in ('pass', 'fail', 'skip', 'known')}
			stdout.step(f'{tree.kver} {k.label}: {counts["pass"]} passed, '
				    f'{counts["fail"]} failed, {counts["skip"]} skipped'
				    + (f', {counts["known"]} known baseline defects' if counts['known'] else ''))
			ok = ok and k.ok
		stdout.step(f'report: {out / "boottest.md"}')
	return ok
