/* fs/direct-io.c in small: the array lives in struct dio, a getter hands
 * out its pages, a helper keeps the current page in sdio->cur_page. */
static int refill(struct dio *dio, struct dio_submit *sdio)
{
	ssize_t ret;

	ret = iov_iter_get_pages2(sdio->iter, dio->pages, LONG_MAX, 64, &sdio->from);
	if (ret < 0) {
		struct page *page = ZERO_PAGE(0);

		get_page(page);
		dio->pages[0] = page;
		return 0;
	}
	return ret;
}

static struct page *dio_get_page(struct dio *dio, struct dio_submit *sdio)
{
	if (sdio->head == sdio->tail && refill(dio, sdio))
		return ERR_PTR(-EFAULT);
	return dio->pages[sdio->head];
}

static void cleanup(struct dio *dio, struct dio_submit *sdio)
{
	while (sdio->head < sdio->tail)
		put_page(dio->pages[sdio->head++]);
}

static void bio_alloc_one(struct dio *dio, struct dio_submit *sdio)
{
	struct bio *bio;

	bio = bio_alloc(dio->bdev, 4, dio->opf, GFP_KERNEL);
	sdio->bio = bio;
}

static void complete(struct dio *dio, struct bio *bio)
{
	if (dio->should_dirty)
		bio_check_pages_dirty(bio);
	else
		bio_release_pages(bio, false);
}

static int submit_section(struct dio *dio, struct dio_submit *sdio,
			  struct page *page, unsigned int len)
{
	if (sdio->cur_page) {
		send_cur_page(dio, sdio);
		put_page(sdio->cur_page);
	}
	get_page(page);
	sdio->cur_page = page;
	return 0;
}

static int do_io(struct dio *dio, struct dio_submit *sdio)
{
	struct page *page;

	page = dio_get_page(dio, sdio);
	if (IS_ERR(page))
		return PTR_ERR(page);
	if (submit_section(dio, sdio, page, PAGE_SIZE)) {
		put_page(page);
		return -EIO;
	}
	put_page(page);
	return 0;
}
