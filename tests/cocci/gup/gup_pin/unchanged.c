/* Case 4: only struct page is looked at. */
static int lookup_node(unsigned long addr)
{
	struct page *p = NULL;
	int ret;

	ret = get_user_pages_fast(addr & PAGE_MASK, 1, 0, &p);
	if (ret > 0) {
		ret = page_to_nid(p);
		put_page(p);
	}
	return ret;
}

/* Fault-in only. */
static int fault_in(unsigned long addr)
{
	return get_user_pages_fast(addr, 1, FOLL_WRITE, NULL);
}

/* Mixed sources: the pointer may come from elsewhere. */
static bool dump_page(struct linux_binprm *bprm, unsigned long pos, char *buf)
{
	struct page *page;
	char *kaddr;

	if (bprm->mm) {
		if (get_user_pages_remote(bprm->mm, pos, 1, FOLL_FORCE, &page, NULL) <= 0)
			return false;
	} else {
		page = bprm->page[pos / PAGE_SIZE];
	}
	kaddr = kmap_atomic(page);
	memcpy(buf, kaddr, PAGE_SIZE);
	kunmap_atomic(kaddr);
	put_page(page);
	return true;
}

/* Kept in a structure: released in another function (case 2). */
static int setup(struct ctx *c, unsigned long uva)
{
	struct page *page;

	if (get_user_pages_fast(uva, 1, FOLL_WRITE, &page) != 1)
		return -EFAULT;
	c->page = page;
	c->addr = kmap(page);
	return 0;
}

/* Returned to the caller. */
static struct page *get_arg(struct mm_struct *mm, unsigned long pos)
{
	struct page *page;

	if (get_user_pages_remote(mm, pos, 1, FOLL_FORCE, &page, NULL) <= 0)
		return NULL;
	return page;
}

/* Handed to another function that may keep it. */
static int replace(struct mm_struct *mm, unsigned long vaddr, struct page *new_page)
{
	struct page *old_page;
	int ret;

	ret = get_user_pages_remote(mm, vaddr, 1, FOLL_FORCE, &old_page, NULL);
	if (ret <= 0)
		return ret;
	copy_highpage(new_page, old_page);
	ret = __replace_page(vaddr, old_page, new_page);
	put_page(old_page);
	return ret;
}

/* FOLL_GET among other flags: FOLL_PIN excludes it, and the rule only
 * drops it when it is the only flag. */
static int with_get(unsigned long addr, void *dst)
{
	struct page *page;

	if (get_user_pages(addr, 1, FOLL_GET | FOLL_FORCE, &page) != 1)
		return -EFAULT;
	memcpy_from_page(dst, page, 0, 8);
	put_page(page);
	return 0;
}

/* The physical address outlives the release: MMU notifiers' business. */
static int pte_lookup(unsigned long vaddr, int write, unsigned long *paddr)
{
	struct page *page;

	if (get_user_pages(vaddr, 1, write ? FOLL_WRITE : 0, &page) <= 0)
		return -EFAULT;
	*paddr = page_to_phys(page);
	put_page(page);
	return 0;
}

/* Stored in a field that an element of another source also sets. */
struct xfer {
	struct page **page_list;
	int nr;
};

static void free_xfer(struct xfer *x)
{
	int i;

	for (i = 0; i < x->nr; i++)
		put_page(x->page_list[i]);
}

static int map_user(struct xfer *x, unsigned long uva, int n)
{
	struct page **page_list = kcalloc(n, sizeof(*page_list), GFP_KERNEL);
	int i;

	if (get_user_pages_fast(uva, n, 0, page_list) != n)
		return -EFAULT;
	for (i = 0; i < n; i++)
		kmap(page_list[i]);
	x->page_list = page_list;
	x->page_list[0] = ZERO_PAGE(0);
	return 0;
}

/* A static function returns the page; one caller passes it on. */
static struct page *get_one(struct mm_struct *mm, unsigned long uaddr)
{
	struct page *page = NULL;

	get_user_pages_remote(mm, uaddr, 1, FOLL_WRITE, &page, NULL);
	return page;
}

static void use_one(struct mm_struct *mm, unsigned long uaddr)
{
	struct page *page = get_one(mm, uaddr);
	char *p;

	if (!page)
		return;
	p = kmap(page);
	p[0] = 1;
	kunmap(page);
	put_page(page);
}

static void keep_one(struct mm_struct *mm, unsigned long uaddr, struct page **out)
{
	struct page *page;

	page = get_one(mm, uaddr);
	stash(page);
}
