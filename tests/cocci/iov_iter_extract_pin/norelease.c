/* The pages are acquired into a structure and released elsewhere
 * (fs/direct-io.c before it moved to iov_iter_extract_pages()). */
static int dio_refill_pages(struct dio *dio, struct dio_submit *sdio)
{
	ssize_t ret;

	ret = iov_iter_get_pages2(sdio->iter, dio->pages, LONG_MAX, DIO_PAGES,
				  &sdio->from);
	if (ret < 0)
		return ret;
	sdio->head = 0;
	sdio->tail = (ret + sdio->from) / PAGE_SIZE;
	return 0;
}
