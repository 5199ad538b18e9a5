/* fs/nfs/pagelist.c with the overlay: the container's pin-aware release. */
struct nfs_page *nfs_page_create_from_extracted_page(struct nfs_open_context *ctx,
						     struct page *page,
						     unsigned int pgbase,
						     loff_t offset,
						     unsigned int count,
						     bool pinned)
{
	return NULL;
}

static void nfs_clear_request(struct nfs_page *req)
{
	if (test_and_clear_bit(PG_PINNED, &req->wb_flags))
		unpin_user_page(req->wb_page);
	else
		put_page(req->wb_page);
}
