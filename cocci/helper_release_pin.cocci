// SPDX-License-Identifier: GPL-2.0-only
///
/// Direct I/O into user memory must pin the pages (FOLL_PIN), not take
/// references: Documentation/core-api/pin_user_pages.rst, case 1.
/// This rule handles an acquire helper and a release helper that work on
/// the same structure (fs/fuse/file.c: fuse_get_user_pages() fills
/// ap->pages with iov_iter_get_pages2(), fuse_release_user_pages() puts
/// them). The two are paired when one function passes the same object to
/// both; then the acquire becomes iov_iter_pin_pages() and the helper's
/// put_page() on that array unpin_user_page(). The helper's other callers
/// are listed for review. Left alone and reported: a release helper that
/// also puts pages of another source.
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
identifier G, P, fld;
type T;
expression I, E;
position pa;
@@
G(..., T *P, ...) {
<+...
iov_iter_get_pages2@pa(I, &P->fld[E], ...)
...+>
}

// One function passes the same object to the acquire helper and to R.
@pair exists@
identifier acq0.G, R;
expression A, e;
position pp;
@@
(
e = G(A, ...);
|
G(A, ...);
)
... when any
R@pp(A, ...);

@relw@
identifier pair.R, Q, acq0.fld;
type T;
expression E;
position pr;
@@
R(..., T *Q, ...) {
<+...
put_page@pr(Q->fld[E]);
...+>
}

@script:python relname@
R << pair.R;
pr << relw.pr;
Rn;
@@
coccinelle.Rn = R

// Any other put_page() in the release helper: a page of another source.
@otherput@
identifier relname.Rn;
position po != relw.pr;
@@
Rn(...) {
<+...
put_page@po(...)
...+>
}

// The helper's callers, for the reviewers.
@callers@
identifier relname.Rn;
position pc;
@@
Rn@pc(...)

@acq depends on patch && relw && !otherput@
identifier acq0.G, acq0.P, acq0.fld;
expression I, E;
@@
G(...) {
<...
- iov_iter_get_pages2(I, &P->fld[E],
+ iov_iter_pin_pages(I, &P->fld[E],
  ...)
...>
}

@depends on acq@
identifier relname.Rn, acq0.fld;
identifier Q;
expression E;
@@
Rn(...) {
<...
- put_page(Q->fld[E]);
+ unpin_user_page(Q->fld[E]);
...>
}

@ctx depends on context && relw && !otherput@
identifier acq0.fld;
expression I, E, Q;
@@
(
* iov_iter_get_pages2(I, &Q->fld[E], ...)
|
* put_page(Q->fld[E])
)

@initialize:python@
@@
def callers_of(pcs, rel):
	where = sorted(set("%s() line %s" % (p[0].current_element, p[0].line) for p in pcs))
	return "%s() is called from %s" % (rel, ", ".join(where))
calls = []

@script:python depends on org || report@
pc << callers.pc;
@@
calls.append(pc)

@script:python depends on org && !otherput@
pa << acq0.pa;
R << pair.R;
@@
coccilib.org.print_todo(pa[0], "iov_iter_get_pages2: convert: pin, released by %s; %s" % (R, callers_of(calls, R)))

@script:python depends on report && !otherput@
pa << acq0.pa;
R << pair.R;
@@
coccilib.report.print_report(pa[0], "iov_iter_get_pages2: convert: pin, released by %s; %s" % (R, callers_of(calls, R)))

@script:python depends on org && otherput@
pa << acq0.pa;
R << pair.R;
po << otherput.po;
@@
coccilib.org.print_todo(pa[0], "iov_iter_get_pages2: review: release helper %s() also puts another page at line %s" % (R, po[0].line))

@script:python depends on report && otherput@
pa << acq0.pa;
R << pair.R;
po << otherput.po;
@@
coccilib.report.print_report(pa[0], "iov_iter_get_pages2: review: release helper %s() also puts another page at line %s" % (R, po[0].line))
