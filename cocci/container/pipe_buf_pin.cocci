// SPDX-License-Identifier: GPL-2.0-only
///
/// Pages of user memory handed to a pipe must be pinned (FOLL_PIN), not
/// referenced: Documentation/core-api/pin_user_pages.rst, case 1 (the
/// data of the pages is read later, by whoever consumes the pipe). A pipe
/// buffer owns its page until it is released, so the pin is the buffer's:
/// kernel-overlay/6.12 0002 lets user_page_pipe_buf_ops own one, flagged
/// PIPE_BUF_FLAG_PINNED (released with unpin_user_page(), duplicated with
/// folio_add_pin()).
/// Convert iov_iter_get_pages2() to iov_iter_extract_pages() where a
/// function hands each page of the array to a pipe with add_to_pipe() on a
/// local pipe_buffer whose ops are user_page_pipe_buf_ops: the buffer gets
/// PIPE_BUF_FLAG_PINNED when iov_iter_extract_will_pin() of the iterator is
/// true, and otherwise a reference with get_page() before the hand-over (an
/// extracted page of a BVEC or KVEC iterator carries no reference, and the
/// buffer's release puts one); the pages that were not handed over
/// (put_page() after a failed add_to_pipe()) are unpinned, only when
/// iov_iter_extract_will_pin(). A page array that is a local array gets a
/// local struct page ** after its declaration.
/// Left alone and reported: a buffer with other ops, or ops or flags set
/// elsewhere in the function; any other use of the array (the pages used
/// after the hand-over, passed to another function); a release that is not
/// a statement of its own; an index with a side effect; an iterator that is
/// reassigned.
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

# Everything is keyed by (file, function).
sites = {}      # key -> {(line, col): (api, I, A)}
hands = {}      # key -> {B: line of B.page = A[E]}
handidx = {}    # key -> [index expressions of B.page = A[E]]
adds = {}       # key -> set of B passed to add_to_pipe(P, &B)
opsok = {}      # key -> set of B whose ops are user_page_pipe_buf_ops
opsbad = {}     # key -> "B.ops at line N"
flagset = {}    # key -> "B.flags at line N"
uses = {}       # key -> {(line, col)} of every use of the array
allowed = {}    # key -> {(line, col)} of the uses the rule rewrites
relidx = {}     # key -> {(line, col): index} of put_page(A[E]);
relany = {}     # key -> {(line, col)} of put_page(A[E]) anywhere
itersets = {}   # key -> (I, line)
forms = {}      # key -> "f1" (struct page ** lvalue) or "f2" (local array)
used = {}       # key -> identifiers among NAMES used in the function
topipe = set()  # keys of the functions that call add_to_pipe()
decided = {}

NAMES = ("pages", "ppages", "xpages")
SKIP = "__pinconv_skip"

def key_of(p):
	return (p.file, p.current_element)

def pos_of(p):
	return (int(p.line), int(p.column))

def tidy(e):
	e = re.sub(r"\s*(->|\.)\s*", lambda m: m.group(1), e)
	return re.sub(r"\s*\]", "]", re.sub(r"\s*\[\s*", "[", e))

def side(e):
	return re.search(r"\+\+|--|[^=!<>]=[^=]|\(", e) is not None

def decide(key):
	"""None to convert, else the reason to leave the function alone."""
	if key in decided:
		return decided[key]
	path, fn = key
	r = None
	acq = sites.get(key, {})
	arrays = set(tidy(A) for api, I, A in acq.values())
	its = set(tidy(I) for api, I, A in acq.values())
	bufs = set(hands.get(key, {})) & adds.get(key, set())
	if not acq:
		r = "no acquire"
	elif len(arrays) > 1 or len(its) > 1:
		r = "more than one page array or iterator in %s()" % fn
	elif any(api != "iov_iter_get_pages2" for api, I, A in acq.values()):
		r = "iov_iter_get_pages_alloc2() into a pipe buffer; convert it by hand"
	elif not bufs:
		r = "no page of the array is handed to a pipe with add_to_pipe() in %s()" % fn
	elif len(bufs) > 1:
		r = "pages handed to more than one pipe_buffer in %s()" % fn
	else:
		B = sorted(bufs)[0]
		extra = sorted(uses.get(key, set()) - allowed.get(key, set()))
		odd = sorted(relany.get(key, set()) - set(relidx.get(key, {})))
		sidx = sorted(l for (l, c), E in relidx.get(key, {}).items() if side(E))
		if B in opsbad.get(key, {}):
			r = "%s.ops is assigned at line %s; only a buffer declared with user_page_pipe_buf_ops is converted" % (B, opsbad[key][B])
		elif B not in opsok.get(key, set()):
			r = "the pipe_buffer %s is not initialized with user_page_pipe_buf_ops, whose release unpins" % B
		elif pinaware(path) is None:
			r = ("the pipe_buffer %s goes to add_to_pipe() with user_page_pipe_buf_ops, whose release "
			     "in this file puts the page: without a release that unpins a PIPE_BUF_FLAG_PINNED "
			     "buffer (the overlay's) the buffer cannot own a pin (needs PIPE_BUF_FLAG_PINNED)" % B)
		elif B in flagset.get(key, {}):
			r = "%s.flags is assigned at line %s, which would drop PIPE_BUF_FLAG_PINNED" % (B, flagset[key][B])
		elif extra:
			r = "the page array %s is also used at line %s, not only handed to the pipe or released" % (sorted(arrays)[0], extra[0][0])
		elif odd:
			r = "the release at line %s is inside an expression; it cannot be made conditional" % odd[0][0]
		elif sidx or any(side(E) for E in handidx.get(key, [])):
			r = "an index of the page array has a side effect"
		elif key in itersets:
			r = "the iterator %s is reassigned at line %s, iov_iter_extract_will_pin() would ask another one" % (tidy(itersets[key][0]), itersets[key][1])
		elif key not in forms:
			r = "the page array %s is neither a struct page ** nor a local array" % sorted(arrays)[0]
		elif forms[key] == "f2" and not [n for n in NAMES if n not in used.get(key, set())]:
			r = "no free name for the struct page ** that iov_iter_extract_pages() needs"
	decided[key] = r
	return r

def pinaware(path):
	"""The .release of user_page_pipe_buf_ops in this file, if it unpins a
	PIPE_BUF_FLAG_PINNED buffer (the overlay's pin-aware release), else
	None: then a buffer cannot own a pin."""
	with open(path, errors="replace") as fh:
		text = fh.read()
	m = re.search(r"user_page_pipe_buf_ops\s*=\s*\{(.*?)\};", text, re.S)
	r = re.search(r"\.release\s*=\s*(\w+)", m.group(1)) if m else None
	if not r:
		return None
	body = re.search(r"\b%s\s*\([^)]*\)\s*\{(.*?)\n\}" % r.group(1), text, re.S)
	if body and "PIPE_BUF_FLAG_PINNED" in body.group(1) and "unpin_user_page(" in body.group(1):
		return r.group(1)
	return None

def pointer(key):
	return [n for n in NAMES if n not in used.get(key, set())][0]

def why(p, api):
	key = key_of(p)
	r = decide(key)
	if r is None:
		return "%s: convert: extract, the pages are handed to a pipe with add_to_pipe() in %s(); the pipe buffer owns the pin (PIPE_BUF_FLAG_PINNED), the pages not handed over are unpinned when iov_iter_extract_will_pin()" % (api, key[1])
	return "%s: review: %s" % (api, r)

// The acquires.
@acq@
identifier fn;
identifier api =~ "^iov_iter_get_pages(_alloc)?2$";
expression I, A;
position pa, pu;
@@
fn(...) {
<+...
api@pa(I, A@pu, ...)
...+>
}

@script:python@
api << acq.api;
I << acq.I;
A << acq.A;
pa << acq.pa;
pu << acq.pu;
@@
for p in pa:
	sites.setdefault(key_of(p), {})[pos_of(p)] = (api, I, A)
for p in pu:
	allowed.setdefault(key_of(p), set()).add(pos_of(p))

// Every use of the array in the function.
@use@
identifier acq.fn;
expression acq.A;
position pu;
@@
fn(...) {
<+...
A@pu
...+>
}

@script:python@
pu << use.pu;
@@
for p in pu:
	uses.setdefault(key_of(p), set()).add(pos_of(p))

// The hand-over: a page of the array into a local pipe_buffer ...
@hand@
identifier acq.fn;
expression acq.A, E;
identifier B;
position ph, pu;
@@
fn(...) {
<+...
B.page =@ph A@pu[E]
...+>
}

@script:python@
B << hand.B;
E << hand.E;
ph << hand.ph;
pu << hand.pu;
@@
for p in ph:
	hands.setdefault(key_of(p), {})[B] = p.line
	handidx.setdefault(key_of(p), []).append(E)
for p in pu:
	allowed.setdefault(key_of(p), set()).add(pos_of(p))

// ... which goes to a pipe.
@addp@
identifier acq.fn, hand.B;
expression P;
position pp;
@@
fn(...) {
<+...
add_to_pipe@pp(P, &B)
...+>
}

@script:python@
B << hand.B;
pp << addp.pp;
@@
for p in pp:
	adds.setdefault(key_of(p), set()).add(B)

// The buffer's ops: the pin-aware user_page_pipe_buf_ops, set where the
// buffer is declared, and nothing else.
@opsi@
identifier acq.fn, hand.B;
symbol user_page_pipe_buf_ops;
position po;
@@
fn(...) {
<+...
struct pipe_buffer B@po = { ..., .ops = &user_page_pipe_buf_ops, ... };
...+>
}

@script:python@
B << hand.B;
po << opsi.po;
@@
for p in po:
	opsok.setdefault(key_of(p), set()).add(B)

@opsa@
identifier acq.fn, hand.B;
expression E;
position po;
@@
fn(...) {
<+...
B.ops =@po E
...+>
}

@script:python@
B << hand.B;
po << opsa.po;
@@
for p in po:
	opsbad.setdefault(key_of(p), {}).setdefault(B, p.line)

// Its flags must keep PIPE_BUF_FLAG_PINNED, and nothing but add_to_pipe()
// may see it.
@flags@
identifier acq.fn, hand.B;
expression E;
position pf;
@@
fn(...) {
<+...
(
B.flags =@pf E
|
B.flags &=@pf E
|
B =@pf E
)
...+>
}

@script:python@
B << hand.B;
pf << flags.pf;
@@
for p in pf:
	flagset.setdefault(key_of(p), {}).setdefault(B, p.line)

@bufcall@
identifier acq.fn, hand.B;
identifier f != add_to_pipe;
position pf;
@@
fn(...) {
<+...
f@pf(..., &B, ...)
...+>
}

@script:python@
B << hand.B;
f << bufcall.f;
pf << bufcall.pf;
@@
for p in pf:
	flagset.setdefault(key_of(p), {}).setdefault(B, "%s (passed to %s())" % (p.line, f))

// The releases of the pages not handed over: put_page() of an element,
// a statement of its own.
@relany@
identifier acq.fn;
expression acq.A, E;
position pr, pu;
@@
fn(...) {
<+...
put_page@pr(A@pu[E])
...+>
}

@script:python@
pr << relany.pr;
pu << relany.pu;
@@
for p in pr:
	relany.setdefault(key_of(p), set()).add(pos_of(p))
for p in pu:
	allowed.setdefault(key_of(p), set()).add(pos_of(p))

@relst@
identifier acq.fn;
expression acq.A, E;
position pr;
@@
fn(...) {
<...
put_page@pr(A[E]);
...>
}

@script:python@
E << relst.E;
pr << relst.pr;
@@
for p in pr:
	relidx.setdefault(key_of(p), {})[pos_of(p)] = E

// The iterator must be the same at the hand-over and the release.
@iterset@
identifier acq.fn;
expression acq.I, E;
position pi;
@@
fn(...) {
<+...
I =@pi E
...+>
}

@script:python@
I << acq.I;
pi << iterset.pi;
@@
itersets.setdefault(key_of(pi[0]), (I, pi[0].line))

// The form of the array: f1 a struct page ** lvalue, f2 a local array.
@f1@
identifier acq.fn;
struct page **X;
expression I, MAX, N, OFF;
position pc;
@@
fn(...) {
<+...
iov_iter_get_pages2@pc(I, X, MAX, N, OFF)
...+>
}

@script:python@
pc << f1.pc;
@@
forms[key_of(pc[0])] = "f1"

@f2@
identifier acq.fn, X;
expression I, MAX, N, OFF, SZ;
position pc;
@@
fn(...) {
<+...
struct page *X[SZ];
...
iov_iter_get_pages2@pc(I, X, MAX, N, OFF)
...+>
}

@script:python@
pc << f2.pc;
@@
forms[key_of(pc[0])] = "f2"

@nameuse@
identifier acq.fn;
identifier v =~ "^(pages|ppages|xpages)$";
position pv;
@@
fn(...) {
<+...
v@pv
...+>
}

@nameuse2@
identifier acq.fn;
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

// The decision, per function. Every binding gets a value: a function left
// alone gets a name no function has.
@script:python ok@
fn << acq.fn;
I << acq.I;
A << acq.A;
B << hand.B;
pa << acq.pa;
OKFN;
OKI;
OKA;
OKB;
F1FN;
F2FN;
F2X;
F2P;
@@
key = key_of(pa[0])
if decide(key) is None:
	coccinelle.OKFN = fn
	coccinelle.OKI = cocci.make_expr(I)
	coccinelle.OKA = cocci.make_expr(A)
	coccinelle.OKB = B
	f2 = forms[key] == "f2"
	coccinelle.F1FN = SKIP if f2 else fn
	coccinelle.F2FN = fn if f2 else SKIP
	coccinelle.F2X = A if f2 else SKIP
	coccinelle.F2P = pointer(key) if f2 else SKIP
else:
	coccinelle.OKFN = SKIP
	coccinelle.OKI = cocci.make_expr(SKIP)
	coccinelle.OKA = cocci.make_expr(SKIP)
	coccinelle.OKB = SKIP
	coccinelle.F1FN = SKIP
	coccinelle.F2FN = SKIP
	coccinelle.F2X = SKIP
	coccinelle.F2P = SKIP

// The rewrites.
@t2d depends on patch@
identifier ok.F2FN, ok.F2X, ok.F2P;
expression SZ;
@@
F2FN(...) {
<...
struct page *F2X[SZ];
+ struct page **F2P = F2X;
...>
}

@t2 depends on patch@
identifier ok.F2FN, ok.F2X, ok.F2P;
expression ok.OKI;
expression MAX, N, OFF;
@@
F2FN(...) {
<...
- iov_iter_get_pages2(OKI, F2X, MAX, N, OFF)
+ iov_iter_extract_pages(OKI, &F2P, MAX, N, 0, OFF)
...>
}

@t1 depends on patch@
identifier ok.F1FN;
expression ok.OKI, ok.OKA;
expression MAX, N, OFF;
@@
F1FN(...) {
<...
- iov_iter_get_pages2(OKI, OKA, MAX, N, OFF)
+ iov_iter_extract_pages(OKI, &OKA, MAX, N, 0, OFF)
...>
}

@th depends on patch@
identifier ok.OKFN, ok.OKB;
expression ok.OKI, ok.OKA;
expression E;
@@
OKFN(...) {
<...
OKB.page = OKA[E];
+ if (iov_iter_extract_will_pin(OKI))
+	OKB.flags |= PIPE_BUF_FLAG_PINNED;
+ else
+	get_page(OKA[E]);
...>
}

@tr depends on patch@
identifier ok.OKFN;
expression ok.OKI, ok.OKA;
expression E;
@@
OKFN(...) {
<...
- put_page(OKA[E]);
+ if (iov_iter_extract_will_pin(OKI))
+	unpin_user_page(OKA[E]);
...>
}

// Every acquire site of a function that calls add_to_pipe(), for the
// reports; the other rules speak of the others.
@acqs@
identifier api =~ "^iov_iter_get_pages(_alloc)?2$";
position p;
@@
api@p(...)

@anyadd@
identifier acq.fn;
position pp;
@@
fn(...) {
<+...
add_to_pipe@pp(...)
...+>
}

@script:python@
pp << anyadd.pp;
@@
for p in pp:
	topipe.add(key_of(p))

@ctx depends on context@
identifier ok.OKFN, ok.OKB;
expression ok.OKA, E, P;
@@
OKFN(...) {
<...
(
* iov_iter_get_pages2(...)
|
* OKB.page = OKA[E]
|
* add_to_pipe(P, &OKB)
|
* put_page(OKA[E])
)
...>
}

@script:python depends on org@
p << acqs.p;
api << acqs.api;
@@
if key_of(p[0]) in topipe:
	coccilib.org.print_todo(p[0], why(p[0], api))

@script:python depends on report@
p << acqs.p;
api << acqs.api;
@@
if key_of(p[0]) in topipe:
	coccilib.report.print_report(p[0], why(p[0], api))
