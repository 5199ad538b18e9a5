/* fs/splice.c-like (6.12 iter_to_pipe()): the pages are stored into a pipe
 * buffer and live on; only the failure path puts the rest. */
static ssize_t iter_to_pipe(struct iov_iter *from, struct pipe_inode_info *pipe,
			    unsigned int flags)
{
	struct pipe_buffer buf = {
		.ops = &user_page_pipe_buf_ops,
		.flags = flags
	};
	size_t total = 0;
	ssize_t ret = 0;

	while (iov_iter_count(from)) {
		struct page *pages[16];
		ssize_t left;
		size_t start;
		int i, n;

		left = iov_iter_get_pages2(from, pages, ~0UL, 16, &start);
		if (left <= 0) {
			ret = left;
			break;
		}
		n = DIV_ROUND_UP(left + start, PAGE_SIZE);
		for (i = 0; i < n; i++) {
			buf.page = pages[i];
			ret = add_to_pipe(pipe, &buf);
			if (unlikely(ret < 0)) {
				while (++i < n)
					put_page(pages[i]);
				goto out;
			}
			total += ret;
		}
	}
out:
	return total ? total : ret;
}
