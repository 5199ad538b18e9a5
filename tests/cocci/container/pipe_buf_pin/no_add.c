/* No add_to_pipe(): the pages are copied from and put in the same
 * function. This rule leaves it to iov_iter_extract_pin and says nothing;
 * a pipe_buffer filled by hand (no add_to_pipe()) is not converted
 * either. */

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

static ssize_t copy_pages(struct iov_iter *from, void *dst)
{
	struct page *pages[4];
	size_t start;
	ssize_t n;
	int i;

	n = iov_iter_get_pages2(from, pages, 4 * PAGE_SIZE, 4, &start);
	if (n <= 0)
		return n;
	for (i = 0; i < DIV_ROUND_UP(n + start, PAGE_SIZE); i++) {
		memcpy_from_page(dst + i * PAGE_SIZE, pages[i], 0, PAGE_SIZE);
		put_page(pages[i]);
	}
	return n;
}

static ssize_t fill_by_hand(struct iov_iter *from,
			    struct pipe_inode_info *pipe)
{
	struct pipe_buffer *buf = pipe_head_buf(pipe);
	struct page *pages[1];
	size_t start;
	ssize_t n;

	n = iov_iter_get_pages2(from, pages, PAGE_SIZE, 1, &start);
	if (n <= 0)
		return n;
	buf->ops = &user_page_pipe_buf_ops;
	buf->page = pages[0];
	buf->offset = start;
	buf->len = n;
	pipe->head++;
	return n;
}
