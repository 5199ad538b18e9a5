/* Calls are found, comments and declarations are not; a NULL pages
 * argument only faults the pages in. iov_iter_get_pages2() in a comment. */
ssize_t iov_iter_get_pages2(struct iov_iter *i, struct page **pages,
			    size_t maxsize, unsigned maxpages, size_t *start);

static int fault_in(struct mm_struct *mm, unsigned long addr)
{
	int locked = 1;

	return get_user_pages_remote(mm, addr, 1, FOLL_WRITE, NULL, NULL, &locked);
}

static int dma(unsigned long addr, struct page **pages)
{
	return pin_user_pages_fast(addr, 4, FOLL_WRITE, pages);
}

static int io(struct iov_iter *iter, struct page **pages, struct bio *bio)
{
	size_t start;

	if (iov_iter_get_pages2(iter, pages, 4096, 1, &start) < 0)
		return -EFAULT;
	bio_release_pages(bio, false);
	return 0;
}
