/* Case 3: the file keeps a secondary MMU coherent with an MMU notifier. */
static int reg(struct kvm *kvm)
{
	return mmu_notifier_register(&kvm->mmu_notifier, current->mm);
}

static int hva_to_pfn_slow(unsigned long addr, unsigned long *pfn)
{
	struct page *page;
	int npages;

	npages = get_user_pages_unlocked(addr, 1, &page, FOLL_HWPOISON);
	if (npages != 1)
		return npages;
	*pfn = page_to_pfn(page);
	return npages;
}
