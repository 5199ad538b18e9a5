/* fs/direct-io.c-like: the pages are kept in a structure, released far away. */
static int refill(struct dio *dio, struct dio_submit *sdio)
{
	ssize_t ret;

	ret = iov_iter_get_pages2(sdio->iter, dio->pages, LONG_MAX, 64, &sdio->from);
	if (ret < 0)
		return ret;
	sdio->head = 0;
	return 0;
}
