/* iomap-like: a ZERO_PAGE in a bio is no second page source. */
static void zero_end_io(struct bio *bio)
{
	bio_release_pages(bio, false);
	bio_put(bio);
}

static void dio_zero(struct bio *bio, unsigned int len)
{
	struct page *page = ZERO_PAGE(0);

	get_page(page);
	__bio_add_page(bio, page, len, 0);
	submit_bio(bio);
}

static int dio_iter(struct bio *bio, struct iov_iter *iter)
{
	return bio_iov_iter_get_pages(bio, iter);
}
