// SPDX-License-Identifier: GPL-2.0-only
///
/// get_user_pages*() -> pin_user_pages*() where the function reads or
/// writes the data of the pages and releases them itself
/// (Documentation/core-api/pin_user_pages.rst case 5: pin, access the data,
/// unpin): the acquire and every put_page()/release_pages() of those pages
/// in the function change together, to unpin_user_page()/unpin_user_pages().
///
/// Only a page pointer or array that is a local of the function is
/// followed (directly or through a local taken from the array). The
/// function is left alone, and reported, if the pages are handed to any
/// other function, stored in a structure, returned, assigned from another
/// source (pins and references would mix), or the flags ask for FOLL_GET
/// (FOLL_PIN excludes it), or no release or no data access is found.
///
// Confidence: High
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

@call@
identifier a = {get_user_pages, get_user_pages_fast, get_user_pages_fast_only};
expression E0, E1, E2, F, P;
position p;
@@
(
a@p(E1, E2, F, P, ...)
|
get_user_pages_unlocked@p(E1, E2, P, F)
|
get_user_pages_remote@p(E0, E1, E2, F, P, ...)
)

@script:python pagesid@
p << call.p;
P << call.P;
F << call.F;
I;
@@
import re
m = re.match(r'^&?\s*([A-Za-z_]\w*)$', P.strip())
if not m or m.group(1) == 'NULL' or 'FOLL_GET' in F:
	cocci.include_match(False)
	if m and m.group(1) == 'NULL':
		pass	# fault-in only: holds no page
	elif 'FOLL_GET' in F:
		seen.setdefault(key(p), []).append(('leaves', 'FOLL_GET in the flags', int(p[0].line)))
	elif m is None:
		seen.setdefault(key(p), []).append(('leaves', 'a pages argument that is no local (%s)' % P, int(p[0].line)))
else:
	ident[key(p)] = m.group(1)
	coccinelle.I = cocci.make_ident(m.group(1))

@apiname@
identifier api;
position call.p;
@@
api@p(...)

// A page of the array through a local: page = pages[i].
@aliasa@
identifier pagesid.I, J;
expression E;
position a;
@@
(
J@a = I[E]
|
J@a = I
)

@aliasb@
identifier pagesid.I, J;
expression E;
type T;
position a;
@@
(
T J@a = I[E];
|
T J@a = I;
)

@use@
identifier pagesid.I;
identifier u;
position q;
@@
u@q(..., <+... I ...+>, ...)

@usea@
identifier aliasa.J;
identifier u;
position q;
@@
u@q(..., <+... J ...+>, ...)

@useb@
identifier aliasb.J;
identifier u;
position q;
@@
u@q(..., <+... J ...+>, ...)

// What makes the pages leave the function, or come from elsewhere.
@leave@
identifier pagesid.I;
expression S, E;
identifier fld;
position q;
@@
(
return@q I;
|
return@q I[E];
|
S->fld@q = I
|
S->fld@q = I[E]
|
S.fld@q = I
|
S.fld@q = I[E]
)

@other@
identifier pagesid.I;
expression E;
position q;
@@
I@q = E

@initialize:python@
@@
import re
DATA = re.compile(r'^(kmap|kmap_local_page|kmap_atomic|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock)$')
HARMLESS = re.compile(r'^(kfree|kvfree|vfree|kunmap|kunmap_local|kunmap_atomic|likely|unlikely|WARN_ON|WARN_ON_ONCE|IS_ERR|IS_ERR_OR_NULL|PTR_ERR)$')
RELEASE = re.compile(r'^(put_page|release_pages)$')
seen = {}
aliases = {}
ident = {}
approved = set()

def key(p):
	return (p[0].file, p[0].line, p[0].column)

def mark(p, what, name, q):
	"""Evidence about the pages of the call at p: only in its function,
	after it (what the pointer held before the call does not matter)."""
	if q[0].current_element != p[0].current_element or int(q[0].line) < int(p[0].line):
		return
	seen.setdefault(key(p), []).append((what, name, int(q[0].line)))

def mine(p, I):
	"""I is the pages identifier of the call at p (not another call's)."""
	return ident.get(key(p)) == I

def use(p, api, u, q, a=None):
	if q[0].current_element != p[0].current_element or u == api:
		return
	if a is not None and (a[0].current_element != p[0].current_element or
			      int(a[0].line) < int(p[0].line)):
		return
	if DATA.match(u):
		mark(p, 'data', u, q)
	elif RELEASE.match(u):
		mark(p, 'release', u, q)
	elif not HARMLESS.match(u):
		mark(p, 'leaves', u + '()', q)

def verdict(p):
	ev = seen.get(key(p), [])
	leaves = sorted((l, n) for w, n, l in ev if w == 'leaves')
	data = sorted((l, n) for w, n, l in ev if w == 'data')
	rel = sorted((l, n) for w, n, l in ev if w == 'release')
	if leaves:
		return 'the pages go to %s at line %d: the rule follows them no further (pins and references must not mix)' % (leaves[0][1], leaves[0][0])
	if not data:
		return 'no access to the data of the pages in this function'
	if not rel:
		return 'no release of the pages in this function'
	return ''

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
api << apiname.api;
u << use.u;
q << use.q;
@@
if mine(p, I):
	use(p, api, u, q)

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
api << apiname.api;
u << usea.u;
q << usea.q;
a << aliasa.a;
J << aliasa.J;
@@
if mine(p, I):
	use(p, api, u, q, a)
if mine(p, I) and a[0].current_element == p[0].current_element and int(a[0].line) >= int(p[0].line):
	aliases.setdefault(key(p), set()).add(J)

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
api << apiname.api;
u << useb.u;
q << useb.q;
a << aliasb.a;
J << aliasb.J;
@@
if mine(p, I):
	use(p, api, u, q, a)
if mine(p, I) and a[0].current_element == p[0].current_element and int(a[0].line) >= int(p[0].line):
	aliases.setdefault(key(p), set()).add(J)

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
q << leave.q;
@@
if mine(p, I):
	mark(p, 'leaves', 'a return or a structure', q)

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
q << other.q;
E << other.E;
@@
# NULL, or the array itself allocated: the page pointers still come from the call.
if mine(p, I) and E.strip() != 'NULL' and not re.match(r'^(kv?|v)[mzc]alloc(_array)?\b|^kv?calloc\b', E.strip()):
	mark(p, 'leaves', 'another source of the pointer (%s)' % re.sub(r'\s+', '', E), q)

@script:python depends on report@
p << call.p;
api << apiname.api;
@@
why = verdict(p)
if why:
	coccilib.report.print_report(p[0], "%s: review: %s" % (api, why))
else:
	coccilib.report.print_report(p[0], "%s: convert: pin_user_pages.rst case 5 (pin, access the data, unpin): %s() and the release of its pages in this function" % (api, api.replace('get_', 'pin_')))

@script:python depends on org@
p << call.p;
api << apiname.api;
@@
why = verdict(p)
coccilib.org.print_todo(p[0], "%s: %s" % (api, ('review: ' + why) if why else 'convert: pin_user_pages.rst case 5'))

// Only the calls that pass every check go on, with the releases of
// their pages in the same function.
@script:python good@
p << call.p;
I << pagesid.I;
@@
if mine(p, I) and not verdict(p):
	approved.add(key(p))

@rel@
identifier r = {put_page, release_pages};
expression E;
position q;
@@
r@q(E, ...)

@script:python relok@
p << call.p;
I << pagesid.I;
q << rel.q;
E << rel.E;
@@
e = re.sub(r'\s+', '', E)
names = {I} | aliases.get(key(p), set())
if key(p) in approved and mine(p, I) and q[0].current_element == p[0].current_element \
		and int(q[0].line) >= int(p[0].line) \
		and any(e == n or e.startswith(n + '[') for n in names):
	approved.add(key(q))

// One rule for both: after a rule that modifies, a later one no longer
// sees the positions the scripts approved.
@depends on patch@
position p : script:python () { key(p) in approved };
expression E, N;
@@
(
- get_user_pages@p
+ pin_user_pages
  (...)
|
- get_user_pages_fast@p
+ pin_user_pages_fast
  (...)
|
- get_user_pages_fast_only@p
+ pin_user_pages_fast_only
  (...)
|
- get_user_pages_unlocked@p
+ pin_user_pages_unlocked
  (...)
|
- get_user_pages_remote@p
+ pin_user_pages_remote
  (...)
|
- put_page@p(E)
+ unpin_user_page(E)
|
- release_pages@p(E, N)
+ unpin_user_pages(E, N)
)

@depends on context@
position call.p;
identifier f;
@@
* f@p(...)

