// SPDX-License-Identifier: GPL-2.0
/*
 * pinprobe: /init of the boot-test initramfs.
 *
 * Runs Direct-I/O scenarios against the block layer and filesystems whose
 * page handling the pinconv series converts, and prints one line per
 * scenario:
 *
 *   PINPROBE {"scenario":"blk-raw-read","skipped":false,"acquired":4096,
 *             "released":4096,"data_ok":true,"bytes":16777216}
 *
 * acquired/released are the pages counted by /proc/vmstat's
 * nr_foll_pin_acquired / nr_foll_pin_released across the measured I/O
 * (after it completed). An unconverted kernel takes page references for
 * Direct I/O, so both stay 0; a converted one pins, so both move, equally.
 * A scenario that can pin also states, per kernel source file whose
 * conversion makes it pin, how many pins its measured I/O must take when
 * that file pins: "pages":{"block/fops.c":[lo,hi]} (see io_pages()).
 * The last line lists kernel log lines with WARNING, BUG or "bad page",
 * then the machine reboots (with QEMU -no-reboot, QEMU exits).
 *
 * Build: gcc -static -O2 -Wall -o pinprobe pinprobe.c -lpthread
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <linux/loop.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <scsi/sg.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB		1024L
#define MiB		(1024L * 1024L)
#define PAGE		4096L
#define CHUNK		MiB

/*
 * The kernel source files whose conversion makes a scenario pin: the keys
 * of its "pages" (boot.py SCENARIOS_OF_FILE; the control's is its own).
 */
#define SRC_FOPS	"block/fops.c"
#define SRC_BLKMAP	"block/blk-map.c"
#define SRC_IOMAP	"fs/iomap/direct-io.c"
#define SRC_DIO		"fs/direct-io.c"
#define SRC_ZONEFS	"fs/zonefs/file.c"
#define SRC_FUSE	"fs/fuse/file.c"
#define SRC_UBLK	"drivers/block/ublk_drv.c"
#define SRC_NFS		"fs/nfs/direct.c"
#define SRC_SPLICE	"fs/splice.c"
#define SRC_UPROBES	"kernel/events/uprobes.c"
#define SRC_MEMORY	"mm/memory.c"
#define SRC_GUP_TEST	"mm/gup_test.c"
#define PAGE_FILES	3	/* the most files one scenario pins through */

struct result {
	const char *name;
	bool skipped;
	char reason[200];	/* why skipped, or what went wrong */
	long long acquired;
	long long released;
	bool data_ok;
	long long bytes;
	char note[256];
	char fio[240];		/* fio's verdict, for its scenarios */
	struct {
		const char *file;	/* NULL: unused, and so are the rest */
		long long lo, hi;
	} pages[PAGE_FILES];	/* the pins its measured I/O must take, per file */
};

struct pins {
	long long acquired;
	long long released;
};

/* ---- output -------------------------------------------------------- */

static void json_str(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = c;
		} else if (c < 0x20 || c >= 0x7f) {
			n += snprintf(out + n, size - n, "\\u%04x", c);
		} else {
			out[n++] = c;
		}
	}
	out[n] = '\0';
}

static void line_out(const char *buf)
{
	/* One write per line, so kernel messages do not split it. */
	size_t len = strlen(buf);
	const char *p = buf;

	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

static void emit(const struct result *r)
{
	char reason[420], note[420], fio[500], pages[400], buf[2200];
	size_t n = 0;
	int i;

	json_str(reason, sizeof(reason), r->reason);
	json_str(note, sizeof(note), r->note);
	json_str(fio, sizeof(fio), r->fio);
	pages[0] = '\0';
	for (i = 0; i < PAGE_FILES && r->pages[i].file && n < sizeof(pages); i++)
		n += snprintf(pages + n, sizeof(pages) - n, "%s\"%s\":[%lld,%lld]",
			      i ? "," : ",\"pages\":{", r->pages[i].file, r->pages[i].lo,
			      r->pages[i].hi);
	if (n && n < sizeof(pages))
		snprintf(pages + n, sizeof(pages) - n, "}");
	snprintf(buf, sizeof(buf),
		 "PINPROBE {\"scenario\":\"%s\",\"skipped\":%s,\"reason\":\"%s\","
		 "\"acquired\":%lld,\"released\":%lld,\"data_ok\":%s,"
		 "\"bytes\":%lld%s,\"note\":\"%s\"%s%s%s}\n",
		 r->name, r->skipped ? "true" : "false", reason,
		 r->acquired, r->released, r->data_ok ? "true" : "false",
		 r->bytes, pages, note, fio[0] ? ",\"fio\":\"" : "", fio, fio[0] ? "\"" : "");
	line_out(buf);
}

static void plog(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "pinprobe: ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	strcat(buf, "\n");
	line_out(buf);
}

static void fail(struct result *r, const char *what)
{
	if (!r->reason[0])
		snprintf(r->reason, sizeof(r->reason), "%s: %s", what,
			 strerror(errno));
	r->data_ok = false;
}

static void skip(struct result *r, const char *why)
{
	r->skipped = true;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
}

/* The data or the state found is wrong: the first reason stays. */
static __attribute__((format(printf, 2, 3)))
void wrong(struct result *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->reason[0]) {
		va_start(ap, fmt);
		vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
		va_end(ap);
	}
	r->data_ok = false;
}

/* ---- pin counters -------------------------------------------------- */

static int read_pins(struct pins *p)
{
	char line[128];
	FILE *f;
	int found = 0;

	/* On SMP kernels fold the per-cpu deltas first (needs sysctl). */
	f = fopen("/proc/sys/vm/stat_refresh", "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	p->acquired = p->released = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %lld", &p->acquired) == 1)
			found++;
		else if (sscanf(line, "nr_foll_pin_released %lld", &p->released) == 1)
			found++;
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void measure_start(struct pins *before)
{
	read_pins(before);
}

/*
 * Take the deltas once the I/O has completed. Read completions may dirty
 * and release pages from a workqueue (bio_check_pages_dirty), so give the
 * released count up to a second to catch up with acquired.
 */
static void measure_end(struct result *r, const struct pins *before)
{
	struct pins after;
	int i;

	for (i = 0; i < 100; i++) {
		read_pins(&after);
		if (after.acquired - before->acquired ==
		    after.released - before->released)
			break;
		sleep_ms(10);
	}
	r->acquired += after.acquired - before->acquired;
	r->released += after.released - before->released;
}

/* ---- the pins a measured I/O must take ----------------------------- */

/*
 * Next to each measured syscall a scenario states what it must pin, per
 * file: the judge (boot.py) sums the ranges of the files that pin on the
 * kernel under test and holds nr_foll_pin_acquired to the sum. So each
 * range is as tight as the kernel allows: a kernel that leaves a branch
 * of a converted path (one direction, the async path) on page references
 * falls outside it.
 */
static void pages_add(struct result *r, const char *file, long long lo,
		      long long hi)
{
	int i;

	for (i = 0; i < PAGE_FILES && r->pages[i].file; i++)
		if (!strcmp(r->pages[i].file, file))
			break;
	if (i == PAGE_FILES) {
		plog("%s: pages of more than %d files, %s left out", r->name,
		     PAGE_FILES, file);
		return;
	}
	r->pages[i].file = file;
	r->pages[i].lo += lo;
	r->pages[i].hi += hi;
}

/* How many pages [buf, buf + len) touches. */
static long long span_pages(const void *buf, size_t len)
{
	uintptr_t a = (uintptr_t)buf;

	return len ? (long long)((a + len - 1) / PAGE - a / PAGE + 1) : 0;
}

/*
 * The pins a file takes per page of a user buffer. fs/direct-io.c (where
 * it pins: 6.5 on) takes three: the extraction's (dio_refill_pages()), one
 * while the page is sdio->cur_page and one for the bio it goes into
 * (dio_pin_page(), folio_add_pin()); it drops the first two once the page
 * is in the bio, the bio's at its completion. 6.12 vfat-write: 6144 for
 * 2048 pages.
 */
static int pins_per_page(const char *file)
{
	return strcmp(file, SRC_DIO) ? 1 : 3;
}

/*
 * One measured I/O of len bytes from or to the user buffer buf, through
 * file: it pins the pages it spans, and each place where the kernel cuts
 * it into separate page-pinning calls can pin the page there twice, so at
 * most pieces - 1 more (pieces: the most pieces the kernel may cut it
 * into; 1 where each cut falls on a page boundary).
 */
static void io_pages(struct result *r, const char *file, const void *buf,
		     size_t len, long pieces)
{
	long long span = span_pages(buf, len);
	int k = pins_per_page(file);

	if (span)
		pages_add(r, file, k * span, k * (span + pieces - 1));
}

/* Whether the running kernel is older than major.minor. */
static bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

/* ---- buffers and patterns ------------------------------------------ */

static void *buf_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);	/* fault in: the pages are ours, exclusive */
	return p;
}

static void buf_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static uint64_t pattern_word(uint64_t seed, uint64_t index)
{
	uint64_t x = (index + 1) * 0x9e3779b97f4a7c15ULL ^ seed * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	return x;
}

/* Fill buf, which holds the bytes at file offset off, with the pattern. */
static void fill(void *buf, size_t len, off_t off, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pattern_word(seed, off / 8 + i);
}

static bool check(const void *buf, size_t len, off_t off, uint64_t seed)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(seed, off / 8 + i))
			return false;
	return true;
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * Whole-buffer pread/pwrite in chunk-sized calls; -1 on error or short.
 * For measured I/O, r and file: each call's pages are stated for file;
 * every file this takes is cut into pieces at page boundaries only.
 */
static int rw_all(int fd, bool write_op, void *buf, size_t len, off_t off,
		  size_t chunk, struct result *r, const char *file)
{
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;
		ssize_t ret;

		if (r)
			io_pages(r, file, (char *)buf + done, n, 1);
		ret = write_op ? pwrite(fd, (char *)buf + done, n, off + done)
			       : pread(fd, (char *)buf + done, n, off + done);
		if (ret < 0)
			return -1;
		if ((size_t)ret != n) {
			errno = EIO;
			return -1;
		}
		done += n;
	}
	return 0;
}

/* ---- environment ------------------------------------------------------ */

static bool wait_for(const char *path, int ms)
{
	struct stat st;

	for (; ms > 0; ms -= 20) {
		if (stat(path, &st) == 0)
			return true;
		sleep_ms(20);
	}
	return stat(path, &st) == 0;
}

static long long dev_size(int fd)
{
	long long size;

	if (ioctl(fd, BLKGETSIZE64, &size))
		return -1;
	return size;
}

static int loop_attach(const char *loopdev, const char *image, char *why,
		       size_t whylen)
{
	struct loop_config cfg;
	int lfd, ffd, ret;

	ffd = open(image, O_RDWR);
	if (ffd < 0) {
		snprintf(why, whylen, "no image %s: %s", image, strerror(errno));
		return -1;
	}
	if (!wait_for(loopdev, 2000)) {
		snprintf(why, whylen, "no %s (CONFIG_BLK_DEV_LOOP)", loopdev);
		close(ffd);
		return -1;
	}
	lfd = open(loopdev, O_RDWR);
	if (lfd < 0) {
		snprintf(why, whylen, "open %s: %s", loopdev, strerror(errno));
		close(ffd);
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = ffd;
	cfg.block_size = 512;
	ret = ioctl(lfd, LOOP_CONFIGURE, &cfg);
	if (ret && errno == EINVAL)
		ret = ioctl(lfd, LOOP_SET_FD, ffd);
	if (ret)
		snprintf(why, whylen, "attach %s to %s: %s", image, loopdev,
			 strerror(errno));
	close(ffd);
	close(lfd);
	return ret ? -1 : 0;
}

static int mount_loop(const char *loopdev, const char *image,
		      const char *dir, const char *fstype, char *why,
		      size_t whylen)
{
	if (loop_attach(loopdev, image, why, whylen))
		return -1;
	mkdir(dir, 0755);
	if (mount(loopdev, dir, fstype, 0, NULL)) {
		snprintf(why, whylen, "mount -t %s %s: %s", fstype, loopdev,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- block device scenarios (block/fops.c) ------------------------- */

#define RAM		"/dev/ram0"
#define RAM_BYTES	(16 * MiB)

static int open_ram(struct result *r)
{
	int fd;

	if (!wait_for(RAM, 2000)) {
		skip(r, "no " RAM " (CONFIG_BLK_DEV_RAM, brd.rd_nr=1)");
		return -1;
	}
	fd = open(RAM, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail(r, "open " RAM);
		return -1;
	}
	if (dev_size(fd) < RAM_BYTES) {
		skip(r, RAM " is smaller than 16 MiB (brd.rd_size=16384)");
		close(fd);
		return -1;
	}
	return fd;
}

/* A measured O_DIRECT write or read of len bytes at 0 in chunk-sized calls. */
static void blk_rw(struct result *r, bool measure_write, size_t chunk,
		   uint64_t seed)
{
	struct pins before;
	void *buf;
	int fd;

	fd = open_ram(r);
	if (fd < 0)
		return;
	buf = buf_alloc(RAM_BYTES);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	r->data_ok = true;
	fill(buf, RAM_BYTES, 0, seed);
	/*
	 * A call of up to 256 pages is one bio (__blkdev_direct_IO_simple()),
	 * a larger one bios of 256 pages (__blkdev_direct_IO()), all pinned
	 * by bio_iov_iter_get_pages(): page-aligned, so each page once.
	 */
	if (measure_write)
		measure_start(&before);
	if (rw_all(fd, true, buf, RAM_BYTES, 0, chunk, measure_write ? r : NULL, SRC_FOPS))
		fail(r, "O_DIRECT write");
	if (measure_write)
		measure_end(r, &before);
	memset(buf, 0, RAM_BYTES);
	if (!measure_write)
		measure_start(&before);
	if (rw_all(fd, false, buf, RAM_BYTES, 0, chunk, measure_write ? NULL : r, SRC_FOPS))
		fail(r, "O_DIRECT read");
	if (!measure_write)
		measure_end(r, &before);
	if (r->data_ok && !check(buf, RAM_BYTES, 0, seed)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = RAM_BYTES;
	snprintf(r->note, sizeof(r->note), "%s in %ld KiB calls",
		 measure_write ? "write" : "read", (long)(chunk / KiB));
	buf_free(buf, RAM_BYTES);
	close(fd);
}

static void blk_raw_write(struct result *r)
{
	blk_rw(r, true, CHUNK, 1);
}

static void blk_raw_read(struct result *r)
{
	blk_rw(r, false, CHUNK, 2);
}

/* 4 MiB calls: more than BIO_MAX_VECS pages, so __blkdev_direct_IO. */
static void blk_raw_multibio(struct result *r)
{
	blk_rw(r, false, 4 * MiB, 3);
	r->bytes = RAM_BYTES;
}

static long sys_io_setup(unsigned int nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, n, iocbs);
}

static long sys_io_getevents(aio_context_t ctx, long min, long max,
			     struct io_event *events)
{
	return syscall(SYS_io_getevents, ctx, min, max, events, NULL);
}

static long sys_io_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

/*
 * Eight 1 MiB iocbs (one bio each: __blkdev_direct_IO_async) and two 4 MiB
 * iocbs (several bios: __blkdev_direct_IO), submitted at once; each
 * iocb's pages are stated for block/fops.c (page-aligned: once each).
 */
#define AIO_NR 10

static int aio_all(aio_context_t ctx, int fd, bool write_op, char *buf,
		   struct result *r)
{
	struct iocb cbs[AIO_NR], *ptrs[AIO_NR];
	struct io_event ev[AIO_NR];
	long off = 0, got = 0;
	int i;

	memset(cbs, 0, sizeof(cbs));
	for (i = 0; i < AIO_NR; i++) {
		long len = i < 8 ? MiB : 4 * MiB;

		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = write_op ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uint64_t)(uintptr_t)(buf + off);
		cbs[i].aio_nbytes = len;
		cbs[i].aio_offset = off;
		cbs[i].aio_data = len;
		ptrs[i] = &cbs[i];
		io_pages(r, SRC_FOPS, buf + off, len, 1);
		off += len;
	}
	if (sys_io_submit(ctx, AIO_NR, ptrs) != AIO_NR)
		return -1;
	while (got < AIO_NR) {
		long n = sys_io_getevents(ctx, 1, AIO_NR - got, ev);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].res != (int64_t)ev[i].data) {
				errno = ev[i].res < 0 ? -ev[i].res : EIO;
				return -1;
			}
		}
		got += n;
	}
	return 0;
}

struct thread_io {
	int fd;
	bool write_op;
	char *buf;
	long off;
	long len;
	int ret;
};

static void *thread_rw(void *arg)
{
	struct thread_io *t = arg;

	/* Its pages are stated by threads_all(), before the thread starts. */
	t->ret = rw_all(t->fd, t->write_op, t->buf + t->off, t->len, t->off,
			t->len, NULL, NULL);
	return NULL;
}

/* Without CONFIG_AIO: the same layout from ten threads. */
static int threads_all(int fd, bool write_op, char *buf, struct result *r)
{
	struct thread_io t[AIO_NR];
	pthread_t tid[AIO_NR];
	long off = 0;
	int i, ret = 0;

	for (i = 0; i < AIO_NR; i++) {
		t[i] = (struct thread_io){ fd, write_op, buf, off,
					   i < 8 ? MiB : 4 * MiB, 0 };
		io_pages(r, SRC_FOPS, buf + off, t[i].len, 1);
		off += t[i].len;
		if (pthread_create(&tid[i], NULL, thread_rw, &t[i]))
			return -1;
	}
	for (i = 0; i < AIO_NR; i++) {
		pthread_join(tid[i], NULL);
		ret |= t[i].ret;
	}
	return ret;
}

static void blk_raw_async(struct result *r)
{
	aio_context_t ctx = 0;
	struct pins before;
	bool aio;
	char *buf;
	int fd;

	fd = open_ram(r);
	if (fd < 0)
		return;
	buf = buf_alloc(RAM_BYTES);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	aio = sys_io_setup(AIO_NR, &ctx) == 0;
	r->data_ok = true;
	fill(buf, RAM_BYTES, 0, 4);
	measure_start(&before);
	if (aio ? aio_all(ctx, fd, true, buf, r) : threads_all(fd, true, buf, r))
		fail(r, aio ? "io_submit write" : "threaded write");
	memset(buf, 0, RAM_BYTES);
	if (aio ? aio_all(ctx, fd, false, buf, r) : threads_all(fd, false, buf, r))
		fail(r, aio ? "io_submit read" : "threaded read");
	measure_end(r, &before);
	if (r->data_ok && !check(buf, RAM_BYTES, 0, 4)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = 2 * RAM_BYTES;
	snprintf(r->note, sizeof(r->note),
		 "%s: 8x1 MiB + 2x4 MiB writes then reads",
		 aio ? "io_submit" : "10 threads (no CONFIG_AIO)");
	if (aio)
		sys_io_destroy(ctx);
	buf_free(buf, RAM_BYTES);
	close(fd);
}

/* ---- filesystem scenarios ------------------------------------------ */

#define FILE_BYTES	(8 * MiB)

/*
 * On an open O_DIRECT file: measured write (or read) of FILE_BYTES, with
 * the other direction done unmeasured to set up or check the data; the
 * measured calls' pages are stated for file. File offsets and the buffer
 * are page-aligned: the file system's block mapping (ext4's 4 KiB blocks,
 * vfat's 32 KiB clusters) cuts a call on page boundaries only.
 */
static void file_rw(struct result *r, const char *path, bool measure_write,
		    uint64_t seed, const char *file)
{
	struct pins before;
	void *buf;
	int fd;

	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail(r, "open O_DIRECT");
		return;
	}
	buf = buf_alloc(FILE_BYTES);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	r->data_ok = true;
	fill(buf, FILE_BYTES, 0, seed);
	if (measure_write)
		measure_start(&before);
	if (rw_all(fd, true, buf, FILE_BYTES, 0, CHUNK, measure_write ? r : NULL, file))
		fail(r, "O_DIRECT write");
	if (measure_write)
		measure_end(r, &before);
	memset(buf, 0, FILE_BYTES);
	if (!measure_write)
		measure_start(&before);
	if (rw_all(fd, false, buf, FILE_BYTES, 0, CHUNK, measure_write ? NULL : r, file))
		fail(r, "O_DIRECT read");
	if (!measure_write)
		measure_end(r, &before);
	if (r->data_ok && !check(buf, FILE_BYTES, 0, seed)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = FILE_BYTES;
	snprintf(r->note, sizeof(r->note), "%s %s in 1 MiB calls",
		 measure_write ? "write" : "read", path);
	buf_free(buf, FILE_BYTES);
	close(fd);
}

/* Make path a file of len bytes of c through the page cache, synced. */
static int prealloc(const char *path, size_t len, int c)
{
	char *buf = malloc(MiB);
	size_t done;
	int fd;

	if (!buf)
		return -1;
	memset(buf, c, MiB);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	for (done = 0; done < len; done += MiB)
		if (write(fd, buf, len - done < MiB ? len - done : MiB) < 0)
			break;
	free(buf);
	if (done < len || fsync(fd)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static bool ext4_ready;
static char ext4_why[200] = "not set up";

static void ext4_setup(void)
{
	if (mount_loop("/dev/loop0", "/images/ext4.img", "/mnt/ext4", "ext4",
		       ext4_why, sizeof(ext4_why)) == 0)
		ext4_ready = true;
}

static bool need_ext4(struct result *r)
{
	if (!ext4_ready)
		skip(r, ext4_why);
	return ext4_ready;
}

static void ext4_write(struct result *r)
{
	int fd;

	if (!need_ext4(r))
		return;
	/* A new file: the write allocates (iomap, unwritten extents). */
	fd = open("/mnt/ext4/dio.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fail(r, "create /mnt/ext4/dio.dat");
		return;
	}
	close(fd);
	file_rw(r, "/mnt/ext4/dio.dat", true, 11, SRC_IOMAP);
}

static void ext4_read(struct result *r)
{
	if (!need_ext4(r))
		return;
	file_rw(r, "/mnt/ext4/dio.dat", false, 12, SRC_IOMAP);
}

/*
 * A 512-byte O_DIRECT write at 4608 into a new file on a 4 KiB-block fs:
 * iomap zeroes the rest of the block around it with ZERO_PAGE
 * (iomap_dio_zero). Read back: [0,4608) zero, then the 512 bytes.
 */
static void ext4_zeroing(struct result *r)
{
	const char *path = "/mnt/ext4/zero.dat";
	struct pins before;
	char *buf;
	ssize_t n;
	int fd;

	if (!need_ext4(r))
		return;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0) {
		fail(r, "create zero.dat O_DIRECT");
		return;
	}
	buf = buf_alloc(2 * PAGE);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	r->data_ok = true;
	fill(buf, 512, 4608, 13);
	/* The user page once; the zeroing writes ZERO_PAGE, never pinned. */
	io_pages(r, SRC_IOMAP, buf, 512, 1);
	measure_start(&before);
	n = pwrite(fd, buf, 512, 4608);
	measure_end(r, &before);
	if (n != 512) {
		fail(r, "512-byte O_DIRECT write at 4608");
		goto out;
	}
	memset(buf, 0xaa, 2 * PAGE);
	n = pread(fd, buf, 2 * PAGE, 0);
	if (n != 5120) {
		snprintf(r->reason, sizeof(r->reason),
			 "read back %zd bytes, want 5120 (%s)", n,
			 n < 0 ? strerror(errno) : "size");
		r->data_ok = false;
		goto out;
	}
	if (!all_zero(buf, 4608) || !check(buf + 4608, 512, 4608, 13)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason),
			 "read back differs (zeroed head or data)");
	}
	r->bytes = 512;
	snprintf(r->note, sizeof(r->note),
		 "512 B write at 4608 into a hole of a 4 KiB-block file");
out:
	buf_free(buf, 2 * PAGE);
	close(fd);
}

static bool vfat_ready;
static char vfat_why[200] = "not set up";

static void vfat_setup(void)
{
	if (mount_loop("/dev/loop1", "/images/vfat.img", "/mnt/vfat", "vfat",
		       vfat_why, sizeof(vfat_why)) == 0)
		vfat_ready = true;
}

static bool need_vfat(struct result *r)
{
	if (!vfat_ready)
		skip(r, vfat_why);
	return vfat_ready;
}

/*
 * FAT falls back to buffered I/O for O_DIRECT writes past the allocated
 * size (fat_direct_IO), so the files are written through the page cache
 * first and then overwritten with O_DIRECT (fs/direct-io.c).
 */
static void vfat_write(struct result *r)
{
	if (!need_vfat(r))
		return;
	if (prealloc("/mnt/vfat/dio.dat", FILE_BYTES, 0)) {
		fail(r, "preallocate /mnt/vfat/dio.dat");
		return;
	}
	file_rw(r, "/mnt/vfat/dio.dat", true, 21, SRC_DIO);
}

static void vfat_read(struct result *r)
{
	if (!need_vfat(r))
		return;
	file_rw(r, "/mnt/vfat/dio.dat", false, 22, SRC_DIO);
}

/*
 * An O_DIRECT write of 4 pages at 0 of a file of 0x5a bytes, from a buffer
 * whose third page is unmapped. The first get_block maps all 16 KiB (32
 * KiB clusters) and the first dio_refill_pages() gets pages 0 and 1: the
 * fault ends the extraction there. Refilled at page 2, the extraction
 * faults and, blocks still mapped, dio_refill_pages() hands out ZERO_PAGE
 * for a whole page instead (6.1 and 6.12 alike); the iterator does not
 * move, so the next refill faults again and page 3's blocks get ZERO_PAGE
 * too, until blocks_available is used up. The write returns EFAULT (or a
 * short count); on disk: the pattern in pages 0 and 1, zeroes in pages 2
 * and 3, 0x5a after them. Read back with a new O_DIRECT open, so that the
 * page cache cannot answer.
 */
#define FAULT_FILE	(64 * KiB)

/* What a page read back holds, for the note and the reasons. */
static const char *fault_page(const unsigned char *p, off_t off)
{
	size_t i;

	if (all_zero(p, PAGE))
		return "zeroes";
	if (check(p, PAGE, off, 23))
		return "the pattern written";
	for (i = 0; i < PAGE && p[i] == 0x5a; i++)
		;
	return i == PAGE ? "the old 0x5a" : "other bytes";
}

static void vfat_fault(struct result *r)
{
	const char *path = "/mnt/vfat/fault.dat";
	unsigned char *rbuf = NULL;
	struct pins before;
	size_t len, i;
	char *buf;
	ssize_t n;
	int fd, err;

	if (!need_vfat(r))
		return;
	if (prealloc(path, FAULT_FILE, 0x5a)) {
		fail(r, "preallocate fault.dat");
		return;
	}
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail(r, "open fault.dat O_DIRECT");
		return;
	}
	buf = buf_alloc(4 * PAGE);
	rbuf = buf_alloc(FAULT_FILE);
	if (!buf || !rbuf) {
		fail(r, "mmap");
		close(fd);
		buf_free(buf, 4 * PAGE);
		buf = NULL;
		goto out;
	}
	fill(buf, 4 * PAGE, 0, 23);
	munmap(buf + 2 * PAGE, PAGE);
	/*
	 * Pinned: pages 0 and 1, by the first refill (three pins each, see
	 * pins_per_page()). ZERO_PAGE takes no pin: folio_add_pin() and
	 * unpin_user_page() skip the zero folio (6.12), and 6.1 references it.
	 */
	io_pages(r, SRC_DIO, buf, 2 * PAGE, 1);
	measure_start(&before);
	n = pwrite(fd, buf, 4 * PAGE, 0);
	err = errno;
	measure_end(r, &before);
	close(fd);
	r->data_ok = true;
	if (n < 0 && err != EFAULT) {
		errno = err;
		fail(r, "O_DIRECT write with a hole");
	} else if (n >= 4 * PAGE) {
		wrong(r, "write over an unmapped page returned %zd", n);
	}
	if (n < 0)
		snprintf(r->note, sizeof(r->note), "write returned %s", strerror(err));
	else
		snprintf(r->note, sizeof(r->note),
			 "short write of %zd of %ld bytes", n, 4 * PAGE);
	r->bytes = n > 0 ? n : 0;
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || pread(fd, rbuf, FAULT_FILE, 0) != FAULT_FILE) {
		fail(r, "read back fault.dat (a new O_DIRECT open)");
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	len = strlen(r->note);
	snprintf(r->note + len, sizeof(r->note) - len,
		 "; read back: pages 0-1 %s, page 2 (unmapped) %s, page 3 %s",
		 check(rbuf, 2 * PAGE, 0, 23) ? "the pattern" : "NOT the pattern",
		 fault_page(rbuf + 2 * PAGE, 2 * PAGE), fault_page(rbuf + 3 * PAGE, 3 * PAGE));
	if (!check(rbuf, 2 * PAGE, 0, 23))
		wrong(r, "the pages before the hole differ on disk");
	else if (n > 0 && !check(rbuf, n, 0, 23))
		wrong(r, "the %zd bytes written differ on disk", n);
	if (!all_zero(rbuf + 2 * PAGE, PAGE))
		wrong(r, "ZERO_PAGE path not taken (page 2 not zeroed)");
	if (!all_zero(rbuf + 3 * PAGE, PAGE))
		wrong(r, "page 3 holds %s, want zeroes: dio_refill_pages() writes ZERO_PAGE "
		      "while blocks_available", fault_page(rbuf + 3 * PAGE, 3 * PAGE));
	for (i = 4 * PAGE; i < FAULT_FILE && rbuf[i] == 0x5a; i++)
		;
	if (i < FAULT_FILE)
		wrong(r, "byte %zu, past the 16 KiB written, is 0x%02x, not 0x5a", i, rbuf[i]);
out:
	if (buf) {
		munmap(buf, 2 * PAGE);
		munmap(buf + 3 * PAGE, PAGE);
	}
	buf_free(rbuf, FAULT_FILE);
}

/* ---- zonefs ---------------------------------------------------------- */

#define NULLB		"/dev/nullb0"
#define ZONEFS_MAGIC	0x5a4f4653
#define ZONE_BYTES	(4 * MiB)

/* The kernel's crc32(~0, ...): crc32_le, reflected, no final inversion. */
static uint32_t crc32_le(uint32_t crc, const unsigned char *p, size_t len)
{
	int i;

	while (len--) {
		crc ^= *p++;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return crc;
}

static bool zonefs_ready;
static char zonefs_why[200] = "not set up";

/*
 * Debian bookworm has no zonefs-tools (mkzonefs), so format here: the
 * 4 KiB super block (fs/zonefs/zonefs.h struct zonefs_super) goes into
 * zone 0, a conventional zone (null_blk.zone_nr_conv=1).
 */
static void zonefs_setup(void)
{
	unsigned char *sb;
	uint32_t crc;
	int fd;

	if (!wait_for(NULLB, 2000)) {
		snprintf(zonefs_why, sizeof(zonefs_why),
			 "no " NULLB " (CONFIG_BLK_DEV_NULL_BLK, null_blk.zoned=1)");
		return;
	}
	fd = open(NULLB, O_RDWR | O_DIRECT);
	if (fd < 0) {
		snprintf(zonefs_why, sizeof(zonefs_why), "open " NULLB ": %s",
			 strerror(errno));
		return;
	}
	sb = buf_alloc(PAGE);
	if (!sb) {
		close(fd);
		return;
	}
	*(uint32_t *)sb = ZONEFS_MAGIC;			/* s_magic, LE */
	memcpy(sb + 8, "pinprobe", 8);			/* s_label */
	memcpy(sb + 40, "pinprobe-zonefs!", 16);		/* s_uuid */
	crc = crc32_le(~0U, sb, PAGE);			/* with s_crc = 0 */
	memcpy(sb + 4, &crc, 4);
	if (pwrite(fd, sb, PAGE, 0) != PAGE) {
		snprintf(zonefs_why, sizeof(zonefs_why),
			 "write zonefs super block: %s", strerror(errno));
		goto out;
	}
	mkdir("/mnt/zonefs", 0755);
	if (mount(NULLB, "/mnt/zonefs", "zonefs", 0, NULL)) {
		snprintf(zonefs_why, sizeof(zonefs_why), "mount -t zonefs: %s",
			 strerror(errno));
		goto out;
	}
	zonefs_ready = true;
out:
	buf_free(sb, PAGE);
	close(fd);
}

static int zonefs_open(struct result *r, const char *path)
{
	int fd;

	if (!zonefs_ready) {
		skip(r, zonefs_why);
		return -1;
	}
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fail(r, path);
		return -1;
	}
	/* Truncating a sequential zone file to 0 resets the zone. */
	if (ftruncate(fd, 0)) {
		fail(r, "reset zone (truncate to 0)");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Appends with io_submit, one 1 MiB iocb at a time at the write pointer:
 * async writes to sequential files go through iomap_dio_rw (zonefs
 * write iomap ops), one bio of 256 pages each. Synchronous ones take
 * zonefs_file_dio_append() up to 6.4, see zonefs_append(). With r, each
 * iocb's pages are stated for fs/iomap/direct-io.c.
 */
static int zonefs_aio_write(int fd, char *buf, long len, struct result *r)
{
	struct iocb cb, *ptr = &cb;
	struct io_event ev;
	aio_context_t ctx = 0;
	long off;
	int ret = 0;

	if (sys_io_setup(1, &ctx))
		return -1;
	for (off = 0; off < len && !ret; off += CHUNK) {
		memset(&cb, 0, sizeof(cb));
		cb.aio_fildes = fd;
		cb.aio_lio_opcode = IOCB_CMD_PWRITE;
		cb.aio_buf = (uint64_t)(uintptr_t)(buf + off);
		cb.aio_nbytes = CHUNK;
		cb.aio_offset = off;
		if (r)
			io_pages(r, SRC_IOMAP, buf + off, CHUNK, 1);
		if (sys_io_submit(ctx, 1, &ptr) != 1 ||
		    sys_io_getevents(ctx, 1, 1, &ev) != 1)
			ret = -1;
		else if (ev.res != CHUNK) {
			errno = ev.res < 0 ? -ev.res : EIO;
			ret = -1;
		}
	}
	sys_io_destroy(ctx);
	return ret;
}

static void zonefs_rw(struct result *r, bool measure_write)
{
	const char *path = "/mnt/zonefs/seq/0";
	uint64_t seed = measure_write ? 31 : 32;
	struct pins before;
	void *buf;
	int fd;

	fd = zonefs_open(r, path);
	if (fd < 0)
		return;
	buf = buf_alloc(ZONE_BYTES);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	r->data_ok = true;
	fill(buf, ZONE_BYTES, 0, seed);
	if (measure_write)
		measure_start(&before);
	if (zonefs_aio_write(fd, buf, ZONE_BYTES, measure_write ? r : NULL))
		fail(r, "io_submit append");
	if (measure_write)
		measure_end(r, &before);
	memset(buf, 0, ZONE_BYTES);
	if (!measure_write)
		measure_start(&before);
	if (rw_all(fd, false, buf, ZONE_BYTES, 0, CHUNK, measure_write ? NULL : r,
		   SRC_IOMAP))
		fail(r, "O_DIRECT read");
	if (!measure_write)
		measure_end(r, &before);
	if (r->data_ok && !check(buf, ZONE_BYTES, 0, seed)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = ZONE_BYTES;
	snprintf(r->note, sizeof(r->note), "%s seq/0 (one 4 MiB zone) in 1 MiB %s",
		 measure_write ? "append to" : "read",
		 measure_write ? "io_submit calls" : "preads");
	buf_free(buf, ZONE_BYTES);
	close(fd);
}

static void zonefs_write(struct result *r)
{
	zonefs_rw(r, true);
}

static void zonefs_read(struct result *r)
{
	zonefs_rw(r, false);
}

/* /proc/uptime's first field: seconds since the kernel started. */
static const char *uptime(void)
{
	static char buf[64];
	int fd = open("/proc/uptime", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, " \n")] = '\0';
	return buf[0] ? buf : "?";
}

/* A number from a sysfs file; -1 if there is none. */
static long long sysfs_num(const char *path)
{
	char buf[64];
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * The length of zonefs-append's write: 1 MiB where zonefs writes it
 * through iomap (6.5 on), which cuts it into as many bios as it takes.
 * Up to 6.4, zonefs_file_dio_append() sends one zone append bio, which the
 * block layer may not split: it truncates the write to the device's
 * max_zone_append_sectors (with null_blk's defaults 255 sectors: no
 * null_blk.max_sectors, so BLK_SAFE_MAX_SECTORS, not the 4 MiB zone) and
 * adds no more than max_segments pages (128) that are not physically
 * contiguous; zonefs_file_dio_write() turns the short write into EIO. So
 * there it asks for what one bio carries: 124 KiB on null_blk's defaults.
 */
static size_t zonefs_append_len(void)
{
	long long max, segs;
	size_t len = CHUNK;

	if (!kernel_before(6, 5))
		return len;
	max = sysfs_num("/sys/block/nullb0/queue/zone_append_max_bytes");
	segs = sysfs_num("/sys/block/nullb0/queue/max_segments");
	if (max >= PAGE && (size_t)max < len)
		len = max / PAGE * PAGE;
	if (segs > 0 && (size_t)segs * PAGE < len)
		len = segs * PAGE;
	return len;
}

/*
 * A synchronous O_DIRECT append to a fresh sequential file. Up to 6.4 it
 * is zonefs_file_dio_append() (fs/zonefs/file.c): a zone append bio of
 * its own, nr_pages = iov_iter_npages(from, BIO_MAX_VECS) after the
 * iterator is truncated to max_zone_append_sectors, whose pages
 * bio_iov_iter_get_pages() (the 6.1 series: bio_iov_iter_pin_pages())
 * pins in one call, so each once (a page the zone append bio then refuses
 * is unpinned, not pinned again). From 6.5 on the same write goes through
 * iomap (fs/iomap/direct-io.c, one bio of 256 pages), and zonefs pins
 * nothing itself: both files are stated, the one not taken with none.
 *
 * Debian's 6.1.192 fails every such write: zonefs_file_dio_write()
 * advances z_wpoffset before zonefs_file_dio_append() checks where the
 * append landed, so it warns "Corrupted write pointer", returns EIO, and
 * zonefs's error handling remounts the file system read-only. So it runs
 * after every other scenario that uses zonefs; the pins are taken and
 * released all the same.
 */
static void zonefs_append(struct result *r)
{
	bool own_bio = kernel_before(6, 5);
	size_t len = zonefs_append_len();
	struct pins before;
	ssize_t n;
	void *buf;
	int fd, err;

	fd = zonefs_open(r, "/mnt/zonefs/seq/1");
	if (fd < 0)
		return;
	buf = buf_alloc(len);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	fill(buf, len, 0, 33);
	pages_add(r, SRC_ZONEFS, 0, 0);
	pages_add(r, SRC_IOMAP, 0, 0);
	io_pages(r, own_bio ? SRC_ZONEFS : SRC_IOMAP, buf, len, 1);
	measure_start(&before);
	n = pwrite(fd, buf, len, 0);
	err = errno;
	measure_end(r, &before);
	r->data_ok = n == (ssize_t)len;
	if (n != (ssize_t)len)
		snprintf(r->reason, sizeof(r->reason), "sync append returned %zd (%s)",
			 n, n < 0 ? strerror(err) : "short");
	memset(buf, 0, len);
	if (r->data_ok && (pread(fd, buf, len, 0) != (ssize_t)len ||
			   !check(buf, len, 0, 33))) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = len;
	snprintf(r->note, sizeof(r->note), "sync %zu KiB pwrite to seq/1 (%s)", len / KiB,
		 own_bio ? "zonefs_file_dio_append(), one zone append bio" :
		 "iomap_dio_rw()");
	buf_free(buf, len);
	close(fd);
}

/* ---- SG_IO (block/blk-map.c bio_map_user_iov) ------------------------- */

#define SD		"/dev/sda"
#define SG_BYTES	(256 * KiB)
#define SG_CMDS		4

static int sg_rw_iov(int fd, bool write_op, void *buf, int iovs, long lba, long len,
		     char *why, size_t whylen);

static int sg_rw(int fd, bool write_op, void *buf, long lba, long len,
		 char *why, size_t whylen)
{
	return sg_rw_iov(fd, write_op, buf, 0, lba, len, why, whylen);
}

/* buf: the data, or with iovs > 0 an array of that many struct sg_iovec. */
static int sg_rw_iov(int fd, bool write_op, void *buf, int iovs, long lba, long len,
		     char *why, size_t whylen)
{
	unsigned char cdb[10] = { write_op ? 0x2a : 0x28 };
	unsigned char sense[32];
	long blocks = len / 512;
	struct sg_io_hdr h;

	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	cdb[7] = blocks >> 8;
	cdb[8] = blocks;
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.dxfer_direction = write_op ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
	h.cmd_len = sizeof(cdb);
	h.cmdp = cdb;
	h.dxfer_len = len;
	h.dxferp = buf;
	h.iovec_count = iovs;
	h.mx_sb_len = sizeof(sense);
	h.sbp = sense;
	h.timeout = 20000;
	if (ioctl(fd, SG_IO, &h)) {
		snprintf(why, whylen, "SG_IO %s: %s", write_op ? "WRITE(10)" :
			 "READ(10)", strerror(errno));
		return -1;
	}
	if (h.status || h.host_status || h.driver_status || h.resid) {
		snprintf(why, whylen,
			 "SG_IO %s: status %#x host %#x driver %#x resid %d",
			 write_op ? "WRITE(10)" : "READ(10)", h.status,
			 h.host_status, h.driver_status, h.resid);
		return -1;
	}
	return 0;
}

/*
 * Page-aligned 256 KiB buffers, so blk_rq_map_user maps them, no copy:
 * bio_map_user_iov() takes each command's 64 pages, once each.
 */
static void sg_io(struct result *r)
{
	struct pins before;
	char *buf;
	int fd, i;

	if (!wait_for(SD, 5000)) {
		skip(r, "no " SD " (CONFIG_SCSI_DEBUG, CONFIG_BLK_DEV_SD)");
		return;
	}
	fd = open(SD, O_RDWR);
	if (fd < 0) {
		fail(r, "open " SD);
		return;
	}
	buf = buf_alloc(SG_CMDS * SG_BYTES);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	r->data_ok = true;
	fill(buf, SG_CMDS * SG_BYTES, 0, 41);
	measure_start(&before);
	for (i = 0; i < SG_CMDS && r->data_ok; i++) {
		io_pages(r, SRC_BLKMAP, buf + i * SG_BYTES, SG_BYTES, 1);
		if (sg_rw(fd, true, buf + i * SG_BYTES, i * SG_BYTES / 512,
			  SG_BYTES, r->reason, sizeof(r->reason)))
			r->data_ok = false;
	}
	memset(buf, 0, SG_CMDS * SG_BYTES);
	for (i = 0; i < SG_CMDS && r->data_ok; i++) {
		io_pages(r, SRC_BLKMAP, buf + i * SG_BYTES, SG_BYTES, 1);
		if (sg_rw(fd, false, buf + i * SG_BYTES, i * SG_BYTES / 512,
			  SG_BYTES, r->reason, sizeof(r->reason)))
			r->data_ok = false;
	}
	measure_end(r, &before);
	if (r->data_ok && !check(buf, SG_CMDS * SG_BYTES, 0, 41)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = 2 * SG_CMDS * SG_BYTES;
	snprintf(r->note, sizeof(r->note),
		 "%d WRITE(10) + %d READ(10) of 256 KiB on " SD, SG_CMDS, SG_CMDS);
	buf_free(buf, SG_CMDS * SG_BYTES);
	close(fd);
}

/*
 * The same-page merge of bio_map_user_iov(): one WRITE(10) and one
 * READ(10) of 4 KiB whose data is two iovec segments of 2 KiB in one page,
 * back to back. Each segment is taken on its own, so the page is taken
 * twice per command; bio_add_hw_page() merges the second into the first
 * bvec (same_page) and the caller must drop the second hold at once. Where
 * blk-map pins (6.5 on: bio_release_page()) that is 2 pins per command,
 * both released; 6.1 takes references and keeps the second one (its
 * blk-map is not converted).
 */
static void sg_io_samepage(struct result *r)
{
	struct sg_iovec iov[2];
	struct pins before;
	char *buf;
	int fd, i;

	if (!wait_for(SD, 5000)) {
		skip(r, "no " SD " (CONFIG_SCSI_DEBUG, CONFIG_BLK_DEV_SD)");
		return;
	}
	fd = open(SD, O_RDWR);
	if (fd < 0) {
		fail(r, "open " SD);
		return;
	}
	buf = buf_alloc(PAGE);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	for (i = 0; i < 2; i++) {
		iov[i].iov_base = buf + i * PAGE / 2;
		iov[i].iov_len = PAGE / 2;
	}
	r->data_ok = true;
	fill(buf, PAGE, 0, 42);
	measure_start(&before);
	/* Two holds of the one page per command. */
	pages_add(r, SRC_BLKMAP, 2, 2);
	if (sg_rw_iov(fd, true, iov, 2, 0, PAGE, r->reason, sizeof(r->reason)))
		r->data_ok = false;
	memset(buf, 0, PAGE);
	pages_add(r, SRC_BLKMAP, 2, 2);
	if (r->data_ok && sg_rw_iov(fd, false, iov, 2, 0, PAGE, r->reason, sizeof(r->reason)))
		r->data_ok = false;
	measure_end(r, &before);
	if (r->data_ok && !check(buf, PAGE, 0, 42)) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs");
	}
	r->bytes = 2 * PAGE;
	snprintf(r->note, sizeof(r->note),
		 "WRITE(10) + READ(10) of 4 KiB on " SD ", each two 2 KiB segments of one page");
	buf_free(buf, PAGE);
	close(fd);
}

/* ---- FUSE: a server of our own over /dev/fuse (fs/fuse/file.c) -------- */

/*
 * fs/fuse/file.c fuse_get_user_pages() takes the pages of the caller's
 * buffer for a direct read or write, and fuse_release_user_pages() lets
 * them go once the server has answered. That is the path of a file the
 * server opens with FOPEN_DIRECT_IO (fuse_direct_read_iter() and
 * fuse_direct_write_iter()) and of an O_DIRECT open of a file it opens
 * normally (a_ops->direct_IO, fuse_direct_IO(); asynchronous for io_submit
 * with FUSE_ASYNC_DIO).
 *
 * The server is a child of the probe: it mounts nothing itself, reads the
 * requests from /dev/fuse and answers them from RAM it shares with the
 * probe, so every scenario checks both what reached the server and what
 * reads back. Buffers and file offsets are unaligned, and the sizes odd.
 */
#define FUSE_DIR	"/mnt/fuse"
#define FUSE_NFILES	4
#define FUSE_CAP	(4 * MiB)	/* the most a file holds */
#define FUSE_MAX_WRITE	(128 * KiB)	/* so one call makes several requests */
#define FUSE_BUFSZ	(FUSE_MAX_WRITE + 64 * KiB)
#define FUSE_IO_BYTES	(MiB + 4099)
#define FUSE_OFF	777		/* file offset of the scenarios' data */

struct fuse_ram {
	uint64_t size[FUSE_NFILES];
	unsigned char data[FUSE_NFILES][FUSE_CAP];
};

/* name, open flags; nodeid = index + 2. fio's files start full. */
static const struct {
	const char *name;
	uint32_t open_flags;
	bool full;
} fuse_files[FUSE_NFILES] = {
	{ "direct", FOPEN_DIRECT_IO, false },
	{ "cached", 0, false },
	{ "fio-direct", FOPEN_DIRECT_IO, true },
	{ "fio-cached", 0, true },
};

static struct fuse_ram *fuse_ram;
static bool fuse_ready;
static char fuse_why[200] = "not set up";
static pid_t fuse_pid;

static void fuse_reply(int fd, uint64_t unique, int error, const void *arg,
		       size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + (error ? 0 : len),
		.error = -error,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ &out, sizeof(out) },
		{ (void *)arg, len },
	};

	if (writev(fd, iov, error || !len ? 1 : 2) < 0 && errno != ENOENT)
		dprintf(2, "pinprobe: fuse server: reply %llu: %s\n",
			(unsigned long long)unique, strerror(errno));
}

static void fuse_attr_of(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->blksize = PAGE;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
		return;
	}
	a->mode = S_IFREG | 0644;
	a->nlink = 1;
	a->size = fuse_ram->size[ino - 2];
	a->blocks = (a->size + 511) / 512;
}

static bool fuse_file_ino(uint64_t ino)
{
	return ino >= 2 && ino < 2 + FUSE_NFILES;
}

static void fuse_init_reply(int fd, uint64_t unique, const struct fuse_init_in *in)
{
	struct fuse_init_out out;

	memset(&out, 0, sizeof(out));
	out.major = FUSE_KERNEL_VERSION;
	out.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor :
		FUSE_KERNEL_MINOR_VERSION;
	out.max_readahead = in->max_readahead;
	out.flags = in->flags & (FUSE_ASYNC_READ | FUSE_BIG_WRITES |
				 FUSE_ASYNC_DIO | FUSE_MAX_PAGES);
	out.max_background = 16;
	out.congestion_threshold = 12;
	out.max_write = FUSE_MAX_WRITE;
	out.max_pages = FUSE_MAX_WRITE / PAGE;
	out.time_gran = 1;
	fuse_reply(fd, unique, 0, &out, sizeof(out));
}

static void fuse_handle(int fd, const struct fuse_in_header *in, const void *arg)
{
	union {
		struct fuse_entry_out entry;
		struct fuse_attr_out attr;
		struct fuse_open_out open;
		struct fuse_write_out write;
		struct fuse_statfs_out statfs;
	} out;
	uint64_t ino = in->nodeid;
	int i;

	memset(&out, 0, sizeof(out));
	switch (in->opcode) {
	case FUSE_INIT:
		fuse_init_reply(fd, in->unique, arg);
		return;
	case FUSE_LOOKUP:
		for (i = 0; i < FUSE_NFILES; i++)
			if (ino == FUSE_ROOT_ID && !strcmp(arg, fuse_files[i].name))
				break;
		if (i == FUSE_NFILES) {
			fuse_reply(fd, in->unique, ENOENT, NULL, 0);
			return;
		}
		out.entry.nodeid = i + 2;
		out.entry.entry_valid = 3600;
		fuse_attr_of(&out.entry.attr, i + 2);
		fuse_reply(fd, in->unique, 0, &out.entry, sizeof(out.entry));
		return;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		if (in->opcode == FUSE_SETATTR && fuse_file_ino(ino)) {
			const struct fuse_setattr_in *sa = arg;

			if (sa->valid & FATTR_SIZE) {
				uint64_t *size = &fuse_ram->size[ino - 2];

				if (sa->size > FUSE_CAP) {
					fuse_reply(fd, in->unique, EFBIG, NULL, 0);
					return;
				}
				if (sa->size > *size)
					memset(fuse_ram->data[ino - 2] + *size, 0,
					       sa->size - *size);
				*size = sa->size;
			}
		}
		fuse_attr_of(&out.attr.attr, ino);
		fuse_reply(fd, in->unique, 0, &out.attr, sizeof(out.attr));
		return;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		if (fuse_file_ino(ino))
			out.open.open_flags = fuse_files[ino - 2].open_flags;
		out.open.fh = ino;
		fuse_reply(fd, in->unique, 0, &out.open, sizeof(out.open));
		return;
	case FUSE_READ: {
		const struct fuse_read_in *rd = arg;
		uint64_t size, len;

		if (!fuse_file_ino(ino)) {
			fuse_reply(fd, in->unique, EISDIR, NULL, 0);
			return;
		}
		size = fuse_ram->size[ino - 2];
		len = rd->offset >= size ? 0 : size - rd->offset;
		if (len > rd->size)
			len = rd->size;
		fuse_reply(fd, in->unique, 0, fuse_ram->data[ino - 2] + rd->offset, len);
		return;
	}
	case FUSE_WRITE: {
		const struct fuse_write_in *wr = arg;
		uint64_t *size;

		if (!fuse_file_ino(ino) || wr->offset + wr->size > FUSE_CAP) {
			fuse_reply(fd, in->unique, EFBIG, NULL, 0);
			return;
		}
		size = &fuse_ram->size[ino - 2];
		if (wr->offset > *size)
			memset(fuse_ram->data[ino - 2] + *size, 0, wr->offset - *size);
		memcpy(fuse_ram->data[ino - 2] + wr->offset, wr + 1, wr->size);
		if (wr->offset + wr->size > *size)
			*size = wr->offset + wr->size;
		out.write.size = wr->size;
		fuse_reply(fd, in->unique, 0, &out.write, sizeof(out.write));
		return;
	}
	case FUSE_STATFS:
		out.statfs.st.blocks = FUSE_NFILES * FUSE_CAP / PAGE;
		out.statfs.st.bsize = PAGE;
		out.statfs.st.frsize = PAGE;
		out.statfs.st.namelen = 255;
		out.statfs.st.files = FUSE_NFILES;
		fuse_reply(fd, in->unique, 0, &out.statfs, sizeof(out.statfs));
		return;
	case FUSE_READDIR:	/* empty: nobody lists it */
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNC:
	case FUSE_DESTROY:
		fuse_reply(fd, in->unique, 0, NULL, 0);
		return;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		return;		/* no answer */
	default:
		fuse_reply(fd, in->unique, ENOSYS, NULL, 0);
	}
}

static void fuse_serve(int fd)
{
	char *buf = malloc(FUSE_BUFSZ);
	ssize_t n;

	if (!buf)
		_exit(1);
	for (;;) {
		n = read(fd, buf, FUSE_BUFSZ);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
			continue;	/* ENOENT: a request interrupted */
		if (n < 0)
			_exit(errno == ENODEV ? 0 : 1);	/* ENODEV: unmounted */
		if ((size_t)n < sizeof(struct fuse_in_header))
			_exit(1);
		fuse_handle(fd, (struct fuse_in_header *)buf,
			    buf + sizeof(struct fuse_in_header));
	}
}

static void fuse_setup(void)
{
	char opts[128];
	struct stat st;
	int fd, i;

	fuse_ram = mmap(NULL, sizeof(*fuse_ram), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fuse_ram == MAP_FAILED) {
		snprintf(fuse_why, sizeof(fuse_why), "mmap: %s", strerror(errno));
		return;
	}
	for (i = 0; i < FUSE_NFILES; i++)
		fuse_ram->size[i] = fuse_files[i].full ? FUSE_CAP : 0;
	if (!wait_for("/dev/fuse", 2000)) {
		snprintf(fuse_why, sizeof(fuse_why), "no /dev/fuse (CONFIG_FUSE_FS)");
		return;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(fuse_why, sizeof(fuse_why), "open /dev/fuse: %s", strerror(errno));
		return;
	}
	mkdir(FUSE_DIR, 0755);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,"
		 "max_read=%ld", fd, FUSE_MAX_WRITE);
	/* INIT is answered by the server: mount does not wait for it. */
	if (mount("pinprobe", FUSE_DIR, "fuse", MS_NOSUID | MS_NODEV, opts)) {
		snprintf(fuse_why, sizeof(fuse_why), "mount -t fuse: %s", strerror(errno));
		close(fd);
		return;
	}
	fuse_pid = fork();
	if (fuse_pid == 0)
		fuse_serve(fd);
	close(fd);
	if (fuse_pid < 0 || stat(FUSE_DIR "/direct", &st)) {
		snprintf(fuse_why, sizeof(fuse_why), "fuse server: %s", strerror(errno));
		return;
	}
	fuse_ready = true;
}

static void fuse_teardown(void)
{
	int status;

	if (!fuse_pid)
		return;
	/* The server's read ends with ENODEV, and it exits. */
	umount2(FUSE_DIR, MNT_DETACH);
	if (fuse_pid > 0 && waitpid(fuse_pid, &status, 0) == fuse_pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		plog("fuse server ended with status 0x%x", status);
	fuse_pid = 0;
}

/* A byte pattern by file position, for unaligned offsets and sizes. */
static unsigned char pat_byte(uint64_t seed, uint64_t pos)
{
	return pattern_word(seed, pos / 8) >> (pos % 8 * 8);
}

static void bfill(unsigned char *buf, size_t len, off_t off, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat_byte(seed, off + i);
}

/* The first byte that differs from the pattern, or -1. */
static long bcheck(const unsigned char *buf, size_t len, off_t off, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pat_byte(seed, off + i))
			return i;
	return -1;
}

static bool need_fuse(struct result *r)
{
	if (!fuse_ready)
		skip(r, fuse_why);
	return fuse_ready;
}

/* What the server holds at [off, off + len) of file i is the pattern. */
static void fuse_check_server(struct result *r, int i, off_t off, size_t len,
			      uint64_t seed)
{
	long bad;

	if (!r->data_ok)
		return;
	if (fuse_ram->size[i] < off + len) {
		snprintf(r->reason, sizeof(r->reason), "server's %s has %llu bytes, want %llu",
			 fuse_files[i].name, (unsigned long long)fuse_ram->size[i],
			 (unsigned long long)(off + len));
		r->data_ok = false;
		return;
	}
	bad = bcheck(fuse_ram->data[i] + off, len, off, seed);
	if (bad >= 0) {
		snprintf(r->reason, sizeof(r->reason), "server's %s differs at byte %ld",
			 fuse_files[i].name, (long)(off + bad));
		r->data_ok = false;
	}
}

/*
 * Write (or read) FUSE_IO_BYTES at FUSE_OFF of file i from a buffer at
 * page offset 5 (3 for reads), in calls of chunk bytes; opened with
 * O_DIRECT if odirect. The other direction is done, unmeasured, to set
 * up or check.
 *
 * fuse_direct_io() cuts a call into requests of at most max_write
 * (max_read) bytes and max_pages pages (128 KiB, 32 pages here), whose
 * pages fuse_get_user_pages() takes: a request of 128 KiB that does not
 * start on a page boundary needs 33 pages, so it stops at the end of the
 * 32nd; every cut falls on a page boundary and each page of a call is
 * pinned once.
 */
static void fuse_rw(struct result *r, int i, bool odirect, bool measure_write,
		    size_t chunk, uint64_t seed)
{
	size_t alloc = FUSE_IO_BYTES + 2 * PAGE;
	unsigned char *mem, *buf;
	char path[64];
	struct pins before;
	long bad;
	int fd;

	if (!need_fuse(r))
		return;
	snprintf(path, sizeof(path), FUSE_DIR "/%s", fuse_files[i].name);
	fd = open(path, O_RDWR | (odirect ? O_DIRECT : 0));
	if (fd < 0) {
		fail(r, odirect ? "open O_DIRECT" : "open");
		return;
	}
	mem = buf_alloc(alloc);
	if (!mem) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	r->data_ok = true;
	buf = mem + (measure_write ? 5 : 3);
	bfill(buf, FUSE_IO_BYTES, FUSE_OFF, seed);
	if (measure_write)
		measure_start(&before);
	if (rw_all(fd, true, buf, FUSE_IO_BYTES, FUSE_OFF, chunk, measure_write ? r : NULL,
		   SRC_FUSE))
		fail(r, "write");
	if (measure_write)
		measure_end(r, &before);
	fuse_check_server(r, i, FUSE_OFF, FUSE_IO_BYTES, seed);
	memset(mem, 0, alloc);
	if (!measure_write)
		measure_start(&before);
	if (rw_all(fd, false, buf, FUSE_IO_BYTES, FUSE_OFF, chunk, measure_write ? NULL : r,
		   SRC_FUSE))
		fail(r, "read");
	if (!measure_write)
		measure_end(r, &before);
	bad = bcheck(buf, FUSE_IO_BYTES, FUSE_OFF, seed);
	if (r->data_ok && bad >= 0) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason), "read back differs at byte %ld",
			 FUSE_OFF + bad);
	}
	r->bytes = FUSE_IO_BYTES;
	snprintf(r->note, sizeof(r->note),
		 "%s %ld B at offset %d of %s%s, buffer at page offset %d, %zu B calls",
		 measure_write ? "write" : "read", (long)FUSE_IO_BYTES, FUSE_OFF,
		 fuse_files[i].open_flags & FOPEN_DIRECT_IO ? "a FOPEN_DIRECT_IO file" :
		 "a cached file", odirect ? " opened O_DIRECT" : "",
		 measure_write ? 5 : 3, chunk);
	buf_free(mem, alloc);
	close(fd);
}

static void fuse_direct_write(struct result *r)
{
	fuse_rw(r, 0, false, true, 300007, 51);
}

static void fuse_direct_read(struct result *r)
{
	fuse_rw(r, 0, false, false, 131071, 52);
}

static void fuse_odirect_write(struct result *r)
{
	fuse_rw(r, 1, true, true, 300007, 53);
}

static void fuse_odirect_read(struct result *r)
{
	fuse_rw(r, 1, true, false, 131071, 54);
}

/*
 * io_submit on both files opened O_DIRECT, inside what the scenarios
 * above wrote (so no write extends the file and none has to wait):
 * fuse_direct_IO() sends the requests in the background and releases the
 * pages as each answer comes (fuse_aio_complete_req()).
 */
#define FUSE_AIO_NR	8

static void fuse_aio(struct result *r)
{
	size_t len = 65536 + 1001, alloc = FUSE_AIO_NR * (len + PAGE);
	struct iocb cbs[FUSE_AIO_NR], *ptrs[FUSE_AIO_NR];
	struct io_event ev[FUSE_AIO_NR];
	aio_context_t ctx = 0;
	struct pins before;
	unsigned char *mem;
	int fds[2], k, pass, got;

	if (!need_fuse(r))
		return;
	fds[0] = open(FUSE_DIR "/direct", O_RDWR | O_DIRECT);
	fds[1] = open(FUSE_DIR "/cached", O_RDWR | O_DIRECT);
	mem = buf_alloc(alloc);
	if (fds[0] < 0 || fds[1] < 0 || !mem || sys_io_setup(FUSE_AIO_NR, &ctx)) {
		fail(r, "open, mmap or io_setup");
		goto out;
	}
	r->data_ok = true;
	measure_start(&before);
	for (pass = 0; pass < 2 && r->data_ok; pass++) {
		memset(cbs, 0, sizeof(cbs));
		for (k = 0; k < FUSE_AIO_NR; k++) {
			unsigned char *buf = mem + k * (len + PAGE) + 11 + k;
			off_t off = FUSE_OFF + 13 + k * (len + 100);

			if (pass == 0)
				bfill(buf, len, off, 55 + k % 2);
			else
				memset(buf, 0, len);
			cbs[k].aio_fildes = fds[k % 2];
			cbs[k].aio_lio_opcode = pass ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE;
			cbs[k].aio_buf = (uint64_t)(uintptr_t)buf;
			cbs[k].aio_nbytes = len;
			cbs[k].aio_offset = off;
			ptrs[k] = &cbs[k];
			/* One request each (18 pages at most). */
			io_pages(r, SRC_FUSE, buf, len, 1);
		}
		if (sys_io_submit(ctx, FUSE_AIO_NR, ptrs) != FUSE_AIO_NR) {
			fail(r, "io_submit");
			break;
		}
		for (got = 0; got < FUSE_AIO_NR; ) {
			long n = sys_io_getevents(ctx, 1, FUSE_AIO_NR - got, ev);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fail(r, "io_getevents");
				break;
			}
			for (k = 0; k < n; k++) {
				if (ev[k].res != (int64_t)len && r->data_ok) {
					snprintf(r->reason, sizeof(r->reason),
						 "%s returned %lld", pass ? "read" : "write",
						 (long long)ev[k].res);
					r->data_ok = false;
				}
			}
			got += n;
		}
	}
	measure_end(r, &before);
	for (k = 0; k < FUSE_AIO_NR && r->data_ok; k++) {
		off_t off = FUSE_OFF + 13 + k * (len + 100);

		fuse_check_server(r, k % 2, off, len, 55 + k % 2);
		if (r->data_ok &&
		    bcheck(mem + k * (len + PAGE) + 11 + k, len, off, 55 + k % 2) >= 0) {
			snprintf(r->reason, sizeof(r->reason), "read back of iocb %d differs", k);
			r->data_ok = false;
		}
	}
	r->bytes = 2 * FUSE_AIO_NR * len;
	snprintf(r->note, sizeof(r->note),
		 "io_submit %d writes then %d reads of %zu B, unaligned, on both files "
		 "opened O_DIRECT", FUSE_AIO_NR, FUSE_AIO_NR, len);
out:
	if (ctx)
		sys_io_destroy(ctx);
	buf_free(mem, alloc);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

/* ---- io_uring, raw: what the ublk server and its client need ---------- */

struct uring {
	int fd;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	unsigned char *sqes;
	size_t sqe_size, sq_len, cq_len, sqes_len;
	void *sq_ring, *cq_ring;
	unsigned int pending;
};

static int uring_init(struct uring *u, unsigned int entries, unsigned int flags)
{
	struct io_uring_params p;

	memset(u, 0, sizeof(*u));
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	u->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (u->fd < 0)
		return -1;
	u->sqe_size = flags & IORING_SETUP_SQE128 ? 128 : 64;
	u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	u->sqes_len = p.sq_entries * u->sqe_size;
	u->sq_ring = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQ_RING);
	u->cq_ring = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
	if (u->sq_ring == MAP_FAILED || u->cq_ring == MAP_FAILED ||
	    u->sqes == MAP_FAILED) {
		close(u->fd);
		u->fd = -1;
		return -1;
	}
	u->sq_head = (unsigned int *)((char *)u->sq_ring + p.sq_off.head);
	u->sq_tail = (unsigned int *)((char *)u->sq_ring + p.sq_off.tail);
	u->sq_mask = (unsigned int *)((char *)u->sq_ring + p.sq_off.ring_mask);
	u->sq_array = (unsigned int *)((char *)u->sq_ring + p.sq_off.array);
	u->cq_head = (unsigned int *)((char *)u->cq_ring + p.cq_off.head);
	u->cq_tail = (unsigned int *)((char *)u->cq_ring + p.cq_off.tail);
	u->cq_mask = (unsigned int *)((char *)u->cq_ring + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)((char *)u->cq_ring + p.cq_off.cqes);
	return 0;
}

static void uring_exit(struct uring *u)
{
	if (u->fd < 0)
		return;
	munmap(u->sqes, u->sqes_len);
	munmap(u->cq_ring, u->cq_len);
	munmap(u->sq_ring, u->sq_len);
	close(u->fd);
	u->fd = -1;
}

/* The next submission entry, zeroed; the caller fills it. */
static struct io_uring_sqe *uring_sqe(struct uring *u)
{
	unsigned int tail = *u->sq_tail, idx = tail & *u->sq_mask;
	struct io_uring_sqe *sqe = (void *)(u->sqes + idx * u->sqe_size);

	memset(sqe, 0, u->sqe_size);
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	u->pending++;
	return sqe;
}

/* Submit what is pending and wait for at least wait completions. */
static int uring_enter(struct uring *u, unsigned int wait)
{
	int ret;

	do {
		ret = syscall(__NR_io_uring_enter, u->fd, u->pending, wait,
			      wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
	} while (ret < 0 && errno == EINTR);
	if (ret >= 0)
		u->pending -= ret < (int)u->pending ? ret : (int)u->pending;
	return ret < 0 ? -1 : 0;
}

static bool uring_cqe(struct uring *u, struct io_uring_cqe *cqe)
{
	unsigned int head = *u->cq_head;

	if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
		return false;
	*cqe = u->cqes[head & *u->cq_mask];
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	return true;
}

/* Submit one entry and wait for its completion: its result. */
static int uring_run(struct uring *u, long *res)
{
	struct io_uring_cqe cqe;

	if (uring_enter(u, 1))
		return -1;
	while (!uring_cqe(u, &cqe))
		if (uring_enter(u, 1))
			return -1;
	*res = cqe.res;
	return 0;
}

/* ---- ublk: a server of our own (drivers/block/ublk_drv.c) --------------- */

/*
 * The ublk uapi as include/uapi/linux/ublk_cmd.h of Linux 6.12 has it:
 * the probe is built against the host's headers (Debian bookworm: 6.1,
 * without the ioctl-encoded commands), so the definitions it uses are
 * copied here.
 */
struct ublksrv_ctrl_cmd {
	__u32	dev_id;
	__u16	queue_id;
	__u16	len;
	__u64	addr;
	__u64	data[1];
	__u16	dev_path_len;
	__u16	pad;
	__u32	reserved;
};

struct ublksrv_ctrl_dev_info {
	__u16	nr_hw_queues;
	__u16	queue_depth;
	__u16	state;
	__u16	pad0;
	__u32	max_io_buf_bytes;
	__u32	dev_id;
	__s32	ublksrv_pid;
	__u32	pad1;
	__u64	flags;
	__u64	ublksrv_flags;
	__u32	owner_uid;
	__u32	owner_gid;
	__u64	reserved1;
	__u64	reserved2;
};

struct ublksrv_io_desc {
	__u32	op_flags;
	__u32	nr_sectors;
	__u64	start_sector;
	__u64	addr;
};

struct ublksrv_io_cmd {
	__u16	q_id;
	__u16	tag;
	__s32	result;
	__u64	addr;
};

struct ublk_param_basic {
	__u32	attrs;
	__u8	logical_bs_shift;
	__u8	physical_bs_shift;
	__u8	io_opt_shift;
	__u8	io_min_shift;
	__u32	max_sectors;
	__u32	chunk_sectors;
	__u64	dev_sectors;
	__u64	virt_boundary_mask;
};

struct ublk_params {
	__u32	len;
	__u32	types;
	struct ublk_param_basic basic;
};

#define UBLK_PARAM_TYPE_BASIC		(1 << 0)
#define UBLK_U_CMD_ADD_DEV		_IOWR('u', 0x04, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_DEL_DEV		_IOWR('u', 0x05, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_START_DEV		_IOWR('u', 0x06, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_STOP_DEV		_IOWR('u', 0x07, struct ublksrv_ctrl_cmd)
#define UBLK_U_CMD_SET_PARAMS		_IOWR('u', 0x08, struct ublksrv_ctrl_cmd)
#define UBLK_U_IO_FETCH_REQ		_IOWR('u', 0x20, struct ublksrv_io_cmd)
#define UBLK_U_IO_COMMIT_AND_FETCH_REQ	_IOWR('u', 0x21, struct ublksrv_io_cmd)
#define UBLK_IO_OP_READ			0
#define UBLK_IO_OP_WRITE		1
#define UBLK_IO_OP_FLUSH		2
#define UBLK_IO_RES_ABORT		(-ENODEV)
#define UBLKSRV_CMD_BUF_OFFSET		0

/*
 * Without UBLK_F_USER_COPY the driver copies each request's data between
 * its bio pages and the server's buffer for that tag, in the server's
 * task: a write before the server sees it (ublk_map_io()), a read when
 * the server commits it (ublk_unmap_io()). Both take the server buffer's
 * pages in ublk_copy_user_pages(), the function the 6.12 series converts.
 *
 * The server is a child of the probe, one queue of UBLK_DEPTH tags,
 * serving UBLK_BYTES of RAM shared with the probe. The probe's own I/O
 * to /dev/ublkbN is O_DIRECT from io_uring registered buffers: their
 * pages were pinned when registered, so block/fops.c takes none per I/O
 * (6.12's takes pins for user buffers) and what the counters show is the
 * copy of ublk_drv.c alone.
 */
#define UBLK_DEPTH	4
#define UBLK_BUF	(512 * KiB)	/* max_io_buf_bytes, per tag */
#define UBLK_BYTES	(16 * MiB)

static unsigned char *ublk_ram;
static bool ublk_ready;
static char ublk_why[200] = "not set up";
static char ublk_path[32];
static struct uring ublk_ctl = { .fd = -1 };
static int ublk_ctl_fd = -1;
static __u32 ublk_id;
static pid_t ublk_pid;

static int ublk_ctrl(__u32 op, void *buf, __u16 len, __u64 data0, long *res)
{
	struct io_uring_sqe *sqe = uring_sqe(&ublk_ctl);
	struct ublksrv_ctrl_cmd *c = (void *)sqe->cmd;

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = ublk_ctl_fd;
	sqe->cmd_op = op;
	c->dev_id = ublk_id;
	c->queue_id = (__u16)-1;
	c->addr = (uintptr_t)buf;
	c->len = len;
	c->data[0] = data0;
	return uring_run(&ublk_ctl, res);
}

static void ublk_queue_cmd(struct uring *u, int cfd, __u32 op, int tag,
			   int result, void *buf)
{
	struct io_uring_sqe *sqe = uring_sqe(u);
	struct ublksrv_io_cmd *c = (void *)sqe->cmd;

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = cfd;
	sqe->cmd_op = op;
	sqe->user_data = tag;
	c->q_id = 0;
	c->tag = tag;
	c->result = result;
	c->addr = (uintptr_t)buf;
}

/* The server: fetch, serve from RAM, commit and fetch, until aborted. */
static int ublk_serve(void)
{
	const struct ublksrv_io_desc *descs;
	size_t dlen = (UBLK_DEPTH * sizeof(*descs) + PAGE - 1) & ~(PAGE - 1);
	struct io_uring_cqe cqe;
	char path[32];
	struct uring u;
	unsigned char *bufs;
	int cfd, tag;

	snprintf(path, sizeof(path), "/dev/ublkc%u", ublk_id);
	if (!wait_for(path, 2000) || (cfd = open(path, O_RDWR)) < 0)
		return 10;
	descs = mmap(NULL, dlen, PROT_READ, MAP_SHARED | MAP_POPULATE, cfd,
		     UBLKSRV_CMD_BUF_OFFSET);
	bufs = buf_alloc(UBLK_DEPTH * UBLK_BUF);
	if (descs == MAP_FAILED || !bufs || uring_init(&u, 2 * UBLK_DEPTH, IORING_SETUP_SQE128))
		return 11;
	for (tag = 0; tag < UBLK_DEPTH; tag++)
		ublk_queue_cmd(&u, cfd, UBLK_U_IO_FETCH_REQ, tag, 0, bufs + tag * UBLK_BUF);
	for (;;) {
		if (uring_enter(&u, 1))
			return 12;
		while (uring_cqe(&u, &cqe)) {
			const struct ublksrv_io_desc *d;
			unsigned char *buf, *ram;
			size_t off, len;
			int res;

			if (cqe.res == UBLK_IO_RES_ABORT)
				return 0;	/* the device is stopping */
			if (cqe.res < 0)
				return 13;
			tag = cqe.user_data;
			d = &descs[tag];
			buf = bufs + tag * UBLK_BUF;
			off = d->start_sector * 512;
			len = (size_t)d->nr_sectors * 512;
			ram = ublk_ram + off;
			res = len;
			if (off + len > UBLK_BYTES || len > UBLK_BUF)
				res = -EIO;
			else if ((d->op_flags & 0xff) == UBLK_IO_OP_READ)
				memcpy(buf, ram, len);
			else if ((d->op_flags & 0xff) == UBLK_IO_OP_WRITE)
				memcpy(ram, buf, len);
			else if ((d->op_flags & 0xff) == UBLK_IO_OP_FLUSH)
				res = 0;
			else
				res = -EOPNOTSUPP;
			ublk_queue_cmd(&u, cfd, UBLK_U_IO_COMMIT_AND_FETCH_REQ, tag, res, buf);
		}
	}
}

static void ublk_setup(void)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	long res;

	if (!wait_for("/dev/ublk-control", 1000)) {
		snprintf(ublk_why, sizeof(ublk_why),
			 "no /dev/ublk-control (CONFIG_BLK_DEV_UBLK)");
		return;
	}
	ublk_ram = mmap(NULL, UBLK_BYTES, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ublk_ctl_fd = open("/dev/ublk-control", O_RDWR);
	if (ublk_ram == MAP_FAILED || ublk_ctl_fd < 0 ||
	    uring_init(&ublk_ctl, 4, IORING_SETUP_SQE128)) {
		snprintf(ublk_why, sizeof(ublk_why), "ublk-control, mmap or io_uring: %s",
			 strerror(errno));
		return;
	}
	memset(&info, 0, sizeof(info));
	info.nr_hw_queues = 1;
	info.queue_depth = UBLK_DEPTH;
	info.max_io_buf_bytes = UBLK_BUF;
	info.dev_id = ublk_id = (__u32)-1;
	if (ublk_ctrl(UBLK_U_CMD_ADD_DEV, &info, sizeof(info), 0, &res) || res) {
		snprintf(ublk_why, sizeof(ublk_why), "ADD_DEV: %s",
			 strerror(res < 0 ? -res : errno));
		return;
	}
	ublk_id = info.dev_id;
	memset(&params, 0, sizeof(params));
	params.len = sizeof(params);
	params.types = UBLK_PARAM_TYPE_BASIC;
	params.basic.logical_bs_shift = 9;
	params.basic.physical_bs_shift = 12;
	params.basic.io_opt_shift = 12;
	params.basic.io_min_shift = 9;
	params.basic.max_sectors = UBLK_BUF >> 9;
	params.basic.dev_sectors = UBLK_BYTES >> 9;
	if (ublk_ctrl(UBLK_U_CMD_SET_PARAMS, &params, sizeof(params), 0, &res) || res) {
		snprintf(ublk_why, sizeof(ublk_why), "SET_PARAMS: %s",
			 strerror(res < 0 ? -res : errno));
		return;
	}
	ublk_pid = fork();
	if (ublk_pid == 0)
		_exit(ublk_serve());
	/* Waits until the server has fetched on every tag, then adds the disk. */
	if (ublk_pid < 0 || ublk_ctrl(UBLK_U_CMD_START_DEV, NULL, 0, ublk_pid, &res) || res) {
		snprintf(ublk_why, sizeof(ublk_why), "START_DEV: %s",
			 strerror(res < 0 ? -res : errno));
		return;
	}
	snprintf(ublk_path, sizeof(ublk_path), "/dev/ublkb%u", ublk_id);
	if (!wait_for(ublk_path, 2000)) {
		snprintf(ublk_why, sizeof(ublk_why), "no %s after START_DEV", ublk_path);
		return;
	}
	ublk_ready = true;
}

static void ublk_teardown(void)
{
	int status, i;
	long res;

	if (ublk_ctl.fd < 0 || ublk_id == (__u32)-1)
		return;
	if (ublk_ctrl(UBLK_U_CMD_STOP_DEV, NULL, 0, 0, &res) || res)
		plog("ublk STOP_DEV: %ld", res);
	/* The server's commands end with UBLK_IO_RES_ABORT: it exits. */
	for (i = 0; ublk_pid > 0 && i < 200; i++) {
		if (waitpid(ublk_pid, &status, WNOHANG) == ublk_pid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				plog("ublk server ended with status 0x%x", status);
			ublk_pid = 0;
			break;
		}
		sleep_ms(10);
	}
	if (ublk_pid > 0) {
		plog("ublk server still running after STOP_DEV: killed");
		kill(ublk_pid, SIGKILL);
		waitpid(ublk_pid, &status, 0);
	}
	if (ublk_ctrl(UBLK_U_CMD_DEL_DEV, NULL, 0, 0, &res) || res)
		plog("ublk DEL_DEV: %ld", res);
	uring_exit(&ublk_ctl);
}

/*
 * The pins of a measured I/O of len bytes on the ublk device. block/fops.c
 * takes none: a registered buffer is an ITER_BVEC, a kernel iterator. The
 * server's copy (ublk_copy_user_pages(), at most UBLK_MAX_PIN_PAGES a
 * time) pins the pages of its tag's buffer that the request's bytes
 * cover: that buffer is page-aligned, so ceil(bytes / 4 KiB); more only
 * where the block layer splits the I/O into requests (max_sectors, here
 * UBLK_BUF), each of which starts at the start of a buffer.
 */
static void ublk_pages(struct result *r, size_t len)
{
	long long pages = (len + PAGE - 1) / PAGE;
	long long requests = (len + UBLK_BUF - 1) / UBLK_BUF;

	pages_add(r, SRC_FOPS, 0, 0);
	pages_add(r, SRC_UBLK, pages, pages + requests - 1);
}

/*
 * O_DIRECT I/O of len bytes at dev_off to or from ublk at buffer offset
 * buf_off of the one registered buffer, in calls of chunk bytes; with r,
 * measured: each call's pins are stated.
 */
static int ublk_fixed_rw(struct uring *u, int fd, bool write_op, size_t buf_off,
			 off_t dev_off, size_t len, size_t chunk, struct result *r)
{
	size_t done;
	long res;

	for (done = 0; done < len; done += chunk) {
		struct io_uring_sqe *sqe = uring_sqe(u);
		size_t n = len - done < chunk ? len - done : chunk;

		sqe->opcode = write_op ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED;
		sqe->fd = fd;
		sqe->addr = buf_off + done;	/* made absolute by the caller */
		sqe->len = n;
		sqe->off = dev_off + done;
		sqe->buf_index = 0;
		if (r)
			ublk_pages(r, n);
		if (uring_run(u, &res))
			return -1;
		if (res != (long)n) {
			errno = res < 0 ? -res : EIO;
			return -1;
		}
	}
	return 0;
}

#define UBLK_IO_BYTES	(2 * MiB + 7 * 512)
#define UBLK_IO_OFF	(3 * 512)	/* a sector, not a page, offset */
#define UBLK_CHUNK	(320 * KiB + 512)

static void ublk_rw(struct result *r, bool measure_write, uint64_t seed)
{
	size_t alloc = UBLK_IO_BYTES + 2 * PAGE, buf_off = 512;
	unsigned char *mem = NULL;
	struct uring u = { .fd = -1 };
	struct pins before;
	struct iovec iov;
	long bad;
	int fd;

	if (!ublk_ready) {
		skip(r, ublk_why);
		return;
	}
	fd = open(ublk_path, O_RDWR | O_DIRECT);
	mem = buf_alloc(alloc);
	if (fd < 0 || !mem || uring_init(&u, 4, 0)) {
		fail(r, "open O_DIRECT, mmap or io_uring");
		goto out;
	}
	iov.iov_base = mem;
	iov.iov_len = alloc;
	/* Registering pins the buffer: before the measurement, as unregistering. */
	if (syscall(__NR_io_uring_register, u.fd, IORING_REGISTER_BUFFERS, &iov, 1)) {
		fail(r, "IORING_REGISTER_BUFFERS");
		goto out;
	}
	r->data_ok = true;
	bfill(mem + buf_off, UBLK_IO_BYTES, UBLK_IO_OFF, seed);
	if (measure_write)
		measure_start(&before);
	if (ublk_fixed_rw(&u, fd, true, (uintptr_t)mem + buf_off, UBLK_IO_OFF,
			  UBLK_IO_BYTES, UBLK_CHUNK, measure_write ? r : NULL))
		fail(r, "WRITE_FIXED");
	if (measure_write)
		measure_end(r, &before);
	bad = bcheck(ublk_ram + UBLK_IO_OFF, UBLK_IO_BYTES, UBLK_IO_OFF, seed);
	if (r->data_ok && bad >= 0) {
		snprintf(r->reason, sizeof(r->reason), "the server's RAM differs at byte %ld",
			 UBLK_IO_OFF + bad);
		r->data_ok = false;
	}
	memset(mem, 0, alloc);
	if (!measure_write)
		measure_start(&before);
	if (ublk_fixed_rw(&u, fd, false, (uintptr_t)mem + buf_off, UBLK_IO_OFF,
			  UBLK_IO_BYTES, UBLK_CHUNK, measure_write ? NULL : r))
		fail(r, "READ_FIXED");
	if (!measure_write)
		measure_end(r, &before);
	bad = bcheck(mem + buf_off, UBLK_IO_BYTES, UBLK_IO_OFF, seed);
	if (r->data_ok && bad >= 0) {
		snprintf(r->reason, sizeof(r->reason), "read back differs at byte %ld",
			 UBLK_IO_OFF + bad);
		r->data_ok = false;
	}
	syscall(__NR_io_uring_register, u.fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
	r->bytes = UBLK_IO_BYTES;
	snprintf(r->note, sizeof(r->note),
		 "%s %ld B at offset %ld of %s in %ld B calls, O_DIRECT from a registered "
		 "buffer at page offset %zu",
		 measure_write ? "WRITE_FIXED" : "READ_FIXED", (long)UBLK_IO_BYTES,
		 (long)UBLK_IO_OFF, ublk_path, (long)UBLK_CHUNK, buf_off);
out:
	uring_exit(&u);
	buf_free(mem, alloc);
	if (fd >= 0)
		close(fd);
}

static void ublk_write(struct result *r)
{
	ublk_rw(r, true, 61);
}

static void ublk_read(struct result *r)
{
	ublk_rw(r, false, 62);
}

/* ---- fio: a peer's workload on every Direct-I/O path ------------------ */

/*
 * Debian's fio, dynamically linked, runs from the initramfs with the
 * libraries ldd names (boot.py fio_files()). One fio run per path,
 * measured like the probe's own scenarios: O_DIRECT, verify=crc32c (every
 * block written is read back and checked, verify_fatal), sub-page, page
 * and mixed block sizes, buffers off page alignment, psync, libaio and
 * io_uring; on fuse also odd sizes, offsets and buffer addresses. fio's
 * verdict is its exit status, each job's error and that it read back as
 * much as it wrote.
 */
#define FIO		"/usr/bin/fio"
#define FIO_VERDICT	"pinprobe-fio-verdict"
#define FIO_ENV_LIBS	"LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:" \
			"/usr/lib/x86_64-linux-gnu/ceph"
#define FIO_GLOBAL	"[global]\ndirect=1\nverify=crc32c\nverify_fatal=1\n" \
			"verify_state_save=0\n"

/* Sector-aligned sizes and offsets: block devices, ext4, vfat. */
static const char *fio_block_jobs(const char *file)
{
	static char text[1024];

	snprintf(text, sizeof(text), FIO_GLOBAL "filename=%s\noverwrite=1\n"
		 "[bs512-psync]\nrw=randwrite\nbs=512\nsize=256k\nioengine=psync\n"
		 "[bs4k-libaio]\nstonewall\nrw=randwrite\nbs=4k\nsize=1m\noffset=1m\n"
		 "ioengine=libaio\niodepth=8\nmem_align=512\n"
		 "[bs512-128k-io_uring]\nstonewall\nrw=randwrite\nbsrange=512-128k\n"
		 "size=2m\noffset=2m\nioengine=io_uring\niodepth=4\n", file);
	return text;
}

static int write_file(const char *path, const char *text, int flags);
static long read_all(int fd, char *buf, size_t size);

static long long json_num(const char *p, const char *key, const char *end)
{
	const char *q = strstr(p, key);

	if (!q || (end && q > end))
		return -1;
	return atoll(q + strlen(key));
}

/*
 * The pins of a fio run, from its JSON: per job and direction, total_ios
 * I/Os of io_bytes in all (the verify phase's reads are among the reads),
 * and what the job's options make of the buffers. fio gives each of a
 * job's iodepth io_u a buffer of its own, io_u i at page + mem_align +
 * i * max_bs (direct=1: page-aligned; backend.c init_io_u_buffers()), and
 * sizes an I/O at a multiple of the smallest bs unless bs_unaligned. Keep
 * this table in step with the job files below; a job not in it states no
 * pages for its run.
 */
struct fio_job {
	const char *name;
	long min_bs, max_bs;	/* the same: a fixed bs */
	long gran;		/* I/O sizes are multiples of it (1: bs_unaligned) */
	long mem_align;
	int iodepth;
	long ba;		/* file offsets are multiples of it */
};

static const struct fio_job fio_jobs[] = {
	/* fio_block_jobs(): fio-blk, fio-ext4, fio-vfat, fio-ublk */
	{ "bs512-psync", 512, 512, 512, 0, 1, 512 },
	{ "bs4k-libaio", 4096, 4096, 4096, 512, 8, 4096 },
	{ "bs512-128k-io_uring", 512, 131072, 512, 0, 4, 512 },
	/* fio_zonefs() */
	{ "bs512-libaio", 512, 512, 512, 0, 1, 512 },
	{ "bs64k-io_uring", 65536, 65536, 65536, 512, 1, 65536 },
	/* fio_fuse() */
	{ "bs1000-psync-direct", 1000, 1000, 1, 3, 1, 1000 },
	{ "bs512-70000-io_uring-cached", 512, 70000, 1, 3, 4, 1 },
	{ "bs64k-libaio-cached", 65536, 65536, 65536, 5, 4, 65536 },
	/* fio_nfs() */
	{ "bs1000-psync", 1000, 1000, 1, 3, 1, 1000 },
	{ "bs512-70000-libaio", 512, 70000, 1, 5, 4, 1 },
	{ "bs4k-64k-io_uring", 4096, 65536, 4096, 0, 4, 4096 },
};

/* How a file pins a fio job's I/O. */
enum fio_model {
	FIO_SPAN,	/* each I/O's pages once: block/fops.c, iomap, fuse */
	FIO_DIO,	/* fs/direct-io.c: three per page, and cluster splits */
	FIO_NFS,	/* fs/nfs/direct.c: again where a piece starts mid-page */
	FIO_UBLK,	/* ublk_drv.c: the server's page-aligned copy per request */
};

struct fio_pins {
	const char *file;	/* NULL: no more */
	enum fio_model model;
};

static const struct {
	const char *scenario;
	struct fio_pins pins[3];
} fio_scenarios[] = {
	{ "fio-blk", { { SRC_FOPS, FIO_SPAN } } },
	{ "fio-ext4", { { SRC_IOMAP, FIO_SPAN } } },
	{ "fio-vfat", { { SRC_DIO, FIO_DIO } } },
	{ "fio-zonefs", { { SRC_IOMAP, FIO_SPAN } } },
	{ "fio-fuse", { { SRC_FUSE, FIO_SPAN } } },
	{ "fio-ublk", { { SRC_FOPS, FIO_SPAN }, { SRC_UBLK, FIO_UBLK } } },
	{ "fio-nfs", { { SRC_NFS, FIO_NFS } } },
};

static const struct fio_pins *fio_pins_of(const char *scenario)
{
	size_t i;

	for (i = 0; i < sizeof(fio_scenarios) / sizeof(fio_scenarios[0]); i++)
		if (!strcmp(fio_scenarios[i].scenario, scenario))
			return fio_scenarios[i].pins;
	return NULL;
}

static long long div_up(long long a, long long b)
{
	return (a + b - 1) / b;
}

#define VFAT_CLUSTER	(32 * KiB)	/* boot.py make_images(): mkfs.vfat -s 64 -S 512 */
#define NFS_PIECE	16384L		/* rsize and wsize: NFS_IOSIZE */

/*
 * The pins one direction of job j takes through a file of model m: n I/Os
 * of b bytes in all, into [*lo, *hi].
 */
static void fio_dir_pins(const struct fio_job *j, enum fio_model m, long long n,
			 long long b, long long *lo, long long *hi)
{
	long omin = PAGE, omax = 0, g = j->gran;
	bool fixed = j->min_bs == j->max_bs && b == n * j->min_bs;
	long long slo, shi, x;
	int i;

	*lo = *hi = 0;
	if (n <= 0 || b <= 0)
		return;
	for (i = 0; i < j->iodepth; i++) {
		long o = (j->mem_align + i * j->max_bs) % PAGE;

		omin = o < omin ? o : omin;
		omax = o > omax ? o : omax;
		if (o % g)
			g = 1;
	}
	if (PAGE % g)
		g = 1;
	/*
	 * The pages the I/Os' buffers span: an I/O of s bytes at page offset
	 * o spans ceil((o + s) / 4 KiB), at most (o + s + 4 KiB - g) / 4 KiB
	 * when o + s is a multiple of g.
	 */
	if (fixed) {
		slo = n * div_up(omin + j->min_bs, PAGE);
		shi = n * div_up(omax + j->min_bs, PAGE);
	} else {
		slo = div_up(b + n * omin, PAGE);
		slo = slo > n ? slo : n;
		shi = (b + n * (omax + PAGE - g)) / PAGE;
		x = n * div_up(omax + j->max_bs, PAGE);
		shi = shi < x ? shi : x;
	}
	switch (m) {
	case FIO_SPAN:
		*lo = slo;
		*hi = shi;
		break;
	case FIO_DIO:
		/*
		 * Three per page (pins_per_page()), and two more where a page
		 * takes two sections (a cur_page each): where a 32 KiB cluster
		 * boundary falls inside a page of the buffer and the clusters
		 * are not contiguous on disk (at most ceil(s / 32 KiB) in an
		 * I/O of s bytes). It cannot inside an I/O of at most ba bytes,
		 * nor with file offsets 4 KiB-aligned and the buffer too or the
		 * I/O no larger than a page.
		 */
		*lo = 3 * slo;
		*hi = 3 * shi;
		x = j->max_bs <= j->ba ||
		    (j->ba % PAGE == 0 && (omax == 0 || j->max_bs <= PAGE)) ? 0 :
		    (b + n * (VFAT_CLUSTER - 1)) / VFAT_CLUSTER;
		*hi += 2 * x;
		break;
	case FIO_NFS:
		/*
		 * Pieces of NFS_PIECE bytes (nfs_pages()): each after an
		 * I/O's first pins its first page again, unless the buffer is
		 * page-aligned (then every cut is on a page boundary).
		 */
		*lo = slo;
		*hi = shi;
		if (omax == 0)
			break;
		if (fixed) {
			x = n * (div_up(j->min_bs, NFS_PIECE) - 1);
			*lo += omin ? x : 0;
			*hi += x;
		} else {
			x = div_up(b, NFS_PIECE) - n;
			*lo += omin && x > 0 ? x : 0;
			x = (b + n * (NFS_PIECE - 1)) / NFS_PIECE;
			if (x > n * div_up(j->max_bs, NFS_PIECE))
				x = n * div_up(j->max_bs, NFS_PIECE);
			*hi += x - n;
		}
		break;
	case FIO_UBLK:
		/*
		 * ceil(bytes / 4 KiB) per request, from the server's
		 * page-aligned buffer (ublk_pages()); a request is an I/O,
		 * or several merged where more than one is in flight (never
		 * split: max_sectors is 512 KiB), which can only save pages.
		 */
		if (j->gran % PAGE == 0) {
			*lo = *hi = b / PAGE;
		} else if (fixed && j->iodepth == 1) {
			*lo = *hi = n * div_up(j->min_bs, PAGE);
		} else {
			g = PAGE % j->gran ? 1 : j->gran;
			*lo = div_up(b, PAGE);
			if (j->iodepth == 1 && *lo < n)
				*lo = n;
			*hi = (b + n * (PAGE - g)) / PAGE;
			x = n * div_up(j->max_bs, PAGE);
			*hi = *hi < x ? *hi : x;
		}
		break;
	}
}

/* The job of fio_jobs named name, or NULL. */
static const struct fio_job *fio_job_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(fio_jobs) / sizeof(fio_jobs[0]); i++)
		if (!strcmp(fio_jobs[i].name, name))
			return &fio_jobs[i];
	return NULL;
}

/*
 * fio's verdict from its exit status, its JSON output and its log; with
 * pins (the files its scenario pins through), the pages its I/O must pin.
 */
static void fio_verdict(struct result *r, int status, const char *json_path,
			const char *log_path, long ms, const struct fio_pins *pins)
{
	static char json[1 << 18], log[4096];
	long long err, rd, wr, rn, wn, read_total = 0, write_total = 0;
	long long lo[3] = { 0 }, hi[3] = { 0 }, l, h;
	const char *p, *next, *v, *rdo, *wro;
	char version[32] = "fio";
	int fd, i, jobs = 0;
	bool stated = pins != NULL;

	json[0] = log[0] = '\0';
	fd = open(json_path, O_RDONLY);
	if (fd >= 0) {
		read_all(fd, json, sizeof(json));
		close(fd);
	}
	fd = open(log_path, O_RDONLY);
	if (fd >= 0) {
		read_all(fd, log, sizeof(log));
		close(fd);
	}
	v = strstr(json, "\"fio version\" : \"");
	if (v)
		sscanf(v + 17, "%31[^\"]", version);
	r->data_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	for (p = strstr(json, "\"jobname\" : \""); p; p = next) {
		char name[64] = "";

		next = strstr(p + 1, "\"jobname\" : \"");
		sscanf(p + 13, "%63[^\"]", name);
		jobs++;
		err = json_num(p, "\"error\" : ", next);
		rdo = strstr(p, "\"read\" : {") ?: p;
		wro = strstr(p, "\"write\" : {") ?: p;
		rd = json_num(rdo, "\"io_bytes\" : ", next);
		wr = json_num(wro, "\"io_bytes\" : ", next);
		rn = json_num(rdo, "\"total_ios\" : ", next);
		wn = json_num(wro, "\"total_ios\" : ", next);
		for (i = 0; stated && pins[i].file; i++) {
			const struct fio_job *j = fio_job_of(name);

			if (!j) {
				plog("%s: fio job %s not in fio_jobs: no pages stated", r->name,
				     name);
				stated = false;
				break;
			}
			fio_dir_pins(j, pins[i].model, rn, rd, &l, &h);
			lo[i] += l;
			hi[i] += h;
			fio_dir_pins(j, pins[i].model, wn, wr, &l, &h);
			lo[i] += l;
			hi[i] += h;
		}
		if (r->data_ok && (err || rd < wr || wr <= 0)) {
			snprintf(r->reason, sizeof(r->reason),
				 "fio job %s: error %lld, wrote %lld B, verified %lld B",
				 name, err, wr, rd);
			r->data_ok = false;
		}
		read_total += rd > 0 ? rd : 0;
		write_total += wr > 0 ? wr : 0;
	}
	if (r->data_ok && !jobs) {
		snprintf(r->reason, sizeof(r->reason), "no jobs in fio's JSON output");
		r->data_ok = false;
	}
	if (!r->data_ok && !r->reason[0]) {
		char *nl;

		/* fio's own message: the first line of its log. */
		for (p = log; *p && isspace((unsigned char)*p); p++)
			;
		nl = strchr(p, '\n');
		snprintf(r->reason, sizeof(r->reason), "fio status 0x%x: %.*s", status,
			 (int)(nl ? nl - p : (long)strlen(p)), p);
	}
	r->bytes = read_total + write_total;
	for (i = 0; stated && jobs && pins[i].file; i++)
		pages_add(r, pins[i].file, lo[i], hi[i]);
	if (r->data_ok)
		snprintf(r->fio, sizeof(r->fio),
			 "pass: %s, %d jobs, err=0, %lld KiB written, %lld KiB read back "
			 "and verified (crc32c), %ld ms", version, jobs, write_total / KiB,
			 read_total / KiB, ms);
	else
		snprintf(r->fio, sizeof(r->fio), "FAIL: %s", r->reason);
}

/* Run fio on the job file text; pins measured across the whole run. */
static void fio_run(struct result *r, const char *what, const char *jobs)
{
	char job[64], out[64], log[64], arg[80];
	char *argv[] = { "fio", "--output-format=json", arg, job, NULL };
	char *envp[] = { FIO_ENV_LIBS, "PATH=/usr/bin:/bin", "HOME=/tmp", NULL };
	struct timespec t0, t1;
	struct pins before;
	int status = 0, fd;
	pid_t pid;

	if (access(FIO, X_OK)) {
		skip(r, "no " FIO " in the initramfs (Debian's fio, boot.py fio_files())");
		return;
	}
	mkdir("/tmp", 01777);
	snprintf(job, sizeof(job), "/tmp/%s.fio", r->name);
	snprintf(out, sizeof(out), "/tmp/%s.json", r->name);
	snprintf(log, sizeof(log), "/tmp/%s.log", r->name);
	snprintf(arg, sizeof(arg), "--output=%s", out);
	if (write_file(job, jobs, O_CREAT | O_TRUNC)) {
		fail(r, "write the fio job file");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	measure_start(&before);
	pid = fork();
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		chdir("/tmp");
		execve(FIO, argv, envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		fail(r, "fork or waitpid fio");
		return;
	}
	measure_end(r, &before);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fio_verdict(r, status, out, log, (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000, fio_pins_of(r->name));
	snprintf(r->note, sizeof(r->note), "fio on %s", what);
}

static void fio_blk(struct result *r)
{
	if (!wait_for(RAM, 2000)) {
		skip(r, "no " RAM " (CONFIG_BLK_DEV_RAM, brd.rd_nr=1)");
		return;
	}
	fio_run(r, RAM " (block/fops.c)", fio_block_jobs(RAM));
}

static void fio_ext4(struct result *r)
{
	if (need_ext4(r))
		fio_run(r, "/mnt/ext4/fio.dat (iomap)", fio_block_jobs("/mnt/ext4/fio.dat"));
}

static void fio_vfat(struct result *r)
{
	/* fio lays the file out first: the O_DIRECT writes do not extend it. */
	if (need_vfat(r))
		fio_run(r, "/mnt/vfat/fio.dat (fs/direct-io.c)",
			fio_block_jobs("/mnt/vfat/fio.dat"));
}

/*
 * Sequential files take writes at their write pointer only: appends
 * (file_append) with one I/O in flight, asynchronous so that they go
 * through iomap (up to 6.4 a synchronous one is zonefs_file_dio_append(),
 * zonefs-append's, which 6.1.192 breaks, see zonefs_append()).
 */
static void fio_zonefs(struct result *r)
{
	if (!zonefs_ready) {
		skip(r, zonefs_why);
		return;
	}
	fio_run(r, "/mnt/zonefs/seq/2 and seq/3 (iomap, appends)",
		FIO_GLOBAL "rw=write\nfile_append=1\niodepth=1\nallow_file_create=0\n"
		"[bs512-libaio]\nfilename=/mnt/zonefs/seq/2\nbs=512\nsize=256k\n"
		"ioengine=libaio\n"
		"[bs64k-io_uring]\nstonewall\nfilename=/mnt/zonefs/seq/3\nbs=64k\n"
		"size=2m\nioengine=io_uring\nmem_align=512\n");
}

/* The ublk device: block/fops.c (user buffers) and ublk_drv.c's copy. */
static void fio_ublk(struct result *r)
{
	char what[64];

	if (!ublk_ready) {
		skip(r, ublk_why);
		return;
	}
	snprintf(what, sizeof(what), "%s (block/fops.c and ublk_drv.c)", ublk_path);
	fio_run(r, what, fio_block_jobs(ublk_path));
}

/* Odd sizes, offsets and buffer addresses: fuse takes any. */
static void fio_fuse(struct result *r)
{
	if (!need_fuse(r))
		return;
	fio_run(r, FUSE_DIR "/fio-direct (FOPEN_DIRECT_IO) and fio-cached (O_DIRECT)",
		FIO_GLOBAL "overwrite=1\nallow_file_create=0\n"
		"[bs1000-psync-direct]\nfilename=" FUSE_DIR "/fio-direct\nrw=write\n"
		"bs=1000\nbs_unaligned=1\nmem_align=3\nsize=256k\nioengine=psync\n"
		"[bs512-70000-io_uring-cached]\nstonewall\nfilename=" FUSE_DIR "/fio-cached\n"
		"rw=randwrite\nbsrange=512-70000\nbs_unaligned=1\nmem_align=3\nsize=1m\n"
		"ioengine=io_uring\niodepth=4\n"
		"[bs64k-libaio-cached]\nstonewall\nfilename=" FUSE_DIR "/fio-cached\n"
		"rw=randwrite\nbs=64k\nmem_align=5\nsize=1m\noffset=2m\nioengine=libaio\n"
		"iodepth=4\n");
}

/* ---- NFS: the kernel's own server and client over loopback ------------ */

/*
 * fs/nfs/direct.c takes the pages of an O_DIRECT read's or write's user
 * buffer and hands them to the nfs_page requests (nfs_create_request())
 * that the READ and WRITE RPCs carry, one per rsize/wsize piece and page
 * span (subrequests); the last nfs_release_request() of each lets its
 * pages go (fs/nfs/pagelist.c nfs_clear_request()).
 *
 * The guest serves a tmpfs with its own nfsd and mounts it over loopback:
 * NFSv4 only, so no rpcbind, lockd or mountd; the probe writes the three
 * export caches mountd would answer (auth.unix.ip: 127.0.0.1 is domain
 * "pinprobe"; nfsd.fh: its fsid 0 is NFS_EXPORT; nfsd.export: NFS_EXPORT
 * is exported rw, no_root_squash, fsid=0), starts the threads through
 * /proc/fs/nfsd and ends the grace period at once. rsize and wsize are
 * NFS_IOSIZE, so a call spans several RPCs and subrequests.
 */
#define NFS_EXPORT	"/srv/nfs"
#define NFS_DIR		"/mnt/nfs"
#define NFS_IOSIZE	16384L
#define NFS_DOMAIN	"pinprobe"
/* NFSEXP_INSECURE_PORT | NFSEXP_NOSUBTREECHECK | NFSEXP_FSID */
#define NFS_EXPFLAGS	(0x2 | 0x400 | 0x2000)

static bool nfs_ready;
static char nfs_why[200] = "not set up";
static char nfs_vers[8];

/* Whether /proc/filesystems lists fs (as a whole word). */
static bool have_fs(const char *fs)
{
	char line[128], name[64];
	FILE *f = fopen("/proc/filesystems", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "nodev %63s", name) == 1 ? !strcmp(name, fs) :
			sscanf(line, "%63s", name) == 1 && !strcmp(name, fs);
	fclose(f);
	return found;
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

/* One line into a sunrpc cache's channel, as mountd answers an upcall. */
static int nfs_cache(const char *cache, const char *line)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/net/rpc/%s/channel", cache);
	return write_file(path, line, 0);
}

static void nfs_setup(void)
{
	static const char *const vers[] = { "4.2", "4.1", "4" };
	long long expiry = (long long)time(NULL) + 10LL * 365 * 86400;
	char line[256], opts[256];
	struct stat st, root;
	size_t i;

	if (!have_fs("nfsd") || !have_fs("nfs4")) {
		snprintf(nfs_why, sizeof(nfs_why), "no %s (CONFIG_NFSD, CONFIG_NFSD_V4, "
			 "CONFIG_NFS_V4)", have_fs("nfsd") ? "nfs4 client" : "nfsd");
		return;
	}
	if (loopback_up()) {
		snprintf(nfs_why, sizeof(nfs_why), "lo up: %s", strerror(errno));
		return;
	}
	mkdir("/srv", 0755);
	mkdir(NFS_EXPORT, 0755);
	mkdir(NFS_DIR, 0755);
	if (mount("pinprobe-nfs", NFS_EXPORT, "tmpfs", 0, "mode=0777")) {
		snprintf(nfs_why, sizeof(nfs_why), "mount tmpfs on " NFS_EXPORT ": %s",
			 strerror(errno));
		return;
	}
	if (mount("nfsd", "/proc/fs/nfsd", "nfsd", 0, NULL)) {
		snprintf(nfs_why, sizeof(nfs_why), "mount nfsd: %s", strerror(errno));
		return;
	}
	/* NFSv4 only (no rpcbind, no lockd); -2 fails where v2 is not built. */
	write_file("/proc/fs/nfsd/versions", "-2\n", 0);
	if (write_file("/proc/fs/nfsd/versions", "-3\n", 0) ||
	    write_file("/proc/fs/nfsd/portlist", "tcp 2049\n", 0) ||
	    write_file("/proc/fs/nfsd/threads", "4\n", 0)) {
		snprintf(nfs_why, sizeof(nfs_why), "start nfsd (versions, portlist, "
			 "threads): %s", strerror(errno));
		return;
	}
	snprintf(line, sizeof(line), "nfsd 127.0.0.1 %lld " NFS_DOMAIN "\n", expiry);
	if (nfs_cache("auth.unix.ip", line)) {
		snprintf(nfs_why, sizeof(nfs_why), "auth.unix.ip: %s", strerror(errno));
		return;
	}
	/* fsid type 1 (FSID_NUM), fsid 0: the NFSv4 pseudo root. */
	snprintf(line, sizeof(line), NFS_DOMAIN " 1 \\x00000000 %lld " NFS_EXPORT "\n",
		 expiry);
	if (nfs_cache("nfsd.fh", line)) {
		snprintf(nfs_why, sizeof(nfs_why), "nfsd.fh: %s", strerror(errno));
		return;
	}
	snprintf(line, sizeof(line), NFS_DOMAIN " " NFS_EXPORT " %lld %d 65534 65534 0\n",
		 expiry, NFS_EXPFLAGS);
	if (nfs_cache("nfsd.export", line)) {
		snprintf(nfs_why, sizeof(nfs_why), "nfsd.export: %s", strerror(errno));
		return;
	}
	if (write_file("/proc/fs/nfsd/v4_end_grace", "Y\n", 0))
		plog("nfs: v4_end_grace: %s (the first OPENs wait for the grace period)",
		     strerror(errno));
	for (i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		snprintf(opts, sizeof(opts), "vers=%s,addr=127.0.0.1,clientaddr=127.0.0.1,"
			 "rsize=%ld,wsize=%ld,soft,timeo=100,retrans=2", vers[i],
			 NFS_IOSIZE, NFS_IOSIZE);
		if (!mount("127.0.0.1:/", NFS_DIR, "nfs4", 0, opts))
			break;
		plog("nfs: mount vers=%s: %s", vers[i], strerror(errno));
	}
	if (i == sizeof(vers) / sizeof(vers[0])) {
		snprintf(nfs_why, sizeof(nfs_why), "mount -t nfs4 127.0.0.1:/: %s",
			 strerror(errno));
		return;
	}
	if (stat(NFS_DIR, &st) || stat(NFS_EXPORT, &root) || st.st_dev == root.st_dev) {
		snprintf(nfs_why, sizeof(nfs_why), "%s is not the NFS mount", NFS_DIR);
		return;
	}
	snprintf(nfs_vers, sizeof(nfs_vers), "%s", vers[i]);
	nfs_ready = true;
}

static void nfs_teardown(void)
{
	if (!nfs_ready)
		return;
	if (umount(NFS_DIR))
		plog("nfs: umount " NFS_DIR ": %s", strerror(errno));
	write_file("/proc/fs/nfsd/threads", "0\n", 0);
	nfs_ready = false;
}

static bool need_nfs(struct result *r)
{
	if (!nfs_ready)
		skip(r, nfs_why);
	return nfs_ready;
}

/*
 * The calls of a scenario: file offset, length and the buffer's offset in
 * its page; none page aligned, the last two span several RPCs. One more
 * call is vectored: NFS_VEC segments from buffers at odd page offsets.
 */
static const struct {
	long off, len, boff;
} nfs_calls[] = {
	{ 777, 3, 5 },
	{ 5 * PAGE + 1, PAGE + 1, 4095 },
	{ 64 * KiB - 100, 3 * NFS_IOSIZE + 333, 7 },
	{ 300 * KiB + 13, 256 * KiB + 4099, 1 },
};
#define NFS_VEC		3
#define NFS_VEC_OFF	(700 * KiB + 3)
static const long nfs_vec_len[NFS_VEC] = { 1000, 3 * PAGE + 17, NFS_IOSIZE + 5 };
#define NFS_VEC_BOFF(k)	(11 + 1000 * (k))
#define NFS_FILE_BYTES	(MiB + 4321)
/* A read across the end of the file: it returns NFS_SHORT bytes. */
#define NFS_SHORT	5000L

static long nfs_vec_total(void)
{
	long n = 0;
	int k;

	for (k = 0; k < NFS_VEC; k++)
		n += nfs_vec_len[k];
	return n;
}

/*
 * The pins of a measured O_DIRECT call (or iovec segment) of len bytes
 * from or to buf on the NFS mount. nfs_direct_{read,write}_schedule_iovec()
 * take the buffer's pages in pieces of at most rsize/wsize bytes
 * (NFS_IOSIZE, a multiple of the page size), one iovec segment at a time,
 * and hand each page of a piece to an nfs_page that owns its pin: a piece
 * after the first starts where the last ended, in the middle of a page
 * unless the buffer is page-aligned, and pins that page again. A read
 * pins all it asks for, also what lies past the end of the file.
 */
static void nfs_pages(struct result *r, const void *buf, size_t len)
{
	long long n = span_pages(buf, len);

	if (len && (uintptr_t)buf % PAGE)
		n += (len + NFS_IOSIZE - 1) / NFS_IOSIZE - 1;
	pages_add(r, SRC_NFS, n, n);
}

/* Whether the server's file holds the pattern at [off, off + len). */
static bool nfs_check_server(struct result *r, const char *name, long off, long len,
			     uint64_t seed)
{
	char path[64];
	unsigned char *b = malloc(len);
	long bad = -1;
	int fd;

	snprintf(path, sizeof(path), NFS_EXPORT "/%s", name);
	fd = open(path, O_RDONLY);
	if (!b || fd < 0 || pread(fd, b, len, off) != len) {
		fail(r, "read the server's file");
	} else if ((bad = bcheck(b, len, off, seed)) >= 0) {
		snprintf(r->reason, sizeof(r->reason), "server's %s differs at byte %ld",
			 name, off + bad);
		r->data_ok = false;
	}
	if (fd >= 0)
		close(fd);
	free(b);
	return bad < 0 && r->data_ok;
}

/*
 * The calls of nfs_calls (and the vectored one) on fd, each from (into)
 * its own buffer, filled with (checked against) the pattern; pins are
 * counted across the calls, not the checks. Returns bytes moved.
 */
static long nfs_calls_rw(struct result *r, int fd, bool write_op, uint64_t seed,
			 bool measure)
{
	size_t alloc = 2 * MiB;
	unsigned char *mem = buf_alloc(alloc), *p;
	struct iovec iov[NFS_VEC];
	struct pins before;
	long done = 0, bad;
	size_t i;
	int k;

	if (!mem) {
		fail(r, "mmap");
		return 0;
	}
	/* Each call's buffer: its own pages, at its own page offset. */
	for (p = mem, i = 0; i < sizeof(nfs_calls) / sizeof(nfs_calls[0]); i++) {
		if (write_op)
			bfill(p + nfs_calls[i].boff, nfs_calls[i].len, nfs_calls[i].off, seed);
		p += (nfs_calls[i].boff + nfs_calls[i].len + PAGE) / PAGE * PAGE;
	}
	for (k = 0; k < NFS_VEC; k++) {
		iov[k].iov_base = p + NFS_VEC_BOFF(k);
		iov[k].iov_len = nfs_vec_len[k];
		p += (NFS_VEC_BOFF(k) + nfs_vec_len[k] + PAGE) / PAGE * PAGE;
	}
	for (k = 0; write_op && k < NFS_VEC; k++) {
		long off = NFS_VEC_OFF;
		int j;

		for (j = 0; j < k; j++)
			off += nfs_vec_len[j];
		bfill(iov[k].iov_base, nfs_vec_len[k], off, seed);
	}
	if (measure)
		measure_start(&before);
	for (p = mem, i = 0; i < sizeof(nfs_calls) / sizeof(nfs_calls[0]); i++) {
		unsigned char *b = p + nfs_calls[i].boff;
		ssize_t n;

		if (measure)
			nfs_pages(r, b, nfs_calls[i].len);
		n = write_op ? pwrite(fd, b, nfs_calls[i].len, nfs_calls[i].off)
			     : pread(fd, b, nfs_calls[i].len, nfs_calls[i].off);
		if (n != nfs_calls[i].len) {
			if (n >= 0)
				errno = EIO;
			fail(r, write_op ? "pwrite" : "pread");
		} else {
			done += n;
		}
		p += (nfs_calls[i].boff + nfs_calls[i].len + PAGE) / PAGE * PAGE;
	}
	for (k = 0; measure && k < NFS_VEC; k++)
		nfs_pages(r, iov[k].iov_base, iov[k].iov_len);
	if ((write_op ? pwritev(fd, iov, NFS_VEC, NFS_VEC_OFF)
		      : preadv(fd, iov, NFS_VEC, NFS_VEC_OFF)) != nfs_vec_total()) {
		fail(r, write_op ? "pwritev" : "preadv");
	} else {
		done += nfs_vec_total();
	}
	if (measure)
		measure_end(r, &before);
	if (!write_op && r->data_ok) {
		for (p = mem, i = 0; i < sizeof(nfs_calls) / sizeof(nfs_calls[0]); i++) {
			bad = bcheck(p + nfs_calls[i].boff, nfs_calls[i].len,
				     nfs_calls[i].off, seed);
			if (bad >= 0 && r->data_ok) {
				snprintf(r->reason, sizeof(r->reason),
					 "read back differs at byte %ld", nfs_calls[i].off + bad);
				r->data_ok = false;
			}
			p += (nfs_calls[i].boff + nfs_calls[i].len + PAGE) / PAGE * PAGE;
		}
		for (k = 0; k < NFS_VEC && r->data_ok; k++) {
			long off = NFS_VEC_OFF;
			int j;

			for (j = 0; j < k; j++)
				off += nfs_vec_len[j];
			bad = bcheck(iov[k].iov_base, nfs_vec_len[k], off, seed);
			if (bad >= 0) {
				snprintf(r->reason, sizeof(r->reason),
					 "preadv back differs at byte %ld", off + bad);
				r->data_ok = false;
			}
		}
	}
	buf_free(mem, alloc);
	return done;
}

/* Every call's range of the server's file holds the pattern. */
static void nfs_check_calls(struct result *r, const char *name, uint64_t seed)
{
	size_t i;

	for (i = 0; i < sizeof(nfs_calls) / sizeof(nfs_calls[0]) && r->data_ok; i++)
		nfs_check_server(r, name, nfs_calls[i].off, nfs_calls[i].len, seed);
	if (r->data_ok)
		nfs_check_server(r, name, NFS_VEC_OFF, nfs_vec_total(), seed);
}

static int nfs_open(struct result *r, const char *name, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), NFS_DIR "/%s", name);
	fd = open(path, flags | O_DIRECT, 0644);
	if (fd < 0)
		fail(r, "open O_DIRECT on NFS");
	return fd;
}

/* O_DIRECT writes through the mount; checked on the server and read back. */
static void nfs_direct_write(struct result *r)
{
	int fd;

	if (!need_nfs(r))
		return;
	fd = nfs_open(r, "direct-write.dat", O_RDWR | O_CREAT | O_TRUNC);
	if (fd < 0)
		return;
	r->data_ok = true;
	r->bytes = nfs_calls_rw(r, fd, true, 61, true);
	nfs_check_calls(r, "direct-write.dat", 61);
	if (r->data_ok)
		nfs_calls_rw(r, fd, false, 61, false);	/* O_DIRECT read back */
	close(fd);
	snprintf(r->note, sizeof(r->note), "NFSv%s over loopback, wsize %ld: %zu pwrite "
		 "(3 B to 260 KiB, odd offsets and buffers) and a %d-segment pwritev; "
		 "checked on the server's tmpfs and read back O_DIRECT", nfs_vers,
		 NFS_IOSIZE, sizeof(nfs_calls) / sizeof(nfs_calls[0]), NFS_VEC);
}

/* The server writes the file; O_DIRECT reads through the mount. */
static void nfs_direct_read(struct result *r)
{
	unsigned char *mem, *big;
	struct pins before;
	ssize_t n;
	int fd, sfd;

	if (!need_nfs(r))
		return;
	big = malloc(NFS_FILE_BYTES);
	sfd = open(NFS_EXPORT "/direct-read.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!big || sfd < 0) {
		fail(r, "create the server's file");
		free(big);
		return;
	}
	bfill(big, NFS_FILE_BYTES, 0, 62);
	n = pwrite(sfd, big, NFS_FILE_BYTES, 0);
	close(sfd);
	free(big);
	if (n != NFS_FILE_BYTES) {
		fail(r, "write the server's file");
		return;
	}
	fd = nfs_open(r, "direct-read.dat", O_RDONLY);
	if (fd < 0)
		return;
	r->data_ok = true;
	r->bytes = nfs_calls_rw(r, fd, false, 62, true);
	/* Across the end of the file: a short read. */
	mem = buf_alloc(4 * NFS_IOSIZE);
	if (mem) {
		nfs_pages(r, mem + 9, 3 * NFS_IOSIZE + 5);
		measure_start(&before);
		n = pread(fd, mem + 9, 3 * NFS_IOSIZE + 5, NFS_FILE_BYTES - NFS_SHORT);
		measure_end(r, &before);
		if (n != NFS_SHORT) {
			if (r->data_ok)
				snprintf(r->reason, sizeof(r->reason), "read across the end: "
					 "%zd B, want %ld", n, NFS_SHORT);
			r->data_ok = false;
		} else if (bcheck(mem + 9, NFS_SHORT, NFS_FILE_BYTES - NFS_SHORT, 62) >= 0) {
			if (r->data_ok)
				snprintf(r->reason, sizeof(r->reason), "read across the end differs");
			r->data_ok = false;
		} else {
			r->bytes += n;
		}
		buf_free(mem, 4 * NFS_IOSIZE);
	}
	close(fd);
	snprintf(r->note, sizeof(r->note), "NFSv%s over loopback, rsize %ld: %zu pread "
		 "(3 B to 260 KiB, odd offsets and buffers), a %d-segment preadv and a "
		 "short read across the end of a file the server wrote", nfs_vers, NFS_IOSIZE,
		 sizeof(nfs_calls) / sizeof(nfs_calls[0]), NFS_VEC);
}

/* NFS takes any size, offset and buffer address for O_DIRECT. */
static void fio_nfs(struct result *r)
{
	if (!need_nfs(r))
		return;
	fio_run(r, NFS_DIR "/fio.dat (fs/nfs/direct.c)",
		FIO_GLOBAL "filename=" NFS_DIR "/fio.dat\n"
		"[bs1000-psync]\nrw=write\nbs=1000\nbs_unaligned=1\nmem_align=3\n"
		"size=256k\nioengine=psync\n"
		"[bs512-70000-libaio]\nstonewall\nrw=randwrite\nbsrange=512-70000\n"
		"bs_unaligned=1\nmem_align=5\nsize=1m\noffset=1m\nioengine=libaio\niodepth=4\n"
		"[bs4k-64k-io_uring]\nstonewall\nrw=randwrite\nbsrange=4k-64k\nsize=1m\n"
		"offset=2m\nioengine=io_uring\niodepth=4\n");
}

/* ---- vmsplice: user pages in a pipe (fs/splice.c iter_to_pipe) --------- */

/*
 * vmsplice() of user memory into a pipe: iter_to_pipe() takes the pages
 * of the iovecs, up to 16 per round, and makes each a pipe_buffer of
 * user_page_pipe_buf_ops; the reader, tee() (pipe_buf_get()), splice()
 * to a file, or the last close release them. The data: VMS_SEG0 bytes
 * at page offset VMS_BOFF0 (41 pages, so three rounds), then VMS_SEG1 at
 * VMS_BOFF1 of another buffer; the pipe is VMS_PIPE bytes, room for all.
 */
#define VMS_SEG0	(40 * PAGE - 1227)
#define VMS_BOFF0	1234
#define VMS_SEG1	333L
#define VMS_BOFF1	77
#define VMS_TOTAL	(VMS_SEG0 + VMS_SEG1)
#define VMS_PIPE	(256 * KiB)
#define VMS_MEM		(42 * PAGE)

/* Read exactly len bytes (less at EOF); -1 on error. */
static long read_exact(int fd, void *buf, long len)
{
	long done = 0;
	ssize_t n;

	while (done < len && (n = read(fd, (char *)buf + done, len - done)) > 0)
		done += n;
	return n < 0 && done < len ? -1 : done;
}

struct vms {
	unsigned char *mem;	/* VMS_MEM bytes: the two segments' pages */
	unsigned char *ref;	/* what the pipe must hold */
	int p[2];
};

static void vms_close(struct vms *v)
{
	if (v->p[0] >= 0)
		close(v->p[0]);
	if (v->p[1] >= 0)
		close(v->p[1]);
	v->p[0] = v->p[1] = -1;
}

static void vms_free(struct vms *v)
{
	vms_close(v);
	buf_free(v->mem, VMS_MEM);
	free(v->ref);
}

/* A pipe of VMS_PIPE bytes; fails the scenario and returns -1 if not. */
static int vms_pipe(struct result *r, int p[2])
{
	if (pipe2(p, O_CLOEXEC)) {
		fail(r, "pipe2");
		p[0] = p[1] = -1;
		return -1;
	}
	if (fcntl(p[1], F_SETPIPE_SZ, VMS_PIPE) < (int)VMS_PIPE) {
		fail(r, "F_SETPIPE_SZ");
		return -1;
	}
	return 0;
}

/* The buffers and the pipe; then vmsplice all of it in (measured by the caller). */
static int vms_setup(struct result *r, struct vms *v)
{
	memset(v, 0, sizeof(*v));
	v->p[0] = v->p[1] = -1;
	v->mem = buf_alloc(VMS_MEM);
	v->ref = malloc(VMS_TOTAL);
	if (!v->mem || !v->ref) {
		fail(r, "mmap");
		return -1;
	}
	if (vms_pipe(r, v->p))
		return -1;
	bfill(v->mem + VMS_BOFF0, VMS_SEG0, 0, 71);
	bfill(v->mem + 41 * PAGE + VMS_BOFF1, VMS_SEG1, VMS_SEG0, 71);
	bfill(v->ref, VMS_TOTAL, 0, 71);
	r->data_ok = true;
	r->bytes = VMS_TOTAL;
	return 0;
}

/*
 * vmsplice all of it in. iter_to_pipe() takes up to 16 pages a round, of
 * one iovec at a time: every round but an iovec's last ends on a page
 * boundary, so each of the 42 pages once (41 and 1).
 */
static int vms_splice_in(struct result *r, struct vms *v)
{
	struct iovec iov[2] = {
		{ v->mem + VMS_BOFF0, VMS_SEG0 },
		{ v->mem + 41 * PAGE + VMS_BOFF1, VMS_SEG1 },
	};
	ssize_t n;

	io_pages(r, SRC_SPLICE, iov[0].iov_base, iov[0].iov_len, 1);
	io_pages(r, SRC_SPLICE, iov[1].iov_base, iov[1].iov_len, 1);
	n = vmsplice(v->p[1], iov, 2, 0);

	if (n != VMS_TOTAL) {
		if (n >= 0) {
			snprintf(r->reason, sizeof(r->reason), "vmsplice took %zd of %ld B",
				 n, (long)VMS_TOTAL);
			r->data_ok = false;
		}
		fail(r, "vmsplice");
		return -1;
	}
	return 0;
}

/* Read len bytes of pipe fd and compare them with ref. */
static void vms_drain(struct result *r, int fd, const unsigned char *ref, long len,
		      const char *what)
{
	unsigned char *got = malloc(len);
	long n;

	if (!got) {
		fail(r, "malloc");
		return;
	}
	n = read_exact(fd, got, len);
	if (n != len) {
		if (n >= 0)
			errno = EIO;
		fail(r, what);
	} else if (memcmp(got, ref, len)) {
		if (r->data_ok)
			snprintf(r->reason, sizeof(r->reason), "%s: data differs", what);
		r->data_ok = false;
	}
	free(got);
}

/* vmsplice, unmap the buffers (the pipe keeps the pages), read it all. */
static void vmsplice_read(struct result *r)
{
	struct pins before;
	struct vms v;

	if (!vms_setup(r, &v)) {
		measure_start(&before);
		if (!vms_splice_in(r, &v)) {
			buf_free(v.mem, VMS_MEM);
			v.mem = NULL;
			vms_drain(r, v.p[0], v.ref, VMS_TOTAL, "read the pipe");
		}
		vms_close(&v);
		measure_end(r, &before);
	}
	vms_free(&v);
	snprintf(r->note, sizeof(r->note), "vmsplice %ld B (2 iovecs, 42 pages, page "
		 "offset %d), buffers unmapped, then read()", (long)VMS_TOTAL, VMS_BOFF0);
}

/* vmsplice, tee() to a second pipe (pipe_buf_get()), read both. */
static void vmsplice_tee(struct result *r)
{
	struct pins before;
	int q[2] = { -1, -1 };
	long done = 0;
	struct vms v;

	if (!vms_setup(r, &v) && !vms_pipe(r, q)) {
		measure_start(&before);
		if (!vms_splice_in(r, &v)) {
			while (done < VMS_TOTAL) {
				ssize_t n = tee(v.p[0], q[1], VMS_TOTAL - done, 0);

				if (n <= 0) {
					fail(r, "tee");
					break;
				}
				done += n;
			}
			/*
			 * tee() copies the buffers: both pipes hold all of it.
			 * A pin each copy may hold of its own (pipe_buf_get()
			 * from link_pipe()) is allowed for: up to 42 more.
			 */
			pages_add(r, SRC_SPLICE, 0,
				  span_pages(v.mem + VMS_BOFF0, VMS_SEG0) +
				  span_pages(v.mem + 41 * PAGE + VMS_BOFF1, VMS_SEG1));
			if (done == VMS_TOTAL) {
				vms_drain(r, q[0], v.ref, VMS_TOTAL, "read the tee'd pipe");
				vms_drain(r, v.p[0], v.ref, VMS_TOTAL, "read the first pipe");
			}
		}
		vms_close(&v);
		close(q[0]);
		close(q[1]);
		q[0] = q[1] = -1;
		measure_end(r, &before);
	}
	if (q[0] >= 0)
		close(q[0]);
	if (q[1] >= 0)
		close(q[1]);
	vms_free(&v);
	snprintf(r->note, sizeof(r->note), "vmsplice %ld B, tee() all of it to a second "
		 "pipe, read both", (long)VMS_TOTAL);
}

/* vmsplice, splice() the pipe to a file at an odd offset, check the file. */
static void vmsplice_splice(struct result *r)
{
	const char *path = "/tmp/vmsplice.dat";
	unsigned char *got = NULL;
	struct pins before;
	loff_t off = 4097;
	long done = 0;
	struct vms v;
	int fd = -1;

	if (!vms_setup(r, &v)) {
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			fail(r, "open a file on the rootfs");
	}
	if (fd >= 0) {
		measure_start(&before);
		if (!vms_splice_in(r, &v)) {
			while (done < VMS_TOTAL) {
				ssize_t n = splice(v.p[0], NULL, fd, &off, VMS_TOTAL - done, 0);

				if (n <= 0) {
					fail(r, "splice to the file");
					break;
				}
				done += n;
			}
		}
		vms_close(&v);
		measure_end(r, &before);
		got = malloc(VMS_TOTAL);
		if (r->data_ok && (!got || pread(fd, got, VMS_TOTAL, 4097) != VMS_TOTAL))
			fail(r, "read the file back");
		else if (r->data_ok && memcmp(got, v.ref, VMS_TOTAL)) {
			snprintf(r->reason, sizeof(r->reason), "the file differs");
			r->data_ok = false;
		}
		close(fd);
		unlink(path);
	}
	free(got);
	vms_free(&v);
	snprintf(r->note, sizeof(r->note), "vmsplice %ld B, splice() to a tmpfs file at "
		 "offset 4097, file read back", (long)VMS_TOTAL);
}

/* vmsplice, read a part, close with the rest unread: released unconsumed. */
static void vmsplice_close(struct result *r)
{
	struct pins before;
	struct vms v;

	if (!vms_setup(r, &v)) {
		measure_start(&before);
		if (!vms_splice_in(r, &v))
			vms_drain(r, v.p[0], v.ref, 5000, "read the first 5000 B");
		vms_close(&v);
		measure_end(r, &before);
	}
	vms_free(&v);
	snprintf(r->note, sizeof(r->note), "vmsplice %ld B, read 5000 B, close both ends "
		 "with the rest unread", (long)VMS_TOTAL);
}

/* ---- control: the counters do move when something pins --------------- */

struct gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};

#define PIN_BASIC_TEST	_IOWR('g', 5, struct gup_test)

/* mm/gup_test.c pins 64 pages with pin_user_pages() and unpins them. */
static void gup_control(struct result *r)
{
	struct gup_test g;
	struct pins before;
	void *buf;
	int fd;

	mkdir("/sys/kernel/debug", 0755);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (fd < 0) {
		skip(r, "no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST)");
		return;
	}
	buf = buf_alloc(64 * PAGE);
	if (!buf) {
		fail(r, "mmap");
		close(fd);
		return;
	}
	memset(&g, 0, sizeof(g));
	g.addr = (uintptr_t)buf;
	g.size = 64 * PAGE;
	g.nr_pages_per_call = 64;
	g.gup_flags = 1;	/* FOLL_WRITE */
	r->data_ok = true;
	io_pages(r, SRC_GUP_TEST, buf, 64 * PAGE, 1);
	measure_start(&before);
	if (ioctl(fd, PIN_BASIC_TEST, &g))
		fail(r, "PIN_BASIC_TEST");
	measure_end(r, &before);
	r->bytes = 64 * PAGE;
	snprintf(r->note, sizeof(r->note), "pin_user_pages of 64 pages");
	buf_free(buf, 64 * PAGE);
	close(fd);
}

/* ---- uprobes: the reference counter of a USDT-style semaphore ---------- */

/*
 * A uprobe registered with a reference counter offset makes the kernel
 * increment a counter in the memory of every process that maps the file
 * (kernel/events/uprobes.c __update_ref_ctr(): get or pin the page, kmap,
 * write, release), and decrement it again when the probe goes away.
 */
/* In .data, not .bss: the counter must lie in a mapping of the file. */
volatile unsigned short pinprobe_semaphore __attribute__((aligned(8), section(".data")));

__attribute__((noinline, used)) int pinprobe_uprobe_target(int x)
{
	return x + 1;
}

/* The offset in the mapped file of an address of this process. */
static long file_offset(const void *addr, char *path, size_t size)
{
	unsigned long a = (unsigned long)addr, start, end, off;
	char line[512], file[256];
	FILE *f = fopen("/proc/self/maps", "r");
	long ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		file[0] = '\0';
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %255s", &start, &end, &off, file) < 3)
			continue;
		if (a >= start && a < end && file[0] == '/') {
			ret = (long)(a - start + off);
			snprintf(path, size, "%s", file);
			break;
		}
	}
	fclose(f);
	return ret;
}

static int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * How many processes run this very program: the probe, and its FUSE and
 * ublk servers (forked, not exec'd). Each maps the probed text and the
 * counter, so a uprobe is installed in each.
 */
static int procs_of_self(void)
{
	struct stat self, st;
	struct dirent *d;
	char path[300];
	int n = 0;
	DIR *dir;

	if (stat("/proc/self/exe", &self))
		return -1;
	dir = opendir("/proc");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/exe", d->d_name);
		if (!stat(path, &st) && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
			n++;
	}
	closedir(dir);
	return n;
}

static void uprobe_refctr(struct result *r)
{
	const char *tr = "/sys/kernel/tracing";
	char path[256], path2[256], def[600], f[300];
	long fn, sem;
	struct pins before;
	unsigned short on, off;
	int procs;

	mkdir(tr, 0755);
	mount("tracefs", tr, "tracefs", 0, NULL);
	snprintf(f, sizeof(f), "%s/uprobe_events", tr);
	if (access(f, W_OK)) {
		skip(r, "no uprobe_events (CONFIG_UPROBE_EVENTS)");
		return;
	}
	fn = file_offset((const void *)pinprobe_uprobe_target, path, sizeof(path));
	sem = file_offset((const void *)&pinprobe_semaphore, path2, sizeof(path2));
	if (fn < 0 || sem < 0 || strcmp(path, path2)) {
		skip(r, "cannot find the probe's own file offsets in /proc/self/maps");
		return;
	}
	snprintf(def, sizeof(def), "p:pinconv/refctr %s:0x%lx(0x%lx)\n", path, fn, sem);
	r->data_ok = true;
	/*
	 * Enabling installs the probe in every process that maps the file and
	 * the counter, disabling removes it: each time __update_ref_ctr()
	 * takes that process's page of the counter, one pin. (The breakpoint's
	 * own page, uprobe_write_opcode(), is not in the file's conversion.)
	 */
	procs = procs_of_self();
	if (procs > 0)
		pages_add(r, SRC_UPROBES, 2 * procs, 2 * procs);
	measure_start(&before);
	if (write_file(f, def, O_APPEND)) {
		fail(r, "uprobe_events: define the probe");
		measure_end(r, &before);
		return;
	}
	snprintf(f, sizeof(f), "%s/events/pinconv/refctr/enable", tr);
	if (write_file(f, "1\n", 0))
		fail(r, "enable the probe");
	on = pinprobe_semaphore;
	pinprobe_uprobe_target(1);
	if (write_file(f, "0\n", 0))
		fail(r, "disable the probe");
	off = pinprobe_semaphore;
	snprintf(f, sizeof(f), "%s/uprobe_events", tr);
	if (write_file(f, "-:pinconv/refctr\n", O_APPEND))
		fail(r, "uprobe_events: remove the probe");
	measure_end(r, &before);
	if (on != 1 || off != 0) {
		r->data_ok = false;
		snprintf(r->reason, sizeof(r->reason),
			 "semaphore %u while enabled, %u after (want 1, 0)", on, off);
	}
	r->bytes = sizeof(pinprobe_semaphore);
	snprintf(r->note, sizeof(r->note), "%.100s at 0x%lx, semaphore at 0x%lx: %u then %u; "
		 "%d processes map it", path, fn, sem, on, off, procs);
}

/* ---- /proc/<pid>/mem and ptrace: __access_remote_vm() ----------------- */

/*
 * Reads and writes of another process's memory through /proc/<pid>/mem
 * (mem_rw()) and ptrace PEEKDATA/POKEDATA (ptrace_access_vm()) go through
 * mm/memory.c __access_remote_vm(): get or pin one page at a time, kmap,
 * copy, release.
 */
#define PROCMEM_PAGES	4
#define PROCMEM_WOFF	(PAGE - 3)		/* pwrite: pages 0, 1 and 2 */
#define PROCMEM_WLEN	(PAGE + 7)
#define PROCMEM_POKE	(2 * PAGE - 3)		/* a word across pages 1 and 2 */
#define PROCMEM_WORD	0x0123456789abcdefUL

static unsigned char procmem_byte(long i, int seed)
{
	return (unsigned char)((i * 131 + i / PAGE + seed) ^ (i >> 5));
}

/*
 * The pins of one access to len bytes at addr of the child: mem_rw()
 * (/proc/<pid>/mem) copies at most a page per access_remote_vm() call,
 * ptrace's PEEKDATA/POKEDATA a word in one; __access_remote_vm() takes
 * one page of the child at a time.
 */
static void remote_pages(struct result *r, const unsigned char *addr, long len,
			 bool procmem)
{
	long done, n;

	for (done = 0; done < len; done += n) {
		n = procmem && len - done > PAGE ? PAGE : len - done;
		io_pages(r, SRC_MEMORY, addr + done, n, 1);
	}
}

/* What the child's buffer holds once the parent has written it. */
static unsigned char procmem_want(long i)
{
	unsigned long word = PROCMEM_WORD;

	if (i >= PROCMEM_POKE && i < PROCMEM_POKE + (long)sizeof(word))
		return ((unsigned char *)&word)[i - PROCMEM_POKE];
	if (i >= PROCMEM_WOFF && i < PROCMEM_WOFF + PROCMEM_WLEN)
		return procmem_byte(i, 2);
	return procmem_byte(i, 1);
}

static int procmem_child(unsigned char *buf)
{
	long i;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		return 2;
	raise(SIGSTOP);
	for (i = 0; i < PROCMEM_PAGES * PAGE; i++)
		if (buf[i] != procmem_want(i))
			return 1;
	return 0;
}

static bool procmem_check(struct result *r, const unsigned char *got, long off, long len)
{
	long i;

	for (i = 0; i < len; i++) {
		if (got[i] != procmem_want(off + i)) {
			snprintf(r->reason, sizeof(r->reason),
				 "read back byte %ld of the child's buffer: 0x%02x, want 0x%02x",
				 off + i, got[i], procmem_want(off + i));
			r->data_ok = false;
			return false;
		}
	}
	return true;
}

static void procmem_rw(struct result *r)
{
	static unsigned char wbuf[PROCMEM_WLEN], rbuf[PROCMEM_PAGES * PAGE];
	long len = PROCMEM_PAGES * PAGE, i, peek, peek2;
	unsigned char *buf;
	struct pins before;
	char path[64];
	int fd, status;
	pid_t pid;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		fail(r, "mmap");
		return;
	}
	for (i = 0; i < len; i++)
		buf[i] = procmem_byte(i, 1);
	for (i = 0; i < PROCMEM_WLEN; i++)
		wbuf[i] = procmem_byte(PROCMEM_WOFF + i, 2);
	r->data_ok = true;
	pid = fork();
	if (pid < 0) {
		fail(r, "fork");
		munmap(buf, len);
		return;
	}
	if (pid == 0)
		_exit(procmem_child(buf));
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		fail(r, "the child did not stop for ptrace");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		munmap(buf, len);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	remote_pages(r, buf + PROCMEM_WOFF, PROCMEM_WLEN, true);
	remote_pages(r, buf + PROCMEM_POKE, sizeof(long), false);
	remote_pages(r, buf + PROCMEM_POKE, sizeof(long), false);
	remote_pages(r, buf + 3 * PAGE - 5, sizeof(long), false);
	remote_pages(r, buf + 17, len - 40, true);
	measure_start(&before);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fail(r, "open /proc/<pid>/mem");
	} else {
		/* Unaligned, across two page boundaries; then all of it back. */
		if (pwrite(fd, wbuf, PROCMEM_WLEN, (off_t)(unsigned long)buf + PROCMEM_WOFF) !=
		    PROCMEM_WLEN)
			fail(r, "pwrite /proc/<pid>/mem");
		errno = 0;
		if (ptrace(PTRACE_POKEDATA, pid, buf + PROCMEM_POKE, (void *)PROCMEM_WORD))
			fail(r, "PTRACE_POKEDATA");
		peek = ptrace(PTRACE_PEEKDATA, pid, buf + PROCMEM_POKE, NULL);
		peek2 = ptrace(PTRACE_PEEKDATA, pid, buf + 3 * PAGE - 5, NULL);
		if (errno)
			fail(r, "PTRACE_PEEKDATA");
		if (r->data_ok && (unsigned long)peek != PROCMEM_WORD) {
			snprintf(r->reason, sizeof(r->reason),
				 "PEEKDATA after POKEDATA: 0x%lx, want 0x%lx",
				 (unsigned long)peek, PROCMEM_WORD);
			r->data_ok = false;
		}
		if (r->data_ok)
			procmem_check(r, (unsigned char *)&peek2, 3 * PAGE - 5, sizeof(peek2));
		if (pread(fd, rbuf + 17, len - 40, (off_t)(unsigned long)buf + 17) != len - 40)
			fail(r, "pread /proc/<pid>/mem");
		else if (r->data_ok)
			procmem_check(r, rbuf + 17, 17, len - 40);
		close(fd);
	}
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	if (waitpid(pid, &status, 0) != pid)
		fail(r, "waitpid");
	else if (r->data_ok && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		snprintf(r->reason, sizeof(r->reason),
			 "the child found its buffer changed otherwise (status 0x%x)", status);
		r->data_ok = false;
	}
	measure_end(r, &before);
	for (i = 0; i < len && r->data_ok; i++) {
		if (buf[i] != procmem_byte(i, 1)) {
			snprintf(r->reason, sizeof(r->reason),
				 "the parent's own copy changed at byte %ld", i);
			r->data_ok = false;
		}
	}
	munmap(buf, len);
	r->bytes = PROCMEM_WLEN + 2 * sizeof(long) + sizeof(long) + len - 40;
	snprintf(r->note, sizeof(r->note),
		 "pwrite %ld B at page offset %ld, POKEDATA/PEEKDATA across a page, pread %ld B",
		 PROCMEM_WLEN, PROCMEM_WOFF, len - 40);
}

/* ---- COW-shared pages: a kernel iterator's, and a CPU read's ----------- */

/*
 * After fork() a private anonymous page is mapped by parent and child,
 * write-protected in both and no longer PageAnonExclusive. GUP unshares
 * such a page before it pins it (gup_must_unshare()), so a path that pins
 * where it must not moves the page away from one of the two:
 *
 * - cow-splice-*: the parent vmsplice()s COW_BYTES of shared pages into a
 *   pipe (no SPLICE_F_GIFT) and splice()s the pipe into a file opened
 *   O_DIRECT. iter_file_splice_write() hands the pipe's pages to
 *   ->write_iter() as an ITER_BVEC, a kernel iterator: Direct I/O takes
 *   neither pin nor unpin for its pages (iov_iter_extract_will_pin() is
 *   false for it). Only the splice is measured; the data is read back
 *   with O_DIRECT (and from the server, for FUSE and NFS).
 * - cow-peek: the parent reads the child's shared pages with ptrace
 *   PEEKDATA and a pread() of /proc/<pid>/mem (__access_remote_vm()): a
 *   CPU read takes no pin.
 *
 * Both check in /proc/<pid>/pagemap that every page is present at the same
 * PFN in parent and child, mapped exclusively in neither, after fork() and
 * again after the measured calls, and that the data is the pattern. The
 * child only blocks reading a pipe until the parent closes it.
 *
 * Last, unmeasured, a control goes into the note: the same pages taken as
 * user memory (an O_DIRECT pwrite() to the same place of the same file;
 * for cow-peek gup_test's read-only pin_user_pages()), its pins and how
 * many pages it unshared: where this kernel pins user pages on that path,
 * it shows the counters and the PFN check seeing a pin of them.
 */
#define COW_PAGES	4
#define COW_BYTES	(COW_PAGES * PAGE)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_EXCLUSIVE	(1ULL << 56)
#define PM_PRESENT	(1ULL << 63)

struct cow {
	unsigned char *mem;		/* COW_BYTES, shared with the child */
	uint64_t pfn[COW_PAGES];	/* the pages' PFNs after fork() */
	off_t off;			/* the file offset of mem's pattern */
	uint64_t seed;
	pid_t child;
	int ctl;			/* the child reads the other end */
	char control[100];		/* what the control found */
};

/* The pagemap entry of addr in process pid (0: this one). */
static int pagemap_entry(pid_t pid, const void *addr, uint64_t *entry)
{
	char path[64];
	ssize_t n;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, entry, sizeof(*entry),
		  (off_t)((uintptr_t)addr / PAGE * sizeof(*entry)));
	close(fd);
	if (n != sizeof(*entry)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* Every page of c->mem is one page of parent and child, where it was. */
static bool cow_shared(struct result *r, struct cow *c, const char *when)
{
	uint64_t pe, ce, pfn;
	int k;

	for (k = 0; k < COW_PAGES; k++) {
		const void *addr = c->mem + k * PAGE;

		if (pagemap_entry(0, addr, &pe) || pagemap_entry(c->child, addr, &ce)) {
			fail(r, "read /proc/<pid>/pagemap");
			return false;
		}
		pfn = pe & PM_PFN_MASK;
		if (!(pe & PM_PRESENT) || !(ce & PM_PRESENT))
			wrong(r, "%s: page %d not present (pagemap parent 0x%llx, child 0x%llx)",
			      when, k, (unsigned long long)pe, (unsigned long long)ce);
		else if (!pfn)
			wrong(r, "%s: pagemap shows no PFN (not CAP_SYS_ADMIN?)", when);
		else if ((ce & PM_PFN_MASK) != pfn)
			wrong(r, "%s: page %d unshared: PFN 0x%llx in the parent, 0x%llx in "
			      "the child", when, k, (unsigned long long)pfn,
			      (unsigned long long)(ce & PM_PFN_MASK));
		else if ((pe | ce) & PM_EXCLUSIVE)
			wrong(r, "%s: page %d mapped exclusively (parent %d, child %d)", when, k,
			      !!(pe & PM_EXCLUSIVE), !!(ce & PM_EXCLUSIVE));
		else if (c->pfn[k] && pfn != c->pfn[k])
			wrong(r, "%s: page %d moved from PFN 0x%llx to 0x%llx", when, k,
			      (unsigned long long)c->pfn[k], (unsigned long long)pfn);
		else
			c->pfn[k] = pfn;
		if (!r->data_ok)
			return false;
	}
	return true;
}

/* How many pages of c->mem parent and child no longer share. */
static int cow_unshared(struct cow *c)
{
	uint64_t pe, ce;
	int k, n = 0;

	for (k = 0; k < COW_PAGES; k++)
		if (pagemap_entry(0, c->mem + k * PAGE, &pe) ||
		    pagemap_entry(c->child, c->mem + k * PAGE, &ce) ||
		    (pe & PM_PFN_MASK) != (ce & PM_PFN_MASK))
			n++;
	return n;
}

/*
 * COW_BYTES of the pattern of file offset off, then fork(): the child
 * blocks on a pipe, the pages are shared. 0 if they are; else the
 * scenario has failed (cow_end() still cleans up).
 */
static int cow_fork(struct result *r, struct cow *c, off_t off, uint64_t seed)
{
	int ctl[2];
	char b;

	memset(c, 0, sizeof(*c));
	c->child = -1;
	c->ctl = -1;
	c->off = off;
	c->seed = seed;
	snprintf(c->control, sizeof(c->control), "no control (failed before it)");
	c->mem = buf_alloc(COW_BYTES);
	if (!c->mem) {
		fail(r, "mmap");
		return -1;
	}
	fill(c->mem, COW_BYTES, off, seed);
	if (pipe2(ctl, O_CLOEXEC)) {
		fail(r, "pipe2");
		return -1;
	}
	c->child = fork();
	if (c->child == 0) {
		close(ctl[1]);
		while (read(ctl[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ctl[0]);
	c->ctl = ctl[1];
	if (c->child < 0) {
		fail(r, "fork");
		return -1;
	}
	r->data_ok = true;
	r->bytes = COW_BYTES;
	return cow_shared(r, c, "after fork()") ? 0 : -1;
}

/* Let the child go and reap it; the parent's copy must be intact. */
static void cow_end(struct result *r, struct cow *c)
{
	int status;

	if (c->ctl >= 0)
		close(c->ctl);
	if (c->child > 0) {
		if (waitpid(c->child, &status, 0) != c->child)
			fail(r, "waitpid the child");
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			wrong(r, "the child ended with status 0x%x", status);
	}
	if (c->mem && r->data_ok && !check(c->mem, COW_BYTES, c->off, c->seed))
		wrong(r, "the parent's buffer changed");
	buf_free(c->mem, COW_BYTES);
	c->mem = NULL;
}

/*
 * vmsplice c->mem into a new pipe, splice() the pipe into fd (opened
 * O_DIRECT) at c->off, measured; the pages must still be shared; then read
 * the range back with O_DIRECT.
 */
static void cow_splice(struct result *r, struct cow *c, int fd, const char *what)
{
	struct iovec iov = { c->mem, COW_BYTES };
	loff_t pos = c->off;
	struct pins before;
	unsigned char *back;
	char msg[100];
	long done = 0;
	ssize_t n;
	int p[2];

	if (pipe2(p, O_CLOEXEC)) {
		fail(r, "pipe2");
		return;
	}
	n = vmsplice(p[1], &iov, 1, 0);
	if (n != COW_BYTES) {
		if (n >= 0)
			wrong(r, "vmsplice took %zd of %ld B", n, COW_BYTES);
		fail(r, "vmsplice");
		goto out;
	}
	measure_start(&before);
	while (done < COW_BYTES) {
		n = splice(p[0], NULL, fd, &pos, COW_BYTES - done, 0);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			snprintf(msg, sizeof(msg), "splice into %s at %lld", what,
				 (long long)(c->off + done));
			fail(r, msg);
			break;
		}
		done += n;
	}
	measure_end(r, &before);
	if (!r->data_ok || !cow_shared(r, c, "after the splice"))
		goto out;
	back = buf_alloc(COW_BYTES);
	if (!back) {
		fail(r, "mmap");
		goto out;
	}
	n = pread(fd, back, COW_BYTES, c->off);
	if (n != COW_BYTES) {
		if (n >= 0)
			errno = EIO;
		snprintf(msg, sizeof(msg), "O_DIRECT read back of %s", what);
		fail(r, msg);
	} else if (!check(back, COW_BYTES, c->off, c->seed)) {
		wrong(r, "%s: read back differs", what);
	}
	buf_free(back, COW_BYTES);
out:
	close(p[0]);
	close(p[1]);
}

/*
 * The control of a cow-splice scenario, once its checks are done: an
 * O_DIRECT pwrite() of the same pages, now a user-backed iterator, to the
 * same place (the same data); its pins and the pages it unshared.
 */
static void cow_splice_control(struct result *r, struct cow *c, int fd)
{
	struct result ctl = { .name = "control" };
	struct pins before;
	ssize_t n;

	if (!r->data_ok)
		return;
	measure_start(&before);
	n = pwrite(fd, c->mem, COW_BYTES, c->off);
	measure_end(&ctl, &before);
	if (n != COW_BYTES)
		snprintf(c->control, sizeof(c->control), "control: O_DIRECT pwrite "
			 "returned %zd", n);
	else
		snprintf(c->control, sizeof(c->control), "control: O_DIRECT pwrite of "
			 "them, %lld/%lld pins, %d of %d pages unshared", ctl.acquired,
			 ctl.released, cow_unshared(c), COW_PAGES);
}

/* Fork, open path O_DIRECT (after prealloc bytes of it, if any), splice. */
static void cow_splice_path(struct result *r, const char *path, size_t prealloc_len,
			    off_t off, uint64_t seed)
{
	struct cow c;
	int fd;

	if (prealloc_len && prealloc(path, prealloc_len, 0)) {
		fail(r, "preallocate the file");
		return;
	}
	if (!cow_fork(r, &c, off, seed)) {
		fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd < 0) {
			fail(r, "open O_DIRECT");
		} else {
			cow_splice(r, &c, fd, path);
			cow_splice_control(r, &c, fd);
			close(fd);
		}
	}
	cow_end(r, &c);
	snprintf(r->note, sizeof(r->note), "%d COW-shared pages vmspliced, spliced into "
		 "%s (O_DIRECT) at %lld; %s", COW_PAGES, path, (long long)off, c.control);
}

/* block/fops.c: the raw block device of the blk-raw-* scenarios. */
static void cow_splice_blk(struct result *r)
{
	struct cow c;
	int fd = open_ram(r);

	if (fd < 0)
		return;
	if (!cow_fork(r, &c, 3 * MiB, 81)) {
		cow_splice(r, &c, fd, RAM);
		cow_splice_control(r, &c, fd);
	}
	cow_end(r, &c);
	close(fd);
	snprintf(r->note, sizeof(r->note), "%d COW-shared pages vmspliced, spliced into "
		 RAM " (O_DIRECT) at 3 MiB; %s", COW_PAGES, c.control);
}

/* fs/iomap/direct-io.c: an overwrite of a written ext4 file. */
static void cow_splice_ext4(struct result *r)
{
	if (need_ext4(r))
		cow_splice_path(r, "/mnt/ext4/cow.dat", 64 * KiB, 16 * KiB, 82);
}

/* fs/direct-io.c: FAT writes O_DIRECT only inside what it has allocated. */
static void cow_splice_vfat(struct result *r)
{
	if (need_vfat(r))
		cow_splice_path(r, "/mnt/vfat/cow.dat", 128 * KiB, 32 * KiB, 83);
}

/*
 * A sequential zonefs file: a synchronous write there is a zone append,
 * zonefs_file_dio_append() on 6.1 (iomap from 6.5 on), here with an
 * ITER_BVEC. The control appends the same pages after them (a sequential
 * file takes writes only at its write pointer).
 */
static void cow_splice_zonefs(struct result *r)
{
	const char *path = "/mnt/zonefs/seq/4";
	struct cow c, ctl;
	int fd;

	fd = zonefs_open(r, path);
	if (fd < 0)
		return;
	if (!cow_fork(r, &c, 0, 86)) {
		cow_splice(r, &c, fd, path);
		ctl = c;
		ctl.off += COW_BYTES;
		cow_splice_control(r, &ctl, fd);
		memcpy(c.control, ctl.control, sizeof(c.control));
	}
	cow_end(r, &c);
	close(fd);
	snprintf(r->note, sizeof(r->note), "%d COW-shared pages vmspliced, spliced into "
		 "%s (O_DIRECT, a synchronous zone append) at 0; %s", COW_PAGES, path,
		 c.control);
}

/*
 * fs/fuse/file.c, both ways the fuse-* scenarios take: the FOPEN_DIRECT_IO
 * file (fuse_direct_io()) and the cached one opened O_DIRECT
 * (fuse_direct_IO()), the same pages into each; checked on the server too.
 */
#define COW_FUSE_OFF	(256 * KiB)

static void cow_splice_fuse(struct result *r)
{
	char path[64];
	struct cow c;
	int i, fd;

	if (!need_fuse(r))
		return;
	if (!cow_fork(r, &c, COW_FUSE_OFF, 84)) {
		for (i = 0; i < 2 && r->data_ok; i++) {
			snprintf(path, sizeof(path), FUSE_DIR "/%s", fuse_files[i].name);
			fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
			if (fd < 0) {
				fail(r, "open O_DIRECT");
				break;
			}
			cow_splice(r, &c, fd, path);
			fuse_check_server(r, i, COW_FUSE_OFF, COW_BYTES, 84);
			if (i == 1)	/* last: the control unshares the pages */
				cow_splice_control(r, &c, fd);
			close(fd);
		}
	}
	cow_end(r, &c);
	r->bytes = 2 * COW_BYTES;
	snprintf(r->note, sizeof(r->note), "%d COW-shared pages vmspliced, spliced into "
		 FUSE_DIR "/direct (FOPEN_DIRECT_IO) and /cached, O_DIRECT, at %ld, checked "
		 "on the server; %s (cached)", COW_PAGES, COW_FUSE_OFF, c.control);
}

/* fs/nfs/direct.c through the guest's own NFS mount; checked on the server. */
#define COW_NFS_OFF	(64 * KiB)

static void cow_splice_nfs(struct result *r)
{
	struct cow c;
	int fd;

	if (!need_nfs(r))
		return;
	if (!cow_fork(r, &c, COW_NFS_OFF, 85)) {
		fd = nfs_open(r, "cow-splice.dat", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC);
		if (fd >= 0) {
			cow_splice(r, &c, fd, NFS_DIR "/cow-splice.dat");
			if (r->data_ok)
				nfs_check_server(r, "cow-splice.dat", COW_NFS_OFF, COW_BYTES, 85);
			cow_splice_control(r, &c, fd);
			close(fd);
		}
	}
	cow_end(r, &c);
	snprintf(r->note, sizeof(r->note), "%d COW-shared pages vmspliced, spliced into "
		 NFS_DIR "/cow-splice.dat (O_DIRECT, NFSv%s) at %ld, checked on the "
		 "server; %s", COW_PAGES, nfs_vers, COW_NFS_OFF, c.control);
}

/*
 * The child's shared pages read by its tracer: PEEKDATA of a word in each
 * page and of one across each page boundary, and a pread() of
 * /proc/<pid>/mem across all of them at an odd offset.
 */
#define COW_PEEKS	(2 * COW_PAGES - 1)
#define COW_MEM_OFF	5

static long cow_peek_at(int i)
{
	return i < COW_PAGES ? i * PAGE + 40 * i + 1 : (i - COW_PAGES + 1) * PAGE - 3;
}

/*
 * The control of cow-peek: gup_test pins the parent's copy of the pages
 * read-only with pin_user_pages() (mm/gup_test.c, as gup-control does).
 */
static void cow_peek_control(struct result *r, struct cow *c)
{
	struct result ctl = { .name = "control" };
	struct pins before;
	struct gup_test g;
	int fd, err;

	if (!r->data_ok)
		return;
	fd = open("/sys/kernel/debug/gup_test", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(c->control, sizeof(c->control), "no control: no gup_test "
			 "(CONFIG_GUP_TEST)");
		return;
	}
	memset(&g, 0, sizeof(g));
	g.addr = (uintptr_t)c->mem;
	g.size = COW_BYTES;
	g.nr_pages_per_call = COW_PAGES;
	measure_start(&before);
	err = ioctl(fd, PIN_BASIC_TEST, &g) ? errno : 0;
	measure_end(&ctl, &before);
	close(fd);
	if (err)
		snprintf(c->control, sizeof(c->control), "control: PIN_BASIC_TEST: %s",
			 strerror(err));
	else
		snprintf(c->control, sizeof(c->control), "control: read-only "
			 "pin_user_pages() of the parent's copy, %lld/%lld pins, %d of %d "
			 "pages unshared", ctl.acquired, ctl.released, cow_unshared(c),
			 COW_PAGES);
}

static void cow_peek(struct result *r)
{
	static unsigned char got[COW_BYTES];
	long words[COW_PEEKS];
	struct pins before;
	bool traced = false;
	char path[64];
	int i, fd, status;
	struct cow c;
	ssize_t n;

	if (cow_fork(r, &c, 0, 86))
		goto out;
	if (ptrace(PTRACE_SEIZE, c.child, NULL, NULL)) {
		fail(r, "PTRACE_SEIZE the child");
		goto out;
	}
	traced = true;
	if (ptrace(PTRACE_INTERRUPT, c.child, NULL, NULL) ||
	    waitpid(c.child, &status, __WALL) != c.child || !WIFSTOPPED(status)) {
		fail(r, "stop the child (PTRACE_INTERRUPT)");
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", c.child);
	measure_start(&before);
	for (i = 0; i < COW_PEEKS; i++) {
		errno = 0;
		words[i] = ptrace(PTRACE_PEEKDATA, c.child, c.mem + cow_peek_at(i), NULL);
		if (errno) {
			fail(r, "PTRACE_PEEKDATA");
			break;
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : pread(fd, got + COW_MEM_OFF, COW_BYTES - 2 * COW_MEM_OFF,
				(off_t)(uintptr_t)c.mem + COW_MEM_OFF);
	if (fd >= 0)
		close(fd);
	measure_end(r, &before);
	if (n != COW_BYTES - 2 * COW_MEM_OFF) {
		if (n >= 0)
			errno = EIO;
		fail(r, "pread /proc/<pid>/mem");
	}
	if (!ptrace(PTRACE_DETACH, c.child, NULL, NULL))
		traced = false;
	for (i = 0; i < COW_PEEKS && r->data_ok; i++)
		if (bcheck((unsigned char *)&words[i], sizeof(long), cow_peek_at(i), 86) >= 0)
			wrong(r, "PEEKDATA at %ld: 0x%lx is not the pattern", cow_peek_at(i),
			      words[i]);
	if (r->data_ok && bcheck(got + COW_MEM_OFF, COW_BYTES - 2 * COW_MEM_OFF,
				 COW_MEM_OFF, 86) >= 0)
		wrong(r, "pread of /proc/<pid>/mem differs at byte %ld",
		      COW_MEM_OFF + bcheck(got + COW_MEM_OFF, COW_BYTES - 2 * COW_MEM_OFF,
					   COW_MEM_OFF, 86));
	if (r->data_ok && cow_shared(r, &c, "after the reads"))
		cow_peek_control(r, &c);
out:
	if (traced && c.child > 0) {
		/* Stopped or not, it must not keep the parent waiting. */
		kill(c.child, SIGKILL);
		ptrace(PTRACE_DETACH, c.child, NULL, NULL);
	}
	cow_end(r, &c);
	r->bytes = COW_PEEKS * sizeof(long) + COW_BYTES - 2 * COW_MEM_OFF;
	snprintf(r->note, sizeof(r->note), "%d COW-shared pages of a stopped child: %d "
		 "PEEKDATA (a word per page and across each boundary), pread %ld B of "
		 "/proc/<pid>/mem; %s", COW_PAGES, COW_PEEKS, COW_BYTES - 2 * COW_MEM_OFF,
		 c.control);
}

/* ---- TOMOYO: an execve's argv and envp (tomoyo_dump_page()) ------------ */

/*
 * TOMOYO reads the argv/envp pages of an execve's new stack with
 * security/tomoyo/domain.c tomoyo_dump_page() (get or pin one page, copy
 * it, release) to check exec.argv[]/exec.envp[] conditions (condition.c
 * tomoyo_scan_bprm()), "misc env" permissions (tomoyo_environ()) and to
 * write the audit log (audit.c tomoyo_print_bprm()).
 *
 * The kernel calls the probe as /sbin/tomoyo-init (TOMOYO's policy
 * loader, CONFIG_SECURITY_TOMOYO_POLICY_LOADER) when it execs /init, and
 * that defines profile 0, disabled, for every domain. The scenario then
 * gives the domain of a re-executed probe (stage 1) an enforcing profile
 * in which /init may only be executed with the argv and the envp below,
 * and the domain after it (stage 2) may only have the two variables.
 * Stage 1 tries a wrong argv[2] (denied), an extra variable (denied) and
 * the right ones; stage 2 checks what arrived and reports on fd 3.
 *
 * The new stack ends in the strings argv[0..2], envp[0..], "/init" and a
 * NULL pointer, up to a page-aligned top: envp[0] (PINPROBE_BIG) is sized
 * so that argv[2] straddles the boundary two pages below the top, and
 * PINPROBE_BIG itself spans the one above.
 */
#define TOMOYO_LOADER	"tomoyo-init"
#define TOMOYO_STAGE1	"pinprobe-tomoyo-stage1"
#define TOMOYO_ARG0	"pinprobe-tomoyo"
#define TOMOYO_ARG1	"hello"
#define TOMOYO_ARG2_LEN	63
#define TOMOYO_ENV	"PINPROBE_TOMOYO=intact"
#define TOMOYO_EXTRA	"PINPROBE_EXTRA=1"
#define TOMOYO_BIG	"PINPROBE_BIG="
#define TOMOYO_TOP	(8 + sizeof("/init"))	/* the NULL pointer and filename */
#define TOMOYO_FS	"/sys/kernel/security/tomoyo"

static const char tomoyo_chars[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* argv[2]; the wrong one differs in its last byte, past the boundary. */
static void tomoyo_arg2(char *out, bool wrong)
{
	int i;

	for (i = 0; i < TOMOYO_ARG2_LEN; i++)
		out[i] = tomoyo_chars[(i * 7 + 3) % 62];
	if (wrong)
		out[TOMOYO_ARG2_LEN - 1] = '_';
	out[TOMOYO_ARG2_LEN] = '\0';
}

static char tomoyo_big_char(size_t i)
{
	return tomoyo_chars[(i * 13 + i / 4000) % 62];
}

/*
 * envp: PINPROBE_BIG, PINPROBE_TOMOYO and maybe extra, PINPROBE_BIG sized
 * so that the middle of argv[2] falls on the page boundary 2 pages below
 * the top. big has room for 2 pages.
 */
static void tomoyo_envp(char **envp, char *big, const char *extra)
{
	size_t rest = 2 * PAGE - TOMOYO_TOP - (TOMOYO_ARG2_LEN + 1) / 2;
	size_t n = strlen(TOMOYO_BIG), i, len;

	rest -= sizeof(TOMOYO_ENV) + (extra ? strlen(extra) + 1 : 0);
	len = rest - 1 - n;	/* the value */
	memcpy(big, TOMOYO_BIG, n);
	for (i = 0; i < len; i++)
		big[n + i] = tomoyo_big_char(i);
	big[n + len] = '\0';
	envp[0] = big;
	envp[1] = (char *)TOMOYO_ENV;
	envp[2] = (char *)extra;
	envp[3] = NULL;
}

/* As /sbin/tomoyo-init: profile 0 (disabled) for all, the probe as manager. */
static int tomoyo_loader(void)
{
	const char *dir = "/tomoyo-securityfs";
	bool ok;

	ok = (mkdir(dir, 0700) == 0 || errno == EEXIST) &&
		!mount("securityfs", dir, "securityfs", 0, NULL);
	ok = ok && !write_file("/tomoyo-securityfs/tomoyo/profile",
			       "PROFILE_VERSION=20150505\n0-CONFIG={ mode=disabled }\n", 0);
	ok = ok && !write_file("/tomoyo-securityfs/tomoyo/manager", "/init\n", 0);
	umount(dir);
	rmdir(dir);
	if (!ok) {
		int fd = open("/dev/console", O_WRONLY);

		if (fd >= 0) {
			dprintf(fd, "pinprobe: %s: %s\n", TOMOYO_LOADER, strerror(errno));
			close(fd);
		}
	}
	return ok ? 0 : 1;
}

static int tomoyo_stage1(void)
{
	static char big[2 * PAGE];
	char arg2[TOMOYO_ARG2_LEN + 1], *envp[4];
	char *argv[] = { TOMOYO_ARG0, TOMOYO_ARG1, arg2, NULL };

	tomoyo_arg2(arg2, true);
	tomoyo_envp(envp, big, NULL);
	execve("/init", argv, envp);
	if (errno != EPERM) {
		dprintf(3, "exec with a wrong argv[2]: %s, want EPERM", strerror(errno));
		return 1;
	}
	tomoyo_arg2(arg2, false);
	tomoyo_envp(envp, big, TOMOYO_EXTRA);
	execve("/init", argv, envp);
	if (errno != EPERM) {
		dprintf(3, "exec with PINPROBE_EXTRA: %s, want EPERM", strerror(errno));
		return 1;
	}
	tomoyo_envp(envp, big, NULL);
	execve("/init", argv, envp);
	dprintf(3, "exec with the right argv and envp: %s", strerror(errno));
	return 1;
}

/* The exec'd probe: argv and envp as sent, where they were meant to be. */
static int tomoyo_stage2(int argc, char **argv, char **envp)
{
	static char big[2 * PAGE];
	char arg2[TOMOYO_ARG2_LEN + 1], *want[4];
	unsigned long a, b, n;
	int i;

	tomoyo_arg2(arg2, false);
	tomoyo_envp(want, big, NULL);
	if (argc != 3 || strcmp(argv[1], TOMOYO_ARG1) || strcmp(argv[2], arg2)) {
		dprintf(3, "exec allowed with argc %d, argv[2] \"%.80s\"", argc,
			argc > 2 ? argv[2] : "");
		return 1;
	}
	for (i = 0; envp[i] || want[i]; i++) {
		if (!envp[i] || !want[i] || strcmp(envp[i], want[i])) {
			dprintf(3, "exec allowed with envp[%d] \"%.40s\"", i,
				envp[i] ? envp[i] : "(none)");
			return 1;
		}
	}
	a = (unsigned long)argv[2];
	b = (unsigned long)envp[0];
	n = strlen(envp[0]) + 1;
	if (a / PAGE == (a + TOMOYO_ARG2_LEN) / PAGE || b / PAGE == (b + n - 1) / PAGE) {
		dprintf(3, "argv[2] at page offset %lu, PINPROBE_BIG at %lu (%lu B): "
			"not across page boundaries", a % PAGE, b % PAGE, n);
		return 1;
	}
	dprintf(3, "ok: argv[2] at page offset %lu..%lu, PINPROBE_BIG %lu B over %lu pages",
		a % PAGE, (a + TOMOYO_ARG2_LEN) % PAGE, n, (b + n - 1) / PAGE - b / PAGE + 1);
	return 0;
}

static long read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	return len;
}

static void tomoyo_argv(struct result *r)
{
	static char audit[65536], policy[2048], bad[256], good[256];
	char dom[512], msg[300], arg2[TOMOYO_ARG2_LEN + 1];
	char *argv[] = { TOMOYO_STAGE1, NULL }, *envp[] = { NULL };
	struct pins before;
	int fd, pfd[2], status;
	pid_t pid;

	mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	fd = open(TOMOYO_FS "/self_domain", O_RDONLY);
	if (fd < 0) {
		skip(r, "no " TOMOYO_FS " (CONFIG_SECURITY_TOMOYO, lsm=tomoyo)");
		return;
	}
	read_all(fd, dom, sizeof(dom));
	close(fd);
	dom[strcspn(dom, "\n")] = '\0';
	tomoyo_arg2(arg2, false);
	snprintf(policy, sizeof(policy),
		 "%s /init\nuse_profile 1\nfile execute /init exec.argc=3 "
		 "exec.argv[0]=\"%s\" exec.argv[1]=\"%s\" exec.argv[2]=\"%s\" "
		 "exec.envp[\"PINPROBE_TOMOYO\"]=\"intact\"\n"
		 "%s /init /init\nuse_profile 1\nmisc env PINPROBE_BIG\n"
		 "misc env PINPROBE_TOMOYO\n",
		 dom, TOMOYO_ARG0, TOMOYO_ARG1, arg2, dom);
	if (write_file(TOMOYO_FS "/profile",
		       "1-COMMENT=pinprobe tomoyo-argv\n"
		       "1-CONFIG={ mode=disabled grant_log=no reject_log=no }\n"
		       "1-CONFIG::file::execute={ mode=enforcing grant_log=yes reject_log=yes }\n"
		       "1-CONFIG::misc::env={ mode=enforcing grant_log=no reject_log=yes }\n", 0) ||
	    write_file(TOMOYO_FS "/domain_policy", policy, 0)) {
		fail(r, "write the TOMOYO policy");
		return;
	}
	fd = open(TOMOYO_FS "/audit", O_RDONLY);
	if (fd >= 0) {
		read_all(fd, audit, sizeof(audit));	/* older records */
		close(fd);
	}
	if (pipe(pfd)) {
		fail(r, "pipe");
		return;
	}
	r->data_ok = true;
	measure_start(&before);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 3);
		execve("/init", argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	read_all(pfd[0], msg, sizeof(msg));
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		fail(r, "fork or waitpid");
	fd = open(TOMOYO_FS "/audit", O_RDONLY);
	audit[0] = '\0';
	if (fd >= 0) {
		long i, n = read_all(fd, audit, sizeof(audit));

		/* The records are NUL-terminated: one string of them all. */
		for (i = 0; i < n; i++)
			if (!audit[i])
				audit[i] = '\n';
		close(fd);
	}
	measure_end(r, &before);
	snprintf(good, sizeof(good), "argv[]={ \"%s\" \"%s\" \"%s\" }", TOMOYO_ARG0,
		 TOMOYO_ARG1, arg2);
	tomoyo_arg2(arg2, true);
	snprintf(bad, sizeof(bad), "argv[]={ \"%s\" \"%s\" \"%s\" }", TOMOYO_ARG0,
		 TOMOYO_ARG1, arg2);
	if (!r->data_ok)
		return;
	r->data_ok = false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || strncmp(msg, "ok: ", 4))
		snprintf(r->reason, sizeof(r->reason), "status 0x%x: %.150s", status, msg);
	else if (!strstr(audit, bad) || !strstr(audit, good))
		snprintf(r->reason, sizeof(r->reason),
			 "the audit log lacks the argv of the %s exec", strstr(audit, bad) ?
			 "right" : "wrong");
	else if (!strstr(audit, "misc env PINPROBE_EXTRA"))
		snprintf(r->reason, sizeof(r->reason),
			 "the audit log lacks the denied misc env PINPROBE_EXTRA");
	else
		r->data_ok = true;
	r->bytes = 2 * PAGE;
	snprintf(r->note, sizeof(r->note), "wrong argv[2] and extra env denied; %s",
		 msg + (strncmp(msg, "ok: ", 4) ? 0 : 4));
}

/* ---- kernel log ------------------------------------------------------- */

static bool bad_line(const char *msg)
{
	const char *p;

	if (strstr(msg, "WARNING") || strstr(msg, "BUG"))
		return true;
	for (p = msg; *p; p++)
		if (strncasecmp(p, "bad page", 8) == 0)
			return true;
	return false;
}

static void kernel_log(void)
{
	static char out[8192];
	char rec[2048], esc[420];
	size_t n;
	int fd, count = 0;
	ssize_t len;

	n = snprintf(out, sizeof(out),
		     "PINPROBE {\"scenario\":\"kernel-log\",\"warnings\":[");
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(out + n, sizeof(out) - n,
			 "],\"error\":\"open /dev/kmsg: %s\"}\n", strerror(errno));
		line_out(out);
		return;
	}
	for (;;) {
		char *msg;

		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = '\0';
		if (!bad_line(msg) || count >= 20)
			continue;
		if (strlen(msg) > 200)
			msg[200] = '\0';
		json_str(esc, sizeof(esc), msg);
		n += snprintf(out + n, sizeof(out) - n, "%s\"%s\"",
			      count ? "," : "", esc);
		count++;
	}
	close(fd);
	snprintf(out + n, sizeof(out) - n, "]}\n");
	line_out(out);
}

/* ---- main ------------------------------------------------------------- */

/* ---- the kernel's own mm selftests ------------------------------------ */

/*
 * /selftests/commands (scripts/pinconv/selftests.py commands_file()): one
 * run per line, "<run name> <binary> <args...>", the binaries built from
 * the tree under test. Each runs with its output on a pipe; every line of
 * it goes to the console as "PINSELFTEST <run> <line>", then "PINSELFTEST
 * <run> exit <status>". The judge (boot.py, selftests.py) compares the
 * cases of the baseline and the tip; here only the pins of all runs
 * together are counted, which must balance.
 */
#define SELFTEST_DIR		"/selftests"
#define SELFTEST_TIMEOUT	30	/* seconds per run (selftests.RUN_TIMEOUT) */
#define SELFTEST_ARGS		16

static void selftest_line(const char *run, const char *text, size_t len)
{
	char buf[700];
	int n;

	if (len > 600)
		len = 600;
	n = snprintf(buf, sizeof(buf), "PINSELFTEST %s %.*s\n", run, (int)len, text);
	if (n > 0)
		line_out(buf);
}

/* Run argv (argv[0] a binary of SELFTEST_DIR); returns its status text. */
static void selftest_run(const char *run, char **argv, char *status, size_t size)
{
	char path[256], buf[4096], line[620];
	size_t used = 0;
	time_t end = time(NULL) + SELFTEST_TIMEOUT;
	bool timed_out = false;
	int p[2], st = 0;
	pid_t pid;

	snprintf(path, sizeof(path), SELFTEST_DIR "/%s", argv[0]);
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(status, size, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		if (chdir(SELFTEST_DIR))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		snprintf(status, size, "fork: %s", strerror(errno));
		return;
	}
	for (;;) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		long left = (long)(end - time(NULL));
		ssize_t n;
		char *nl;

		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = true;
			break;
		}
		if (poll(&pfd, 1, left * 1000) <= 0)
			continue;
		n = read(p[0], buf + used, sizeof(buf) - used);
		if (n <= 0)
			break;
		used += n;
		while ((nl = memchr(buf, '\n', used)) || used == sizeof(buf)) {
			size_t len = nl ? (size_t)(nl - buf) : used;

			memcpy(line, buf, len < sizeof(line) ? len : sizeof(line) - 1);
			selftest_line(run, line, len < sizeof(line) ? len : sizeof(line) - 1);
			len = nl ? len + 1 : len;
			memmove(buf, buf + len, used - len);
			used -= len;
		}
	}
	if (used)
		selftest_line(run, buf, used);
	close(p[0]);
	waitpid(pid, &st, 0);
	if (timed_out)
		snprintf(status, size, "timeout");
	else if (WIFSIGNALED(st))
		snprintf(status, size, "signal %d", WTERMSIG(st));
	else
		snprintf(status, size, "%d", WEXITSTATUS(st));
}

static void mm_selftests(struct result *r)
{
	char text[4096], status[64], msg[100];
	struct pins before;
	int fd, runs = 0, ok = 0;
	char *save = NULL, *l;
	ssize_t n;

	fd = open(SELFTEST_DIR "/commands", O_RDONLY);
	if (fd < 0) {
		skip(r, "no " SELFTEST_DIR "/commands in the initramfs");
		return;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	/* gup_test and cow's pin cases need /sys/kernel/debug/gup_test. */
	mkdir("/sys/kernel/debug", 0755);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	r->data_ok = true;
	measure_start(&before);
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *argv[SELFTEST_ARGS + 1], *run, *tok, *s2 = NULL;
		int argc = 0;

		run = strtok_r(l, " ", &s2);
		while (run && argc < SELFTEST_ARGS && (tok = strtok_r(NULL, " ", &s2)))
			argv[argc++] = tok;
		if (!run || !argc)
			continue;
		argv[argc] = NULL;
		selftest_run(run, argv, status, sizeof(status));
		snprintf(msg, sizeof(msg), "exit %s", status);
		selftest_line(run, msg, strlen(msg));
		runs++;
		ok += !strcmp(status, "0") || !strcmp(status, "4");
		if (!isdigit((unsigned char)status[0]) || !strcmp(status, "126") ||
		    !strcmp(status, "127")) {
			r->data_ok = false;
			snprintf(r->reason, sizeof(r->reason), "%s: %s", run,
				 !strcmp(status, "127") ? "could not be executed" : status);
		}
	}
	measure_end(r, &before);
	snprintf(r->note, sizeof(r->note), "%d selftest run(s), %d exited 0 or skip (the "
		 "cases are compared between baseline and tip)", runs, ok);
}

struct scenario {
	const char *name;
	void (*run)(struct result *r);
};

static const struct scenario scenarios[] = {
	{ "gup-control", gup_control },
	{ "blk-raw-write", blk_raw_write },
	{ "blk-raw-read", blk_raw_read },
	{ "blk-raw-multibio", blk_raw_multibio },
	{ "blk-raw-async", blk_raw_async },
	{ "ext4-write", ext4_write },
	{ "ext4-read", ext4_read },
	{ "ext4-zeroing", ext4_zeroing },
	{ "vfat-write", vfat_write },
	{ "vfat-read", vfat_read },
	{ "vfat-fault", vfat_fault },
	{ "zonefs-write", zonefs_write },
	{ "zonefs-read", zonefs_read },
	{ "sg-io", sg_io },
	{ "sg-io-samepage", sg_io_samepage },
	{ "fuse-direct-write", fuse_direct_write },
	{ "fuse-direct-read", fuse_direct_read },
	{ "fuse-odirect-write", fuse_odirect_write },
	{ "fuse-odirect-read", fuse_odirect_read },
	{ "fuse-aio", fuse_aio },
	{ "ublk-write", ublk_write },
	{ "ublk-read", ublk_read },
	{ "fio-blk", fio_blk },
	{ "fio-ext4", fio_ext4 },
	{ "fio-vfat", fio_vfat },
	{ "fio-zonefs", fio_zonefs },
	/* After every other zonefs user: 6.1.192 leaves zonefs read-only. */
	{ "zonefs-append", zonefs_append },
	{ "fio-fuse", fio_fuse },
	{ "fio-ublk", fio_ublk },
	{ "nfs-direct-write", nfs_direct_write },
	{ "nfs-direct-read", nfs_direct_read },
	{ "fio-nfs", fio_nfs },
	{ "vmsplice-read", vmsplice_read },
	{ "vmsplice-tee", vmsplice_tee },
	{ "vmsplice-splice", vmsplice_splice },
	{ "vmsplice-close", vmsplice_close },
	{ "uprobe-refctr", uprobe_refctr },
	{ "procmem-rw", procmem_rw },
	{ "cow-splice-blk", cow_splice_blk },
	{ "cow-splice-ext4", cow_splice_ext4 },
	{ "cow-splice-vfat", cow_splice_vfat },
	{ "cow-splice-zonefs", cow_splice_zonefs },
	{ "cow-splice-fuse", cow_splice_fuse },
	{ "cow-splice-nfs", cow_splice_nfs },
	{ "cow-peek", cow_peek },
	{ "mm-selftests", mm_selftests },
	/* Last: it leaves a TOMOYO policy behind. */
	{ "tomoyo-argv", tomoyo_argv },
};

static void mount_basics(void)
{
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mkdir("/mnt", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
}

static const char *cmdline(void)
{
	static char buf[4096];
	int fd;

	if (!buf[0]) {
		fd = open("/proc/cmdline", O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			buf[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		if (!buf[0])
			strcpy(buf, " ");
	}
	return buf;
}

/* Scenario names on the kernel command line: pinprobe.only=a,b */
static bool wanted(const char *name)
{
	const char *only = strstr(cmdline(), "pinprobe.only=");
	const char *end;
	size_t len = strlen(name);

	if (!only)
		return true;
	only += strlen("pinprobe.only=");
	end = only + strcspn(only, " \n");
	while (only < end) {
		size_t n = strcspn(only, ", \n");

		if (n == len && strncmp(only, name, len) == 0)
			return true;
		only += n + 1;
	}
	return false;
}

int main(int argc, char **argv, char **envp)
{
	const char *name = strrchr(argv[0], '/');
	struct timespec t0, t1;
	size_t i;

	/* Not as init: TOMOYO's policy loader, or a scenario's exec'd child. */
	if (getpid() != 1) {
		if (!strcmp(name ? name + 1 : argv[0], TOMOYO_LOADER))
			return tomoyo_loader();
		if (!strcmp(argv[0], TOMOYO_STAGE1))
			return tomoyo_stage1();
		if (!strcmp(argv[0], TOMOYO_ARG0))
			return tomoyo_stage2(argc, argv, envp);
		/*
		 * fio's verdict on a run made elsewhere (test_boot.py); a
		 * fifth argument names the fio scenario whose pages to state.
		 */
		if (!strcmp(argv[0], FIO_VERDICT) && (argc == 4 || argc == 5)) {
			struct result r = { .name = FIO_VERDICT };

			fio_verdict(&r, atoi(argv[3]), argv[1], argv[2], 0,
				    argc == 5 ? fio_pins_of(argv[4]) : NULL);
			emit(&r);
			return 0;
		}
		/*
		 * The scenarios mount over /proc, write to /dev/ram0 and send
		 * SCSI WRITEs to /dev/sda: only in the guest, as its init.
		 */
		dprintf(2, "pinprobe: not pid 1: the scenarios run only as /init of "
			"the boot test's initramfs\n");
		return 2;
	}
	mount_basics();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	plog("start, %s s after the kernel did", uptime());
	ext4_setup();
	vfat_setup();
	zonefs_setup();
	fuse_setup();
	ublk_setup();
	nfs_setup();
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct result r;

		if (!wanted(scenarios[i].name))
			continue;
		memset(&r, 0, sizeof(r));
		r.name = scenarios[i].name;
		scenarios[i].run(&r);
		if (r.skipped)
			r.data_ok = false;
		emit(&r);
	}
	fuse_teardown();
	ublk_teardown();
	nfs_teardown();
	sync();
	kernel_log();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	plog("done in %ld ms", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
				     (t1.tv_nsec - t0.tv_nsec) / 1000000));
	umount("/mnt/ext4");
	umount("/mnt/vfat");
	umount("/mnt/zonefs");
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
