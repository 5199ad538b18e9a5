/* One bio gets user pages and a page of its own: must stay as it is. */
static void mixed_end_io(struct bio *bio)
{
	bio_release_pages(bio, false);
	bio_put(bio);
}

static int mixed_dio(struct bio *bio, struct iov_iter *iter)
{
	struct page *hdr = alloc_page(GFP_KERNEL);
	int ret;

	__bio_add_page(bio, hdr, PAGE_SIZE, 0);
	ret = bio_iov_iter_get_pages(bio, iter);
	if (ret)
		return ret;
	bio->bi_end_io = mixed_end_io;
	submit_bio(bio);
	return 0;
}
