/* Page arrays the rule cannot hand to iov_iter_extract_pages() safely:
 * bufs[k].pages moves with k, so a pointer set up at the top of a block
 * would be stale; req->pages is reached through a pointer and outlives the
 * function (its put_page() is an error path only); b.pages is a field of
 * a structure another file defines, of a type unknown here. */
struct page_batch {
	struct page *pages[16];
};

static ssize_t fill_batches(struct iov_iter *iter)
{
	struct page_batch bufs[4];
	ssize_t n, total = 0;
	size_t off;
	int k, i, nr;

	for (k = 0; k < 4; k++) {
		n = iov_iter_get_pages2(iter, bufs[k].pages, LONG_MAX, 16, &off);
		if (n <= 0)
			break;
		nr = DIV_ROUND_UP(n + off, PAGE_SIZE);
		for (i = 0; i < nr; i++) {
			flush_dcache_page(bufs[k].pages[i]);
			put_page(bufs[k].pages[i]);
		}
		total += n;
	}
	return total;
}

static ssize_t fill_req(struct my_req *req, struct iov_iter *iter)
{
	size_t off;
	ssize_t n;
	int i;

	n = iov_iter_get_pages2(iter, req->pages, LONG_MAX, 16, &off);
	if (n < 0) {
		for (i = 0; i < 16; i++)
			put_page(req->pages[i]);
		return n;
	}
	return n;
}

static ssize_t fill_other(struct iov_iter *iter)
{
	struct other_batch b;
	size_t off;
	ssize_t n;
	int i;

	n = iov_iter_get_pages2(iter, b.pages, LONG_MAX, 16, &off);
	if (n <= 0)
		return n;
	for (i = 0; i < DIV_ROUND_UP(n + off, PAGE_SIZE); i++)
		put_page(b.pages[i]);
	return n;
}
