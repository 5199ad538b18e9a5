/* vmsplice()'s iter_to_pipe(): each page of a local array is handed to the
 * pipe with add_to_pipe() on a user_page_pipe_buf_ops buffer; after a
 * failed add_to_pipe() (which released the buffer itself) the pages not
 * handed over are put. The second function takes a struct page ** array. */

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

static ssize_t iter_to_pipe(struct iov_iter *from,
			    struct pipe_inode_info *pipe,
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
			int size = min_t(int, left, PAGE_SIZE - start);

			buf.page = pages[i];
			buf.offset = start;
			buf.len = size;
			ret = add_to_pipe(pipe, &buf);
			if (unlikely(ret < 0)) {
				iov_iter_revert(from, left);
				// this one got dropped by add_to_pipe()
				while (++i < n)
					put_page(pages[i]);
				goto out;
			}
			total += ret;
			left -= size;
			start = 0;
		}
	}
out:
	return total ? total : ret;
}

static ssize_t one_page_to_pipe(struct iov_iter *from,
				struct pipe_inode_info *pipe,
				struct page **pv)
{
	struct pipe_buffer pb = { .ops = &user_page_pipe_buf_ops };
	size_t off;
	ssize_t n;

	n = iov_iter_get_pages2(from, pv, PAGE_SIZE, 1, &off);
	if (n <= 0)
		return n;
	pb.page = pv[0];
	pb.offset = off;
	pb.len = n;
	return add_to_pipe(pipe, &pb);
}
