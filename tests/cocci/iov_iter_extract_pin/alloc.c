/* iov_iter_get_pages_alloc2() into a local array, released in a loop and
 * freed in the same function; the second function already clears the
 * array pointer and releases with release_pages(). The third assigns the
 * result in a declaration, where no statement can go before it. */
static ssize_t copy_from_user_pages(struct iov_iter *iter, void *buf,
				    size_t maxsize)
{
	struct page **pages;
	ssize_t res;
	size_t off;
	int i, npages;

	res = iov_iter_get_pages_alloc2(iter, &pages, maxsize, &off);
	if (res < 0)
		return res;
	npages = DIV_ROUND_UP(res + off, PAGE_SIZE);
	for (i = 0; i < npages; i++) {
		void *p = kmap_local_page(pages[i]);

		memcpy(buf + i * PAGE_SIZE, p, PAGE_SIZE);
		kunmap_local(p);
		put_page(pages[i]);
	}
	kvfree(pages);
	return res;
}

static ssize_t touch_user_pages(struct iov_iter *iter, size_t maxsize)
{
	struct page **pagevec = NULL;
	size_t start;
	ssize_t n;

	while (iov_iter_count(iter)) {
		pagevec = NULL;
		n = iov_iter_get_pages_alloc2(iter, &pagevec, maxsize, &start);
		if (n <= 0)
			break;
		flush_dcache_page(pagevec[0]);
		release_pages(pagevec, DIV_ROUND_UP(n + start, PAGE_SIZE));
		kvfree(pagevec);
	}
	return n;
}

static ssize_t first_byte(struct iov_iter *iter, u8 *b)
{
	size_t off;
	struct page **pages;
	ssize_t n = iov_iter_get_pages_alloc2(iter, &pages, 1, &off);

	if (n <= 0)
		return n;
	*b = *(u8 *)(page_address(pages[0]) + off);
	put_page(pages[0]);
	kvfree(pages);
	return n;
}
