/* Case 4: only struct page is looked at; FOLL_GET is right. */
static int lookup_node(struct mm_struct *mm, unsigned long addr)
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

/* Fault-in only: no pages, not a site for this rule. */
static int fault_in(unsigned long addr)
{
	return get_user_pages_fast(addr, 1, FOLL_WRITE, NULL);
}
