/* Pages taken straight into a field that must stay as they are. */
/* Straight into a field, but the flags are an expression (bcm-vk): no
 * FOLL_LONGTERM can be added by the rule, so nothing changes. */
struct xfer {
	int nr_pages;
	struct page **pages;
};

static void xfer_free(struct xfer *x)
{
	int i;

	for (i = 0; i < x->nr_pages; i++)
		put_page(x->pages[i]);
	kfree(x->pages);
}

static int xfer_alloc(struct device *dev, struct xfer *x, unsigned long uaddr, int dir)
{
	int err;

	x->pages = kmalloc_array(x->nr_pages, sizeof(struct page *), GFP_KERNEL);
	if (!x->pages)
		return -ENOMEM;
	err = get_user_pages_fast(uaddr, x->nr_pages, dir == DMA_FROM_DEVICE, x->pages);
	if (err != x->nr_pages)
		return -EINVAL;
	dma_map_page(dev, x->pages[0], 0, PAGE_SIZE, dir);
	return 0;
}

/* Straight into a field, handed to a helper that keeps the page. */
struct keeper {
	struct page *page;
	struct page *saved;
};

static void keep_page(struct keeper *k, struct page *page)
{
	k->saved = page;
}

static int keeper_fill(struct keeper *k, unsigned long uaddr)
{
	void *p;

	if (get_user_pages_fast(uaddr, 1, FOLL_WRITE, &k->page) != 1)
		return -EFAULT;
	keep_page(k, k->page);
	p = kmap_local_page(k->page);
	memset(p, 0, PAGE_SIZE);
	kunmap_local(p);
	put_page(k->page);
	return 0;
}

/* FOLL_GET among other flags: left alone. */
struct other {
	struct page *pg;
};

static int other_fill(struct other *o, unsigned long uaddr)
{
	void *p;

	if (get_user_pages_fast(uaddr, 1, FOLL_GET | FOLL_WRITE, &o->pg) != 1)
		return -EFAULT;
	p = kmap_local_page(o->pg);
	memset(p, 0, PAGE_SIZE);
	kunmap_local(p);
	put_page(o->pg);
	return 0;
}
