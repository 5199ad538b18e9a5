// SPDX-License-Identifier: GPL-2.0-only
///
/// Once a file's Direct I/O pages are pinned (bio_unpin_pages(),
/// unpin_user_page()), a ZERO_PAGE it puts into the same bio or page array
/// must be pinned too, so that every page is released the same way:
/// get_page(ZERO_PAGE) becomes pin_user_page(). Pinning and unpinning the
/// zero page do not change its counts (mm/gup.c is_zero_page()), so the
/// change is free at run time and keeps acquire and release symmetric.
/// Files that do not use the pin API are left alone.
///
// Confidence: High
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

@pinned@
@@
\(bio_unpin_pages\|iov_iter_pin_pages\|iov_iter_pin_pages_alloc\|bio_iov_iter_pin_pages\)(...)

@zero0 depends on pinned@
identifier Z;
position p;
@@
(
 struct page *Z = ZERO_PAGE(...);
 ... when any
 get_page@p(Z);
|
 Z = ZERO_PAGE(...);
 ... when any
 get_page@p(Z);
|
 get_page@p(ZERO_PAGE(...));
)

@depends on patch@
position zero0.p;
expression Z;
@@
- get_page@p(Z);
+ pin_user_page(Z);

@depends on context@
position zero0.p;
expression Z;
@@
* get_page@p(Z);

@script:python depends on org@
p << zero0.p;
@@
coccilib.org.print_todo(p[0], "get_page: convert: ZERO_PAGE in a pinned bio or page array, use pin_user_page()")

@script:python depends on report@
p << zero0.p;
@@
coccilib.report.print_report(p[0], "get_page: convert: ZERO_PAGE in a pinned bio or page array, use pin_user_page()")
