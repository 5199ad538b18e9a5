/* Leaks a pin would carry: each function stays as it is, reported "fix first". */

/* The count is raised after the checks: a failed check skips pages[i]. */
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
		rc = check_region_page(e, r->pages[i]);
		if (rc < 0)
			goto put_pages;
		rc = add_phys(e, page_to_phys(r->pages[i]),
			      page_size(r->pages[i]));
		if (rc < 0)
			goto put_pages;
		done += page_size(r->pages[i]);
		r->nr_pages++;
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

/* A vmap() of the pages not undone on the error path that releases them. */
struct tlb {
	struct page **shared;
	int nr_shared;
	void *arch;
};

static void free_tlb(struct tlb *t)
{
	int i;

	if (t->shared) {
		vunmap((void *)((unsigned long)t->arch & PAGE_MASK));
		for (i = 0; i < t->nr_shared; i++) {
			set_page_dirty_lock(t->shared[i]);
			put_page(t->shared[i]);
		}
		kfree(t->shared);
		t->shared = NULL;
	}
}

static int config_tlb(struct tlb *t, unsigned long uaddr, int num_pages, size_t n)
{
	struct page **pages;
	void *priv;
	char *virt;
	int ret, i;

	pages = kmalloc_array(num_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	ret = get_user_pages_fast(uaddr, num_pages, FOLL_WRITE, pages);
	if (ret < 0)
		goto free_pages;
	if (ret != num_pages) {
		num_pages = ret;
		ret = -EFAULT;
		goto put_pages;
	}
	virt = vmap(pages, num_pages, VM_MAP, PAGE_KERNEL);
	if (!virt) {
		ret = -ENOMEM;
		goto put_pages;
	}
	priv = kcalloc(n, 8, GFP_KERNEL);
	if (!priv) {
		ret = -ENOMEM;
		goto put_pages;
	}
	free_tlb(t);
	t->arch = virt + (uaddr & (PAGE_SIZE - 1));
	t->shared = pages;
	t->nr_shared = num_pages;
	return 0;
put_pages:
	for (i = 0; i < num_pages; i++)
		put_page(pages[i]);
free_pages:
	kfree(pages);
	return ret;
}

/* The hypervisor writes the pages when asked to, and nothing dirties them. */
static long hv_memcpy(unsigned long uaddr, unsigned int num_pages, int source, u64 remote)
{
	struct page **pages;
	struct sg_entry *sg;
	unsigned int i;
	int num_pinned;
	long ret = 0;

	pages = kcalloc(num_pages, sizeof(*pages), GFP_KERNEL);
	sg = kcalloc(num_pages, sizeof(*sg), GFP_KERNEL);
	num_pinned = get_user_pages_fast(uaddr, num_pages,
					 source != -1 ? FOLL_WRITE : 0, pages);
	if (num_pinned != num_pages) {
		ret = -EFAULT;
		goto exit;
	}
	for (i = 0; i < num_pages; i++) {
		sg[i].source = source == -1 ? page_to_phys(pages[i]) : remote;
		sg[i].target = source == -1 ? remote : page_to_phys(pages[i]);
	}
	ret = hv_partition_memcpy(source, virt_to_phys(sg), num_pages);
exit:
	if (pages && num_pinned > 0) {
		for (i = 0; i < num_pinned; i++)
			put_page(pages[i]);
	}
	kfree(sg);
	kfree(pages);
	return ret;
}
