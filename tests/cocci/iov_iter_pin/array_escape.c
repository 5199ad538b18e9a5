/* fs/smb/client/file.c-like: the whole array is handed to a request that
 * releases it later; the put_page on the error path is no pairing. */
static int direct_write(struct iov_iter *from, size_t cur_len)
{
	struct page **pagevec;
	struct cifs_writedata *wdata;
	size_t start;
	ssize_t result;
	unsigned int i, nr_pages;

	result = iov_iter_get_pages_alloc2(from, &pagevec, cur_len, &start);
	if (result < 0)
		return result;
	nr_pages = DIV_ROUND_UP(result + start, PAGE_SIZE);
	wdata = cifs_writedata_direct_alloc(pagevec, complete);
	if (!wdata) {
		for (i = 0; i < nr_pages; i++)
			put_page(pagevec[i]);
		kvfree(pagevec);
		return -ENOMEM;
	}
	return 0;
}
