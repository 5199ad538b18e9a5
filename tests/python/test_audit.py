# SPDX-License-Identifier: GPL-2.0
"""make audit: classification, the CI gate, SARIF and grep coverage."""

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Tuple

import pytest

from conftest import TOP, pinconv
from pinconv import audit, drift, tree


def site(file: str, line: int, fn: str, api: str, cls: str = 'review') -> dict:
	return {'file': file, 'line': line, 'function': fn, 'api': api, 'cls': cls,
		'reason': 'r', 'subsystem': audit.subsystem(file), 'maintainers': []}


def test_gate_matches_by_function_not_line() -> None:
	base = audit.baseline_of({'kernel': 'x', 'commit': 'c', 'sites': [
		site('fs/a.c', 10, 'f', 'iov_iter_get_pages2'),
		site('mm/b.c', 5, 'g', 'pin_user_pages', 'converted')]})
	assert [s['api'] for s in base['sites']] == ['iov_iter_get_pages2']
	moved = {'sites': [site('fs/a.c', 20, 'f', 'iov_iter_get_pages2')]}
	assert audit.gate(moved, base) == []
	new = {'sites': [site('fs/a.c', 20, 'f', 'iov_iter_get_pages2'),
			 site('fs/a.c', 40, 'h', 'iov_iter_get_pages2'),
			 site('fs/c.c', 3, 'k', 'pin_user_pages', 'converted')]}
	assert [s['function'] for s in audit.gate(new, base)] == ['h']


def test_mention_kinds() -> None:
	assert audit.mention_kind(' * iov_iter_get_pages2() returns', False) == 'comment'
	assert audit.mention_kind('EXPORT_SYMBOL(iov_iter_get_pages2);', False) == 'export'
	assert audit.mention_kind('ssize_t iov_iter_get_pages2(struct iov_iter *i,', False) == 'definition'
	assert audit.mention_kind('#define x iov_iter_get_pages2', False) == 'preprocessor'
	assert audit.mention_kind('\tn = iov_iter_get_pages2(i, p, 1, 1, &s);', False) == 'other'
	text = 'a\n/* x\n iov_iter_get_pages2\n*/\nb\n'
	assert audit.comment_lines(text) == {2, 3, 4}


# The parts of SARIF 2.1.0 (OASIS, sarif-schema-2.1.0.json) that code-scanning
# UIs need; the full schema is not shipped by Debian.
SARIF_SUBSET = {
	'type': 'object', 'required': ['version', 'runs'],
	'properties': {
		'version': {'const': '2.1.0'},
		'runs': {'type': 'array', 'minItems': 1, 'items': {
			'type': 'object', 'required': ['tool', 'results'],
			'properties': {
				'tool': {'type': 'object', 'required': ['driver'], 'properties': {
					'driver': {'type': 'object', 'required': ['name'], 'properties': {
						'name': {'type': 'string'},
						'rules': {'type': 'array', 'items': {
							'type': 'object', 'required': ['id']}}}}}},
				'results': {'type': 'array', 'items': {
					'type': 'object', 'required': ['message'],
					'properties': {
						'ruleId': {'type': 'string'},
						'level': {'enum': ['none', 'note', 'warning', 'error']},
						'message': {'type': 'object', 'required': ['text']},
						'locations': {'type': 'array', 'items': {
							'type': 'object', 'properties': {
								'physicalLocation': {
									'type': 'object',
									'required': ['artifactLocation'],
									'properties': {
										'artifactLocation': {'type': 'object', 'required': ['uri']},
										'region': {'type': 'object', 'properties': {
											'startLine': {'type': 'integer', 'minimum': 1}}}}}}}}}}}}}}},
}


def test_sarif_fields() -> None:
	import jsonschema
	rep = {'kernel': '6.1.1', 'commit': 'c' * 40, 'sites': [
		site('fs/a.c', 10, 'f', 'iov_iter_get_pages2', 'convertible')]}
	sarif = audit.to_sarif(rep)
	jsonschema.validate(sarif, SARIF_SUBSET)
	r = sarif['runs'][0]
	ids = [x['id'] for x in r['tool']['driver']['rules']]
	assert r['results'][0]['ruleId'] in ids
	assert ids.index(r['results'][0]['ruleId']) == r['results'][0]['ruleIndex']
	bad = json.loads(json.dumps(sarif))
	del bad['runs'][0]['results'][0]['message']
	with pytest.raises(jsonschema.ValidationError):
		jsonschema.validate(bad, SARIF_SUBSET)


@pytest.fixture(scope='module', params=['6.1', '6.12'])
def reaudited(request: pytest.FixtureRequest,
	      tmp_path_factory: pytest.TempPathFactory) -> Tuple[str, Path]:
	"""make audit on the installed tree, into a directory of its own."""
	kver = request.param
	out = tmp_path_factory.mktemp('audit')
	p = pinconv('audit', '--kver', kver, env={'PINCONV_OUT': str(out)})
	assert p.returncode == 0, p.stdout[-2000:] + p.stderr
	return kver, out


@pytest.mark.e2e
def test_audit_is_up_to_date(reaudited: Tuple[str, Path]) -> None:
	"""The committed audit classifies as the rules do on the installed tree:
	byte for byte from the same package revision, the same sites, classes
	and reasons from another (the drift is named)."""
	kver, out = reaudited
	v = drift.compare_outputs(TOP, out, kver, series=False, audit=True)
	assert v.changed == [], f'reports/{kver}/audit.json is stale (run make audit KVER={kver}): ' \
		+ v.summary()
	if v.drift:
		warnings.warn(drift.InputDrift(f'{kver} audit: ' + v.summary()))


@pytest.mark.e2e
def test_audit_covers_grep(reaudited: Tuple[str, Path]) -> None:
	"""Every git grep -w hit in a .c file is a site or a counted mention, at
	the commit the report recorded (the installed tree's baseline)."""
	import jsonschema
	kver, out = reaudited
	path = out / 'reports' / kver / 'audit.json'
	rep = json.loads(path.read_text())
	jsonschema.validate(json.loads((path.parent / 'audit.sarif').read_text()), SARIF_SUBSET)
	assert rep['unclassified'] == []
	ws = tree.work_dir() / f'linux-{kver}'
	assert rep['commit'] == rep['input']['base'] == \
		subprocess.run(['git', 'rev-parse', tree.BASE_TAG], cwd=ws, text=True,
			       capture_output=True).stdout.strip()
	args = ['git', 'grep', '-n', '-w']
	for api in audit.ALL_APIS:
		args += ['-e', api]
	out = subprocess.run(args + [rep['commit'], '--', '*.c', '*.h'], cwd=ws, text=True,
			     capture_output=True).stdout
	n = sum(1 for l in out.splitlines() for api in audit.ALL_APIS
		if re.search(rf'\b{api}\b', l.split(':', 3)[3]))
	assert n == len(rep['sites']) + sum(rep['mentions'].values())
	for s in rep['sites']:
		assert s['cls'] in audit.CLASSES and s['reason'] and s['function']


def test_gup_sites_name_their_case() -> None:
	"""Every get_user_pages* call of the committed audits has a reason
	that names its pin_user_pages.rst case (or why none applies: a NULL
	pages argument, the API itself), and none is a "no rule" placeholder;
	a review site says both its case and why no rule converts it."""
	for kv in ('6.1', '6.12'):
		rep = json.loads((TOP / 'reports' / kv / 'audit.json').read_text())
		gups = [s for s in rep['sites'] if s['api'].startswith('get_user_pages')]
		assert len(gups) >= 30, kv
		for s in gups:
			where = f"{kv} {s['file']}:{s['line']}"
			assert 'no rule' not in s['reason'], where
			assert 'pin_user_pages.rst' in s['reason'], where
			if s['cls'] == 'review' and 'cocci/gup/gup_pin.cocci' in s['reason']:
				assert s['reason'].startswith('cocci/gup/gup_case.cocci: pin_user_pages.rst'), where


def test_container_sites_wait_for_their_overlay() -> None:
	"""A container rule that needs the pin-aware container API of the
	tree's overlay makes its sites convertible, naming the overlay patch
	that adds it; a name no overlay patch adds leaves them in review."""
	from types import SimpleNamespace
	t612 = SimpleNamespace(kver='6.12')
	# The pipe-buffer pin was withdrawn from the 6.12 overlay: nothing adds it.
	assert audit.supplied(t612, 'x (needs PIPE_BUF_FLAG_PINNED)') is None
	assert 'NFS-let-an-nfs_page' in audit.supplied(t612, 'x (needs nfs_page_create_from_extracted_page)')
	assert audit.supplied(t612, 'x (needs nfs_create_request_pinned)') is None   # 6.1's
	# 6.1's NFS container conversion is held back (cocci/rules-6.1): its
	# overlay no longer adds the pin-owning constructor.
	assert audit.supplied(SimpleNamespace(kver='6.1'), 'x (needs nfs_create_request_pinned)') is None
	assert audit.supplied(t612, 'x (needs no_such_api)') is None
	assert audit.supplied(t612, 'no marker') is None
	want = {'6.1': {'fs/nfs/direct.c': 2, 'fs/fuse/file.c': 1, 'fs/direct-io.c': 1},
		'6.12': {'fs/nfs/direct.c': 2, 'fs/splice.c': 1}}
	for kv, files in want.items():
		rep = json.loads((TOP / 'reports' / kv / 'audit.json').read_text())
		for f, n in files.items():
			got = [s for s in rep['sites'] if s['file'] == f and s['api'].startswith('iov_iter_get_pages')]
			assert len(got) == n, (kv, f)
			if f == 'fs/splice.c':
				# vmsplice's pipe-buffer pin was withdrawn: for review.
				assert [s['cls'] for s in got] == ['review'], got
				continue
			if kv == '6.1':
				# Held back on 6.1 (cocci/rules-6.1): a kernel iterator
				# reaches it, and 6.1 cannot tell which pages it pinned.
				assert [s['cls'] for s in got] == ['review'] * n, got
				assert all('held back: ' in s['reason'] and 'kernel iterator' in s['reason']
					   for s in got), got
				continue
			for s in got:
				assert s['cls'] == 'convertible', (kv, f, s['reason'])
				assert s['reason'].startswith('cocci/container/'), (kv, f)
				assert f'kernel-overlay/{kv}/' in s['reason'], (kv, f)


def test_committed_audit_renderings(tmp_path: Path) -> None:
	"""audit.md, .sarif and .svg are what audit.json renders to, byte for
	byte (no random ids, dates or orders)."""
	kvers = [d.name for d in sorted((TOP / 'reports').iterdir()) if (d / 'audit.json').is_file()]
	assert kvers
	for kv in kvers:
		(tmp_path / kv).mkdir()
		shutil.copy(TOP / 'reports' / kv / 'audit.json', tmp_path / kv)
	for kv in kvers:
		audit.write(json.loads((tmp_path / kv / 'audit.json').read_text()), tmp_path / kv)
		for ext in ('json', 'md', 'sarif', 'svg'):
			assert (tmp_path / kv / f'audit.{ext}').read_bytes() == \
				(TOP / 'reports' / kv / f'audit.{ext}').read_bytes(), f'reports/{kv}/audit.{ext}'


def test_get_maintainer_order_is_fixed(tmp_path: Path) -> None:
	"""get_maintainer.pl lists the people of one section in Perl hash order;
	tree.get_maintainer() fixes it."""
	k = tmp_path / 'k'
	(k / 'scripts').mkdir(parents=True)
	(k / 'scripts' / 'get_maintainer.pl').write_text(
		'my %h = map { $_ => 1 } qw(a b c d e f g h i j k l m n o p);\n'
		'print join(",", keys %h), "\\n";\n')
	outs = {tree.get_maintainer(k, []).stdout for _ in range(6)}
	assert len(outs) == 1, outs
	free = {subprocess.run(['perl', 'scripts/get_maintainer.pl'], cwd=k, text=True,
			       capture_output=True).stdout for _ in range(6)}
	assert len(free) > 1, 'Perl hash order is not random here: the test shows nothing'


@pytest.mark.e2e
def test_gate_on_a_tree(tmp_path: Path) -> None:
	"""A new iov_iter_get_pages2() caller trips the gate; a caller moved ten
	lines down does not."""
	ws = tree.work_dir() / 'linux-6.1'
	k = tmp_path / 'linux'
	subprocess.run(['git', 'clone', '-q', '--shared', '-b', 'base', str(ws), str(k)], check=True)
	env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t',
		   GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@t')
	crypto = k / 'crypto' / 'af_alg.c'
	text = crypto.read_text()
	i = text.index('int af_alg_make_sg(')
	crypto.write_text(text[:i] + '/*\n *\n *\n *\n *\n *\n *\n *\n *\n */\n' + text[i:])
	(k / 'fs' / 'pinconv_new.c').write_text(
		'static ssize_t pinconv_new(struct iov_iter *i, struct page **p)\n{\n'
		'\tsize_t s;\n\n\treturn iov_iter_get_pages2(i, p, 4096, 1, &s);\n}\n')
	subprocess.run(['git', 'add', '-f', '-A'], cwd=k, check=True)
	subprocess.run(['git', 'commit', '-q', '-m', 'new caller'], cwd=k, check=True, env=env)
	work = {'PINCONV_WORK': str(tmp_path / 'w')}
	base = TOP / 'reports' / '6.1' / 'audit-baseline.json'
	p = pinconv('audit', '--kdir', str(k), '--rev', 'HEAD', '--baseline', str(base), env=work)
	assert p.returncode == 1, p.stdout[-3000:] + p.stderr
	flagged = [l for l in p.stdout.splitlines() if l.startswith('pinconv: new unconverted caller')]
	assert len(flagged) == 1 and 'fs/pinconv_new.c' in flagged[0] and 'pinconv_new()' in flagged[0]
