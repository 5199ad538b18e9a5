// SPDX-License-Identifier: GPL-2.0
/* One source for old and new kernels: get_user_pages() lost its vmas. */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/version.h>
#include "pinmod.h"

int pinmod_poke_locked(unsigned long addr, const void *buf)
{
	struct page *page;
	void *kaddr;
	long ret;

	mmap_read_lock(current->mm);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	ret = get_user_pages(addr, 1, FOLL_WRITE, &page, NULL);
#else
	ret = get_user_pages(addr, 1, FOLL_WRITE, &page);
#endif
	mmap_read_unlock(current->mm);
	if (ret < 1)
		return ret < 0 ? ret : -EFAULT;
	kaddr = kmap_local_page(page);
	memcpy(kaddr, buf, PAGE_SIZE);
	kunmap_local(kaddr);
	set_page_dirty_lock(page);
	put_page(page);
	return 0;
}
