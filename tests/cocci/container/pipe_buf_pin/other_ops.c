/* Pages handed to a pipe on a buffer whose ops are not the pin-aware
 * user_page_pipe_buf_ops (their release put_page()s, a pin would leak),
 * and on a buffer whose ops or flags are changed after its declaration:
 * unchanged. */

static void user_page_pipe_buf_release(struct pipe_inode_info *pipe,
				       struct pipe_buffer *buf)
{
	if (buf->flags & PIPE_BUF_FLAG_PINNED)
		unpin_user_page(buf->page);
	else
		put_page(buf->page);
}

static const struct pipe_buf_operations user_page_pipe_buf_ops = {
	.release	= user_page_pipe_buf_release,
	.get		= user_page_pipe_buf_get,
};

static ssize_t cache_to_pipe(struct iov_iter *from,
			     struct pipe_inode_info *pipe)
{
	struct pipe_buffer buf = {
		.ops = &page_cache_pipe_buf_ops,
	};
	struct page *pages[16];
	ssize_t left, ret = 0;
	size_t start;
	int i, n;

	left = iov_iter_get_pages2(from, pages, ~0UL, 16, &start);
	if (left <= 0)
		return left;
	n = DIV_ROUND_UP(left + start, PAGE_SIZE);
	for (i = 0; i < n; i++) {
		buf.page = pages[i];
		buf.offset = start;
		buf.len = min_t(int, left, PAGE_SIZE - start);
		ret = add_to_pipe(pipe, &buf);
		if (ret < 0) {
			while (++i < n)
				put_page(pages[i]);
			break;
		}
		left -= ret;
		start = 0;
	}
	return ret;
}

static ssize_t switch_to_pipe(struct iov_iter *from,
			      struct pipe_inode_info *pipe, bool nosteal)
{
	struct pipe_buffer buf = { .ops = &user_page_pipe_buf_ops };
	struct page *pages[1];
	size_t start;
	ssize_t n;

	n = iov_iter_get_pages2(from, pages, PAGE_SIZE, 1, &start);
	if (n <= 0)
		return n;
	if (nosteal)
		buf.ops = &nosteal_pipe_buf_ops;
	buf.page = pages[0];
	buf.offset = start;
	buf.len = n;
	return add_to_pipe(pipe, &buf);
}

static ssize_t flags_to_pipe(struct iov_iter *from,
			     struct pipe_inode_info *pipe, unsigned int flags)
{
	struct pipe_buffer buf = { .ops = &user_page_pipe_buf_ops };
	struct page *pages[1];
	size_t start;
	ssize_t n;

	n = iov_iter_get_pages2(from, pages, PAGE_SIZE, 1, &start);
	if (n <= 0)
		return n;
	buf.page = pages[0];
	buf.flags = flags;
	buf.offset = start;
	buf.len = n;
	return add_to_pipe(pipe, &buf);
}
