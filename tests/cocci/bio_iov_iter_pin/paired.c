/* block/fops.c-like: acquire and release in one file. */
static void blkdev_bio_end_io(struct bio *bio)
{
	struct blkdev_dio *dio = bio->bi_private;

	if (dio->flags & DIO_SHOULD_DIRTY) {
		bio_check_pages_dirty(bio);
	} else {
		bio_release_pages(bio, false);
		bio_put(bio);
	}
}

static ssize_t simple_dio(struct block_device *bdev, struct iov_iter *iter)
{
	struct bio bio;
	ssize_t ret;

	bio_init(&bio, bdev, NULL, 0, REQ_OP_READ);
	ret = bio_iov_iter_get_pages(&bio, iter);
	if (unlikely(ret))
		goto out;
	submit_bio_wait(&bio);
	bio_release_pages(&bio, true);
out:
	bio_uninit(&bio);
	return ret;
}
