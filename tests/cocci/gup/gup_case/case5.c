/* Read only (flags 0): FOLL_GET is right, ref-ok. */
static int add_page(struct encl *encl, unsigned long src, void *dst)
{
	struct page *src_page;
	void *kaddr;
	int ret;

	ret = get_user_pages(src, 1, 0, &src_page);
	if (ret < 1)
		return -EFAULT;
	kaddr = kmap_local_page(src_page);
	memcpy(dst, kaddr, PAGE_SIZE);
	kunmap_local(kaddr);
	put_page(src_page);
	return 0;
}

/* The same through a local taken from the array. */
static int sum_pages(unsigned long start, int n, struct page **pages)
{
	int i, got, sum = 0;

	got = get_user_pages_fast(start, n, FOLL_WRITE, pages);
	for (i = 0; i < got; i++) {
		struct page *pg = pages[i];
		char *p = kmap_local_page(pg);

		sum += p[0];
		kunmap_local(p);
		set_page_dirty_lock(pg);
		put_page(pg);
	}
	return sum;
}

/* The caller's flags decide whether the data is written: review. */
static int access_one(struct mm_struct *mm, unsigned long addr, void *buf,
		      int len, unsigned int gup_flags)
{
	struct page *page;
	void *maddr;

	if (get_user_pages_remote(mm, addr, 1, gup_flags, &page, NULL) <= 0)
		return -EFAULT;
	maddr = kmap(page);
	if (gup_flags & FOLL_WRITE)
		memcpy(maddr + offset_in_page(addr), buf, len);
	else
		memcpy(buf, maddr + offset_in_page(addr), len);
	kunmap(page);
	put_page(page);
	return len;
}
