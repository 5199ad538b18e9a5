/* Held in a structure, released in another function of the file. */
struct shared {
	struct page **pages;
	int nr;
	void *virt;
};

static void free_shared(struct shared *sh)
{
	int i;

	if (sh->pages) {
		vunmap(sh->virt);
		for (i = 0; i < sh->nr; i++) {
			set_page_dirty_lock(sh->pages[i]);
			put_page(sh->pages[i]);
		}
		kfree(sh->pages);
		sh->pages = NULL;
	}
}

static int config_shared(struct shared *sh, unsigned long uva, int n)
{
	struct page **pages;
	void *virt;
	int i, ret;

	pages = kmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	ret = get_user_pages_fast(uva, n, FOLL_WRITE, pages);
	if (ret < 0)
		goto free_pages;
	if (ret != n) {
		n = ret;
		ret = -EFAULT;
		goto put_pages;
	}
	virt = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	if (!virt) {
		ret = -ENOMEM;
		goto put_pages;
	}
	free_shared(sh);
	sh->pages = pages;
	sh->nr = n;
	sh->virt = virt;
	return 0;
put_pages:
	for (i = 0; i < n; i++)
		put_page(pages[i]);
free_pages:
	kfree(pages);
	return ret;
}

/* A page pointer kept only to be compared: not a hold; and only read
 * (FOLL_FORCE, no FOLL_WRITE): it stays (ref-ok). */
struct dump {
	struct page *page;
	char *data;
};

static bool dump_page(struct linux_binprm *bprm, unsigned long pos,
		      struct dump *dump)
{
	struct page *page;
#ifdef CONFIG_MMU
	int ret;

	ret = get_user_pages_remote(bprm->mm, pos, 1, FOLL_FORCE, &page, NULL);
	if (ret <= 0)
		return false;
#else
	page = bprm->page[pos / PAGE_SIZE];
#endif
	if (page != dump->page) {
		char *kaddr = kmap_atomic(page);

		dump->page = page;
		memcpy(dump->data, kaddr, PAGE_SIZE);
		kunmap_atomic(kaddr);
	}
#ifdef CONFIG_MMU
	put_page(page);
#endif
	return true;
}

/* Another process's memory, through a kernel mapping: the caller's flags
 * decide whether it is written, so it stays, for review. */
static int access_remote(struct mm_struct *mm, unsigned long addr, void *buf,
			 int len, unsigned int gup_flags)
{
	struct vm_area_struct *vma;
	struct page *page;
	void *maddr;
	int ret;

	ret = get_user_pages_remote(mm, addr, 1, gup_flags, &page, &vma, NULL);
	if (ret <= 0)
		return -EFAULT;
	maddr = kmap(page);
	if (gup_flags & FOLL_WRITE) {
		copy_to_user_page(vma, page, addr, maddr, buf, len);
		set_page_dirty_lock(page);
	} else {
		copy_from_user_page(vma, page, addr, buf, maddr, len);
	}
	kunmap(page);
	put_page(page);
	return len;
}

/* Physical addresses handed to a hypervisor copy, released after it. */
static long hv_copy(unsigned long uva, int n, u64 remote)
{
	struct page **pages;
	struct sg *sg;
	long ret;
	int i, got;

	pages = kcalloc(n, sizeof(*pages), GFP_KERNEL);
	sg = kcalloc(n, sizeof(*sg), GFP_KERNEL);
	got = get_user_pages_fast(uva, n, 0, pages);
	for (i = 0; i < got; i++)
		sg[i].source = page_to_phys(pages[i]);
	ret = hv_memcpy(sg, got, remote);
	for (i = 0; i < got; i++)
		put_page(pages[i]);
	kfree(sg);
	kfree(pages);
	return ret;
}

/* A static function returns the page; its callers use and release it. */
static struct page *get_map_page(struct kvm *kvm, u64 uaddr)
{
	struct page *page = NULL;

	mmap_read_lock(kvm->mm);
	get_user_pages_remote(kvm->mm, uaddr, 1, FOLL_WRITE, &page, NULL);
	mmap_read_unlock(kvm->mm);
	return page;
}

static int indicators_set(struct kvm *kvm, u64 ind, u64 summary, int bit)
{
	struct page *ind_page, *summary_page;
	void *map;

	ind_page = get_map_page(kvm, ind);
	if (!ind_page)
		return -1;
	summary_page = get_map_page(kvm, summary);
	if (!summary_page) {
		put_page(ind_page);
		return -1;
	}
	map = page_address(ind_page);
	set_bit(bit, map);
	set_page_dirty_lock(ind_page);
	map = page_address(summary_page);
	set_bit(0, map);
	set_page_dirty_lock(summary_page);
	put_page(ind_page);
	put_page(summary_page);
	return 0;
}
