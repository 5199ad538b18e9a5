/* fs/fuse/file.c in small: an acquire helper and a release helper that a
 * caller pairs on the same object. */
static void release_user_pages(struct fuse_args_pages *ap, bool should_dirty)
{
	unsigned int i;

	for (i = 0; i < ap->num_pages; i++) {
		if (should_dirty)
			set_page_dirty_lock(ap->pages[i]);
		put_page(ap->pages[i]);
	}
}

static void aio_complete(struct fuse_io_args *ia)
{
	release_user_pages(&ia->ap, ia->io->should_dirty);
}

static int get_user_pages_ap(struct fuse_args_pages *ap, struct iov_iter *ii,
			     size_t *nbytesp, unsigned int max_pages)
{
	size_t start;
	ssize_t ret;

	while (ap->num_pages < max_pages) {
		ret = iov_iter_get_pages2(ii, &ap->pages[ap->num_pages], *nbytesp,
					  max_pages - ap->num_pages, &start);
		if (ret < 0)
			return ret;
		ap->num_pages += DIV_ROUND_UP(ret + start, PAGE_SIZE);
	}
	return 0;
}

static ssize_t direct_io(struct fuse_io_args *ia, struct iov_iter *iter, size_t n)
{
	int err;

	err = get_user_pages_ap(&ia->ap, iter, &n, 32);
	if (err)
		return err;
	if (!ia->io->async)
		release_user_pages(&ia->ap, false);
	return n;
}
