/* Pages added to a bio are released with the bio (bio_release_pages()),
 * which puts them unless the bio is flagged BIO_PAGE_PINNED: no pairing
 * here, the leftovers' put_page() is not the whole release. */
static int map_user_pages(struct bio *bio, struct iov_iter *iter)
{
	struct page *pages[8];
	ssize_t bytes;
	size_t offs;
	int j, npages;

	bytes = iov_iter_get_pages2(iter, pages, LONG_MAX, 8, &offs);
	if (bytes <= 0)
		return -EFAULT;
	npages = DIV_ROUND_UP(offs + bytes, PAGE_SIZE);
	for (j = 0; j < npages; j++) {
		if (!bio_add_page(bio, pages[j], PAGE_SIZE - offs, offs))
			break;
		offs = 0;
	}
	while (j < npages)
		put_page(pages[j++]);
	return 0;
}
