/* Pages taken straight into a field, checked by a helper of the file. */
struct region {
	struct list_head entry;
	unsigned long nr_pages;
	struct page **pages;
};

static int check_region_page(struct enclave *e, struct page *page)
{
	if (!PageHuge(page))
		return -EINVAL;
	if (page_size(page) & (SZ_2M - 1))
		return -EINVAL;
	if (e->numa_node != page_to_nid(page))
		return -EINVAL;
	return 0;
}

static void remove_regions(struct enclave *e)
{
	struct region *r, *tmp;
	unsigned long i;

	list_for_each_entry_safe(r, tmp, &e->regions, entry) {
		list_del(&r->entry);
		for (i = 0; i < r->nr_pages; i++)
			put_page(r->pages[i]);
		kfree(r->pages);
		kfree(r);
	}
}

static int add_region(struct enclave *e, unsigned long uaddr, unsigned long size)
{
	struct region *r;
	unsigned long done = 0, i;
	long rc;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->pages = kcalloc(size / SZ_2M, sizeof(*r->pages), GFP_KERNEL);
	if (!r->pages) {
		kfree(r);
		return -ENOMEM;
	}
	do {
		i = r->nr_pages;
		rc = get_user_pages_unlocked(uaddr + done, 1,
					     r->pages + i, FOLL_GET);
		if (rc < 0)
			goto put_pages;
		r->nr_pages++;	/* before any other check: the release sees it */
		rc = check_region_page(e, r->pages[i]);
		if (rc < 0)
			goto put_pages;
		rc = add_phys(e, page_to_phys(r->pages[i]),
			      page_size(r->pages[i]));
		if (rc < 0)
			goto put_pages;
		done += page_size(r->pages[i]);
	} while (done < size);
	list_add(&r->entry, &e->regions);
	return 0;
put_pages:
	for (i = 0; i < r->nr_pages; i++)
		put_page(r->pages[i]);
	kfree(r->pages);
	kfree(r);
	return rc;
}

/* Straight into a field, released in the same function: case 5. */
struct buf {
	struct page *page;
};

static int poke(struct buf *b, unsigned long uaddr, u32 val)
{
	u32 *kaddr;
	int ret;

	ret = get_user_pages_fast(uaddr, 1, FOLL_WRITE, &b->page);
	if (ret != 1)
		return -EFAULT;
	kaddr = kmap_local_page(b->page);
	*kaddr = val;
	kunmap_local(kaddr);
	set_page_dirty_lock(b->page);
	put_page(b->page);
	b->page = NULL;
	return 0;
}
