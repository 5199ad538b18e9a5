// SPDX-License-Identifier: GPL-2.0
/*
 * pinmod: an out-of-tree module written for pinconv's tests. Its callers
 * take page references on user memory; make spatch M= converts them.
 */
#include <linux/module.h>
#include "pinmod.h"

static int __init pinmod_init(void)
{
	return 0;
}

static void __exit pinmod_exit(void)
{
}

module_init(pinmod_init);
module_exit(pinmod_exit);
MODULE_DESCRIPTION("pinconv test module: page references on user memory");
MODULE_LICENSE("GPL");
