// SPDX-License-Identifier: GPL-2.0-only
///
/// List every call of the page-reference APIs that Direct I/O style
/// callers use (get_user_pages*, iov_iter_get_pages*, bio_iov_iter_get_pages,
/// bio_release_pages) and of their pin counterparts, with the function it
/// is in. A call whose pages argument is NULL only faults the pages in and
/// holds no page (Documentation/core-api/pin_user_pages.rst: neither FOLL_GET
/// nor FOLL_PIN matters then); it is reported as such. The audit of pinconv
/// classifies the sites; this rule only finds them, exactly (not by grep).
///
// Confidence: High
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

@nopages@
expression E0, E1, E2, E3;
position p;
@@
(
get_user_pages@p(E1, E2, E3, NULL, ...)
|
get_user_pages_fast@p(E1, E2, E3, NULL)
|
get_user_pages_fast_only@p(E1, E2, E3, NULL)
|
get_user_pages_remote@p(E0, E1, E2, E3, NULL, ...)
|
get_user_pages_unlocked@p(E1, E2, NULL, E3)
)

@call@
identifier api =~ "^(get_user_pages|get_user_pages_fast|get_user_pages_fast_only|get_user_pages_unlocked|get_user_pages_remote|iov_iter_get_pages2|iov_iter_get_pages_alloc2|bio_iov_iter_get_pages|bio_release_pages|pin_user_pages|pin_user_pages_fast|pin_user_pages_fast_only|pin_user_pages_unlocked|pin_user_pages_remote|iov_iter_extract_pages|iov_iter_pin_pages|iov_iter_pin_pages_alloc|bio_iov_iter_pin_pages|bio_unpin_pages)$";
position p;
@@
api@p(...)

@depends on context@
identifier call.api;
position call.p;
@@
* api@p(...)

@initialize:python@
@@
faultin = set()

@script:python depends on org || report@
p << nopages.p;
@@
faultin.add((p[0].file, p[0].line, p[0].column))

@script:python depends on org@
p << call.p;
api << call.api;
@@
kind = "fault-in" if (p[0].file, p[0].line, p[0].column) in faultin else "call"
coccilib.org.print_todo(p[0], "%s: %s: in %s()" % (api, kind, p[0].current_element))

@script:python depends on report@
p << call.p;
api << call.api;
@@
kind = "fault-in" if (p[0].file, p[0].line, p[0].column) in faultin else "call"
coccilib.report.print_report(p[0], "%s: %s: in %s()" % (api, kind, p[0].current_element))
