// SPDX-License-Identifier: GPL-2.0-only
///
/// Direct I/O into user memory must pin the pages (FOLL_PIN), not take
/// references: Documentation/core-api/pin_user_pages.rst, case 1.
/// Convert bio_iov_iter_get_pages() to bio_iov_iter_pin_pages(), which pins
/// only an iterator over user memory and flags the bio BIO_PAGE_PINNED (a
/// kernel iterator's pages are never pinned). The release stays: the
/// bio_release_pages() of the file, and bio_check_pages_dirty(), release
/// the pages as the bio's flag says. Only where the file has such a release
/// to show the bio's pages are released at all. A file that also adds pages
/// of another source to a bio is left alone and reported: one bio must never
/// mix pinned and referenced pages (a ZERO_PAGE goes in a bio of its own).
///
// Confidence: High
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

// Pages added to a bio that are the zero page: no source of their own.
@zadd@
identifier Z;
expression B, L, O;
position pz;
@@
 struct page *Z = ZERO_PAGE(...);
 ... when any
\(__bio_add_page@pz\|bio_add_page@pz\)(B, Z, L, O);

@zadd2@
expression B, L, O;
position pz;
@@
\(__bio_add_page@pz\|bio_add_page@pz\)(B, ZERO_PAGE(...), L, O)

// Any other page added to a bio by hand: a second page source.
@mixed@
expression B, P;
position p != {zadd.pz, zadd2.pz};
@@
\(__bio_add_page@p\|bio_add_page@p\|bio_add_hw_page@p\|bio_add_pc_page@p\|bio_add_zone_append_page@p\)(B, P, ...)

@acq0@
expression B, I;
position pa;
@@
bio_iov_iter_get_pages@pa(B, I)

@rel0@
expression B, D;
position pr;
@@
bio_release_pages@pr(B, D)

@acq depends on patch && acq0 && rel0 && !mixed@
expression B, I;
@@
- bio_iov_iter_get_pages(B, I)
+ bio_iov_iter_pin_pages(B, I)

@ctx depends on context && acq0 && rel0 && !mixed@
expression B, I;
@@
* bio_iov_iter_get_pages(B, I)

@script:python depends on org && acq0 && rel0 && !mixed@
pa << acq0.pa;
@@
msg = "bio_iov_iter_get_pages: convert: use bio_iov_iter_pin_pages(): pins an iterator over user memory and flags the bio BIO_PAGE_PINNED; the bio_release_pages() of this file releases by the flag"
coccilib.org.print_todo(pa[0], msg)

@script:python depends on report && acq0 && rel0 && !mixed@
pa << acq0.pa;
@@
msg = "bio_iov_iter_get_pages: convert: use bio_iov_iter_pin_pages(): pins an iterator over user memory and flags the bio BIO_PAGE_PINNED; the bio_release_pages() of this file releases by the flag"
coccilib.report.print_report(pa[0], msg)

@script:python depends on org && acq0 && rel0 && !mixed@
pr << rel0.pr;
@@
msg = "bio_release_pages: kept: releases the pages as the bio holds them (unpins a BIO_PAGE_PINNED bio of bio_iov_iter_pin_pages())"
coccilib.org.print_todo(pr[0], msg)

@script:python depends on report && acq0 && rel0 && !mixed@
pr << rel0.pr;
@@
msg = "bio_release_pages: kept: releases the pages as the bio holds them (unpins a BIO_PAGE_PINNED bio of bio_iov_iter_pin_pages())"
coccilib.report.print_report(pr[0], msg)

@script:python depends on org && acq0 && mixed@
pa << acq0.pa;
p << mixed.p;
@@
msg = "bio_iov_iter_get_pages: review: a bio in this file also gets pages from another source (line %s); one bio must not mix pinned and referenced pages" % p[0].line
coccilib.org.print_todo(pa[0], msg)

@script:python depends on report && acq0 && mixed@
pa << acq0.pa;
p << mixed.p;
@@
msg = "bio_iov_iter_get_pages: review: a bio in this file also gets pages from another source (line %s); one bio must not mix pinned and referenced pages" % p[0].line
coccilib.report.print_report(pa[0], msg)

@script:python depends on org && acq0 && !rel0@
pa << acq0.pa;
@@
msg = "bio_iov_iter_get_pages: review: no bio_release_pages() in this file to pair with"
coccilib.org.print_todo(pa[0], msg)

@script:python depends on report && acq0 && !rel0@
pa << acq0.pa;
@@
msg = "bio_iov_iter_get_pages: review: no bio_release_pages() in this file to pair with"
coccilib.report.print_report(pa[0], msg)
