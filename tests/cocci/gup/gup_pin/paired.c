/* A CPU read (flags 0): no pin, FOLL_GET stays (ref-ok). */
static int read_src(unsigned long src, void *dst)
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

/* A remote page, written, released on the way out. */
static int update_ctr(struct mm_struct *mm, unsigned long vaddr, short d)
{
	struct page *page;
	void *kaddr;
	int ret;

	ret = get_user_pages_remote(mm, vaddr, 1,
				    FOLL_WRITE, &page, NULL);
	if (unlikely(ret <= 0))
		return ret == 0 ? -EBUSY : ret;
	kaddr = kmap_atomic(page);
	*(short *)kaddr += d;
	kunmap_atomic(kaddr);
	put_page(page);
	return 0;
}

/* An array, each page through a local, released one by one. */
static int sum_pages(unsigned long start, int n)
{
	struct page *pages[8];
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

/* The same identifier in another function: its page is not ours. */
static void drop(struct page *src_page)
{
	put_page(src_page);
}

/* The array allocated before the call, freed after: still ours; read
 * only, so it stays (ref-ok). */
static int alloc_and_read(unsigned long start, int n, char *out)
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
