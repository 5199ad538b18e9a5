/* net/core/skmsg.c-like (6.12 sk_msg_zerocopy_from_iter()): the pages go
 * into a scatterlist that outlives the call; only the error path puts. */
int sk_msg_zerocopy_from_iter(struct sock *sk, struct iov_iter *from,
			      struct sk_msg *msg, u32 bytes)
{
	struct page *pages[MAX_MSG_FRAGS];
	ssize_t copied, use, offset;
	int i = 0, n;

	copied = iov_iter_get_pages2(from, pages, bytes, MAX_MSG_FRAGS,
				    &offset);
	if (copied <= 0)
		return -EFAULT;
	if (msg->sg.end + MAX_MSG_FRAGS > NR_MSG_FRAG_IDS) {
		n = DIV_ROUND_UP(copied + offset, PAGE_SIZE);
		for (i = 0; i < n; i++)
			put_page(pages[i]);
		return -ENOSPC;
	}
	while (copied) {
		use = min_t(int, copied, PAGE_SIZE - offset);
		sg_set_page(&msg->sg.data[msg->sg.end], pages[i], use, offset);
		sk_msg_iter_next(msg, end);
		offset = 0;
		copied -= use;
		i++;
	}
	return 0;
}
