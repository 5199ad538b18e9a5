// SPDX-License-Identifier: GPL-2.0-only
///
/// get_user_pages*() -> pin_user_pages*() where the function reads or
/// writes the data of the pages and releases them itself
/// (Documentation/core-api/pin_user_pages.rst case 5: pin, access the data,
/// unpin): the acquire and every put_page()/release_pages() of those pages
/// in the function change together, to unpin_user_page()/unpin_user_pages().
///
/// Only a page pointer or array that is a local of the function is
/// followed (directly or through a local taken from the array). Stored
/// in a field of a structure, the pages are followed through every use of
/// that field in the file: when the field is only compared, tested,
/// freed, cleared, read for data access or released with put_page(), its
/// releases in other functions of the file change too, and the pages,
/// held past the function, are pinned with FOLL_LONGTERM
/// (pin_user_pages.rst case 2). The function is left alone, and reported,
/// if the pages are handed to any other function, returned, assigned from
/// another source in a configuration that also compiles the call (pins
/// and references would mix), stored in a field another file of the
/// directory names, or their physical address outlives the function
/// (case 3), or the flags ask for FOLL_GET (FOLL_PIN excludes it), or no
/// release or no data access is found.
///
// Confidence: High
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

// A static function that returns the one page it took: its callers,
// where the page is used and released, are followed as acquisitions
// (the last branch of call), and the function converts with them.
@retfn@
identifier g, I;
identifier a = {get_user_pages, get_user_pages_fast, get_user_pages_remote, get_user_pages_unlocked};
position rp;
@@
static struct page *g(...)
{
  ...
  a@rp(..., &I, ...);
  ...
  return I;
}

@script:python@
g << retfn.g;
rp << retfn.rp;
@@
retfns[g] = key(rp)

@gocc@
identifier retfn.g;
position q;
@@
g@q

@script:python@
g << retfn.g;
q << gocc.q;
@@
goccs.setdefault(g, set()).add(key(q))

// A static function of the file whose struct page parameters are only
// looked at (PageHuge(), page_size(), page_to_nid(), compared): passing
// a page to it keeps nothing and touches no data.
@hfn@
identifier h, pg;
type T;
position hp;
@@
static T h@hp(..., struct page *pg, ...) { ... }

@huse@
identifier hfn.h, hfn.pg;
type hfn.T;
position q;
@@
static T h(...) { <... pg@q ...> }

@hcall@
identifier hfn.h, hfn.pg, u;
type hfn.T;
position q, c;
@@
static T h(...) { <... u@c(..., <+... pg@q ...+>, ...) ...> }

@hcmp@
identifier hfn.h, hfn.pg;
type hfn.T;
expression X;
position q;
@@
static T h(...) { <...
(
 pg@q == X
|
 X == pg@q
|
 pg@q != X
|
 X != pg@q
|
 !pg@q
)
...> }

@script:python@
h << hfn.h;
pg << hfn.pg;
@@
helpers.setdefault(h, {})

@script:python@
h << hfn.h;
q << huse.q;
@@
helpers.setdefault(h, {}).setdefault(pos(q), [])

@script:python@
h << hfn.h;
q << hcall.q;
c << hcall.c;
u << hcall.u;
@@
helpers.setdefault(h, {}).setdefault(pos(q), []).append((pos(c), u))

@script:python@
h << hfn.h;
q << hcmp.q;
@@
helpers.setdefault(h, {}).setdefault(pos(q), []).append(((0, 0, 0), 'compared'))

@call@
identifier a = {get_user_pages, get_user_pages_fast, get_user_pages_fast_only};
identifier g : script:python () { g in retfns };
expression E0, E1, E2, F, P;
position p, pp;
@@
(
a@p(E1, E2, F, P@pp, ...)
|
get_user_pages_unlocked@p(E1, E2, P@pp, F)
|
get_user_pages_remote@p(E0, E1, E2, F, P@pp, ...)
|
P@pp = g@p(F, ...)
)

@script:python pagesid@
p << call.p;
pp << call.pp;
P << call.P;
F << call.F;
I;
@@
import re
m = re.match(r'^&?\s*([A-Za-z_]\w*)$', P.strip())
# The pages go straight into a field: S->fld, S->fld + i, &S->fld[i].
d = re.match(r'^(?:&\s*)?[A-Za-z_]\w*\s*(?:->|\.)\s*([A-Za-z_]\w*)\s*(?:\+\s*[A-Za-z_]\w*|\[[^]]*\])?$', P.strip())
f = re.sub(r'\s+', ' ', F.strip())
flags[key(p)] = f
# The reference API's own implementation and test harness: FOLL_GET is
# right there (and mm/gup.c would cost minutes to follow).
if re.search(r'(^|/)(mm/gup\.c|mm/gup_test\.c|lib/iov_iter\.c)$', p[0].file):
	cocci.include_match(False)
elif (not m and not d) or (m and m.group(1) == 'NULL') or ('FOLL_GET' in F and f != 'FOLL_GET'):
	cocci.include_match(False)
	if m and m.group(1) == 'NULL':
		pass	# fault-in only: holds no page
	elif 'FOLL_GET' in F:
		seen.setdefault(key(p), []).append(('leaves', 'FOLL_GET among other flags (%s)' % f, int(p[0].line)))
	else:
		seen.setdefault(key(p), []).append(('leaves', 'a pages argument that is no local (%s)' % P, int(p[0].line)))
elif m:
	ident[key(p)] = m.group(1)
	coccinelle.I = cocci.make_ident(m.group(1))
else:
	# No local: the rules that follow one find nothing, the field rules
	# follow the pages.
	direct[key(p)] = (d.group(1), pp[0].line, pp[0].column, pp[0].line_end, pp[0].column_end)
	directspans.add(span(pp))
	ident[key(p)] = 'pinconv_no_local'
	coccinelle.I = cocci.make_ident('pinconv_no_local')

@apiname@
identifier api;
position call.p;
@@
api@p(...)

@script:python@
p << call.p;
api << apiname.api;
@@
apis[key(p)] = api

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
expression E;
position q;
@@
(
return@q I;
|
return@q I[E];
)

// Stored in a field: followed through every use of the field in the
// file (rules fuse.. below), and refused if another file uses it.
@store@
identifier pagesid.I;
expression S, E;
identifier fld;
position call.pp;
position q;
position qd : script:python (pp) { span(pp) in directspans and inside(qd, pp) };
@@
(
S->fld@q = I
|
S->fld@q = I[E]
|
S.fld@q = I
|
S.fld@q = I[E]
|
S->fld@q@qd
|
S.fld@q@qd
)

@script:python storef@
p << call.p;
I << pagesid.I;
fld << store.fld;
q << store.q;
F;
@@
if key(p) in direct:
	ok = direct[key(p)][0] == fld and inside(q, direct[key(p)])
else:
	ok = mine(p, I) and q[0].current_element == p[0].current_element and int(q[0].line) >= int(p[0].line) \
		and not exclusive(p[0].file, int(p[0].line), int(q[0].line))
if ok:
	stores.setdefault(key(p), {}).setdefault(fld, []).append(int(q[0].line))
	coccinelle.F = cocci.make_ident(fld)
else:
	# Bound either way (dropping the match would drop the environment of
	# the call from every later rule), to a name no code uses.
	coccinelle.F = cocci.make_ident('pinconv_no_field')

// Every use of a field the pages were stored in ...
@fuse@
identifier storef.F;
expression S;
position q;
@@
(
S->F@q
|
S.F@q
)

// ... and the harmless ones: compared, stored, freed, or read to reach
// one page; the releases (rel below) and data accesses are found by
// the same rules as for the local.
@fok@
identifier storef.F;
expression S, X, Y;
statement S1, S2;
position q;
@@
(
if (S->F@q) S1 else S2
|
if (S->F@q) S1
|
X == S->F@q
|
S->F@q == X
|
X != S->F@q
|
S->F@q != X
|
!S->F@q
|
S->F@q[Y] = NULL
|
sizeof(*S->F@q)
|
sizeof(S->F@q[Y])
)

@fcall@
identifier storef.F;
expression S, Y;
identifier u;
position q, c;
@@
(
u@c(..., S->F@q[Y], ...)
|
u@c(..., S->F@q, ...)
|
u@c(..., S.F@q[Y], ...)
)

@fset@
identifier storef.F;
expression S, X;
position q;
@@
(
S->F@q = X
|
S.F@q = X
)

@other@
identifier pagesid.I;
expression E;
position q;
@@
I@q = E

// The physical address of a page leaving the function (through a
// pointer or a return) outlives any release the function does: that is
// MMU-notifier territory (pin_user_pages.rst case 3), not a data access.
@physout@
identifier pagesid.I;
expression E;
position q;
@@
(
  *E = <+... page_to_phys@q(<+... I ...+>) ...+>;
|
return <+... page_to_phys@q(<+... I ...+>) ...+>;
)

@initialize:python@
@@
import os
import re
checked = set()
# Calls that read or write the data of a page (copy_{to,from}_user_page()
# copy through a kernel mapping and keep the caches coherent for it;
# page_to_phys() hands the data to a device or hypervisor, unless the
# address itself leaves the function: rule physout).
DATA = re.compile(r'^(vmap|sg_alloc_table_from_pages|sg_set_page|dma_map_page|kmap|kmap_local_page|kmap_atomic|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|copy_to_user_page|copy_from_user_page|page_to_phys)$')
# Calls that only look at the struct page and keep nothing.
HARMLESS = re.compile(r'^(kfree|kvfree|vfree|kunmap|kunmap_local|kunmap_atomic|likely|unlikely|WARN_ON|WARN_ON_ONCE|IS_ERR|IS_ERR_OR_NULL|PTR_ERR|is_zero_page|page_mte_tagged|Page[A-Z][A-Za-z]*|page_size|page_to_nid|compound_order|page_ref_count|page_count|page_mapcount)$')
IFRE = re.compile(r'^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b')
branches = {}
stores = {}	# call -> {field: [lines of the stores]}
fields = {}	# (call, field) -> {use position: what it is, or None}
held = {}	# call -> lines of field releases in other functions
fieldrel = {}	# call -> positions of releases through the field

def preproc(path):
	"""For each line of path, the (#if group, branch) pairs it is in."""
	if path not in branches:
		stack, groups, out = [], 0, [()]
		with open(path, errors='replace') as f:
			for line in f:
				m = IFRE.match(line)
				if m and m.group(1).startswith('if'):
					groups += 1
					stack.append((groups, 0))
				elif m and m.group(1) in ('elif', 'else') and stack:
					g, b = stack.pop()
					stack.append((g, b + 1))
				elif m and m.group(1) == 'endif' and stack:
					stack.pop()
				out.append(tuple(stack))
		branches[path] = out
	return branches[path]

def exclusive(path, l1, l2):
	"""Lines l1 and l2 are in different branches of one #if: no
	configuration compiles both."""
	pp = preproc(path)
	if max(l1, l2) >= len(pp):
		return False
	a = dict(pp[l1])
	return any(g in a and a[g] != b for g, b in pp[l2])
RELEASE = re.compile(r'^(put_page|release_pages)$')
# Calls that keep nothing but give the page another name the rule does
# not follow (its data and release are reached through it).
ALIAS = {'page_folio': 'their folio (page_folio(), a name the rule does not follow)',
	 'compound_head': 'their head page (compound_head(), a name the rule does not follow)',
	 'page_to_pfn': 'their page frame number (page_to_pfn(), a name the rule does not follow)'}
# Calls that take the array of a field to map it or free it.
FIELDOK = re.compile(r'^(memset|vunmap)$')
seen = {}
aliases = {}
ident = {}
approved = set()
retfns = {}	# static function returning the page it took -> that call
goccs = {}	# such a function -> every place its name is used
apis = {}	# site -> the function called there
longterm = set()	# approved calls whose pages outlive the function
direct = {}	# call -> (field, span of the pages argument): no local
directspans = set()	# the spans of direct
flags = {}	# call -> its gup flags, as written
helpers = {}	# static function -> {use of its page parameter: [(call, name)]}

def span(pp):
	if not hasattr(pp[0], 'line'):	# a direct entry: (field, span)
		return tuple(int(x) for x in pp[1:])
	return (int(pp[0].line), int(pp[0].column), int(pp[0].line_end), int(pp[0].column_end))

def inside(q, pp):
	"""Position q is within the code at pp."""
	l, c, le, ce = span(pp)
	ql, qc = int(q[0].line), int(q[0].column)
	return (l, c) <= (ql, qc) <= (le, ce)

def harmless_helper(u):
	"""u is a static function of the file that only looks at its page
	parameters: each use is compared, or passed to a call of HARMLESS
	(the innermost call around it decides)."""
	uses = helpers.get(u)
	if not uses:
		return False
	for q, calls in uses.items():
		if not calls:
			return False
		inner = max(calls)[1]
		if inner != 'compared' and not HARMLESS.match(inner):
			return False
	return True

def key(p):
	return (p[0].file, p[0].line, p[0].column)

def mark(p, what, name, q):
	"""Evidence about the pages of the call at p: only in its function,
	after it (what the pointer held before the call does not matter), in
	a configuration that compiles the call."""
	if q[0].current_element != p[0].current_element or int(q[0].line) < int(p[0].line):
		return
	if exclusive(p[0].file, int(p[0].line), int(q[0].line)):
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
	elif u in ALIAS:
		mark(p, 'leaves', ALIAS[u], q)
	elif not HARMLESS.match(u):
		mark(p, 'leaves', u + '()', q)

def plain(p):
	"""Approved, and converted without FOLL_LONGTERM."""
	return key(p) in approved and key(p) not in longterm

def simple_flags(F):
	"""Flags that take '| FOLL_LONGTERM' without parentheses."""
	return re.match(r'^[A-Z_0-9|\s]+$', F) is not None

def pos(q):
	return (q[0].file, int(q[0].line), int(q[0].column))

def field(p, F, q, what):
	if F not in stores.get(key(p), {}):
		return
	if key(p) in direct and inside(q, direct[key(p)]):
		what = 'ok'	# the acquisition itself
	if q[0].current_element == p[0].current_element and \
			exclusive(p[0].file, int(p[0].line), int(q[0].line)):
		return
	uses = fields.setdefault((key(p), F), {})
	if what is not None or pos(q) not in uses:
		uses[pos(q)] = what

def elsewhere(path, F):
	"""Another C file of the directory that names the field."""
	d = os.path.dirname(path)
	pat = re.compile(r'(->|\.)\s*%s\b' % re.escape(F))
	for n in sorted(os.listdir(d or '.')):
		f = os.path.join(d, n)
		if n.endswith('.c') and os.path.abspath(f) != os.path.abspath(path):
			with open(f, errors='replace') as fh:
				if pat.search(fh.read()):
					return n
	return None

def fieldverdict(k):
	"""Mark what the uses of the fields the pages were stored in say."""
	for F in sorted(stores.get(k, {})):
		other = elsewhere(k[0], F)
		if other:
			seen.setdefault(k, []).append(('leaves', 'the field ->%s, which %s uses too,' % (F, other), stores[k][F][0]))
			continue
		for (f, l, c), what in sorted(fields.get((k, F), {}).items()):
			if what is None:
				seen.setdefault(k, []).append(('leaves', 'the field ->%s (line %d uses it in a way the rule does not follow)' % (F, l), stores[k][F][0]))
			elif what.startswith('leaves:'):
				seen.setdefault(k, []).append(('leaves', 'the field ->%s (%s at line %d)' % (F, what[7:], l), stores[k][F][0]))

def convert_reason(p, api):
	pin = api.replace('get_', 'pin_')
	for g, rk in sorted(retfns.items()):
		if rk == key(p):
			return ('pin_user_pages.rst case 5 (pin, access the data, unpin): %s() in %s(), which returns '
				'the page to its callers (line %s), which access its data and release it'
				% (pin, g, ', '.join(str(k[1]) for k in callers_of(g))))
	if key(p) in held:
		F = sorted(stores[key(p)])
		return ('pin_user_pages.rst case 2 (pin, access the data, hold, unpin later): %s() with FOLL_LONGTERM, '
			'the pages held in ->%s and released in another function of the file (line %s)'
			% (pin, ', ->'.join(F), ', '.join(str(l) for l in sorted(set(held[key(p)])))))
	return 'pin_user_pages.rst case 5 (pin, access the data, unpin): %s() and the release of its pages in this function' % pin

def convert_reason_all(p, api):
	why = convert_reason(p, api)
	if flags.get(key(p)) == 'FOLL_GET':
		why += '; FOLL_GET, which %s() refuses, dropped from the flags' % api.replace('get_', 'pin_')
	return why

GUPS = ('get_user_pages', 'get_user_pages_fast', 'get_user_pages_fast_only',
	'get_user_pages_unlocked', 'get_user_pages_remote')

def callers_of(g):
	return sorted(k for k, a in apis.items() if a == g)

def retverdict(g):
	"""'' when the page g returns is only returned, g is only called by
	its callers, and each of them accesses the data and releases it."""
	rk = retfns[g]
	ev = seen.get(rk, [])
	if any(w == 'leaves' and n != 'a return' for w, n, l in ev):
		return base_verdict(rk)
	callers = callers_of(g)
	if not callers:
		return 'the page is returned by %s(), which nothing here calls' % g
	if goccs.get(g, set()) - set(callers):
		return 'the page is returned by %s(), whose name is also used other than in a call' % g
	for k in callers:
		why = base_verdict(k)
		if why:
			return 'the page is returned by %s() to line %s, where %s' % (g, k[1], why)
	return ''

def verdict(p):
	k = key(p)
	for g, rk in sorted(retfns.items()):
		if rk == k:
			return retverdict(g)
	if apis.get(k) in retfns:
		return retverdict(apis[k])
	return base_verdict(k)

def base_verdict(k):
	if k in stores and not k in checked:
		checked.add(k)
		fieldverdict(k)
	ev = seen.get(k, [])
	leaves = sorted((l, n) for w, n, l in ev if w == 'leaves')
	data = sorted((l, n) for w, n, l in ev if w == 'data')
	rel = sorted((l, n) for w, n, l in ev if w == 'release')
	if leaves:
		return 'the pages go to %s at line %d: the rule follows them no further (pins and references must not mix)' % (leaves[0][1], leaves[0][0])
	if k in held and not simple_flags(flags.get(k, '')) and flags.get(k) != 'FOLL_GET':
		return 'the flags (%s) are an expression FOLL_LONGTERM is not added to by the rule' % flags.get(k)
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
	mark(p, 'leaves', 'a return', q)

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
q << physout.q;
@@
if mine(p, I):
	mark(p, 'leaves', 'its physical address, kept past the function (pin_user_pages.rst case 3),', q)

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
q << other.q;
E << other.E;
@@
# NULL, or the array itself allocated: the page pointers still come from
# the call; or the acquisition itself (P = g(...)).
if apis.get(key(p)) in retfns and int(q[0].line) == int(p[0].line) and E.strip().startswith(apis[key(p)]):
	pass
elif mine(p, I) and re.match(r'^(page_folio|compound_head)\s*\(\s*' + re.escape(I) + r'\s*\)$', E.strip()):
	mark(p, 'leaves', ALIAS[E.strip().split('(')[0].strip()], q)
elif mine(p, I) and E.strip() != 'NULL' and not re.match(r'^(kv?|v)[mzc]alloc(_array)?\b|^kv?calloc\b', E.strip()):
	mark(p, 'leaves', 'another source of the pointer (%s)' % re.sub(r'\s+', '', E), q)

@script:python depends on patch || org || report@
p << call.p;
F << storef.F;
q << fuse.q;
@@
field(p, F, q, None)

@script:python depends on patch || org || report@
p << call.p;
F << storef.F;
q << fok.q;
@@
field(p, F, q, 'ok')

@script:python depends on patch || org || report@
p << call.p;
I << pagesid.I;
F << storef.F;
q << fset.q;
X << fset.X;
@@
x = X.strip()
if x == 'NULL' or re.match(r'^(kv?|v)[mzc]alloc(_array)?\b|^kv?calloc\b', x) \
		or (x in (I, I + '[0]') and q[0].current_element == p[0].current_element):
	field(p, F, q, 'ok')
else:
	field(p, F, q, 'leaves:set to %s' % re.sub(r'\s+', '', x))

@script:python depends on patch || org || report@
p << call.p;
F << storef.F;
q << fcall.q;
c << fcall.c;
u << fcall.u;
@@
if F not in stores.get(key(p), {}):
	pass
elif RELEASE.match(u):
	field(p, F, q, 'release')
	fieldrel.setdefault(key(p), set()).add(key(c))
	if c[0].current_element != p[0].current_element:
		held.setdefault(key(p), []).append(int(c[0].line))
	if key(p) in direct:
		seen.setdefault(key(p), []).append(('release', u, int(c[0].line)))
elif DATA.match(u) or HARMLESS.match(u) or FIELDOK.match(u) or harmless_helper(u):
	field(p, F, q, 'ok')
	# With no local, the data is reached through the field only.
	if key(p) in direct and DATA.match(u):
		seen.setdefault(key(p), []).append(('data', u, int(c[0].line)))
elif key(p) in direct and inside(q, direct[key(p)]):
	field(p, F, q, 'ok')	# the acquisition itself
elif u in ('__free_page', 'free_page', '__free_pages'):
	field(p, F, q, 'leaves:released with %s(), which the rule does not convert,' % u)
else:
	field(p, F, q, 'leaves:passed to %s()' % u)

@script:python depends on report@
p << call.p;
api << apiname.api;
@@
why = verdict(p)
if api not in GUPS:
	pass	# a caller of a function that returns the page: reported there
elif why:
	coccilib.report.print_report(p[0], "%s: review: %s" % (api, why))
else:
	coccilib.report.print_report(p[0], "%s: convert: %s" % (api, convert_reason_all(p, api)))

@script:python depends on org@
p << call.p;
api << apiname.api;
@@
why = verdict(p)
if api in GUPS:
	coccilib.org.print_todo(p[0], "%s: %s" % (api, ('review: ' + why) if why else 'convert: ' + convert_reason_all(p, api)))

// Only the calls that pass every check go on, with the releases of
// their pages in the same function.
@script:python good@
p << call.p;
I << pagesid.I;
@@
if mine(p, I) and not verdict(p):
	approved.add(key(p))
	if key(p) in held:
		longterm.add(key(p))

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
elif key(p) in approved and key(q) in fieldrel.get(key(p), ()):
	approved.add(key(q))

// One rule for both: after a rule that modifies, a later one no longer
// sees the positions the scripts approved.
@depends on patch@
position p : script:python () { plain(p) };
position pl : script:python () { key(pl) in longterm };
expression E, N, E0, E1, E2, E3, E4, P;
expression F : script:python () { simple_flags(F) };
@@
(
- get_user_pages@pl(E1, E2, FOLL_GET, P)
+ pin_user_pages(E1, E2, FOLL_LONGTERM, P)
|
- get_user_pages_fast@pl(E1, E2, FOLL_GET, P)
+ pin_user_pages_fast(E1, E2, FOLL_LONGTERM, P)
|
- get_user_pages_unlocked@pl(E1, E2, P, FOLL_GET)
+ pin_user_pages_unlocked(E1, E2, P, FOLL_LONGTERM)
|
- get_user_pages_remote@pl(E0, E1, E2, FOLL_GET, P, E3)
+ pin_user_pages_remote(E0, E1, E2, FOLL_LONGTERM, P, E3)
|
- get_user_pages@p(E1, E2, FOLL_GET, P)
+ pin_user_pages(E1, E2, 0, P)
|
- get_user_pages_fast@p(E1, E2, FOLL_GET, P)
+ pin_user_pages_fast(E1, E2, 0, P)
|
- get_user_pages_unlocked@p(E1, E2, P, FOLL_GET)
+ pin_user_pages_unlocked(E1, E2, P, 0)
|
- get_user_pages_remote@p(E0, E1, E2, FOLL_GET, P, E3)
+ pin_user_pages_remote(E0, E1, E2, 0, P, E3)
|
- get_user_pages@pl(E1, E2, 0, P)
+ pin_user_pages(E1, E2, FOLL_LONGTERM, P)
|
- get_user_pages@pl(E1, E2, F, P)
+ pin_user_pages(E1, E2, F | FOLL_LONGTERM, P)
|
- get_user_pages_fast@pl(E1, E2, 0, P)
+ pin_user_pages_fast(E1, E2, FOLL_LONGTERM, P)
|
- get_user_pages_fast@pl(E1, E2, F, P)
+ pin_user_pages_fast(E1, E2, F | FOLL_LONGTERM, P)
|
- get_user_pages_unlocked@pl(E1, E2, P, 0)
+ pin_user_pages_unlocked(E1, E2, P, FOLL_LONGTERM)
|
- get_user_pages_unlocked@pl(E1, E2, P, F)
+ pin_user_pages_unlocked(E1, E2, P, F | FOLL_LONGTERM)
|
- get_user_pages_remote@pl(E0, E1, E2, 0, P, E3)
+ pin_user_pages_remote(E0, E1, E2, FOLL_LONGTERM, P, E3)
|
- get_user_pages_remote@pl(E0, E1, E2, F, P, E3)
+ pin_user_pages_remote(E0, E1, E2, F | FOLL_LONGTERM, P, E3)
|
- get_user_pages_remote@pl(E0, E1, E2, 0, P, E3, E4)
+ pin_user_pages_remote(E0, E1, E2, FOLL_LONGTERM, P, E3, E4)
|
- get_user_pages_remote@pl(E0, E1, E2, F, P, E3, E4)
+ pin_user_pages_remote(E0, E1, E2, F | FOLL_LONGTERM, P, E3, E4)
|
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

