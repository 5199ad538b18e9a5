// SPDX-License-Identifier: GPL-2.0-only
///
/// Classify each get_user_pages*() call by the case of
/// Documentation/core-api/pin_user_pages.rst that fits what the function
/// does with the pages, and name the evidence:
///  - the data of the pages is handed to a device (sg_set_page,
///    dma_map_page, sg tables, page_to_phys, bio_add_page): FOLL_PIN,
///    case 1 (released in the request) or 2 (held past it, FOLL_LONGTERM);
///  - the CPU writes the data (FOLL_WRITE, set_page_dirty, memcpy_to_page
///    ...): FOLL_PIN, case 5 (or 2 when held past the call);
///  - the CPU only reads it (constant flags without FOLL_WRITE): FOLL_GET
///    is right (ref-ok); flags that decide at run time: review;
///  - the file keeps a secondary MMU coherent with MMU notifiers: case 3,
///    FOLL_GET is right;
///  - only struct page is looked at (page_to_nid, page_to_pfn, page flags,
///    page->mapping, memory_failure): case 4, FOLL_GET is right;
///  - none of these: the pages leave the function; review where they go.
/// Report only: make audit uses it; the conversions are other rules'.
///
// Confidence: Moderate
// Copyright: (C) 2026 pinconv authors
// Options: --no-includes --include-headers
//

virtual patch
virtual context
virtual org
virtual report

@call depends on org || report@
identifier a = {get_user_pages, get_user_pages_fast, get_user_pages_fast_only};
expression E0, E1, E2, E3, P;
position p;
@@
(
a@p(E1, E2, E3, P, ...)
|
get_user_pages_unlocked@p(E1, E2, P, E3)
|
get_user_pages_remote@p(E0, E1, E2, E3, P, ...)
)

@apiname@
identifier api;
position call.p;
@@
api@p(...)

@script:python pagesid@
P << call.P;
I;
@@
import re
ids = re.findall(r'[A-Za-z_]\w*', P)
if not ids or P.strip() == 'NULL':
	cocci.include_match(False)
else:
	# &page -> page, pages + i -> pages, &vcpu->pages[0] -> pages
	m = re.search(r'([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:[+-](?!>).*)?$', P.strip())
	coccinelle.I = cocci.make_ident(m.group(1) if m else ids[-1])

// A page of the array often goes through a local first: page = pages[i].
@aliasa@
identifier pagesid.I, J;
position a;
@@
J@a = <+... I ...+>

@aliasb@
identifier pagesid.I, J;
type T;
position a;
@@
T J@a = <+... I ...+>;

// ... or a structure field: ctx->page = page.
@aliasc@
identifier pagesid.I, J;
expression S;
position a;
@@
S->J@a = <+... I ...+>

@use@
identifier pagesid.I;
identifier u =~ "^(^(kmap|kmap_local_page|kmap_atomic|kmap_local_folio|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|copy_highpage|copy_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|unpin_user_pages_dirty_lock|sg_set_page|sg_alloc_table_from_pages|sg_alloc_table_from_pages_segment|__sg_alloc_table_from_pages|dma_map_page|dma_map_page_attrs|page_to_phys|bio_add_page|vmap|vm_map_ram)$|^(put_page|release_pages|put_user_page|put_user_pages|unpin_user_page|unpin_user_pages|unpin_user_pages_dirty_lock|folio_put)$|^(page_to_nid|page_to_pfn|page_folio|page_mapping|folio_mapping|compound_head|PageAnon|PageHuge|PageTransHuge|PageCompound|PageHWPoison|PageKsm|PageLRU|memory_failure|page_zonenum|page_zone)$)$";
position q;
@@
u@q(..., <+... I ...+>, ...)

// ... or the array is a field: dma->pages[i].
@usef@
identifier pagesid.I;
expression S2;
identifier u =~ "^(^(kmap|kmap_local_page|kmap_atomic|kmap_local_folio|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|copy_highpage|copy_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|unpin_user_pages_dirty_lock|sg_set_page|sg_alloc_table_from_pages|sg_alloc_table_from_pages_segment|__sg_alloc_table_from_pages|dma_map_page|dma_map_page_attrs|page_to_phys|bio_add_page|vmap|vm_map_ram)$|^(put_page|release_pages|put_user_page|put_user_pages|unpin_user_page|unpin_user_pages|unpin_user_pages_dirty_lock|folio_put)$|^(page_to_nid|page_to_pfn|page_folio|page_mapping|folio_mapping|compound_head|PageAnon|PageHuge|PageTransHuge|PageCompound|PageHWPoison|PageKsm|PageLRU|memory_failure|page_zonenum|page_zone)$)$";
position q;
@@
u@q(..., <+... S2->I ...+>, ...)

@usea@
identifier aliasa.J;
identifier u =~ "^(^(kmap|kmap_local_page|kmap_atomic|kmap_local_folio|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|copy_highpage|copy_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|unpin_user_pages_dirty_lock|sg_set_page|sg_alloc_table_from_pages|sg_alloc_table_from_pages_segment|__sg_alloc_table_from_pages|dma_map_page|dma_map_page_attrs|page_to_phys|bio_add_page|vmap|vm_map_ram)$|^(put_page|release_pages|put_user_page|put_user_pages|unpin_user_page|unpin_user_pages|unpin_user_pages_dirty_lock|folio_put)$|^(page_to_nid|page_to_pfn|page_folio|page_mapping|folio_mapping|compound_head|PageAnon|PageHuge|PageTransHuge|PageCompound|PageHWPoison|PageKsm|PageLRU|memory_failure|page_zonenum|page_zone)$)$";
position q;
@@
u@q(..., <+... J ...+>, ...)

@useb@
identifier aliasb.J;
identifier u =~ "^(^(kmap|kmap_local_page|kmap_atomic|kmap_local_folio|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|copy_highpage|copy_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|unpin_user_pages_dirty_lock|sg_set_page|sg_alloc_table_from_pages|sg_alloc_table_from_pages_segment|__sg_alloc_table_from_pages|dma_map_page|dma_map_page_attrs|page_to_phys|bio_add_page|vmap|vm_map_ram)$|^(put_page|release_pages|put_user_page|put_user_pages|unpin_user_page|unpin_user_pages|unpin_user_pages_dirty_lock|folio_put)$|^(page_to_nid|page_to_pfn|page_folio|page_mapping|folio_mapping|compound_head|PageAnon|PageHuge|PageTransHuge|PageCompound|PageHWPoison|PageKsm|PageLRU|memory_failure|page_zonenum|page_zone)$)$";
position q;
@@
u@q(..., <+... J ...+>, ...)

@usec@
identifier aliasc.J;
expression S2;
identifier u =~ "^(^(kmap|kmap_local_page|kmap_atomic|kmap_local_folio|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|copy_highpage|copy_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|unpin_user_pages_dirty_lock|sg_set_page|sg_alloc_table_from_pages|sg_alloc_table_from_pages_segment|__sg_alloc_table_from_pages|dma_map_page|dma_map_page_attrs|page_to_phys|bio_add_page|vmap|vm_map_ram)$|^(put_page|release_pages|put_user_page|put_user_pages|unpin_user_page|unpin_user_pages|unpin_user_pages_dirty_lock|folio_put)$|^(page_to_nid|page_to_pfn|page_folio|page_mapping|folio_mapping|compound_head|PageAnon|PageHuge|PageTransHuge|PageCompound|PageHWPoison|PageKsm|PageLRU|memory_failure|page_zonenum|page_zone)$)$";
position q;
@@
u@q(..., <+... S2->J ...+>, ...)

@notifier@
identifier n =~ "^(mmu_interval_notifier_insert|mmu_interval_notifier_insert_locked|mmu_interval_read_begin|mmu_notifier_register|__mmu_notifier_register|mmu_notifier_get)$";
position q;
@@
n@q(...)

@stored@
expression S;
identifier apiname.api, pagesid.I;
position call.p;
@@
(
api@p(..., S->I, ...)
|
api@p(..., &S->I, ...)
|
api@p(..., S.I, ...)
|
api@p(..., &S.I, ...)
|
api@p(..., S->I + ..., ...)
|
api@p(..., &S->I[...], ...)
)

@initialize:python@
@@
import re
evidence = {}
notifiers = []

def note(p, kind, name, q):
	k = (p[0].file, p[0].line, p[0].column)
	evidence.setdefault(k, {}).setdefault(kind, set()).add((int(q[0].line), name))

def first(k, kind):
	ev = sorted(evidence.get(k, {}).get(kind, ()))
	return ev[0] if ev else None

DATA = re.compile(r"^(^(kmap|kmap_local_page|kmap_atomic|kmap_local_folio|page_address|copy_from_page|copy_to_page|memcpy_from_page|memcpy_to_page|memcpy_page|memzero_page|copy_highpage|copy_page|flush_dcache_page|set_page_dirty|set_page_dirty_lock|unpin_user_pages_dirty_lock|sg_set_page|sg_alloc_table_from_pages|sg_alloc_table_from_pages_segment|__sg_alloc_table_from_pages|dma_map_page|dma_map_page_attrs|page_to_phys|bio_add_page|vmap|vm_map_ram)$)$")
RELEASE = re.compile(r"^(^(put_page|release_pages|put_user_page|put_user_pages|unpin_user_page|unpin_user_pages|unpin_user_pages_dirty_lock|folio_put)$)$")
STRUCT = re.compile(r"^(^(page_to_nid|page_to_pfn|page_folio|page_mapping|folio_mapping|compound_head|PageAnon|PageHuge|PageTransHuge|PageCompound|PageHWPoison|PageKsm|PageLRU|memory_failure|page_zonenum|page_zone)$)$")

def same_fn(p, a):
	return a[0].current_element == p[0].current_element and int(a[0].line) >= int(p[0].line)

def use_at(p, u, q, a=None):
	"""u() at q uses the pages of the call at p (through the local assigned
	at a): evidence if it is in the same function, after the call."""
	if q[0].current_element != p[0].current_element or int(q[0].line) < int(p[0].line):
		return
	if a is not None and (a[0].current_element != p[0].current_element or
			      int(a[0].line) < int(p[0].line) or int(q[0].line) < int(a[0].line)):
		return
	kind = 'data' if DATA.match(u) else 'release' if RELEASE.match(u) else 'struct'
	note(p, kind, u, q)

DMA = {'sg_set_page', 'sg_alloc_table_from_pages', 'sg_alloc_table_from_pages_segment',
       '__sg_alloc_table_from_pages', 'dma_map_page', 'dma_map_page_attrs', 'page_to_phys',
       'bio_add_page'}

WRITES = {'set_page_dirty', 'set_page_dirty_lock', 'unpin_user_pages_dirty_lock', 'memzero_page',
	  'memcpy_to_page', 'copy_to_page'}

def tidy(x):
	x = re.sub(r'\s+', ' ', x.strip())
	return re.sub(r'(^|[^\w)\s]\s*)- (?=\w)', r'\1-', re.sub(r'\s*(\.|->)\s*', r'\1', x))

def verdict(p, api, pages, stored, flags):
	k = (p[0].file, p[0].line, p[0].column)
	d, r, s = first(k, 'data'), first(k, 'release'), first(k, 'struct')
	f = first(k, 'stored')
	stored = stored or bool(f and not r)
	pages = re.sub(r'([&*]) +', r'\1', re.sub(r' *(->|\.) *', r'\1', pages))
	where = '%s, stored in a structure' % pages if stored else pages
	flags = tidy(flags)
	if d:
		fn, line = d[1], d[0]
		devs = sorted(x for x in evidence.get(k, {}).get('data', ()) if x[1] in DMA)
		if devs:
			line, fn = devs[0]
		dev = fn in DMA
		writes = sorted(x for x in evidence.get(k, {}).get('data', ()) if x[1] in WRITES)
		constant = re.match(r'^[A-Z_0-9|\s]+$', flags) is not None
		if not dev and constant and 'FOLL_WRITE' not in flags and not writes:
			return ('ref-ok', 'a CPU read: flags %s, no FOLL_WRITE, and %s() at line %d only '
				'reads the data; pin_user_pages.rst case 5 is for writing it: FOLL_GET is right '
				'(a pin would unshare COW-shared and KSM pages and set MMF_HAS_PINNED for good)'
				% (flags, fn, line))
		if not dev and not constant:
			return ('review', 'pin_user_pages.rst case 5 on the write path only: the flags (%s) '
				'decide at run time whether the data is written (%s() at line %d); FOLL_GET '
				'is right on the read path' % (flags, fn, line))
		what = ('%s() at line %d hands the pages to a device' % (fn, line) if dev else
			'%s() at line %d writes the pages\' data (flags %s)' % (fn, line, flags))
		if r and not stored and f:
			return ('review', 'pin_user_pages.rst case %s: %s; the pages are stored in a '
				'structure at line %d and released (%s() at line %d) on some path in this '
				'function: FOLL_PIN, and FOLL_LONGTERM if the stored pages outlive the call'
				% ('1, DMA' if dev else '5', what, f[0], r[1], r[0]))
		if r and not stored and dev:
			return ('review', 'pin_user_pages.rst case 1 or 3: %s and %s() at line %d drops '
				'them in this function: case 1 (FOLL_PIN, unpin there) if the device is done '
				'with them by then; case 3 (FOLL_GET) if it keeps the address and an MMU '
				'notifier covers it' % (what, r[1], r[0]))
		if r and not stored:
			return ('review', 'pin_user_pages.rst case 5 (pin, write the data, unpin): %s; '
				'%s() at line %d releases them in this function: FOLL_PIN (%s(), '
				'unpin_user_page())' % (what, r[1], r[0], api.replace('get_', 'pin_')))
		return ('review', 'pin_user_pages.rst case %s: %s; the pages (%s) are held past the '
			'call and released in another function: FOLL_PIN | FOLL_LONGTERM, with that '
			'release converted to unpin' % ('2, long-term DMA' if dev else
							'2, long-term data access', what, where))
	if notifiers:
		n = sorted(notifiers)[0]
		return ('ref-ok', 'pin_user_pages.rst case 3: this file keeps a secondary MMU '
			'coherent with MMU notifiers (%s() at line %d); the pages\' data is not '
			'accessed here: FOLL_GET is right' % (n[1], n[0]))
	if s:
		return ('ref-ok', 'pin_user_pages.rst case 4: only struct page is looked at (%s() '
			'at line %d), the data never: FOLL_GET is right' % (s[1], s[0]))
	return ('review', 'pin_user_pages.rst: no access to the data or struct page of the '
		'pages (%s) in this function; they leave it (returned, stored or passed on): '
		'FOLL_PIN if their data is accessed where they go (cases 1, 2, 5), FOLL_GET if '
		'only struct page is (case 4)' % where)

@script:python depends on org || report@
p << call.p;
q << use.q;
u << use.u;
@@
use_at(p, u, q)

@script:python depends on org || report@
p << call.p;
q << usef.q;
u << usef.u;
@@
use_at(p, u, q)

@script:python depends on org || report@
p << call.p;
q << usea.q;
u << usea.u;
a << aliasa.a;
@@
use_at(p, u, q, a)

@script:python depends on org || report@
p << call.p;
q << useb.q;
u << useb.u;
a << aliasb.a;
@@
use_at(p, u, q, a)

@script:python depends on org || report@
p << call.p;
q << usec.q;
u << usec.u;
a << aliasc.a;
@@
use_at(p, u, q, a)

@script:python depends on org || report@
p << call.p;
a << aliasc.a;
@@
if same_fn(p, a):
	note(p, 'stored', 'stored', a)

@script:python depends on org || report@
q << notifier.q;
n << notifier.n;
@@
notifiers.append((int(q[0].line), n))

@script:python depends on org || report@
p << call.p;
S << stored.S;
@@
note(p, 'field', 'field', p)

@finalize:python depends on org || report@
@@
pass

@script:python depends on report@
p << call.p;
api << apiname.api;
P << call.P;
E3 << call.E3;
@@
k = (p[0].file, p[0].line, p[0].column)
status, why = verdict(p, api, P, bool(first(k, 'field')), E3)
coccilib.report.print_report(p[0], "%s: %s: %s" % (api, status, why))

@script:python depends on org@
p << call.p;
api << apiname.api;
P << call.P;
E3 << call.E3;
@@
k = (p[0].file, p[0].line, p[0].column)
status, why = verdict(p, api, P, bool(first(k, 'field')), E3)
coccilib.org.print_todo(p[0], "%s: %s: %s" % (api, status, why))
