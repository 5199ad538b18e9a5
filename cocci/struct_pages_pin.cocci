// SPDX-License-Identifier: GPL-2.0-only
///
/// Direct I/O into user memory must pin the pages (FOLL_PIN), not take
/// references: Documentation/core-api/pin_user_pages.rst, case 1.
/// This rule handles a page array kept in a structure and released across
/// the functions of one file (fs/direct-io.c: dio->pages). It follows the
/// pages from iov_iter_get_pages2(I, P->fld, ...) through a getter that
/// returns P->fld[...], the locals assigned from it, the struct page *
/// parameter of the functions they are passed to, and the structure fields
/// that parameter is stored into; every get_page()/put_page() on such a
/// page becomes pin_user_page()/unpin_user_page(), the file's
/// bio_release_pages() becomes bio_unpin_pages(), and bios the file
/// allocates are marked BIO_PAGE_PINNED so that the deferred dirtying path
/// (bio_check_pages_dirty()) unpins them too.
/// The file is left alone and reported if any other get_page()/put_page()
/// remains: then some page of unknown source would be released the wrong way.
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
identifier fn, fld;
expression I, P;
position pa;
@@
fn(...) {
<+...
iov_iter_get_pages2@pa(I, P->fld, ...)
...+>
}

// A function that hands out one page of the array.
@getter@
identifier acq0.fld, g;
expression P, E;
@@
g(...) {
<+...
return P->fld[E];
...+>
}

// Locals that hold a page of the array, and their function.
@loc@
identifier X;
identifier getter.g;
position pl;
@@
X =@pl g(...)

@script:python locf@
pl << loc.pl;
fn2;
@@
coccinelle.fn2 = pl[0].current_element

// Functions such a local is passed to, and their page parameter.
@callee@
identifier loc.X, locf.fn2, cf;
position pc : script:python(fn2) { pc[0].current_element == fn2 };
@@
cf@pc(..., X, ...)

@calleeparam@
identifier callee.cf, Y;
@@
cf(..., struct page *Y, ...) {
...
}

// Position-free copies of the names, for the rules after modifications.
@script:python cfs@
cf << callee.cf;
Y << calleeparam.Y;
cf2;
Y2;
@@
coccinelle.cf2 = cf
coccinelle.Y2 = Y

// Fields that parameter is stored into.
@cfield@
identifier callee.cf, calleeparam.Y, f2;
expression S;
position ps : script:python(cf) { ps[0].current_element == cf };
@@
S->f2 =@ps Y

// The get/put sites on the array's pages, collected by position.
@initialize:python@
@@
domain = set()
unsafe = set()
def key(p):
	return (p.file, p.line, p.column)

@dom1@
identifier acq0.fld;
expression P, E;
position p;
@@
\(get_page@p\|put_page@p\)(P->fld[E])

@script:python@
p << dom1.p;
@@
domain.add(key(p[0]))

@dom2@
identifier loc.X, locf.fn2;
position p : script:python(fn2) { p[0].current_element == fn2 };
@@
\(get_page@p\|put_page@p\)(X)

@script:python@
p << dom2.p;
@@
domain.add(key(p[0]))

@dom3@
identifier callee.cf, calleeparam.Y;
position p : script:python(cf) { p[0].current_element == cf };
@@
\(get_page@p\|put_page@p\)(Y)

@script:python@
p << dom3.p;
@@
domain.add(key(p[0]))

@script:python fs@
f2 << cfield.f2;
fld2;
@@
coccinelle.fld2 = f2

@dom4@
identifier cfield.f2;
expression S;
position p;
@@
\(get_page@p\|put_page@p\)(\(S->f2\|S.f2\))

@script:python@
p << dom4.p;
@@
domain.add(key(p[0]))

// The zero page stored into the array is zero_page_pin.cocci's.
@zero@
identifier Z;
position p;
@@
(
 struct page *Z = ZERO_PAGE(...);
 ... when any
 get_page@p(Z);
|
 get_page@p(ZERO_PAGE(...));
)

@script:python@
p << zero.p;
@@
domain.add(key(p[0]))

// Any other get/put is on a page of unknown source.
@other depends on acq0@
expression E;
position p;
@@
\(get_page@p\|put_page@p\)(E)

@script:python@
p << other.p;
@@
if key(p[0]) not in domain:
	unsafe.add(p[0].file)

@script:python depends on org && getter@
pa << acq0.pa;
@@
if pa[0].file not in unsafe:
	coccilib.org.print_todo(pa[0], "iov_iter_get_pages2: convert: pin, the array's pages are released through its getter, locals and fields in this file")

@script:python depends on report && getter@
pa << acq0.pa;
@@
if pa[0].file not in unsafe:
	coccilib.report.print_report(pa[0], "iov_iter_get_pages2: convert: pin, the array's pages are released through its getter, locals and fields in this file")

@script:python depends on org && getter@
pa << acq0.pa;
p << other.p;
@@
if key(p[0]) not in domain:
	coccilib.org.print_todo(pa[0], "iov_iter_get_pages2: review: the get_page()/put_page() at line %s is on a page the rule cannot trace to the array" % p[0].line)

@script:python depends on report && getter@
pa << acq0.pa;
p << other.p;
@@
if key(p[0]) not in domain:
	coccilib.report.print_report(pa[0], "iov_iter_get_pages2: review: the get_page()/put_page() at line %s is on a page the rule cannot trace to the array" % p[0].line)

@script:python safe@
pa << acq0.pa;
ok;
@@
if pa[0].file in unsafe:
	cocci.include_match(False)
else:
	coccinelle.ok = "ok"

@acq depends on patch && getter && safe@
expression I, P;
identifier acq0.fld;
@@
- iov_iter_get_pages2(I, P->fld,
+ iov_iter_pin_pages(I, P->fld,
  ...)

@depends on acq@
identifier acq0.fld;
expression P, E;
@@
(
- get_page(P->fld[E])
+ pin_user_page(P->fld[E])
|
- put_page(P->fld[E])
+ unpin_user_page(P->fld[E])
)

@depends on acq@
identifier loc.X, locf.fn2;
position p : script:python(fn2) { p[0].current_element == fn2 };
@@
(
- get_page@p(X)
+ pin_user_page(X)
|
- put_page@p(X)
+ unpin_user_page(X)
)

@depends on acq@
identifier cfs.cf2, cfs.Y2;
position p : script:python(cf2) { p[0].current_element == cf2 };
@@
(
- get_page@p(Y2)
+ pin_user_page(Y2)
|
- put_page@p(Y2)
+ unpin_user_page(Y2)
)

@depends on acq@
identifier fs.fld2;
expression S;
@@
(
- get_page(S->fld2)
+ pin_user_page(S->fld2)
|
- put_page(S->fld2)
+ unpin_user_page(S->fld2)
|
- get_page(S.fld2)
+ pin_user_page(S.fld2)
|
- put_page(S.fld2)
+ unpin_user_page(S.fld2)
)

@depends on acq@
expression B, D;
@@
- bio_release_pages(B, D)
+ bio_unpin_pages(B, D)

@dirty depends on acq@
@@
\(bio_check_pages_dirty\|bio_set_pages_dirty\)(...)

@depends on dirty@
expression B;
@@
  B = \(bio_alloc\|bio_alloc_bioset\)(...);
+ bio_set_flag(B, BIO_PAGE_PINNED);

@ctx depends on context && getter && safe@
identifier acq0.fld;
expression P, E;
@@
(
* iov_iter_get_pages2(...)
|
* get_page(P->fld[E])
|
* put_page(P->fld[E])
)

