// SPDX-License-Identifier: GPL-2.0-only
///
/// Direct I/O into user memory must pin the pages (FOLL_PIN), not take
/// references: Documentation/core-api/pin_user_pages.rst, case 1.
/// Where the pages go into a struct nfs_page (fs/nfs/direct.c), the
/// request keeps each page past the function: it took a reference of its
/// own and the caller dropped the caller's. Move the pin into the
/// container instead: the pages are acquired with the tree's pin API, each
/// page goes to the constructor that takes over the caller's pin, its
/// slot in the array is cleared once the request owns it, and the
/// caller's release helper unpins only what is left: the pages that were
/// never handed over (a failed constructor, a loop left early). The
/// constructor the tree has decides the form (see CONTAINERS below):
/// nfs_create_request() (6.1's generation) becomes the overlay's
/// nfs_create_request_pinned() and the acquire its
/// iov_iter_pin_pages_alloc(); nfs_page_create_from_page() (the
/// iov_iter_extract_pages() generation, 6.12) becomes
/// nfs_page_create_from_extracted_page(..., iov_iter_extract_will_pin()),
/// the acquire iov_iter_extract_pages(), and the helper runs only when
/// iov_iter_extract_will_pin().
/// Converted only when another C file of the directory defines the
/// pin-owning constructor and releases a PG_PINNED page with
/// unpin_user_page() (the container's release path), when the array is
/// used for nothing else, and when every call of the release helper is
/// such a site. Otherwise left alone and reported, naming the container
/// and its release.
///
// Confidence: Moderate
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

@initialize:python@
@@
import os
import re

# Constructor that takes a reference of its own -> (the one that takes
# over the caller's pin, whether it takes iov_iter_extract_will_pin()).
CONTAINERS = {
	'nfs_page_create_from_page': ('nfs_page_create_from_extracted_page', True),
	'nfs_create_request': ('nfs_create_request_pinned', False),
}

sites = {}    # (file, fn, line of acquire) -> dict
uses = {}     # (file, fn, A) -> set of positions of A
helpers = {}  # REL -> set of call positions

def pos(p):
	return (p.file, int(p.line), int(p.column))

def owner_elsewhere(path, owner):
	"""The other C file of the directory that defines owner() and unpins
	a PG_PINNED page: the container's pin-aware release."""
	d = os.path.dirname(path)
	defn = re.compile(r'^\w[^;]*\b%s\(' % re.escape(owner), re.M)
	for n in sorted(os.listdir(d or '.')):
		f = os.path.join(d, n)
		if n.endswith('.c') and os.path.abspath(f) != os.path.abspath(path):
			with open(f, errors='replace') as fh:
				t = fh.read()
			if defn.search(t) and 'PG_PINNED' in t and 'unpin_user_page(' in t:
				return n
	return None

def verdict(s):
	"""None if the site converts, else why not."""
	owner, will_pin = CONTAINERS[s['C']]
	if s['bad']:
		return s['bad']
	if owner_elsewhere(s['file'], owner) is None:
		return ("pages go into struct nfs_page through %s() (line %s), which takes a reference "
			"of its own and drops it with put_page() in nfs_clear_request(); no file of the "
			"directory defines %s() with a PG_PINNED release, so the container cannot own a pin "
			"(needs %s)" % (s['C'], s['cline'], owner, owner))
	allowed = s['allowed']
	got = uses.get((s['file'], s['fn'], s['A']), set())
	other = sorted(got - allowed)
	if other:
		return ("the array %s is used at line %s besides the acquire, the hand-over to %s() and "
			"the release" % (s['A'], other[0][1], s['C']))
	calls = helpers.get(s['REL'], set())
	mine = set(x['relpos'] for x in sites.values() if x['REL'] == s['REL'] and not x['bad'])
	if calls - mine:
		return "the release helper %s() has other callers (line %s)" % (s['REL'], sorted(calls - mine)[0][1])
	return None

def ok(s):
	return verdict(s) is None

def at(p, which, will_pin):
	"""p is where site `which` (0 acquire, 1 constructor, 2 release) of a converting site is, in the
	form of the tree's constructor (will_pin or not)."""
	q = pos(p[0])
	which = ('acq', 'make', 'rel')[which]
	for s in sites.values():
		if s['file'] != q[0] or CONTAINERS[s['C']][1] != will_pin:
			continue
		if q in s[which] and ok(s):
			return True
	return False

def helper_named(name):
	"""The release helper of a converting site."""
	return any(s['REL'] == name and ok(s) for s in sites.values())

// One acquire into a local array whose pages go, one by one, to a
// container constructor, with the array released by a helper afterwards.
@site exists@
identifier fn, A, Q, J, REL;
identifier C =~ "^(nfs_page_create_from_page|nfs_create_request)$";
expression R, I, MAX, OFF, N;
expression list ES1, ES2;
statement S;
position pa, pc, pr, p1, p2, p3;
@@
fn(...) {
... when any
R = iov_iter_get_pages_alloc2@pa(I, &A@p1, MAX, OFF);
... when any
Q = C@pc(ES1, A@p2[J], ES2);
if (IS_ERR(Q)) S
... when any
REL@pr(A@p3, N);
... when any
}

@script:python@
fn << site.fn;
A << site.A;
C << site.C;
REL << site.REL;
pa << site.pa;
pc << site.pc;
pr << site.pr;
p1 << site.p1;
p2 << site.p2;
p3 << site.p3;
@@
k = (pa[0].file, fn, int(pa[0].line))
s = sites.setdefault(k, {'file': pa[0].file, 'fn': fn, 'A': A, 'C': C, 'REL': REL,
			 'cline': pc[0].line, 'relpos': pos(pr[0]), 'bad': None,
			 'allowed': set(), 'acq': set(), 'make': set(), 'rel': set()})
s['acq'].add(pos(pa[0]))
s['make'].update(pos(p) for p in pc)
s['rel'].update(pos(p) for p in pr)
if s['C'] != C or s['REL'] != REL or s['A'] != A:
	s['bad'] = "more than one container or release for one acquire"
s['allowed'] |= set(pos(p) for p in p1 + p2 + p3)

// The array freed after the release.
@freed@
identifier site.fn, site.A;
position p4;
@@
fn(...) {
<...
kvfree(A@p4);
...>
}

@script:python@
fn << site.fn;
A << site.A;
p4 << freed.p4;
@@
for s in sites.values():
	if s['fn'] == fn and s['A'] == A:
		s['allowed'] |= set(pos(p) for p in p4)

// Every use of the array in the function.
@use@
identifier site.fn, site.A;
position pu;
@@
fn(...) {
<...
A@pu
...>
}

@script:python@
fn << site.fn;
A << site.A;
pu << use.pu;
@@
uses.setdefault((pu[0].file, fn, A), set()).update(pos(p) for p in pu)

// Every call of the release helper in the file.
@calls@
identifier site.REL;
position pq;
@@
REL@pq(...)

@script:python@
REL << site.REL;
pq << calls.pq;
@@
helpers.setdefault(REL, set()).update(pos(p) for p in pq)

// The release helper: a static function that only put_page()s its
// array's elements.
@helper exists@
identifier site.REL, P, K, NP;
type T;
@@
static void REL(struct page **P, T NP) {
...
put_page(P[K]);
...
}

@helperuse@
identifier site.REL, helper.P;
position pu;
@@
static void REL(struct page **P, ...) {
<...
P@pu
...>
}

@script:python@
REL << site.REL;
pu << helperuse.pu;
@@
if len(set(pos(p) for p in pu)) != 1:
	for s in sites.values():
		if s['REL'] == REL and not s['bad']:
			s['bad'] = "the release helper %s() does more with the array than put_page() on its elements" % REL

@script:python depends on !helper@
REL << site.REL;
@@
for s in sites.values():
	if s['REL'] == REL and not s['bad']:
		s['bad'] = "the release %s() is not a static helper of this file that put_page()s the array" % REL

// Decide: the transformations below see only the positions of sites that
// convert, in the form of the tree's constructor.
@script:python mk@
C << site.C;
C2;
@@
coccinelle.C2 = cocci.make_ident(CONTAINERS[C][0])

// One rule per form, so that every position it checks is still the
// file's own (spatch reparses the file after a rule changed it).
// From 6.6: iov_iter_extract_pages(), will_pin handed to the container.
@x depends on patch exists@
identifier site.fn, site.A, site.Q, site.J, site.C, site.REL, mk.C2;
expression site.I, R, MAX, OFF, N;
expression list ES1, ES2;
statement S;
position pa : script:python () { at(pa, 0, True) };
@@
fn(...) {
... when any
+ A = NULL;
R =
- iov_iter_get_pages_alloc2@pa(I, &A, MAX, OFF);
+ iov_iter_extract_pages(I, &A, MAX, INT_MAX, 0, OFF);
+ if (R <= 0) {
+	kvfree(A);
+	A = NULL;
+ }
... when any
Q =
- C(ES1, A[J], ES2);
+ C2(ES1, A[J], ES2, iov_iter_extract_will_pin(I));
if (IS_ERR(Q)) S
+ A[J] = NULL;
... when any
- REL(A, N);
+ if (iov_iter_extract_will_pin(I))
+	REL(A, N);
... when any
}

// Before 6.6: the overlay's iov_iter_pin_pages_alloc() pins every page.
@p depends on patch exists@
identifier site.fn, site.A, site.Q, site.J, site.C, mk.C2;
expression R, I, MAX, OFF;
expression list ES1, ES2;
statement S;
position pa : script:python () { at(pa, 0, False) };
@@
fn(...) {
... when any
R =
- iov_iter_get_pages_alloc2@pa(I, &A, MAX, OFF);
+ iov_iter_pin_pages_alloc(I, &A, MAX, OFF);
... when any
Q =
- C(ES1, A[J], ES2);
+ C2(ES1, A[J], ES2);
if (IS_ERR(Q)) S
+ A[J] = NULL;
... when any
}

// The helper unpins what was not handed over. Only its name is compared:
// the rules above changed the file, and spatch reparsed it.
@rh depends on patch@
identifier REL : script:python () { helper_named(REL) };
identifier P, K;
@@
static void REL(struct page **P, ...) {
<...
- put_page(P[K]);
+ if (P[K])
+	unpin_user_page(P[K]);
...>
}

@ctx depends on context@
identifier site.fn, site.A, site.C;
identifier site.REL;
@@
fn(...) {
<...
(
* iov_iter_get_pages_alloc2(..., &A, ...)
|
* C(..., A[...], ...)
|
* REL(A, ...)
)
...>
}

@script:python depends on org@
pa << site.pa;
fn << site.fn;
@@
s = sites[(pa[0].file, fn, int(pa[0].line))]
r = verdict(s)
if r is not None:
	coccilib.org.print_todo(pa[0], "iov_iter_get_pages_alloc2: review: " + r)

@script:python depends on report@
pa << site.pa;
fn << site.fn;
@@
s = sites[(pa[0].file, fn, int(pa[0].line))]
r = verdict(s)
owner, will_pin = CONTAINERS[s['C']]
if r is None:
	coccilib.report.print_report(pa[0], "iov_iter_get_pages_alloc2: convert: ownership transfer, "
		"each page's pin goes to struct nfs_page through %s() (line %s), which unpins it in "
		"nfs_clear_request() (%s); %s() unpins the pages not handed over"
		% (owner, s['cline'], os.path.join(os.path.dirname(s['file']), owner_elsewhere(s['file'], owner)), s['REL']))
else:
	coccilib.report.print_report(pa[0], "iov_iter_get_pages_alloc2: review: " + r)
