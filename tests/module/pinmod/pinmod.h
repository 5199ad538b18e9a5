/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PINMOD_H
#define PINMOD_H

#include <linux/mm_types.h>
#include <linux/types.h>
#include <linux/uio.h>

#define PINMOD_MAX_PAGES 16

struct pinmod_io {
	struct page *pages[PINMOD_MAX_PAGES];
	unsigned int num_pages;
};

struct pinmod_slot {
	struct page *page;
};

int pinmod_peek(unsigned long addr, void *buf);
int pinmod_poke(unsigned long addr, const void *buf);
int pinmod_copy_in(unsigned long start, int n, char *out);
int pinmod_copy_out(unsigned long start, int n, const char *in);
ssize_t pinmod_direct_io(struct pinmod_io *io, struct iov_iter *iter, size_t n,
			 u8 *sum);
int pinmod_hold(struct pinmod_slot *slot, unsigned long addr);
void pinmod_drop(struct pinmod_slot *slot);
int pinmod_poke_locked(unsigned long addr, const void *buf);

#endif /* PINMOD_H */
