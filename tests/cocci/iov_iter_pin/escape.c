/* fs/nfs/direct.c-like: pages go into requests that hold their own
 * reference; converting the local put_page alone would be wrong. */
static ssize_t schedule_read(struct nfs_direct_req *dreq, struct iov_iter *iter)
{
	struct page **pagevec;
	size_t pgbase;
	ssize_t result;
	unsigned npages, i;

	result = iov_iter_get_pages_alloc2(iter, &pagevec, rsize, &pgbase);
	if (result < 0)
		return result;
	npages = (result + pgbase + PAGE_SIZE - 1) / PAGE_SIZE;
	for (i = 0; i < npages; i++)
		nfs_create_request(dreq->ctx, pagevec[i], pgbase, 0, PAGE_SIZE);
	for (i = 0; i < npages; i++)
		put_page(pagevec[i]);
	kvfree(pagevec);
	return result;
}
