// SPDX-License-Identifier: GPL-2.0
/*
 * A page kept in a structure past the call and released elsewhere: no rule
 * may convert it (its release is not in the acquiring function).
 */
#include <linux/mm.h>
#include "pinmod.h"

int pinmod_hold(struct pinmod_slot *slot, unsigned long addr)
{
	struct page *page;
	int ret;

	ret = get_user_pages_fast(addr, 1, FOLL_WRITE, &page);
	if (ret < 1)
		return ret < 0 ? ret : -EFAULT;
	slot->page = page;
	return 0;
}

void pinmod_drop(struct pinmod_slot *slot)
{
	put_page(slot->page);
	slot->page = NULL;
}
