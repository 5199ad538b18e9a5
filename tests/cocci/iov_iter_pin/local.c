/* block/blk-map.c-like: the pages go into a bio, leftovers are put. */
static int map_user(struct bio *bio, struct iov_iter *iter, int nr_vecs)
{
	struct page **pages, *stack_pages[8];
	ssize_t bytes;
	size_t offs;
	int j, npages;

	if (nr_vecs <= 8) {
		pages = stack_pages;
		bytes = iov_iter_get_pages2(iter, pages, LONG_MAX, nr_vecs, &offs);
	} else {
		bytes = iov_iter_get_pages_alloc2(iter, &pages, LONG_MAX, &offs);
	}
	if (bytes <= 0)
		goto out_unmap;
	npages = DIV_ROUND_UP(offs + bytes, PAGE_SIZE);
	for (j = 0; j < npages; j++) {
		struct page *page = pages[j];
		bool same_page = false;

		if (!bio_add_hw_page(q, bio, page, PAGE_SIZE, offs, 8, &same_page)) {
			if (same_page)
				put_page(page);
			break;
		}
	}
	while (j < npages)
		put_page(pages[j++]);
	if (pages != stack_pages)
		kvfree(pages);
	return 0;
out_unmap:
	bio_release_pages(bio, false);
	return -EFAULT;
}

static void unmap_user(struct bio *bio)
{
	bio_release_pages(bio, bio_data_dir(bio) == READ);
}
