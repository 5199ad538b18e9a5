/* The page array expression changes between the top of the function and
 * the acquire (bufs[k].pages, k moves on): the pointer the new call needs
 * cannot be set up front. The array of the second function is reached
 * through a pointer and outlives the function: its put_page() is an error
 * path only. */
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
