/* The synchronous pattern: get pages, do I/O, release_pages. */
static ssize_t sync_io(struct iov_iter *iter)
{
	struct page *pages[16];
	size_t start;
	ssize_t n;
	int i, nr;

	n = iov_iter_get_pages2(iter, pages, 16 * PAGE_SIZE, 16, &start);
	if (n <= 0)
		return n;
	nr = DIV_ROUND_UP(start + n, PAGE_SIZE);
	for (i = 0; i < nr; i++)
		do_io(page_address(pages[i]));
	release_pages(pages, nr);
	return n;
}
