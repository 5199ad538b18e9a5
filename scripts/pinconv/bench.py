# SPDX-License-Identifier: GPL-2.0
"""The benchmark: wall times of the toolkit's steps on this machine, beside
the tools a kernel developer would otherwise use (git grep, the tree's own
make coccicheck, a from-scratch build of every commit).

Each step runs the CLI as a user would (a subprocess), with its outputs
redirected (PINCONV_OUT) so the committed patches/ and reports/ stay as
they are. Results: reports/<kver>/bench.{json,md}.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from pinconv import build, series, spatch
from pinconv.printer import Error, stdout
from pinconv.tree import BASE_TAG, TOP, Tree, work_dir

STEPS = ['tree', 'spatch', 'coccicheck', 'audit', 'check', 'boot']


def log_dir() -> Path:
	return work_dir() / 'bench'


def timed(cmd: List[str], cwd: Path, env: Optional[Dict[str, str]] = None,
	  ok: bool = True, log: str = '') -> float:
	"""Seconds cmd takes; Error if it fails (unless ok=False). With log,
	its output goes to work/bench/<log>.log as it runs (tail -f it)."""
	e = dict(os.environ, **(env or {}))
	t0 = time.monotonic()
	if log:
		log_dir().mkdir(parents=True, exist_ok=True)
		path = log_dir() / f'{log}.log'
		stdout.step(f'{" ".join(cmd[2:5])}: output in {path}')
		with open(path, 'w') as f:
			p = subprocess.run(cmd, cwd=cwd, env=e, text=True, stdout=f,
					   stderr=subprocess.STDOUT)
		out = path.read_text(errors='replace')
	else:
		p = subprocess.run(cmd, cwd=cwd, env=e, text=True, capture_output=True)
		out = p.stderr or p.stdout
	dt = time.monotonic() - t0
	if ok and p.returncode != 0:
		tail = out.strip().splitlines()[-1:] or ['?']
		raise Error(f'benchmark step {" ".join(cmd[:4])} failed: {tail[0]}')
	return round(dt, 1)


def cli(*args: str) -> List[str]:
	return [sys.executable, '-m', 'pinconv', *args]


def cli_env(out: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
	env = {'PYTHONPATH': str(TOP / 'scripts'), 'PINCONV_OUT': str(out)}
	author = os.environ.get('PINCONV_AUTHOR') or series.committed_author()
	if author:
		env['PINCONV_AUTHOR'] = author
	env.update(extra or {})
	return env


def base_worktree(tr: Tree) -> Path:
	"""A checkout of the baseline, for tools that read the work tree."""
	path, _ = build.worktree(tr, BASE_TAG, 'bench')
	return path


def coccicheck(src: Path, rule: Path, mode: str) -> float:
	"""The tree's own make coccicheck, one rule, the whole tree."""
	return timed(['make', '-C', str(src), 'coccicheck', f'COCCI={rule}', f'MODE={mode}',
		      f'J={build.jobs()}', f'SPFLAGS=--python {spatch.PYTHON}'], cwd=src, ok=False)


def bench(tr: Tree, steps: List[str], cold_check: bool) -> Dict:
	res: Dict[str, Dict] = {}
	kver = ['--kver', tr.kver]
	tmp = Path(tempfile.mkdtemp(prefix='pinconv-bench-'))
	try:
		if 'tree' in steps:
			stdout.step('tree: the second make tree')
			res['tree'] = {'again_s': timed(cli('tree', *kver), TOP, cli_env(tmp))}
		if 'spatch' in steps:
			cache = tmp / 'cache'
			stdout.step('spatch: cold cache (every file parsed)')
			cold = timed(cli('spatch', *kver), TOP, cli_env(tmp, {'PINCONV_CACHE': str(cache)}))
			stdout.step(f'spatch: cold {cold}s; warm cache')
			warm = timed(cli('spatch', *kver), TOP, cli_env(tmp, {'PINCONV_CACHE': str(cache)}))
			res['spatch'] = {'cold_s': cold, 'warm_s': warm,
					 'rules': [r.name for r in spatch.load_rules(tr.kver)]}
			stdout.step(f'spatch: warm {warm}s')
		if 'coccicheck' in steps or 'audit' in steps:
			src = base_worktree(tr)
		if 'coccicheck' in steps:
			per = {}
			for r in spatch.load_rules(tr.kver):
				stdout.step(f'coccicheck MODE=patch COCCI=cocci/{r.name}.cocci (whole tree)')
				per[r.name] = coccicheck(src, r.path, 'patch')
			res['coccicheck'] = {'patch_s': per, 'total_s': round(sum(per.values()), 1)}
		if 'audit' in steps:
			stdout.step('audit: pinconv audit of the baseline')
			a = timed(cli('audit', *kver), TOP, cli_env(tmp, {'PINCONV_CACHE': str(tmp / 'acache')}))
			args = ['git', 'grep', '-n', '-w']
			from pinconv import audit
			for api in audit.ALL_APIS:
				args += ['-e', api]
			g = timed(args + [BASE_TAG, '--', '*.c', '*.h'], tr.path)
			stdout.step('audit: make coccicheck MODE=report with cocci/audit_calls.cocci')
			c = coccicheck(src, spatch.COCCI / 'audit_calls.cocci', 'report')
			res['audit'] = {'audit_cold_s': a, 'git_grep_s': g, 'coccicheck_report_s': c}
		if 'check' in steps:
			env = cli_env(tmp)
			if cold_check:
				# Empty ccache and build directory: the first make check a
				# user runs on a new machine. Its first commit is built from
				# scratch: that build is the unit of the ratio.
				env['PINCONV_CCACHE'] = str(tmp / 'ccache')
				shutil.rmtree(build.build_dir(tr, 'check'), ignore_errors=True)
				stdout.step('check: cold (empty ccache, no build directory)')
				cold = timed(cli('check', *kver), TOP, env, log='check-cold')
				report = tmp / 'reports' / tr.kver / 'check.json'
				shutil.copy(report, log_dir() / 'check-cold.json')
				data = json.loads(report.read_text())
				# One full build from scratch: configuring, the build tools
				# (made by the first sparse run) and the first commit's
				# bzImage; it includes sparse and checkpatch on one file.
				full = round(data['prepare_seconds'] + data['commits'][0]['seconds'], 1)
				n = len(data['commits'])
				res['check'] = {'cold_s': cold, 'full_build_tip_s': full, 'commits': n,
						'every_commit_from_scratch_s': round(full * n, 1),
						'ratio_to_one_build': round(cold / full, 2)}
				stdout.step(f'check: cold {cold}s, first commit from scratch {full}s')
			stdout.step('check: warm (ccache of the earlier runs)')
			shutil.rmtree(build.build_dir(tr, 'check'), ignore_errors=True)
			res.setdefault('check', {})['warm_s'] = timed(cli('check', *kver), TOP, env,
								 log='check-warm')
		if 'boot' in steps:
			stdout.step('boot: make boottest (base and tip, builds cached)')
			b = timed(cli('boottest', *kver), TOP, cli_env(tmp), ok=False)
			data = json.loads((tmp / 'reports' / tr.kver / 'boottest.json').read_text())
			res['boot'] = {'boottest_s': b, 'per_kernel_boot_s': {
				k: v['boot_seconds'] for k, v in data['kernels'].items()},
				'accel': sorted({v['accel'] for v in data['kernels'].values()})}
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	return res


def to_markdown(tr: Tree, res: Dict) -> str:
	rows = []
	if 'tree' in res:
		rows.append(('`make tree` again', f"{res['tree']['again_s']} s", ''))
	if 'spatch' in res:
		s = res['spatch']
		rows.append(('`make spatch`, cold cache', f"{s['cold_s']} s", f"{len(s['rules'])} rules"))
		rows.append(('`make spatch`, warm cache', f"{s['warm_s']} s", 'target < 10 s'))
	if 'coccicheck' in res:
		c = res['coccicheck']
		rows.append(('same rules, `make coccicheck MODE=patch`, one per rule',
			     f"{c['total_s']} s", ', '.join(f'{k} {v} s' for k, v in c['patch_s'].items())))
	if 'audit' in res:
		a = res['audit']
		rows.append(('`make audit` (cold cache)', f"{a['audit_cold_s']} s", ''))
		rows.append(('`git grep -w` of the same APIs', f"{a['git_grep_s']} s", 'finds text, not calls'))
		rows.append(('`make coccicheck MODE=report` audit_calls.cocci', f"{a['coccicheck_report_s']} s",
			     'finds calls, no classes'))
	if 'check' in res:
		c = res['check']
		if 'cold_s' in c:
			rows.append(('`make check`, cold (empty ccache)', f"{c['cold_s']} s",
				     f"{c['commits']} commits"))
			rows.append(('one full build: configure, tools and the first commit from scratch',
				     f"{c['full_build_tip_s']} s", ''))
			rows.append(('every commit built from scratch (estimate: n x full)',
				     f"{c['every_commit_from_scratch_s']} s", ''))
			rows.append(('cold check / one full build', f"{c['ratio_to_one_build']}", 'target < 1.5'))
		rows.append(('`make check`, warm ccache', f"{c['warm_s']} s", ''))
	if 'boot' in res:
		b = res['boot']
		rows.append(('`make boottest` (builds cached)', f"{b['boottest_s']} s",
			     ', '.join(f'{k} boot+scenarios {v} s' for k, v in b['per_kernel_boot_s'].items())
			     + f" ({'/'.join(b['accel'])})"))
	out = [f'# Benchmark: Linux {tr.version}', '',
	       f'{os.cpu_count()} cores; `make bench KVER={tr.kver}` writes this file.', '',
	       '| step | time | notes |', '| --- | ---: | --- |']
	out += [f'| {a} | {b} | {c} |' for a, b, c in rows]
	return '\n'.join(out) + '\n'


def check_steps(steps: List[str]) -> List[str]:
	unknown = set(steps) - set(STEPS)
	if unknown:
		raise Error(f'unknown benchmark step(s) {", ".join(sorted(unknown))} '
			    f'(known: {", ".join(STEPS)})')
	return steps


def run_bench(tr: Tree, steps: List[str], cold_check: bool) -> Dict:
	check_steps(steps)
	res = bench(tr, steps, cold_check)
	out = series.REPORTS / tr.kver
	out.mkdir(parents=True, exist_ok=True)
	old = {}
	if (out / 'bench.json').is_file():
		old = json.loads((out / 'bench.json').read_text()).get('steps', {})
	old.update(res)
	data = {'kernel': tr.version, 'cores': os.cpu_count(), 'steps': old}
	(out / 'bench.json').write_text(json.dumps(data, indent=1) + '\n')
	(out / 'bench.md').write_text(to_markdown(tr, old))
	stdout.step(f'wrote {out / "bench.md"}')
	return data
