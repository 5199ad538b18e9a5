/* Case 2: the page is kept in a structure and mapped; released elsewhere. */
static int setup_notify(struct ctx *context, unsigned long uva)
{
	struct page *page;
	int retval;

	retval = get_user_pages_fast(uva, 1, FOLL_WRITE, &page);
	if (retval != 1)
		return -EFAULT;
	context->notify_page = page;
	context->notify = kmap(context->notify_page) + (uva & (PAGE_SIZE - 1));
	return 0;
}

/* Case 2, DMA: an array of the structure handed to the device. */
static int dma_alloc(struct dev *d, struct dma *dma, unsigned long addr, int n)
{
	int err, i;

	err = get_user_pages_fast(addr, n, FOLL_WRITE, dma->pages);
	if (err != n)
		return -EFAULT;
	for (i = 0; i < n; i++)
		dma->addr[i] = dma_map_page(d, dma->pages[i], 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	return 0;
}

/* Returned to the caller: nothing to see here, review where it goes. */
static struct page *get_arg_page(struct linux_binprm *bprm, unsigned long pos)
{
	struct page *page;

	if (get_user_pages_remote(bprm->mm, pos, 1, FOLL_FORCE, &page, NULL) <= 0)
		return NULL;
	return page;
}
