// SPDX-License-Identifier: GPL-2.0-only
///
/// Direct I/O into user memory must pin the pages (FOLL_PIN), not take
/// references: Documentation/core-api/pin_user_pages.rst, case 1.
/// Convert iov_iter_get_pages2() and iov_iter_get_pages_alloc2() to
/// iov_iter_extract_pages() where the same function releases the pages:
/// put_page() on the array (or on a local copy of an element) becomes
/// unpin_user_page(), release_pages() unpin_user_pages(), each done only
/// when iov_iter_extract_will_pin() of the iterator is true (user-backed
/// iterators are pinned; the pages of a BVEC, KVEC or XARRAY iterator get
/// neither pin nor reference and must not be released). A page array that
/// is not a struct page ** lvalue gets a local pointer at the top of its
/// block; an allocated array starts NULL and is freed when nothing was
/// extracted, as iov_iter_get_pages_alloc2() did. set_page_dirty() stays.
/// Left alone and reported: an acquire with no release in its function
/// (or a release only through a helper), pages that escape into another
/// call or structure that may hold them past the function (such as
/// nfs_page_create_from_page(), sg_set_page(), bio_add_page(), a pipe
/// buffer or any field), an array that outlives the function, and
/// releases that cannot be made conditional (a side effect in the index).
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
import re

# Everything is keyed by (file, function): coccicheck runs many files in
# one spatch.
sites = {}      # key -> {(line, col): (I, A)}   acquires into a caller-visible A
outparams = {}  # key -> (E, line)                alloc2 into *E, the caller's
releases = {}   # key -> {(line, col): (A, index or None)}
relstmts = set()  # (file, line, col) of releases that are whole statements
relelses = set()  # (file, line, col) of releases that are an if's branch before an else
relarrays = {}  # key -> set of A released
escapes = {}    # key -> {"f() (line N)"}
getpages = {}   # key -> line of a get_page()
helpers = set() # R of the file: R(struct page **Q, ...) put_page()s Q[...]
helpercalls = {}  # key -> "R() (line N)"
stores = {}     # key -> "->fld at line N"
elems = {}      # key -> set of locals X that get an element A[E]
elemother = {}  # key -> "X at line N"
itersets = {}   # key -> (I, line) of an assignment to the iterator
locals_ = {}    # key -> set of identifiers declared in the function
declared = {}   # key -> {identifier: [(line, col) of its declarations]}
used = {}       # key -> set of candidate names already in use
forms = {}      # (file, line, col) -> ("f1"|"f2"|"f3", A)
decls = {}      # file -> [(line, col, line_end, col_end)]
stmts = {}      # file -> [(line, col)]
texts = {}
decided = {}
f2at = {}       # (file, line, col) of an f2 call ->
		#   (file, pointer name, A, "after", (line, col) of the declaration)
f2keys = set()  # functions with an f2 acquire
inserted = set()  # (file, pointer name, A) whose declaration is placed
storedfld = {}  # key -> field name the pages are stored into
storedy_line = {}  # key -> line of the first store of a single page after its acquire
fldputs = {}    # (file, field) -> {"f() (line N)"} that put_page() ->field
putafter = {}   # key -> line of a put_page() of a single page taken into &Y
returned = {}   # key -> line of a return of that page

# What a call the pages escape into makes of them: the container and the
# release that drops the page, which no rule reaches.
ESCAPE_INTO = {
	"sg_set_page": "a scatterlist entry, which whoever frees the list releases with put_page(sg_page())",
	"bvec_set_page": "a bio_vec, which whoever frees the bio_vec array releases with put_page()",
	"skb_fill_page_desc_noacc": "an skb fragment, which skb_release_data() releases when the skb is freed",
	"skb_fill_page_desc": "an skb fragment, which skb_release_data() releases when the skb is freed",
	"osd_req_op_extent_osd_data_pages": "a ceph_osd_data page vector, which ceph_osd_data_release() releases when the OSD request is freed",
	"nfs_page_create_from_page": "a struct nfs_page, which nfs_clear_request() releases; cocci/container/nfs_page_pin.cocci moves the pin there where the directory has the pin-owning constructor",
	"nfs_create_request": "a struct nfs_page, which nfs_clear_request() releases; cocci/container/nfs_page_pin.cocci moves the pin there where the directory has the pin-owning constructor",
}
OWNING_RULE = ("nfs_page_create_from_page", "nfs_create_request")

def escape_reason(key):
	"""The calls the pages escape into, with the container each makes."""
	calls = sorted(escapes[key], key=lambda e: int(re.search(r"line (\d+)", e).group(1)))
	names = [e.split("(")[0] for e in calls]
	if not all(f in ESCAPE_INTO for f in names):
		return "pages escape into %s, which may hold them past %s()" % (", ".join(calls), key[1])
	out = "; ".join("pages escape into %s: %s" % (e, ESCAPE_INTO[f]) for e, f in zip(calls, names))
	if any(f not in OWNING_RULE for f in names):
		out += "; no rule moves the pin into that container"
	return out

# Candidate names of the local struct page ** (upstream says pages or
# ppages); a name for the functions left alone that no function has.
NAMES = ("pages", "ppages", "xpages")
SKIP = "__pinconv_skip"

def in_f2(p):
	return any(key_of(q) in f2keys for q in p)

def tidy(e):
	"""An expression as the kernel spells it: iter.pages, not iter . pages."""
	e = re.sub(r"\s*(->|\.)\s*", lambda m: m.group(1), e)
	return re.sub(r"\s*\]", "]", re.sub(r"\s*\[\s*", "[", e))

def decl_chosen(pd, name, init):
	"""pd is the declaration after which the pointer name = init goes."""
	at = [v for v in f2at.values() if v[0] == pd[0].file and v[4] == pos_of(pd[0])]
	return name != SKIP and any(v[1] == name and tidy(v[2]) == tidy(str(init)) for v in at)

# Comment and string openers, spelt so that spatch's lexer leaves them be.
SLASH, STAR, DQ, SQ, BS = chr(47), chr(42), chr(34), chr(39), chr(92)
OPEN_C, CLOSE_C, LINE_C = SLASH + STAR, STAR + SLASH, SLASH + SLASH

def key_of(p):
	return (p.file, p.current_element)

def pos_of(p):
	return (int(p.line), int(p.column))

def byline(items):
	return ", ".join(sorted(items, key=lambda e: int(re.search(r"line (\d+)", e).group(1))))

def words(s):
	return set(re.findall(r"[A-Za-z_]\w*", s))

def braces(path):
	"""Offsets of the { and } of a file, outside comments, strings,
	characters and preprocessor lines; and the offset of each line."""
	if path in texts:
		return texts[path]
	text = open(path, errors="replace").read()
	starts = [0]
	for m in re.finditer("\n", text):
		starts.append(m.end())
	ev = []
	i, n = 0, len(text)
	bol = True
	while i < n:
		c = text[i]
		if bol and c == "#":
			while i < n and not (text[i] == "\n" and text[i - 1] != BS):
				i += 1
			continue
		if c == "\n":
			bol = True
			i += 1
			continue
		if c in " \t":
			i += 1
			continue
		bol = False
		if text.startswith(OPEN_C, i):
			j = text.find(CLOSE_C, i + 2)
			i = n if j < 0 else j + 2
		elif text.startswith(LINE_C, i):
			j = text.find("\n", i)
			i = n if j < 0 else j
		elif c in (DQ, SQ):
			j = i + 1
			while j < n and text[j] != c:
				j += 2 if text[j] == BS else 1
			i = j + 1
		else:
			if c in "{}":
				ev.append((i, c))
			i += 1
	texts[path] = (starts, ev)
	return texts[path]

def api_at(path, lc):
	text = open(path, errors="replace").read()
	o = offset(path, lc)
	return re.match(r"\w*", text[o:o + 40]).group(0)

def offset(path, lc):
	starts, ev = braces(path)
	return starts[lc[0] - 1] + lc[1]

def block_chain(path, lc):
	"""The offsets of the { around a place, outermost first."""
	starts, ev = braces(path)
	off = offset(path, lc)
	stack = []
	for o, c in ev:
		if o >= off:
			break
		if c == "{":
			stack.append(o)
		elif stack:
			stack.pop()
	return stack

def block_of(path, lc):
	chain = block_chain(path, lc)
	return chain[-1] if chain else None

def place_pointer(path, key, pc, A):
	"""Where the local struct page ** for the array A of the acquire at
	pc goes: after the declarations that open the innermost block around
	the acquire that has some. Returns ("after", (line, col)) of that last
	declaration, or a reason."""
	chain = block_chain(path, pc)
	off = offset(path, pc)
	root = re.match(r"\w*", re.sub(r"^[&(\s]+", "", A)).group(0)
	rootdecl = [offset(path, lc) for lc in declared.get(key, {}).get(root, [])
		    if offset(path, lc) < off and block_of(path, lc) in chain]
	rootdecl = max(rootdecl) if rootdecl else None
	for depth, blk in reversed(list(enumerate(chain))):
		items = []
		for d in decls.get(path, []):
			o = offset(path, d[:2])
			if o < off and block_of(path, d[:2]) == blk:
				items.append((o, "d", d[:2]))
		for st in stmts.get(path, []):
			o = offset(path, st)
			if o <= off and block_of(path, st) == blk:
				items.append((o, "s", st))
		items.sort()
		if depth == len(chain) - 1 and items and items[-1][1] != "s":
			return "the acquire at line %s is in a declaration" % pc[0]
		lead = []
		for it in items:
			if it[1] != "d":
				break
			lead.append(it)
		if not lead:
			continue
		if rootdecl is None or rootdecl > lead[-1][0]:
			return "%s is declared after the declarations of its block" % root
		return ("after", lead[-1][2])
	return "no block around the acquire at line %s has declarations" % pc[0]

def decide(key):
	"""None to convert, else the reason to review."""
	if key in decided:
		return decided[key]
	path, fn = key
	r = None
	if key in escapes:
		r = escape_reason(key)
		if key in helpercalls:
			r += "; released through %s" % byline(helpercalls[key])
	elif key in getpages:
		r = "get_page() at line %s takes a reference that no unpin drops" % getpages[key]
	elif key in putafter and key in returned:
		r = ("the page's reference is dropped at line %s and the page returned to the callers of %s() "
		     "(line %s), which use it after; a pin would have to live until they are done, past "
		     "anything the rules reach" % (putafter[key], fn, returned[key]))
	elif key in stores:
		r = "pages are stored into %s and live on past %s()" % (stores[key], fn)
		puts = fldputs.get((path, storedfld.get(key)), set())
		if puts:
			r += "; %s put them, a release the rules do not pair with this acquire" % byline(puts)
	elif key in outparams:
		r = "the array goes back to the callers of %s() through %s (line %s); the release is theirs" % (fn, tidy(outparams[key][0]), outparams[key][1])
	elif key not in releases and key in helpercalls:
		r = "pages are released through the helper %s, which the rule does not convert; convert it with all its callers" % byline(helpercalls[key])
	elif key not in releases:
		r = "no release of the pages in %s(); the release is elsewhere and the rules cannot pair it" % fn
	elif key in helpercalls:
		r = "pages are also released through the helper %s" % byline(helpercalls[key])
	if r is None:
		acq = sites.get(key, {})
		its = set(I for I, A in acq.values())
		arrays = set(A for I, A in acq.values())
		unpaired = sorted(arrays - relarrays.get(key, set()))
		odd = sorted(l for (l, c), (A, E) in releases[key].items() if (path, l, c) not in relstmts)
		inelse = sorted(l for (l, c) in releases[key] if (path, l, c) in relelses)
		side = sorted(l for (l, c), (A, E) in releases[key].items()
			      if E is not None and re.search(r"\+\+|--|[^=!<>]=[^=]|\(", E))
		for A in sorted(arrays):
			base = re.sub(r"^[&(\s]+", "", A)
			root = re.match(r"\w*", base).group(0)
			if "->" in A or base.startswith("*") or root not in locals_.get(key, set()):
				r = "the page array %s is not local to %s() and may outlive it" % (tidy(A), fn)
				break
		if r is not None:
			pass
		elif unpaired:
			r = "no release of %s in %s()" % (tidy(unpaired[0]), fn)
		elif len(its) > 1:
			r = "pages of more than one iterator (%s) in %s()" % (", ".join(sorted(tidy(i) for i in its)), fn)
		elif key in itersets:
			r = "the iterator %s is reassigned at line %s, iov_iter_extract_will_pin() at the release would ask another one" % (tidy(itersets[key][0]), itersets[key][1])
		elif elems.get(key, set()) - locals_.get(key, set()):
			r = "%s is not a local of %s(), its put_page() may be of another page" % (sorted(elems[key] - locals_.get(key, set()))[0], fn)
		elif key in elemother:
			r = "%s holds other pages too, its put_page() is not only this array's" % elemother[key]
		elif odd:
			r = "the release at line %s is inside an expression; it cannot be made conditional" % odd[0]
		elif side:
			r = "the release at line %s has a side effect in its index; it cannot be made conditional" % side[0]
		elif inelse:
			r = "the release at line %s is the branch of an if with an else; make it conditional by hand" % inelse[0]
	if r is None:
		for lc, (I, A) in sorted(sites.get(key, {}).items()):
			form = forms.get((path,) + lc)
			if form is None and api_at(path, lc) == "iov_iter_get_pages_alloc2":
				r = "the result of the acquire at line %s is not assigned in a statement of its own; rewrite it by hand" % lc[0]
				break
			if form is None:
				r = "the acquire at line %s passes %s, of a type this file does not tell (neither a struct page ** nor an array of a structure defined here)" % (lc[0], tidy(A))
				break
			if form[0] != "f2":
				continue
			taken = used.get(key, set())
			names = [n for n in NAMES if n not in taken]
			where = place_pointer(path, key, lc, A)
			if not re.match(r"^\w+(\.\w+)*$", tidy(A)):
				r = "the page array %s at line %s is no plain array of %s(); give iov_iter_extract_pages() a struct page ** by hand" % (tidy(A), lc[0], fn)
			elif isinstance(where, str):
				r = "no place for the struct page ** that iov_iter_extract_pages() needs: %s" % where
			elif not names:
				r = "no free name for the struct page ** that iov_iter_extract_pages() needs"
			elif [v for v in f2at.values() if v[0] == path and v[3:] == where and v[2] != A]:
				r = "two page arrays would need a pointer at the top of one block (line %s)" % lc[0]
			else:
				f2at[(path,) + lc] = (path, names[0], A) + where
				continue
			break
		if r is not None:
			for lc in sites.get(key, {}):
				f2at.pop((path,) + lc, None)
	decided[key] = r
	return r

def why(p, api):
	key = key_of(p)
	if key in sites:
		r = decide(key)
	else:
		r = "no release of the pages in %s(); the release is elsewhere and the rules cannot pair it" % key[1]
		if key in outparams:
			r = "the array goes back to the callers of %s() through %s (line %s); the release is theirs" % (key[1], tidy(outparams[key][0]), outparams[key][1])
	if r is None:
		return "%s: convert: extract, the pages are released in %s(), unpinned when iov_iter_extract_will_pin()" % (api, key[1])
	return "%s: review: %s" % (api, r)

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

@script:python@
I << acq0.I;
A << acq0.A;
pa << acq0.pa;
@@
for p in pa:
	sites.setdefault(key_of(p), {})[pos_of(p)] = (I, A)

// The array the caller gave: it goes back to the caller.
@acqout@
identifier fn;
expression I, E;
position pa;
@@
fn(...) {
<+...
(
iov_iter_get_pages_alloc2(I, &E, ...)
|
iov_iter_get_pages_alloc2@pa(I, E, ...)
)
...+>
}

@script:python@
E << acqout.E;
pa << acqout.pa;
@@
outparams.setdefault(key_of(pa[0]), (E, pa[0].line))

// An element of the page array copied into a local.
@elem@
identifier acq0.fn;
expression acq0.A, E;
identifier X;
position px;
@@
fn(...) {
<+...
(
struct page *X@px = A[E];
|
X@px = A[E]
|
struct page *X@px = compound_head(A[E]);
|
X@px = compound_head(A[E])
)
...+>
}

// ... that also holds pages from elsewhere.
@elemo@
identifier acq0.fn;
expression acq0.A, E, E2;
identifier elem.X;
position po;
@@
fn(...) {
<+...
(
X = A[E]
|
X = compound_head(A[E])
|
X@po = E2
)
...+>
}

@elemo2@
identifier acq0.fn;
expression acq0.A, E, E2;
identifier elem.X;
position po;
@@
fn(...) {
<+...
(
struct page *X = A[E];
|
struct page *X = compound_head(A[E]);
|
struct page *X@po = E2;
)
...+>
}

@script:python@
X << elem.X;
px << elem.px;
@@
for p in px:
	elems.setdefault(key_of(p), set()).add(X)

@script:python@
X << elem.X;
po << elemo.po;
@@
elemother.setdefault(key_of(po[0]), "%s at line %s" % (X, po[0].line))

@script:python@
X << elem.X;
po << elemo2.po;
@@
elemother.setdefault(key_of(po[0]), "%s at line %s" % (X, po[0].line))

// Releases of the array in the same function.
@rel0@
identifier acq0.fn;
expression acq0.A, E;
position pr;
@@
fn(...) {
<+...
put_page@pr(A[E])
...+>
}

@script:python@
A << acq0.A;
E << rel0.E;
pr << rel0.pr;
@@
for p in pr:
	releases.setdefault(key_of(p), {})[pos_of(p)] = (A, E)
	relarrays.setdefault(key_of(p), set()).add(A)

@rel1@
identifier acq0.fn;
expression acq0.A;
position pr;
@@
fn(...) {
<+...
release_pages@pr(A, ...)
...+>
}

@script:python@
A << acq0.A;
pr << rel1.pr;
@@
for p in pr:
	releases.setdefault(key_of(p), {})[pos_of(p)] = (A, None)
	relarrays.setdefault(key_of(p), set()).add(A)

@relx@
identifier acq0.fn;
identifier elem.X;
position pr;
@@
fn(...) {
<+...
put_page@pr(X)
...+>
}

@script:python@
A << acq0.A;
pr << relx.pr;
@@
for p in pr:
	releases.setdefault(key_of(p), {})[pos_of(p)] = (A, None)
	relarrays.setdefault(key_of(p), set()).add(A)

// The same releases as whole statements: only those can be made
// conditional.
@relst@
identifier acq0.fn;
expression acq0.A, E;
identifier elem.X;
position pr;
@@
fn(...) {
<...
(
put_page@pr(A[E]);
|
put_page@pr(X);
|
release_pages@pr(A, E);
)
...>
}

@relst2@
identifier acq0.fn;
expression acq0.A, E;
position pr;
@@
fn(...) {
<...
(
put_page@pr(A[E]);
|
release_pages@pr(A, E);
)
...>
}

@script:python@
pr << relst.pr;
@@
for p in pr:
	relstmts.add((p.file,) + pos_of(p))

@script:python@
pr << relst2.pr;
@@
for p in pr:
	relstmts.add((p.file,) + pos_of(p))

// A release that is the first branch of an if with an else: made
// conditional it would need braces before the else, which spatch does not
// lay out in kernel style.
@relelse@
identifier acq0.fn;
expression C, E;
statement S;
position pr;
@@
fn(...) {
<+...
(
if (C) put_page@pr(E); else S
|
if (C) release_pages@pr(...); else S
)
...+>
}

@script:python@
pr << relelse.pr;
@@
for p in pr:
	relelses.add((p.file,) + pos_of(p))

// A helper of the file that puts the pages of an array it is given.
@relh depends on acq0@
identifier R, Q;
expression E;
@@
R(..., struct page **Q, ...) {
<+...
put_page(Q[E]);
...+>
}

@script:python@
R << relh.R;
@@
helpers.add(R)

// Pages handed to anything but a release or a plain accessor.
@escape@
identifier acq0.fn;
expression acq0.A, E;
identifier f !~ "^(iov_iter_get_pages2|iov_iter_get_pages_alloc2|release_pages|put_page|kvfree|kfree|ARRAY_SIZE|set_page_dirty|set_page_dirty_lock|page_address|kmap|kmap_local_page|kmap_atomic|flush_dcache_page|Page[A-Z][A-Za-z]*|page_to_pfn|memcpy_from_page|memcpy_to_page|memzero_page|compound_head|compound_order|page_folio)$";
position pe;
@@
fn(...) {
<+...
(
f@pe(..., A[E], ...)
|
f@pe(..., A, ...)
|
f@pe(..., &A[E], ...)
|
f@pe(..., A + E, ...)
)
...+>
}

@escapex@
identifier acq0.fn;
identifier elem.X;
identifier f !~ "^(put_page|set_page_dirty|set_page_dirty_lock|page_address|kmap|kmap_local_page|kmap_atomic|flush_dcache_page|Page[A-Z][A-Za-z]*|page_to_pfn|memcpy_from_page|memcpy_to_page|memzero_page|compound_head|compound_order|page_folio)$";
position pe;
@@
fn(...) {
<+...
f@pe(..., X, ...)
...+>
}

@script:python@
f << escape.f;
pe << escape.pe;
@@
for p in pe:
	if f == "get_page":
		getpages.setdefault(key_of(p), p.line)
	elif f in helpers:
		helpercalls.setdefault(key_of(p), set()).add("%s() (line %s)" % (f, p.line))
	else:
		escapes.setdefault(key_of(p), set()).add("%s() (line %s)" % (f, p.line))

@script:python@
f << escapex.f;
pe << escapex.pe;
@@
for p in pe:
	if f == "get_page":
		getpages.setdefault(key_of(p), p.line)
	else:
		escapes.setdefault(key_of(p), set()).add("%s() (line %s)" % (f, p.line))

// Pages stored into a structure (a pipe buffer, a request) or the array
// into another variable: they live on.
@stored@
identifier acq0.fn;
expression acq0.A, E, S;
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
)
...+>
}

@storedx@
identifier acq0.fn;
identifier elem.X;
expression S;
identifier fld;
position pe;
@@
fn(...) {
<+...
(
S.fld =@pe X
|
S->fld =@pe X
)
...+>
}

@alias@
identifier acq0.fn;
expression acq0.A;
identifier Y;
position pe;
@@
fn(...) {
<+...
Y =@pe A
...+>
}

@alias2@
identifier acq0.fn;
expression acq0.A;
identifier Y;
type T;
position pe;
@@
fn(...) {
<+...
T Y@pe = A;
...+>
}

@script:python@
fld << stored.fld;
pe << stored.pe;
@@
stores.setdefault(key_of(pe[0]), "->%s at line %s" % (fld, pe[0].line))
storedfld.setdefault(key_of(pe[0]), fld)

@script:python@
fld << storedx.fld;
pe << storedx.pe;
@@
stores.setdefault(key_of(pe[0]), "->%s at line %s" % (fld, pe[0].line))
storedfld.setdefault(key_of(pe[0]), fld)

@script:python@
Y << alias.Y;
pe << alias.pe;
@@
stores.setdefault(key_of(pe[0]), "%s at line %s" % (Y, pe[0].line))

@script:python@
Y << alias2.Y;
pe << alias2.pe;
@@
stores.setdefault(key_of(pe[0]), "%s at line %s" % (Y, pe[0].line))

// A single page taken into a local (&Y): where it goes.
@addr@
identifier acq0.fn;
local idexpression struct page *Y;
position acq0.pa;
@@
fn(...) {
<+...
iov_iter_get_pages2@pa(..., &Y, ...)
...+>
}

@escapey@
identifier acq0.fn;
local idexpression struct page *addr.Y;
identifier f !~ "^(iov_iter_get_pages2|put_page|set_page_dirty|set_page_dirty_lock|page_address|kmap|kmap_local_page|kmap_atomic|flush_dcache_page|Page[A-Z][A-Za-z]*|page_to_pfn|memcpy_from_page|memcpy_to_page|memzero_page|compound_head|compound_order|page_folio|VM_BUG_ON_PAGE|page_count)$";
position pe;
@@
fn(...) {
<+...
f@pe(..., Y, ...)
...+>
}

@storedy@
identifier acq0.fn;
local idexpression struct page *addr.Y;
expression S;
identifier fld;
position pe;
@@
fn(...) {
<+...
(
S.fld =@pe Y
|
S->fld =@pe Y
)
...+>
}

@puty@
identifier acq0.fn;
local idexpression struct page *addr.Y;
position pe;
@@
fn(...) {
<+...
put_page@pe(Y);
...+>
}

@returny@
identifier acq0.fn;
local idexpression struct page *addr.Y;
position pe;
@@
fn(...) {
<+...
return@pe Y;
...+>
}

@script:python@
f << escapey.f;
pe << escapey.pe;
@@
for p in pe:
	escapes.setdefault(key_of(p), set()).add("%s() (line %s)" % (f, p.line))

@script:python@
fld << storedy.fld;
pe << storedy.pe;
pa << acq0.pa;
@@
# The first store after the acquire: the local may hold other pages before.
for p in pe:
	k = key_of(p)
	line = int(p.line)
	if line > int(pa[0].line) and (k not in storedy_line or line < storedy_line[k]):
		storedy_line[k] = line
		stores[k] = "->%s at line %s" % (fld, line)
		storedfld[k] = fld

@script:python@
pe << puty.pe;
@@
putafter.setdefault(key_of(pe[0]), pe[0].line)

@script:python@
pe << returny.pe;
@@
returned.setdefault(key_of(pe[0]), pe[0].line)

// Where the file puts a page kept in a field.
@fldput@
expression S;
identifier fld;
position pp;
@@
(
put_page@pp(S->fld)
|
put_page@pp(S.fld)
)

@script:python@
fld << fldput.fld;
pp << fldput.pp;
@@
fldputs.setdefault((pp[0].file, fld), set()).add("%s() (line %s)" % (pp[0].current_element, pp[0].line))

// The iterator must be the same at the release.
@iterset@
identifier acq0.fn;
expression acq0.I, E;
position pi;
@@
fn(...) {
<+...
I =@pi E
...+>
}

@script:python@
I << acq0.I;
pi << iterset.pi;
@@
itersets.setdefault(key_of(pi[0]), (I, pi[0].line))

// Identifiers declared in the function, and candidate names in use.
@loc@
identifier acq0.fn;
identifier V;
type T;
position pv;
@@
fn(...) {
<+...
T V@pv;
...+>
}

@loc2@
identifier acq0.fn;
identifier V;
type T;
expression E;
position pv;
@@
fn(...) {
<+...
T V@pv = E;
...+>
}

@script:python@
V << loc.V;
pv << loc.pv;
@@
for p in pv:
	locals_.setdefault(key_of(p), set()).add(V)
	declared.setdefault(key_of(p), {}).setdefault(V, []).append(pos_of(p))

@script:python@
V << loc2.V;
pv << loc2.pv;
@@
for p in pv:
	locals_.setdefault(key_of(p), set()).add(V)
	declared.setdefault(key_of(p), {}).setdefault(V, []).append(pos_of(p))

@nameuse@
identifier acq0.fn;
identifier v =~ "^(pages|ppages|xpages)$";
position pv;
@@
fn(...) {
<+...
v@pv
...+>
}

@nameuse2@
identifier acq0.fn;
identifier v =~ "^(pages|ppages|xpages)$";
type T;
position pv;
@@
fn(..., T v@pv, ...) {
...
}

@script:python@
v << nameuse.v;
pv << nameuse.pv;
@@
for p in pv:
	used.setdefault(key_of(p), set()).add(v)

@script:python@
v << nameuse2.v;
pv << nameuse2.pv;
@@
for p in pv:
	used.setdefault(key_of(p), set()).add(v)

// The acquires the rule can rewrite. f1: the array is a struct page **
// lvalue, passed by address; f2: it is an array (a local one, or a field
// of a local structure: a constant address), which gets a local pointer;
// f3: an assignment of iov_iter_get_pages_alloc2(). Types come from the
// file itself: an array of a structure defined elsewhere is none of these.
@f1@
identifier acq0.fn;
struct page **X;
expression I, MAX, N, OFF;
position pc;
@@
fn(...) {
<+...
iov_iter_get_pages2@pc(I, X, MAX, N, OFF)
...+>
}

@f2@
identifier acq0.fn;
struct page *[] A;
expression I, MAX, N, OFF;
position pc;
@@
fn(...) {
<+...
iov_iter_get_pages2@pc(I, A, MAX, N, OFF)
...+>
}

@f3@
identifier acq0.fn;
expression R, I, A, MAX, OFF;
position pc;
@@
fn(...) {
<+...
R = iov_iter_get_pages_alloc2@pc(I, &A, MAX, OFF);
...+>
}

@script:python@
pc << f1.pc;
@@
for p in pc:
	forms[(p.file,) + pos_of(p)] = ("f1", None)

@script:python@
pc << f2.pc;
A << f2.A;
@@
for p in pc:
	forms[(p.file,) + pos_of(p)] = ("f2", A)
	f2keys.add(key_of(p))

@script:python@
pc << f3.pc;
@@
for p in pc:
	forms[(p.file,) + pos_of(p)] = ("f3", None)

// For f2: the declarations and statements of the functions with such an
// acquire (only those: a whole file's would be too many).
@alld depends on f2@
declaration D;
position pd : script:python () { in_f2(pd) };
@@
D@pd

@alls depends on f2@
statement S;
position ps : script:python () { in_f2(ps) };
@@
S@ps

@script:python@
pd << alld.pd;
@@
for p in pd:
	decls.setdefault(p.file, []).append(pos_of(p) + (int(p.line_end), int(p.column_end)))

@script:python@
ps << alls.ps;
@@
for p in ps:
	stmts.setdefault(p.file, []).append(pos_of(p))

// The decision, per function: every acquire rewritten and every release
// made conditional, or nothing. The scripts give every binding a value:
// a function that is left alone gets a name no function has (dropping a
// binding with include_match() would drop the bindings of earlier rules
// that share its environment).
@script:python ok@
fn << acq0.fn;
I << acq0.I;
A << acq0.A;
pa << acq0.pa;
okfn;
OKI;
OKA;
@@
if decide(key_of(pa[0])) is None:
	coccinelle.okfn = fn
	coccinelle.OKI = cocci.make_expr(I)
	coccinelle.OKA = cocci.make_expr(A)
else:
	coccinelle.okfn = SKIP
	coccinelle.OKI = cocci.make_expr(SKIP)
	coccinelle.OKA = cocci.make_expr(SKIP)

@script:python okx@
I << acq0.I;
X << elem.X;
px << elem.px;
xfn;
XI;
XX;
@@
if decide(key_of(px[0])) is None:
	coccinelle.xfn = px[0].current_element
	coccinelle.XI = cocci.make_expr(I)
	coccinelle.XX = X
else:
	coccinelle.xfn = SKIP
	coccinelle.XI = cocci.make_expr(SKIP)
	coccinelle.XX = SKIP

@script:python okf2@
fn << acq0.fn;
pc << f2.pc;
A << f2.A;
F2FN;
F2A;
F2P;
@@
at = [f2at.get((p.file,) + pos_of(p)) for p in pc]
if decide(key_of(pc[0])) is None and all(at):
	coccinelle.F2FN = fn
	coccinelle.F2A = cocci.make_expr(A)
	coccinelle.F2P = at[0][1]
else:
	coccinelle.F2FN = SKIP
	coccinelle.F2A = cocci.make_expr(SKIP)
	coccinelle.F2P = SKIP

// The local pointer of an f2 array, once per place.
@script:python okd@
pc << f2.pc;
DP;
DA;
@@
at = f2at.get((pc[0].file,) + pos_of(pc[0]))
if decide(key_of(pc[0])) is None and at and (at[0], at[1], tidy(at[2])) not in inserted:
	inserted.add((at[0], at[1], tidy(at[2])))
	coccinelle.DP = at[1]
	coccinelle.DA = cocci.make_expr(at[2])
else:
	coccinelle.DP = SKIP
	coccinelle.DA = cocci.make_expr(SKIP)

// The rewrites. The pointer goes in first, at a position of the file as
// it was read; the other rewrites match by function and array.
@t2d depends on patch && f2@
identifier okd.DP;
expression okd.DA;
declaration D;
position pd : script:python (DP, DA) { decl_chosen(pd, DP, DA) };
@@
D@pd
+ struct page **DP = DA;

@t1 depends on patch && acq0@
identifier ok.okfn;
struct page **X;
expression I, MAX, N, OFF;
@@
okfn(...) {
<...
- iov_iter_get_pages2(I, X, MAX, N, OFF)
+ iov_iter_extract_pages(I, &X, MAX, N, 0, OFF)
...>
}

@t2 depends on patch && f2@
identifier okf2.F2FN, okf2.F2P;
expression okf2.F2A;
expression I, MAX, N, OFF;
@@
F2FN(...) {
<...
- iov_iter_get_pages2(I, F2A, MAX, N, OFF)
+ iov_iter_extract_pages(I, &F2P, MAX, N, 0, OFF)
...>
}

@t3 depends on patch && f3@
identifier ok.okfn;
expression R, I, A, MAX, OFF;
@@
okfn(...) {
<...
A = NULL;
R =
- iov_iter_get_pages_alloc2(I, &A, MAX, OFF);
+ iov_iter_extract_pages(I, &A, MAX, INT_MAX, 0, OFF);
+ if (R <= 0) {
+	kvfree(A);
+	A = NULL;
+ }
...>
}

@t3n depends on patch && f3@
identifier ok.okfn;
expression R, I, A, MAX, OFF;
@@
okfn(...) {
<...
+ A = NULL;
R =
- iov_iter_get_pages_alloc2(I, &A, MAX, OFF);
+ iov_iter_extract_pages(I, &A, MAX, INT_MAX, 0, OFF);
+ if (R <= 0) {
+	kvfree(A);
+	A = NULL;
+ }
...>
}

@rel depends on patch && acq0@
identifier ok.okfn;
expression ok.OKI, ok.OKA;
expression E, N;
@@
okfn(...) {
<...
(
- put_page(OKA[E]);
+ if (iov_iter_extract_will_pin(OKI))
+	unpin_user_page(OKA[E]);
|
- release_pages(OKA, N);
+ if (iov_iter_extract_will_pin(OKI))
+	unpin_user_pages(OKA, N);
)
...>
}

@relxt depends on patch && elem@
identifier okx.xfn, okx.XX;
expression okx.XI;
@@
xfn(...) {
<...
- put_page(XX);
+ if (iov_iter_extract_will_pin(XI))
+	unpin_user_page(XX);
...>
}

// Every acquire site, for the reports.
@acqs@
identifier api =~ "^iov_iter_get_pages(_alloc)?2$";
position p;
@@
api@p(...)

@ctx depends on context && acq0@
identifier ok.okfn;
expression ok.OKA, E;
@@
okfn(...) {
<...
(
* iov_iter_get_pages2(...)
|
* iov_iter_get_pages_alloc2(...)
|
* put_page(OKA[E])
|
* release_pages(OKA, ...)
)
...>
}

@ctxx depends on context && elem@
identifier okx.xfn, okx.XX;
@@
xfn(...) {
<...
* put_page(XX)
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
