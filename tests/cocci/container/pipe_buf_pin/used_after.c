/* The pages are handed to the pipe and then used again: the first
 * function flushes each page after add_to_pipe(), the second reads it
 * through the array; a pin owned by the pipe buffer may be gone by then.
 * Both stay unchanged. */

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

static ssize_t flush_to_pipe(struct iov_iter *from,
			     struct pipe_inode_info *pipe)
{
	struct pipe_buffer buf = {
		.ops = &user_page_pipe_buf_ops,
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
		flush_dcache_page(pages[i]);
		left -= ret;
		start = 0;
	}
	return ret;
}

static ssize_t peek_to_pipe(struct iov_iter *from,
			    struct pipe_inode_info *pipe, u8 *first)
{
	struct pipe_buffer buf = { .ops = &user_page_pipe_buf_ops };
	struct page *pages[1];
	size_t start;
	ssize_t n;

	n = iov_iter_get_pages2(from, pages, PAGE_SIZE, 1, &start);
	if (n <= 0)
		return n;
	buf.page = pages[0];
	buf.offset = start;
	buf.len = n;
	n = add_to_pipe(pipe, &buf);
	*first = *(u8 *)page_address(pages[0]);
	return n;
}
