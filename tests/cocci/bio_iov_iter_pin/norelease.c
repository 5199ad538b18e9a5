/* The release is in another file: nothing to pair with here. */
static int fill(struct bio *bio, struct iov_iter *iter)
{
	return bio_iov_iter_get_pages(bio, iter);
}
