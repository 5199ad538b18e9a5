/* net/9p/trans_virtio.c-like (6.12 p9_get_mapped_pages()): the array goes
 * back to the caller through the struct page *** parameter. */
static int p9_get_mapped_pages(struct virtio_chan *chan, struct page ***pages,
			       struct iov_iter *data, int count, size_t *offs,
			       int *need_drop)
{
	int n;

	if (!iov_iter_count(data))
		return 0;
	n = iov_iter_get_pages_alloc2(data, pages, count, offs);
	if (n < 0)
		return n;
	*need_drop = 1;
	atomic_add(DIV_ROUND_UP(n + *offs, PAGE_SIZE), &vp_pinned);
	return n;
}
