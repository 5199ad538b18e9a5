# SPDX-License-Identifier: GPL-2.0
"""make audit: every caller of the page-reference APIs in a tree, found by
Coccinelle (cocci/audit_calls.cocci) and classified:

  converted    already pins (pin_user_pages*, iov_iter_extract_pages, the
               overlay's pin APIs; bio_iov_iter_get_pages() and
               bio_release_pages() in trees that pin inside them)
  convertible  a rule of cocci/ converts it (the rule's reason)
  review       left alone, with the concrete reason
  ref-ok       legitimately no pin: the call holds no page (fault-in only)

Every line that git grep -w finds for the APIs in a .c file is either such
a site or counted separately as a definition, declaration, comment,
preprocessor line or other mention.
"""

import functools
import hashlib
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from pinconv import drift, overlay, spatch
from pinconv.printer import Error, stdout
from pinconv.run import git, run
from pinconv.series import OUT, changes
from pinconv.tree import TOP, Tree, cache_root, get_maintainer, work_dir

REF_APIS = [
	'get_user_pages', 'get_user_pages_fast', 'get_user_pages_fast_only',
	'get_user_pages_unlocked', 'get_user_pages_remote',
	'iov_iter_get_pages2', 'iov_iter_get_pages_alloc2',
	'bio_iov_iter_get_pages', 'bio_release_pages',
]
PIN_APIS = [
	'pin_user_pages', 'pin_user_pages_fast', 'pin_user_pages_fast_only',
	'pin_user_pages_unlocked', 'pin_user_pages_remote',
	'iov_iter_extract_pages', 'iov_iter_pin_pages', 'iov_iter_pin_pages_alloc',
	'bio_iov_iter_pin_pages', 'bio_unpin_pages',
]
ALL_APIS = REF_APIS + PIN_APIS
CLASSES = ['converted', 'convertible', 'review', 'ref-ok']
UNCONVERTED = ('convertible', 'review')

CALL_RE = re.compile(r'^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+)-\d+: '
		     r'(?P<api>\w+): (?P<kind>call|fault-in): in (?P<fn>\w*)\(\)$')


@dataclass
class Site:
	file: str
	line: int
	function: str
	api: str
	cls: str
	reason: str
	subsystem: str
	maintainers: List[str]


def subsystem(path: str) -> str:
	parts = path.split('/')
	if parts[0] in ('fs', 'net', 'drivers', 'arch', 'sound') and len(parts) > 2:
		return '/'.join(parts[:2]) if parts[0] != 'drivers' or len(parts) < 4 \
			else '/'.join(parts[:3])
	return parts[0] if len(parts) > 1 else path


def show(tree: Tree, rev: str, path: str) -> str:
	p = subprocess.run(['git', 'show', f'{rev}:{path}'], cwd=tree.path,
			   capture_output=True)
	return p.stdout.decode('utf-8', 'surrogateescape')


def grep_hits(tree: Tree, rev: str) -> List[Tuple[str, int, str]]:
	args = ['grep', '-n', '-w']
	for api in ALL_APIS:
		args += ['-e', api]
	out = git(args + [rev, '--', '*.c', '*.h'], cwd=tree.path, check=False)
	hits = []
	for l in out.splitlines():
		_, path, line, text = l.split(':', 3)
		hits.append((path, int(line), text))
	return hits


def mention_kind(text: str, in_comment: bool) -> str:
	"""What a grep hit that is no call site is."""
	s = text.strip()
	if in_comment or s.startswith(('*', '/*', '//')):
		return 'comment'
	if s.startswith('#'):
		return 'preprocessor'
	if re.match(r'^(EXPORT_SYMBOL|EXPORT_SYMBOL_GPL)\(', s):
		return 'export'
	if not text[:1].isspace() and s.endswith(';'):
		return 'declaration'
	if not text[:1].isspace() and re.search(r'\b\w+\s*\(', s):
		return 'definition'
	if s.endswith(';') and re.match(r'^(extern\s+)?[\w\s\*]+\b\w+\s*\(', s) and '=' not in s \
			and not re.match(r'^(return|if|while)\b', s):
		return 'declaration'
	if '"' in s:
		return 'string'
	return 'other'


def comment_lines(text: str) -> Set[int]:
	"""1-based line numbers that lie inside a /* */ comment."""
	inside: Set[int] = set()
	for m in re.finditer(r'/\*.*?\*/', text, re.S):
		first = text.count('\n', 0, m.start()) + 1
		last = text.count('\n', 0, m.end()) + 1
		inside.update(range(first, last + 1))
	return inside


def maintainers_of(tree: Tree, files: List[str]) -> Dict[str, List[str]]:
	"""get_maintainer.pl -f for each file, remembered by the content of
	MAINTAINERS, the script and the file (its K: patterns read it): a
	second audit, or one of another tree with the same files, runs no perl."""
	gm = tree.path / 'scripts' / 'get_maintainer.pl'
	blobs = ''
	if gm.is_file() and (tree.path / 'MAINTAINERS').is_file():
		blobs = hashlib.sha256(gm.read_bytes() + b'\0' +
				       (tree.path / 'MAINTAINERS').read_bytes()).hexdigest()

	def one(f: str) -> Tuple[str, List[str]]:
		if not gm.is_file():
			return f, []
		src = tree.path / f
		key = hashlib.sha256('\0'.join(['audit-v1', blobs, f]).encode() +
				     (src.read_bytes() if src.is_file() else b'')).hexdigest()
		cache = cache_root() / 'maintainers' / f'{key}.json'
		if blobs and cache.is_file():
			return f, json.loads(cache.read_text())
		p = get_maintainer(tree.path, ['--nogit', '--nogit-fallback', '--norolestats',
					       '-f', f])
		out = [l.strip() for l in p.stdout.splitlines() if l.strip()]
		if blobs and p.returncode == 0:
			cache.parent.mkdir(parents=True, exist_ok=True)
			tmp = cache.with_suffix(f'.{os.getpid()}.tmp')
			tmp.write_text(json.dumps(out))
			tmp.rename(cache)
		return f, out

	with ThreadPoolExecutor(max_workers=4) as ex:
		return dict(ex.map(one, files))


# Report-only rules the audit adds to the conversion rules of a tree.
AUDIT_RULES = ['gup/gup_case']

# Callers of get_user_pages* that are the reference API itself or its test
# harness: FOLL_GET is what they exist for.
GUP_OWN = {
	'mm/gup.c': 'the reference API\'s own implementation (mm/gup.c)',
	'mm/gup_test.c': 'the test harness of GUP (CONFIG_GUP_TEST): it exercises FOLL_GET '
			 'and FOLL_PIN on purpose, side by side',
	'lib/iov_iter.c': 'the implementation of iov_iter_get_pages*(), the iov_iter reference '
			  'API (its callers are classified, and converted, themselves)',
	'include/linux/mm.h': 'a wrapper of the reference API (its callers are classified '
			      'themselves)',
	'drivers/iommu/iommufd/selftest.c': 'the iommufd self test: it compares the pages '
					    'iommufd pinned with a reference of its own',
}


def rules_for(tree: Tree) -> Tuple[List[spatch.Rule], str]:
	kver = tree.kver if (spatch.COCCI / f'rules-{tree.kver}').is_file() else '6.1'
	return spatch.load_rules(kver) + spatch.load_rules(kver, AUDIT_RULES), kver


def bio_pins(tree: Tree) -> bool:
	"""bio_iov_iter_get_pages() pins in this tree: it has BIO_PAGE_PINNED
	(features.py; a Tree made without features: its generation)."""
	if tree.features:
		return 'BIO_PAGE_PINNED' in tree.features
	return tree.generation == 'extract'


NEEDS_RE = re.compile(r'\(needs (\w+)\)')


def supplied(tree: Tree, reason: str) -> Optional[str]:
	"""The overlay patch of this tree that adds what a container rule says
	it needs ('(needs NAME)' in its reason), if any."""
	m = NEEDS_RE.search(reason)
	if not m:
		return None
	name = m.group(1)
	added = re.compile(rf'^\+(?:#define\s+{name}\b|[A-Za-z_][\w\s\*]*\b{name}\()', re.M)
	for pname, text in _overlay_texts(tree.kver):
		if added.search(text):
			return f'kernel-overlay/{tree.kver}/{pname}'
	return None


@functools.lru_cache(maxsize=None)
def _overlay_texts(kver: str) -> Tuple[Tuple[str, str], ...]:
	"""The overlay patches of a tree, by name and text (read once)."""
	try:
		patches = overlay.read_series(overlay.overlay_dir(kver))
	except Error:
		return ()
	return tuple((p.name, p.read_text(errors='replace')) for p in patches)


def classify(tree: Tree, rev: str, calls: List[Tuple[str, int, str, str, str]],
	     results: Dict[str, spatch.FileResult]) -> List[Tuple[str, int, str, str, str, str]]:
	out = []
	pinning_bios = bio_pins(tree)
	# (old api, old line) of each call the rules replace, diffed once per file.
	replaced = {path: {(o, ln) for _, o, _, ln in changes(res.old, res.new, tree.generation)}
		    for path, res in results.items()}
	for path, line, fn, api, kind in calls:
		res = results.get(path)
		converted_lines = set()
		finding = None
		if res:
			converted_lines = {ln for o, ln in replaced[path] if o == api}
			fs = [f for f in res.findings if f.line == line]
			fs.sort(key=lambda f: f.status != 'convert')
			finding = fs[0] if fs else None
		waits = [(f, p) for f in (fs if res else []) for p in [supplied(tree, f.reason)] if p]
		if api in PIN_APIS:
			cls, why = 'converted', f'already pins: {api}()'
		elif pinning_bios and api in ('bio_iov_iter_get_pages', 'bio_release_pages'):
			cls, why = 'converted', (f'{api}() pins (iov_iter_extract_pages(), BIO_PAGE_PINNED) '
						 'in this tree since Linux 6.5')
		elif kind == 'fault-in':
			cls, why = 'ref-ok', ('pages argument is NULL: the call only faults the pages in '
					      'and holds no page (pin_user_pages.rst: no FOLL_PIN needed)')
		elif api.startswith('get_user_pages') and path in GUP_OWN:
			cls, why = 'ref-ok', (f'{GUP_OWN[path]}: FOLL_GET is right here '
					      '(pin_user_pages.rst: the pin API is for callers)')
		elif line in converted_lines or (finding and finding.status == 'convert'):
			rule = finding.rule if finding else ', '.join(res.rules if res else [])
			why = finding.reason if finding else 'converted together with its acquire'
			cls, why = 'convertible', f'cocci/{rule}.cocci: {why}'
		elif finding and finding.status == 'kept' and res and finding.rule in res.rules:
			# A release the rule leaves as it is in a file it converts
			# (bio_release_pages() releases by the bio's flag).
			cls, why = 'convertible', f'cocci/{finding.rule}.cocci: {finding.reason}'
		elif finding and waits:
			# A container rule waits for the API of a pin-aware container
			# that this tree's overlay adds: make spatch applies it first.
			f, patch = waits[0]
			cls, why = 'convertible', (f'cocci/{f.rule}.cocci, once {patch} is applied '
						   f'(make spatch applies the overlay first): {f.reason}')
		elif finding:
			# The case and its evidence (gup_case) first, then why no rule
			# converts the call.
			case = next((f for f in fs if f.rule in AUDIT_RULES), None)
			block = next((f for f in fs if f.rule not in AUDIT_RULES), None)
			if case and case.status == 'ref-ok':
				cls, why = 'ref-ok', f'cocci/{case.rule}.cocci: {case.reason}'
			elif case and block:
				cls = 'review'
				why = (f'cocci/{case.rule}.cocci: {case.reason}; not converted: '
				       f'cocci/{block.rule}.cocci: {block.reason}')
			else:
				cls = 'ref-ok' if finding.status == 'ref-ok' else 'review'
				why = f'cocci/{finding.rule}.cocci: {finding.reason}'
		elif api == 'bio_release_pages':
			cls, why = 'review', ('bio_release_pages(): its bios are not filled by an acquire '
					      'that a rule pairs in this file')
		else:
			cls, why = 'review', f'{api}(): no rule pairs this call with its release'
		out.append((path, line, fn, api, cls, why))
	return out


def run_audit(tree: Tree, rev: str = 'pinconv-base', outdir: Optional[Path] = None,
	      jobs: int = 0) -> Dict:
	sha = git(['rev-parse', f'{rev}^{{commit}}'], cwd=tree.path)
	hits = grep_hits(tree, sha)
	files = sorted({p for p, _, _ in hits})
	stdout.step(f'audit of Linux {tree.version} at {rev}: {len(hits)} grep hits in {len(files)} files')
	version = spatch.spatch_version()
	finder = spatch.Rule('audit_calls', spatch.COCCI / 'audit_calls.cocci',
			     (spatch.COCCI / 'audit_calls.cocci').read_text(), set())
	contents = {f: show(tree, sha, f) for f in files}

	def find(f: str) -> List[str]:
		return spatch._spatch_one(finder, f, contents[f], version)[1]

	calls: List[Tuple[str, int, str, str, str]] = []
	with ThreadPoolExecutor(max_workers=jobs or 2) as ex:
		for i, lines in enumerate(ex.map(find, files), 1):
			for l in lines:
				m = CALL_RE.match(l)
				if m:
					calls.append((m['file'], int(m['line']), m['fn'], m['api'], m['kind']))
			if i % 20 == 0 or i == len(files):
				stdout.progress(i, len(files), 'files searched with audit_calls.cocci')
	rules, rules_kver = rules_for(tree)
	conv_files = sorted({c[0] for c in calls if c[3] in REF_APIS})
	stdout.step(f'classifying with the rules of cocci/rules-{rules_kver} on {len(conv_files)} files')
	results = {r.path: r for r in spatch.apply_rules_on(contents, conv_files, rules, jobs,
							    spatch.git_siblings(tree.path, sha))}
	classified = classify(tree, sha, calls, results)
	mnt = maintainers_of(tree, sorted({c[0] for c in classified}))
	sites = [Site(p, l, fn, api, cls, why, subsystem(p), mnt.get(p, []))
		 for p, l, fn, api, cls, why in sorted(classified)]
	# Reconcile with grep: every hit is a site or a counted mention.
	at = {(s.file, s.line, s.api) for s in sites}
	mentions: Dict[str, int] = {}
	unclassified = []
	comments = {f: comment_lines(contents[f]) for f in files}
	for path, line, text in hits:
		for api in ALL_APIS:
			if not re.search(rf'\b{api}\b', text):
				continue
			if (path, line, api) in at:
				continue
			kind = mention_kind(text, line in comments[path])
			if kind == 'other' and path.endswith('.c') and re.search(rf'\b{api}\s*\(', text):
				unclassified.append({'file': path, 'line': line, 'api': api, 'text': text.strip()})
				kind = 'unparsed-call'
			mentions[kind] = mentions.get(kind, 0) + 1
	report = {
		'kernel': tree.version, 'rev': rev, 'commit': sha,
		'input': drift.input_record(tree, files, sha),
		'generation': tree.generation,
		'rules': f'cocci/rules-{rules_kver}', 'spatch': version,
		'counts': {c: sum(1 for s in sites if s.cls == c) for c in CLASSES},
		'mentions': dict(sorted(mentions.items())),
		'unclassified': unclassified,
		'sites': [asdict(s) for s in sites],
	}
	return report


def key(site: Dict) -> Tuple[str, str, str]:
	"""Sites are matched by file, function and API, not by line."""
	return (site['file'], site['function'], site['api'])


def gate(report: Dict, baseline: Dict) -> List[Dict]:
	"""Unconverted sites of the tree that the baseline lacks."""
	known = {key(s) for s in baseline['sites']}
	return [s for s in report['sites'] if s['cls'] in UNCONVERTED and key(s) not in known]


def baseline_of(report: Dict) -> Dict:
	return {'kernel': report['kernel'], 'commit': report['commit'],
		'sites': [{'file': s['file'], 'function': s['function'], 'api': s['api'],
			   'class': s['cls']}
			  for s in report['sites'] if s['cls'] in UNCONVERTED]}


def to_sarif(report: Dict) -> Dict:
	rules = [{'id': c, 'name': c.replace('-', ' ').title().replace(' ', ''),
		  'shortDescription': {'text': f'page reference site: {c}'},
		  'helpUri': 'https://www.kernel.org/doc/html/latest/core-api/pin_user_pages.html'}
		 for c in CLASSES]
	level = {'converted': 'none', 'convertible': 'warning', 'review': 'note', 'ref-ok': 'none'}
	results = []
	for s in report['sites']:
		results.append({
			'ruleId': s['cls'], 'ruleIndex': CLASSES.index(s['cls']),
			'level': level[s['cls']],
			'message': {'text': f"{s['api']}() in {s['function']}(): {s['reason']}"},
			'locations': [{'physicalLocation': {
				'artifactLocation': {'uri': s['file'], 'uriBaseId': 'SRCROOT'},
				'region': {'startLine': s['line']}}}],
			'partialFingerprints': {'fileFunctionApi/v1': '|'.join(key(s))},
		})
	return {
		'$schema': 'https://json.schemastore.org/sarif-2.1.0.json',
		'version': '2.1.0',
		'runs': [{
			'tool': {'driver': {'name': 'pinconv-audit', 'version': '1',
					    'informationUri': 'https://www.kernel.org/doc/html/latest/core-api/pin_user_pages.html',
					    'rules': rules}},
			'originalUriBaseIds': {'SRCROOT': {'description': {'text': f"Linux {report['kernel']}"}}},
			'versionControlProvenance': [{'repositoryUri': 'linux', 'revisionId': report['commit']}],
			'results': results,
		}],
	}


def to_markdown(report: Dict) -> str:
	subs: Dict[str, Dict[str, int]] = {}
	for s in report['sites']:
		subs.setdefault(s['subsystem'], {c: 0 for c in CLASSES})[s['cls']] += 1
	md = [f"# Audit of page-reference callers: Linux {report['kernel']}", '',
	      f"Commit `{report['commit'][:12]}` ({report['rev']}), rules `{report['rules']}`, "
	      f"{report['spatch']}.", '',
	      '| class | sites |', '| --- | ---: |']
	md += [f"| {c} | {report['counts'][c]} |" for c in CLASSES]
	md += ['', 'Other mentions that `git grep -w` finds (not call sites): ' +
	       ', '.join(f'{k} {v}' for k, v in report['mentions'].items()) + '.',
	       f"Unclassified call sites: {len(report['unclassified'])}.", '',
	       '## Per subsystem', '', '| subsystem | ' + ' | '.join(CLASSES) + ' |',
	       '| --- |' + ' ---: |' * len(CLASSES)]
	for sub in sorted(subs):
		md.append(f'| {sub} | ' + ' | '.join(str(subs[sub][c]) for c in CLASSES) + ' |')
	md += ['', '## Sites', '', '| file:line | function | API | class | reason | maintainers |',
	       '| --- | --- | --- | --- | --- | --- |']
	for s in report['sites']:
		who = '; '.join(m.replace('|', '/') for m in s['maintainers'][:3])
		md.append(f"| {s['file']}:{s['line']} | {s['function']} | {s['api']} | {s['cls']} | "
			  f"{s['reason'].replace('|', '/')} | {who} |")
	return '\n'.join(md) + '\n'


def plot(reports: Dict[str, Dict], path: Path, top: int = 24) -> None:
	"""Horizontal bars: sites per subsystem by class, one bar per kernel
	(the busiest subsystems; the rest summed as 'other')."""
	import matplotlib
	matplotlib.use('Agg')
	# The ids of clip paths and the like are random unless salted.
	matplotlib.rcParams['svg.hashsalt'] = 'pinconv'
	import matplotlib.pyplot as plt
	colors = {'converted': '#2e7d32', 'convertible': '#1565c0', 'review': '#ef6c00',
		  'ref-ok': '#9e9e9e'}
	kvers = sorted(reports, key=lambda k: [int(x) for x in k.split('.')])
	total: Dict[str, int] = {}
	for r in reports.values():
		for s in r['sites']:
			total[s['subsystem']] = total.get(s['subsystem'], 0) + 1
	subs = sorted(total, key=lambda k: (-total[k], k))
	shown = subs[:top]

	def bucket(sub: str) -> str:
		return sub if sub in shown else 'other'

	rows = shown + (['other'] if len(subs) > top else [])
	fig, ax = plt.subplots(figsize=(10, 0.28 * len(rows) * len(kvers) + 1.5))
	height = 0.8 / len(kvers)
	for k, kv in enumerate(kvers):
		left = [0] * len(rows)
		ys = [len(rows) - 1 - i + (len(kvers) - 1 - k) * height - 0.4 + height / 2
		      for i in range(len(rows))]
		for c in CLASSES:
			vals = [sum(1 for s in reports[kv]['sites']
				    if bucket(s['subsystem']) == row and s['cls'] == c) for row in rows]
			ax.barh(ys, vals, height * 0.92, left=left, color=colors[c],
				label=c if k == 0 else None, hatch='' if k == 0 else '///',
				edgecolor='white', linewidth=0.5)
			left = [a + v for a, v in zip(left, vals)]
		for y, total_k in zip(ys, left):
			ax.text(total_k + 0.2, y, f'{reports[kv]["kernel"].rsplit(".", 1)[0]}',
				va='center', fontsize=6, color='#555555')
	ax.set_yticks(range(len(rows)))
	ax.set_yticklabels(list(reversed(rows)), fontsize=8)
	ax.set_xlabel('call sites')
	ax.set_title('Page-reference call sites by subsystem and class: ' +
		     ' vs '.join(f'Linux {reports[k]["kernel"]}' for k in kvers), fontsize=10)
	ax.legend(loc='lower right', fontsize=8)
	fig.tight_layout()
	fig.savefig(path, format=path.suffix[1:], metadata={'Date': None} if path.suffix == '.svg' else None)
	plt.close(fig)


def write(report: Dict, outdir: Path) -> None:
	outdir.mkdir(parents=True, exist_ok=True)
	(outdir / 'audit.json').write_text(json.dumps(report, indent=1) + '\n')
	(outdir / 'audit.md').write_text(to_markdown(report))
	(outdir / 'audit.sarif').write_text(json.dumps(to_sarif(report), indent=1) + '\n')
	# The Debian trees' reports sit side by side (reports/6.1, reports/6.12):
	# plot them together so progress over releases shows at a glance.
	reports = {}
	if re.fullmatch(r'\d+\.\d+', outdir.name):
		for kd in sorted(outdir.parent.glob('*/audit.json')):
			if re.fullmatch(r'\d+\.\d+', kd.parent.name):
				reports[kd.parent.name] = json.loads(kd.read_text())
	reports[outdir.name if re.fullmatch(r'\d+\.\d+', outdir.name) else '.'.join(report['kernel'].split('.')[:2])] = report
	plot(reports, outdir / 'audit.svg')
	# The plot shows every Debian tree: the siblings' copies move with it.
	if re.fullmatch(r'\d+\.\d+', outdir.name):
		for kv in reports:
			sib = outdir.parent / kv / 'audit.svg'
			if kv != outdir.name and sib.parent.is_dir():
				sib.write_bytes((outdir / 'audit.svg').read_bytes())
	stdout.step(f'wrote {outdir}/audit.{{md,json,sarif,svg}}: {report["counts"]}')
