# SPDX-License-Identifier: GPL-2.0
"""Rule test cases, as Coccinelle's own: tests/cocci/<rule>/<case>.c is the
input, <case>.res the expected output of -D patch (equal to the input when
the rule must leave the code alone), and the optional <case>.report the
expected -D report lines (the file name printed as <case>.c)."""

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from pinconv.printer import Error
from pinconv.spatch import NO_CHANGE, NO_RULES, SPFLAGS
from pinconv.tree import TOP

CASES = TOP / 'tests' / 'cocci'


@dataclass
class CaseResult:
	rule: str
	case: str
	ok: bool
	detail: str


def _spatch(rule: Path, mode: str, case: Path, cwd: Path, out: Optional[Path]) -> str:
	cmd = ['spatch', *SPFLAGS, '-D', mode, '--sp-file', str(rule), case.name]
	if out:
		cmd += ['-o', str(out)]
	p = subprocess.run(cmd, cwd=cwd, text=True, capture_output=True, timeout=120)
	if p.returncode != 0 and NO_CHANGE not in p.stderr and \
			not (mode == 'patch' and NO_RULES in p.stderr + p.stdout):
		raise Error(f'spatch {rule.name} on {case.name}: '
			    f'{(p.stderr or p.stdout).strip().splitlines()[-1:]}')
	return p.stdout


def parse_problems(case: Path, cwd: Path) -> str:
	"""What spatch could not parse of a case ('' when all of it parsed).
	--very-quiet hides parse errors, and a rule that cannot see a function
	leaves it unchanged: such a case would pass as "left alone"."""
	opts = [f for f in SPFLAGS if f != '--very-quiet']   # parsed as the rules see it
	p = subprocess.run(['spatch', '--parse-c', *opts, case.name],
			   cwd=cwd, text=True, capture_output=True, timeout=120)
	out = p.stdout + p.stderr
	m = re.search(r'nb good = (\d+),\s+nb bad = (\d+)', out)
	if not m:
		return f'spatch --parse-c gave no verdict: {(out.strip().splitlines() or ["?"])[-1]}'
	if int(m.group(2)):
		bad = [l.strip() for l in out.splitlines() if l.startswith('BAD:') or 'parse error' in l]
		return f'{m.group(2)} of {int(m.group(1)) + int(m.group(2))} lines do not parse' + \
			(f' ({bad[0]})' if bad else '')
	return ''


def run_case(rule: Path, case: Path) -> CaseResult:
	res = case.with_suffix('.res')
	name = f'{rule.stem}/{case.stem}'
	if not res.is_file():
		return CaseResult(rule.stem, case.stem, False, f'{name}: no .res file')
	with tempfile.TemporaryDirectory(prefix='pinconv-case-') as tmp:
		work = Path(tmp) / case.name
		work.write_text(case.read_text())
		# <case>.siblings/: the other C files of the case's directory,
		# for a rule that reads them (as make spatch puts them beside).
		sib = case.with_suffix('.siblings')
		if sib.is_dir():
			for f in sorted(sib.glob('*.c')):
				(Path(tmp) / f.name).write_text(f.read_text())
		# Out of the case's directory: a rule may read its sibling files.
		bad = parse_problems(work, Path(tmp))
		if bad:
			return CaseResult(rule.stem, case.stem, False, f'{name}: the input does not '
					  f'parse, so the rule cannot be judged on it: {bad}')
		out = Path(tmp) / 'out' / 'out.c'
		out.parent.mkdir()
		_spatch(rule, 'patch', work, Path(tmp), out)
		got = out.read_text() if out.is_file() else work.read_text()
		if got != res.read_text():
			import difflib
			diff = ''.join(difflib.unified_diff(
				res.read_text().splitlines(True), got.splitlines(True),
				f'{name}.res', f'{name} (spatch)'))
			return CaseResult(rule.stem, case.stem, False, diff)
		rep = case.with_suffix('.report')
		if rep.is_file():
			# As lists: a report line said twice is two findings.
			lines = sorted(_spatch(rule, 'report', work, Path(tmp), None).splitlines())
			want = sorted(rep.read_text().splitlines())
			if lines != want:
				return CaseResult(rule.stem, case.stem, False,
						  f'{name}: report differs:\n  want {want}\n  got  {lines}')
	return CaseResult(rule.stem, case.stem, True, '')


def run_all(rules_dir: Path = TOP / 'cocci', cases_dir: Path = CASES) -> List[CaseResult]:
	results = []
	# Rules in family folders (cocci/gup/x.cocci) have their cases in
	# tests/cocci/gup/x/.
	for rule in sorted(rules_dir.rglob('*.cocci')):
		where = cases_dir / rule.relative_to(rules_dir).with_suffix('')
		cases = sorted(where.glob('*.c'))
		if not cases:
			results.append(CaseResult(rule.stem, '-', False,
						  f'{rule.stem}: no test cases in {where}'))
		for case in cases:
			results.append(run_case(rule, case))
	return results
