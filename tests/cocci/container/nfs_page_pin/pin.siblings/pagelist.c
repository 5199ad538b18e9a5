/* fs/nfs/pagelist.c (6.1) with the overlay. */
struct nfs_page *
nfs_create_request_pinned(struct nfs_open_context *ctx, struct page *page,
			  unsigned int offset, unsigned int count)
{
	return nfs_create_request_owner(ctx, page, offset, count, true);
}

static void nfs_clear_request(struct nfs_page *req)
{
	if (test_and_clear_bit(PG_PINNED, &req->wb_flags))
		unpin_user_page(req->wb_page);
	else
		put_page(req->wb_page);
}
