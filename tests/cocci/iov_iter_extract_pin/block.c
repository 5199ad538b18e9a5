/* fs/ceph/file.c-like, but synchronous: the page array is declared in the
 * loop's block next to the other locals; the pointer that
 * iov_iter_extract_pages() needs goes after them. */
static ssize_t checksum_iter(struct iov_iter *iter, size_t maxsize, u32 *csum)
{
	size_t size = 0;

	while (size < maxsize) {
		struct page *pages[ITER_GET_BVECS_PAGES];
		ssize_t bytes;
		size_t start;
		int idx, n;

		bytes = iov_iter_get_pages2(iter, pages, maxsize - size,
					    ITER_GET_BVECS_PAGES, &start);
		if (bytes < 0)
			return size ?: bytes;
		n = DIV_ROUND_UP(bytes + start, PAGE_SIZE);
		for (idx = 0; idx < n; idx++) {
			void *p = kmap_local_page(pages[idx]);

			*csum = csum_partial(p, PAGE_SIZE, *csum);
			kunmap_local(p);
		}
		release_pages(pages, n);
		size += bytes;
	}
	return size;
}
