/* Held in a field for one request: the outer function releases the
 * pages after the request, so no FOLL_LONGTERM (case 1). */
struct xfer {
	struct sg_table *sgt;
	struct page **page_list;
	unsigned long nr_pages;
};

static void free_xfer(struct xfer *x)
{
	unsigned long i;

	sg_free_table(x->sgt);
	for (i = 0; i < x->nr_pages; i++)
		put_page(x->page_list[i]);
	kfree(x->page_list);
}

static int map_user_pages(struct xfer *x, unsigned long uaddr, unsigned long nr_pages)
{
	struct page **page_list;
	int ret, i;

	page_list = kmalloc_array(nr_pages, sizeof(*page_list), GFP_KERNEL);
	if (!page_list)
		return -ENOMEM;
	ret = get_user_pages_fast(uaddr, nr_pages, 0, page_list);
	if (ret < 0)
		goto free_page_list;
	if (ret != nr_pages) {
		nr_pages = ret;
		ret = -EFAULT;
		goto put_pages;
	}
	ret = sg_alloc_table_from_pages(x->sgt, page_list, nr_pages, 0,
					nr_pages * PAGE_SIZE, GFP_KERNEL);
	if (ret)
		goto put_pages;
	x->page_list = page_list;
	x->nr_pages = nr_pages;
	return 0;
put_pages:
	for (i = 0; i < nr_pages; i++)
		put_page(page_list[i]);
free_page_list:
	kfree(page_list);
	return ret;
}

static int encode(struct xfer *x, struct msg *m)
{
	return map_user_pages(x, m->addr, m->nr_pages);
}

int do_request(struct dev *d, struct msg *m)
{
	struct xfer x = {};
	int ret;

	ret = encode(&x, m);
	if (ret)
		return ret;
	ret = send_and_wait(d, &x);
	free_xfer(&x);
	return ret;
}
