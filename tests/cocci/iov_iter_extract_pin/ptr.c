/* A local page-pointer array (on the stack or allocated): the pages are
 * looked at through an element copy and put right away; the array pointer
 * itself is the struct page ** that iov_iter_extract_pages() wants. The
 * second function puts in the first branch of an if with an else, which
 * the rule leaves to a human. */
static int sum_user_pages(struct iov_iter *iter, int nr_vecs, u32 *sum)
{
	struct page **pages, *stack_pages[8];
	ssize_t bytes;
	size_t offs;
	int j, npages;

	if (nr_vecs <= 8) {
		pages = stack_pages;
		bytes = iov_iter_get_pages2(iter, pages, LONG_MAX, nr_vecs, &offs);
	} else {
		pages = kvmalloc_array(nr_vecs, sizeof(*pages), GFP_KERNEL);
		if (!pages)
			return -ENOMEM;
		bytes = iov_iter_get_pages2(iter, pages, LONG_MAX, nr_vecs, &offs);
	}
	if (bytes <= 0)
		goto out;
	npages = DIV_ROUND_UP(offs + bytes, PAGE_SIZE);
	for (j = 0; j < npages; j++) {
		struct page *page = pages[j];

		*sum += csum_partial(page_address(page), PAGE_SIZE, 0);
		if (PageCompound(page))
			flush_dcache_page(page);
		put_page(page);
	}
out:
	if (pages != stack_pages)
		kvfree(pages);
	return bytes;
}

static int sum_first_page(struct iov_iter *iter, u32 *sum)
{
	struct page *pages[1];
	size_t offs;
	ssize_t bytes;

	bytes = iov_iter_get_pages2(iter, pages, PAGE_SIZE, 1, &offs);
	if (bytes <= 0)
		return bytes;
	if (PageHighMem(pages[0]))
		put_page(pages[0]);
	else
		release_pages(pages, 1);
	return bytes;
}
