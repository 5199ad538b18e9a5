// SPDX-License-Identifier: GPL-2.0-only
///
/// Direct I/O into user memory must pin the pages (FOLL_PIN), not take
/// references: Documentation/core-api/pin_user_pages.rst, case 1.
/// Convert iov_iter_get_pages2() and iov_iter_get_pages_alloc2() to
/// iov_iter_pin_pages() and iov_iter_pin_pages_alloc() where the pages are
/// released in the same function: put_page() on the array (directly or
/// through a local copy of an element) becomes unpin_user_page(),
/// release_pages() becomes unpin_user_pages(). Pages added to a bio there
/// make the file's bio_release_pages() a bio_unpin_pages().
/// Left alone and reported: an acquire with no release in its function,
/// and pages that escape into another structure (a call that may take a
/// reference of its own, such as nfs_create_request() or sg_set_page(),
/// or the whole array handed on or stored, as cifs_writedata_direct_alloc()).
///
// Confidence: Moderate
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

@acq0@
identifier fn;
expression I, A;
position pa;
@@
fn(...) {
<+...
(
iov_iter_get_pages2@pa(I, A, ...)
|
iov_iter_get_pages_alloc2@pa(I, &A, ...)
)
...+>
}

// An element of the page array copied into a local.
@elem@
identifier acq0.fn;
expression acq0.A, E;
identifier X;
@@
fn(...) {
<+...
(
struct page *X = A[E];
|
X = A[E]
)
...+>
}

// Releases of the array in the same function.
@rel0@
identifier acq0.fn;
expression acq0.A, E;
identifier elem.X;
position pr;
@@
fn(...) {
<+...
(
put_page@pr(A[E])
|
put_page@pr(X)
|
release_pages@pr(A, ...)
)
...+>
}

// Pages handed to anything but a release, a bio or a plain accessor.
@escape@
identifier acq0.fn;
expression acq0.A, E;
identifier elem.X;
identifier f !~ "^(iov_iter_get_pages2|iov_iter_get_pages_alloc2|release_pages|kvfree|kfree|ARRAY_SIZE|put_page|get_page|set_page_dirty|set_page_dirty_lock|bio_add_page|__bio_add_page|bio_add_hw_page|bio_add_pc_page|page_address|kmap|kmap_local_page|kmap_atomic|flush_dcache_page|PageCompound|page_to_pfn|page_offset|compound_head|compound_order|page_folio)$";
position pe;
@@
fn(...) {
<+...
(
f@pe(..., A[E], ...)
|
f@pe(..., X, ...)
|
f@pe(..., A, ...)
)
...+>
}

// The head page of an element (compound_head() keeps nothing): where
// it goes, the page goes.
@elemh@
identifier acq0.fn;
expression acq0.A, E;
identifier H;
@@
fn(...) {
<+...
(
struct page *H = compound_head(A[E]);
|
H = compound_head(A[E])
)
...+>
}

@escapeh@
identifier acq0.fn;
identifier elemh.H;
identifier f !~ "^(put_page|get_page|set_page_dirty|set_page_dirty_lock|page_address|kmap|kmap_local_page|kmap_atomic|flush_dcache_page|PageCompound|page_to_pfn|page_offset|compound_head|compound_order|page_folio)$";
position pe;
@@
fn(...) {
<+...
f@pe(..., H, ...)
...+>
}

@script:python@
f << escapeh.f;
pe << escapeh.pe;
@@
fn = pe[0].current_element
bad.add((pe[0].file, fn))
escapes.setdefault((pe[0].file, fn), set()).add("%s() (line %s)" % (f, pe[0].line))

// Pages stored into a structure (a pipe buffer, a request): they live on.
@stored@
identifier acq0.fn;
expression acq0.A, E, S;
identifier elem.X;
identifier fld;
position pe;
@@
fn(...) {
<+...
(
S.fld =@pe A[E]
|
S->fld =@pe A[E]
|
S.fld =@pe A
|
S->fld =@pe A
|
S.fld =@pe X
|
S->fld =@pe X
)
...+>
}

// Per function: paired (released here) and not escaping. Keyed by file
// and function, as coccicheck runs many files in one spatch.
@initialize:python@
@@
bad = set()
paired = set()
escapes = {}
stores = {}

def why(p, api):
	key = (p.file, p.current_element)
	fn = p.current_element
	if key in paired:
		return "%s: convert: pin, the pages are released in %s()" % (api, fn)
	if key in escapes:
		return "%s: review: pages escape into %s, which may hold them past %s()" % (api, ", ".join(sorted(escapes[key], key=lambda e: int(e.split("line ")[1][:-1]))), fn)
	if key in stores:
		return "%s: review: pages are stored into %s and live on past %s()" % (api, stores[key], fn)
	return "%s: review: no release of the pages in %s(); the release is elsewhere and the rules cannot pair it" % (api, fn)

@script:python@
f << escape.f;
pe << escape.pe;
@@
fn = pe[0].current_element
bad.add((pe[0].file, fn))
escapes.setdefault((pe[0].file, fn), set()).add("%s() (line %s)" % (f, pe[0].line))

@script:python@
fld << stored.fld;
pe << stored.pe;
@@
fn = pe[0].current_element
bad.add((pe[0].file, fn))
stores.setdefault((pe[0].file, fn), "->%s at line %s" % (fld, pe[0].line))

@script:python ok@
pr << rel0.pr;
okfn;
@@
fn = pr[0].current_element
if (pr[0].file, fn) in bad:
	cocci.include_match(False)
else:
	paired.add((pr[0].file, fn))
	coccinelle.okfn = fn

@acq depends on patch@
identifier ok.okfn;
expression I, A;
@@
okfn(...) {
<...
(
- iov_iter_get_pages2(I, A,
+ iov_iter_pin_pages(I, A,
  ...)
|
- iov_iter_get_pages_alloc2(I, &A,
+ iov_iter_pin_pages_alloc(I, &A,
  ...)
)
...>
}

@rel depends on patch@
identifier ok.okfn;
expression acq0.A, E, N;
@@
okfn(...) {
<...
(
- put_page(A[E])
+ unpin_user_page(A[E])
|
- release_pages(A, N)
+ unpin_user_pages(A, N)
)
...>
}

@relx depends on patch@
identifier ok.okfn;
identifier elem.X;
@@
okfn(...) {
<...
- put_page(X)
+ unpin_user_page(X)
...>
}

@inbio depends on acq@
identifier ok.okfn;
@@
okfn(...) {
<+...
\(bio_add_page\|__bio_add_page\|bio_add_hw_page\|bio_add_pc_page\)(...)
...+>
}

@relbio depends on patch && inbio@
expression B, D;
@@
- bio_release_pages(B, D)
+ bio_unpin_pages(B, D)

// Every acquire site, for the reports.
@acqs@
identifier api =~ "^iov_iter_get_pages(_alloc)?2$";
position p;
@@
api@p(...)

@ctx depends on context@
identifier ok.okfn;
@@
okfn(...) {
<...
(
* iov_iter_get_pages2(...)
|
* iov_iter_get_pages_alloc2(...)
|
* put_page(...)
|
* release_pages(...)
)
...>
}

@script:python depends on org@
p << acqs.p;
api << acqs.api;
@@
coccilib.org.print_todo(p[0], why(p[0], api))

@script:python depends on report@
p << acqs.p;
api << acqs.api;
@@
coccilib.report.print_report(p[0], why(p[0], api))
