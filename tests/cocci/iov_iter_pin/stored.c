/* fs/splice.c-like: pages stored into a pipe buffer live on. */
static int to_pipe(struct iov_iter *from, struct pipe_inode_info *pipe)
{
	struct pipe_buffer buf = { .ops = &user_page_pipe_buf_ops };
	struct page *pages[16];
	size_t start;
	ssize_t left;
	int n;

	left = iov_iter_get_pages2(from, pages, ~0UL, 16, &start);
	if (left <= 0)
		return left;
	n = DIV_ROUND_UP(left + start, PAGE_SIZE);
	for (int i = 0; i < n; i++) {
		buf.page = pages[i];
		if (add_to_pipe(pipe, &buf) < 0)
			break;
	}
	for (int i = 0; i < n; i++)
		put_page(pages[i]);
	return 0;
}
