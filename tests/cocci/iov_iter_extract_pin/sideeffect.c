/* block/blk-map.c-like: the index of the release has a side effect, so a
 * release that only happens when the pages are pinned would change the
 * loop; and the bio path hands pages on. Left alone. */
static int copy_user_tail(struct iov_iter *iter, void *buf)
{
	struct page *pages[16];
	ssize_t bytes;
	size_t offs;
	int j = 0, npages;

	bytes = iov_iter_get_pages2(iter, pages, LONG_MAX, 16, &offs);
	if (bytes <= 0)
		return -EFAULT;
	npages = DIV_ROUND_UP(offs + bytes, PAGE_SIZE);
	memcpy(buf, page_address(pages[0]) + offs, PAGE_SIZE - offs);
	while (j < npages)
		put_page(pages[j++]);
	return 0;
}
