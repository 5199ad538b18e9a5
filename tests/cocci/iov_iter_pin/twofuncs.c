/* Pairing is per function: the second acquire has no release here. */
static ssize_t paired(struct iov_iter *iter)
{
	struct page *pages[4];
	size_t start;
	ssize_t n;

	n = iov_iter_get_pages2(iter, pages, 4 * PAGE_SIZE, 4, &start);
	if (n > 0)
		release_pages(pages, DIV_ROUND_UP(start + n, PAGE_SIZE));
	return n;
}

static ssize_t unpaired(struct ctx *c, struct iov_iter *iter)
{
	size_t start;

	return iov_iter_get_pages2(iter, c->pages, 4 * PAGE_SIZE, 4, &start);
}
