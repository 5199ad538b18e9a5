// SPDX-License-Identifier: GPL-2.0
/* Synchronous access to user memory: take the pages, copy, release. */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "pinmod.h"

/* Copy the page of user memory at addr into buf: a CPU read. */
int pinmod_peek(unsigned long addr, void *buf)
{
	struct page *page;
	void *kaddr;
	int ret;

	ret = get_user_pages_fast(addr, 1, 0, &page);
	if (ret < 1)
		return ret < 0 ? ret : -EFAULT;
	kaddr = kmap_local_page(page);
	memcpy(buf, kaddr, PAGE_SIZE);
	kunmap_local(kaddr);
	put_page(page);
	return 0;
}

/* Copy buf into the page of user memory at addr: a CPU write. */
int pinmod_poke(unsigned long addr, const void *buf)
{
	struct page *page;
	void *kaddr;
	int ret;

	ret = get_user_pages_fast(addr, 1, FOLL_WRITE, &page);
	if (ret < 1)
		return ret < 0 ? ret : -EFAULT;
	kaddr = kmap_local_page(page);
	memcpy(kaddr, buf, PAGE_SIZE);
	kunmap_local(kaddr);
	set_page_dirty_lock(page);
	put_page(page);
	return 0;
}

/* Copy n pages of user memory from start into out: a CPU read. */
int pinmod_copy_in(unsigned long start, int n, char *out)
{
	struct page **pages;
	int i, got;

	pages = kmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	got = get_user_pages_fast(start, n, 0, pages);
	for (i = 0; i < got; i++) {
		memcpy_from_page(out + i * PAGE_SIZE, pages[i], 0, PAGE_SIZE);
		put_page(pages[i]);
	}
	kfree(pages);
	return got;
}

/* Copy in into n pages of user memory from start: a CPU write. */
int pinmod_copy_out(unsigned long start, int n, const char *in)
{
	struct page **pages;
	int i, got;

	pages = kmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	got = get_user_pages_fast(start, n, FOLL_WRITE, pages);
	for (i = 0; i < got; i++) {
		memcpy_to_page(pages[i], 0, in + i * PAGE_SIZE, PAGE_SIZE);
		set_page_dirty_lock(pages[i]);
		put_page(pages[i]);
	}
	kfree(pages);
	return got;
}
