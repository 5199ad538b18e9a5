/* Still the reference API: the zero page keeps its get_page(). */
static void end_io(struct bio *bio)
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
