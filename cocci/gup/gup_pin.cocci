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
# As the source spells it: Coccinelle prints 'a . b' and '- 1'.
flags[key(p)] = re.sub(r'(^|[^\w)\s]\s*)- (?=\w)', r'\1-', re.sub(r'\s*(\.|->)\s*', r'\1', f))
pargs[key(p)] = re.sub(r'\s+', ' ', P.strip())
acqpos[key(p)] = p
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
# What the data access is (pin_user_pages.rst: a device or Direct I/O,
# cases 1 and 2; a CPU write, case 5). A CPU read gets no pin.
DEVICE = re.compile(r'^(sg_alloc_table_from_pages|sg_set_page|dma_map_page|page_to_phys)$')
WRITES = re.compile(r'^(set_page_dirty|set_page_dirty_lock|memzero_page|memcpy_to_page|copy_to_page|copy_to_user_page)$')
DIRTY = re.compile(r'\b(set_page_dirty(_lock)?|unpin_user_pages_dirty_lock)\s*\(')
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
pargs = {}	# call -> its pages argument, as written
acqpos = {}	# call -> its position
relfns = {}	# call -> the functions that release its pages through a field

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
		if DEVICE.match(u):
			mark(p, 'device', u, q)
		if WRITES.match(u):
			mark(p, 'write', u, q)
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

CASES = {'device': 'pin_user_pages.rst case 1 (short-term DMA, as for Direct I/O: pin, let the device access the data, unpin)',
	 'write': 'pin_user_pages.rst case 5 (pin, write the data, unpin)'}

def what_access(k, kind):
	if kind == 'device':
		return 'the pages are handed to a device (%s)' % first(evidence(k, 'device'))
	w = evidence(k, 'write') or evidence(k, 'data')
	return 'the CPU writes the data (flags %s, %s)' % (flags.get(k), first(w))

def convert_reason(p, api):
	pin = api.replace('get_', 'pin_')
	k = key(p)
	kind = access(k)
	for g, rk in sorted(retfns.items()):
		if rk == k:
			return ('%s: %s() in %s(), which returns the page to its callers (line %s); %s '
				'and they release it' % (CASES[kind], pin, g, ', '.join(str(c[1]) for c in callers_of(g)),
							   what_access(k, kind)))
	if k in held:
		F = '->' + ', ->'.join(sorted(stores[k]))
		sc = scoped(p)
		if sc:
			other = sorted(set(held[k]) | {l for w, n, l in seen.get(k, []) if w == 'release'})
			return ('%s: %s() without FOLL_LONGTERM; %s; the pages are held in %s for the request '
				'and released by %s() in %s() (line %d) when it ends (every release of them, '
				'lines %s, becomes an unpin)' % (CASES[kind], pin, what_access(k, kind), F, sc[1], sc[0], sc[2],
					       ', '.join(str(l) for l in other)))
		return ('pin_user_pages.rst case 2 (pin, let the device or CPU access the data, hold, unpin '
			'later): %s() with FOLL_LONGTERM; %s; the pages are held in %s past the call that took '
			'them and released in another function of the file (line %s), when userspace says. '
			'FOLL_LONGTERM first migrates the pages out of ZONE_MOVABLE and CMA, so the call can '
			'now fail where it did not (gigantic hugetlb pages from hugetlb_cma, say)'
			% (pin, what_access(k, kind), F, ', '.join(str(l) for l in sorted(set(held[k])))))
	rel = sorted((l, n) for w, n, l in seen.get(k, []) if w == 'release')
	return ('%s: %s(); %s; the pages are released in this function (%s)'
		% (CASES[kind], pin, what_access(k, kind), first(rel)))

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

# What a maintainer asks before a pin: which pin_user_pages.rst case
# the access is (a device or Direct I/O: cases 1 and 2; a CPU write:
# case 5; a CPU read: none, FOLL_GET stays), whether the hold outlives
# the request (FOLL_LONGTERM only then), and whether the function leaks
# or forgets to dirty the pages today (a pin would carry the bug, and a
# leaked long-term pin is worse than a leaked reference).
texts = {}

def text(path):
	if path not in texts:
		with open(path, errors='replace') as f:
			texts[path] = f.read().split('\n')
	return texts[path]

FUNCNAME = re.compile(r'^[A-Za-z_].*?\b([A-Za-z_]\w*)\s*\(')

def functions(path):
	"""name -> (first line of the body, last line), 1-based, from the
	kernel's layout: a body opens with '{' and closes with '}' in
	column 0."""
	key_ = ('functions', path)
	if key_ in texts:
		return texts[key_]
	lines, out, i = text(path), {}, 0
	while i < len(lines):
		if lines[i].startswith('{'):
			name = None
			for j in range(i - 1, max(i - 8, -1), -1):
				m = FUNCNAME.match(lines[j])
				if m:
					name = m.group(1)
					break
			e = i + 1
			while e < len(lines) and not lines[e].startswith('}'):
				e += 1
			if name:
				out.setdefault(name, (i + 1, e + 1))
			i = e
		i += 1
	texts[key_] = out
	return out

def body(path, line):
	"""The (first, last) lines of the function around line."""
	for s, e in functions(path).values():
		if s <= line <= e:
			return s, e
	return line, line

CALLRE = re.compile(r'\b([A-Za-z_]\w*)\s*\(')

def calls_in(path, name):
	"""[(callee, line)] of the calls in function name."""
	f = functions(path).get(name)
	if not f:
		return []
	lines = text(path)
	return [(m.group(1), n) for n in range(f[0], f[1] + 1)
		for m in CALLRE.finditer(lines[n - 1])]

def evidence(k, what):
	"""Lines and names of what (data, device, write) for the pages of
	acquisition k, and of the callers a returned page goes to."""
	keys = [k]
	for g, rk in retfns.items():
		if rk == k:
			keys += callers_of(g)
	return sorted((l, n) for kk in keys for w, n, l in seen.get(kk, []) if w == what)

def access(k):
	"""'device', 'write', 'read' or 'runtime' (flags that decide at run
	time whether the data is written)."""
	f = flags.get(k, '')
	if evidence(k, 'device'):
		return 'device'
	if not simple_flags(f):
		return 'runtime'
	return 'write' if 'FOLL_WRITE' in f else 'read'

def first(ev):
	return '%s() at line %d' % (ev[0][1], ev[0][0])

def read_reason(k, api):
	return ('a CPU read: %s() with flags %s, no FOLL_WRITE, and the function only reads the data (%s); '
		'pin_user_pages.rst case 5 is for writing it, so FOLL_GET is right here: a pin would '
		'unshare a page shared copy-on-write or by KSM (an allocation charged to the mm, which '
		'can fail) and set MMF_HAS_PINNED on the mm for good'
		% (api, flags.get(k) or '0', first(evidence(k, 'data'))))

def runtime_reason(k):
	return ('the flags (%s) decide at run time whether the function writes the data or only '
		'reads it (through %s); converting would pin the read path too, where FOLL_GET is right: '
		'the two paths need telling apart first' % (flags.get(k), first(evidence(k, 'data'))))

LABEL = re.compile(r'^\s*([A-Za-z_]\w*):')
GOTO = re.compile(r'\bgoto\s+([A-Za-z_]\w*)\s*;')

def controlling_if(lines, g, start):
	"""The condition text of the nearest if above line g."""
	for n in range(g, start - 1, -1):
		m = re.search(r'\bif\s*\((.*)', lines[n - 1])
		if m:
			return m.group(1)
	return ''

def labels(lines, s, e):
	return {LABEL.match(lines[n - 1]).group(1): n for n in range(s, e + 1)
		if LABEL.match(lines[n - 1]) and not lines[n - 1].lstrip().startswith('default')}

def loose(x):
	"""A pattern for the code x with any spacing between its tokens
	(Coccinelle prints an expression with spaces of its own)."""
	return r'\s*'.join(re.escape(ch) for ch in re.sub(r'\s+', '', x))

def count_leak(p):
	"""The pages go to A + i (or &A[i]); a release loop up to a count
	sits under a label; a goto to it after the call, before the count
	is raised, skips the page just taken."""
	k, path = key(p), p[0].file
	m = re.match(r'^(.*?)\s*\+\s*(\w+)$', pargs.get(k, '')) or \
		re.match(r'^&\s*(.*)\[\s*(\w+)\s*\]$', pargs.get(k, ''))
	if not m:
		return ''
	A = loose(m.group(1))
	lines, line = text(path), int(p[0].line)
	s, e = body(path, line)
	lab = labels(lines, s, e)
	ret = re.match(r'^\s*([A-Za-z_]\w*)\s*=', lines[line - 1])
	for L, ln in sorted(lab.items(), key=lambda x: x[1]):
		loop = re.search(r'for\s*\(\s*(\w+)\s*=\s*0\s*;\s*\1\s*<\s*([^;]+?)\s*;', lines[ln])
		if not loop or not re.search(r'put_page\s*\(\s*' + A + r'\s*\[\s*' + loop.group(1) + r'\s*\]',
					     ' '.join(lines[ln:ln + 2])):
			continue
		C = loose(loop.group(2))
		inc = [n for n in range(line, e + 1)
		       if re.search(C + r'\s*(\+\+|\+=)|\+\+\s*' + C, lines[n - 1])]
		if not inc:
			continue
		for n in range(line + 1, inc[0]):
			g = GOTO.search(lines[n - 1])
			if g and g.group(1) == L:
				# A test of what the call returned (before anything else
				# is assigned to it) is the call failing: nothing taken.
				cond = controlling_if(lines, n, line + 1)
				r = ret and re.compile(r'\b%s\s*=[^=]' % ret.group(1))
				if ret and re.search(r'\b%s\b' % ret.group(1), cond) and \
						not any(r.search(lines[x - 1]) for x in range(line + 1, n)):
					continue
				return ('fix first: the goto %s at line %d, after the call and before %s is raised '
					'(line %d), skips the page just taken (the release loop at line %d stops at '
					'%s): today a leaked reference, after the conversion a leaked pin'
					% (L, n, loop.group(2).strip(), inc[0], ln + 1, loop.group(2).strip()))
	return ''

def vmap_leak(p):
	"""V = vmap(A, ...), then a goto to a path that releases A without
	vunmap(V): the mapping outlives the pages."""
	k, path = key(p), p[0].file
	A = ident.get(k)
	if not A or A == 'pinconv_no_local':
		return ''
	lines, line = text(path), int(p[0].line)
	s, e = body(path, line)
	lab = labels(lines, s, e)
	rel = [n for n in range(line + 1, e + 1)
	       if re.search(r'\b(put_page\s*\(\s*%s\s*\[|release_pages\s*\(\s*%s\b)' % (A, A), lines[n - 1])]
	for v in range(line + 1, e + 1):
		m = re.search(r'\b(\w+)\s*=\s*vmap\s*\(\s*%s\b' % A, lines[v - 1])
		if not m:
			continue
		V, bad = m.group(1), []
		for n in range(v + 1, e + 1):
			g = GOTO.search(lines[n - 1])
			if not g or g.group(1) not in lab:
				continue
			if re.search(r'!\s*%s\b|\b%s\s*==\s*NULL' % (V, V), controlling_if(lines, n, v + 1)):
				continue
			ln = lab[g.group(1)]
			r = [x for x in rel if x > ln]
			if r and not any(re.search(r'\bvunmap\s*\(\s*%s\b' % V, lines[x - 1]) for x in range(ln, r[0])):
				bad.append((n, g.group(1), r[0]))
		if bad:
			return ('fix first: after %s = vmap() (line %d), %s release%s the pages (line %d) '
				'without vunmap(%s): the mapping outlives the pages today, and would outlive the '
				'pins' % (V, v, ', '.join('the goto %s at line %d' % (L, n) for n, L, x in bad),
					  '' if len(bad) > 1 else 's', bad[0][2], V))
	return ''

def dirty_leak(p, kind):
	"""The device may write the pages and nothing dirties them."""
	k, path = key(p), p[0].file
	if kind != 'device' or 'FOLL_WRITE' not in flags.get(k, ''):
		return ''
	lines = text(path)
	if k in held:
		where = '\n'.join(lines)
	else:
		s, e = body(path, int(p[0].line))
		where = '\n'.join(lines[s - 1:e])
	if DIRTY.search(where):
		return ''
	return ('fix first: the device writes the pages (%s, flags %s) and nothing dirties them '
		'before the release; the conversion is unpin_user_pages_dirty_lock() with the write '
		'condition, which this rule does not write' % (first(evidence(k, 'device')), flags.get(k)))

def releasers(path, R):
	"""R and every function of the file that calls one of them."""
	out, calls = set(R), {n: calls_in(path, n) for n in functions(path)}
	grown = True
	while grown:
		grown = False
		for n, cs in calls.items():
			if n not in out and any(c in out for c, l in cs):
				out.add(n)
				grown = True
	return out

def scoped(p):
	"""For held pages: (G, R, line) when a function on the chain from
	the acquisition up through its callers in the file calls a release
	of them after the pages were stored: the hold ends with the request.
	The outermost such call is returned (the one the success path
	reaches)."""
	k, path = key(p), p[0].file
	R = relfns.get(k, set())
	if not R:
		return None
	Rs = releasers(path, R)
	start = min(l for F in stores.get(k, {}) for l in stores[k][F]) if stores.get(k) else int(p[0].line)
	todo, done, found = [(p[0].current_element, start)], set(), None
	while todo:
		fn, after = todo.pop(0)
		if fn in done:
			continue
		done.add(fn)
		for c, l in calls_in(path, fn):
			if l > after and c in Rs and c != fn and (c in R or not found or found[1] not in R):
				found = (fn, c, l)
		for g in sorted(functions(path)):
			for c, l in calls_in(path, g):
				if c == fn and g != fn:
					todo.append((g, l))
	return found

def judge(p):
	"""(status, why): 'convert', 'review' or 'ref-ok'."""
	why = verdict(p)
	if why:
		return 'review', why
	k = key(p)
	if apis.get(k) in retfns:
		k = retfns[apis[k]]	# a caller of a function that returns the page
		p = acqpos.get(k, p)
	kind = access(k)
	if kind == 'read':
		return 'ref-ok', read_reason(k, apis.get(k, ''))
	if kind == 'runtime':
		return 'review', runtime_reason(k)
	for leak in (count_leak(p), vmap_leak(p), dirty_leak(p, kind)):
		if leak:
			return 'review', leak
	return 'convert', ''

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
		relfns.setdefault(key(p), set()).add(c[0].current_element)
	if key(p) in direct:
		seen.setdefault(key(p), []).append(('release', u, int(c[0].line)))
elif DATA.match(u) or HARMLESS.match(u) or FIELDOK.match(u) or harmless_helper(u):
	field(p, F, q, 'ok')
	# With no local, the data is reached through the field only.
	if key(p) in direct and DATA.match(u):
		seen.setdefault(key(p), []).append(('data', u, int(c[0].line)))
		if DEVICE.match(u):
			seen.setdefault(key(p), []).append(('device', u, int(c[0].line)))
		if WRITES.match(u):
			seen.setdefault(key(p), []).append(('write', u, int(c[0].line)))
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
st, why = judge(p)
if api not in GUPS:
	pass	# a caller of a function that returns the page: reported there
elif st != 'convert':
	coccilib.report.print_report(p[0], "%s: %s: %s" % (api, st, why))
else:
	coccilib.report.print_report(p[0], "%s: convert: %s" % (api, convert_reason_all(p, api)))

@script:python depends on org@
p << call.p;
api << apiname.api;
@@
st, why = judge(p)
if api in GUPS:
	coccilib.org.print_todo(p[0], "%s: %s: %s" % (api, st, why if st != 'convert' else convert_reason_all(p, api)))

// Only the calls that pass every check go on, with the releases of
// their pages in the same function.
@script:python good@
p << call.p;
I << pagesid.I;
@@
if mine(p, I) and judge(p)[0] == 'convert':
	approved.add(key(p))
	if key(p) in held and not scoped(p):
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

