// SPDX-License-Identifier: GPL-2.0
/*
 * Direct I/O in small: an acquire helper fills io->pages, a release helper
 * drops them, and the I/O path pairs the two on the same object.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uio.h>
#include "pinmod.h"

static void pinmod_release_pages(struct pinmod_io *io, bool dirty)
{
	unsigned int i;

	for (i = 0; i < io->num_pages; i++) {
		if (dirty)
			set_page_dirty_lock(io->pages[i]);
		put_page(io->pages[i]);
	}
	io->num_pages = 0;
}

static int pinmod_get_pages(struct pinmod_io *io, struct iov_iter *ii,
			    size_t *nbytesp)
{
	size_t start;
	ssize_t ret;

	while (io->num_pages < PINMOD_MAX_PAGES && *nbytesp) {
		ret = iov_iter_get_pages2(ii, &io->pages[io->num_pages], *nbytesp,
					  PINMOD_MAX_PAGES - io->num_pages, &start);
		if (ret <= 0)
			return ret;
		io->num_pages += DIV_ROUND_UP(ret + start, PAGE_SIZE);
		*nbytesp -= ret;
	}
	return 0;
}

ssize_t pinmod_direct_io(struct pinmod_io *io, struct iov_iter *iter, size_t n,
			 u8 *sum)
{
	unsigned int i;
	size_t left = n;
	int err;

	err = pinmod_get_pages(io, iter, &left);
	if (err)
		return err;
	for (i = 0; i < io->num_pages; i++) {
		u8 *p = kmap_local_page(io->pages[i]);

		*sum += p[0];
		kunmap_local(p);
	}
	pinmod_release_pages(io, false);
	return n - left;
}
