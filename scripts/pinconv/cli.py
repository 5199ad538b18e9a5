# SPDX-License-Identifier: GPL-2.0
"""The one command-line entry: python3 -m pinconv <command> [options]."""

import argparse
import sys
from typing import List

from pinconv import ruletest, series, tree
from pinconv.printer import Error, error, stdout


def add_tree_args(p: argparse.ArgumentParser, module: bool = False) -> None:
	p.add_argument('--kver', default='', help='Debian tree: 6.1 (default) or '
		       '6.12; with --kdir, the rules are the tree\'s generation\'s')
	p.add_argument('--kdir', default='', help='an existing kernel git tree (Linux 6.0 on)')
	if module:
		p.add_argument('--module', default='', help='an out-of-tree module\'s '
			       'directory in a git repository (make M=)')


def cmd_tree(args: argparse.Namespace) -> int:
	t = tree.prepare(args.kver, args.kdir)
	stdout.step(f'tree ready: {t.path} (Linux {t.version}, base {t.base[:12]}, '
		    f'{t.generation!r} generation: cocci/rules-{t.kver}, kernel-overlay/{t.kver})')
	return 0


def cmd_spatch(args: argparse.Namespace) -> int:
	t = tree.prepare(args.kver, args.kdir)
	if args.module:
		from pinconv import module
		m, prefix = module.module_tree(args.module, t)
		module.generate(m, prefix, t, args.jobs)
		return 0
	series.generate(t, args.jobs)
	return 0


def cmd_audit(args: argparse.Namespace) -> int:
	import json
	from pathlib import Path
	from pinconv import audit, series
	t = tree.prepare(args.kver, args.kdir)
	if args.module:
		from pinconv import module
		m, prefix = module.module_tree(args.module, t)
		report = module.audit(m, prefix, t)
		return 3 if report['unclassified'] else 0
	report = audit.run_audit(t, args.rev)
	outdir = (series.REPORTS / t.kver if t.origin == 'debian'
		  else tree.work_dir() / 'reports' / t.name)
	audit.write(report, outdir)
	if t.origin == 'debian' and report['commit'] == t.base:
		from pinconv import drift
		drift.write_manifest(t, outdir)
	if report['unclassified']:
		u = report['unclassified'][0]
		error(f"{len(report['unclassified'])} call sites unclassified, first "
		      f"{u['file']}:{u['line']} {u['api']}")
		return 3
	if args.write_baseline:
		Path(args.write_baseline).write_text(
			json.dumps(audit.baseline_of(report), indent=1) + '\n')
		stdout.step(f'wrote baseline {args.write_baseline}')
	if args.baseline:
		new = audit.gate(report, json.loads(Path(args.baseline).read_text()))
		for s in new:
			print(f"pinconv: new unconverted caller: {s['file']}:{s['line']} "
			      f"{s['function']}() {s['api']} ({s['cls']}: {s['reason']})")
		if new:
			return 1
		stdout.step(f'gate: no unconverted caller beyond {args.baseline}')
	return 0


def cmd_test_cocci(args: argparse.Namespace) -> int:
	results = ruletest.run_all()
	failed = [r for r in results if not r.ok]
	for r in failed:
		print(f'FAIL {r.rule}/{r.case}\n{r.detail}')
	print(f'cocci: {len(results) - len(failed)} passed, {len(failed)} failed')
	return 1 if failed else 0


def cmd_overlay(args: argparse.Namespace) -> int:
	from pinconv import overlay
	t = tree.prepare(args.kver, args.kdir)
	overlay.apply(t)
	return 0


def farm_first() -> None:
	"""A compile farm the environment names (DISTCC_HOSTS, ICECC_SCHEDULER)
	is checked before anything is checked out or built: a bad one is one
	error line, not a failed build per kernel."""
	from pinconv import farm
	farm.current()


def cmd_boottest(args: argparse.Namespace) -> int:
	from pinconv import boot
	farm_first()
	t = tree.prepare(args.kver, args.kdir)
	pinned = [s for s in args.expect_pinned.split(',') if s]
	if not pinned:
		# Derived from the series: the scenarios whose files it converts.
		pinned = boot.pinned_by_series(t)
		stdout.step(f'scenarios the series converts: {", ".join(pinned) or "none"}')
	if args.rev:
		return 0 if boot.run_rev(t, args.rev, pinned, args.timeout) else 1
	return 0 if boot.run_boottest([t], pinned, args.timeout) else 1


def cmd_email(args: argparse.Namespace) -> int:
	from pinconv import mail
	try:
		t = tree.prepare(args.kver, args.kdir)
		return mail.email(t, args.to, args.cc, args.send, args.smtp, args.force)
	except Error as e:
		# Exit 1 whatever main() does: scripts test for a refused send.
		error(str(e))
		return 1


def cmd_check(args: argparse.Namespace) -> int:
	from pinconv import check
	farm_first()
	t = tree.prepare(args.kver, args.kdir)
	if args.module:
		from pinconv import module
		m, prefix = module.module_tree(args.module, t)
		return 0 if module.check(m, prefix, t) else 1
	return 0 if check.check(t, args.rev, proof=not args.no_proof, label=args.label) else 1


def cmd_bisect(args: argparse.Namespace) -> int:
	from pinconv import check
	if not args.good or not args.bad:
		raise Error('make bisect needs GOOD=<rev> and BAD=<rev>')
	farm_first()
	t = tree.prepare(args.kver, args.kdir)
	sha, subject = check.bisect(t, args.good, args.bad, args.test, args.timeout)
	print(f'first bad commit: {sha} {subject}')
	return 0


def cmd_bisect_step(args: argparse.Namespace) -> int:
	from pathlib import Path
	from pinconv import check
	try:
		return check.bisect_step(Path(args.src), args.test, args.label, args.timeout)
	except Error as e:
		error(str(e))
		return check.STEP_ABORT


def cmd_bench(args: argparse.Namespace) -> int:
	from pinconv import bench
	steps = bench.check_steps([s for s in args.steps.split(',') if s])
	t = tree.prepare(args.kver, args.kdir)
	bench.run_bench(t, steps, args.cold)
	return 0


def cmd_test_times(args: argparse.Namespace) -> int:
	from pinconv import testtimes
	return testtimes.main(args.top)


def cmd_drift(args: argparse.Namespace) -> int:
	import os
	import shutil
	import subprocess
	import sys
	from pinconv import drift
	t = tree.prepare(args.kver, '')
	kver = t.kver
	out = tree.work_dir() / 'drift' / kver
	if out.exists():
		shutil.rmtree(out)
	env = dict(os.environ, PINCONV_OUT=str(out),
		   PINCONV_AUTHOR=series.committed_author(kver) or series.committed_author())
	steps = ['spatch'] + (['audit'] if args.audit else [])
	for step in steps:
		stdout.step(f'regenerating {step} of Linux {t.version} ({t.revision}) into {out}')
		p = subprocess.run([sys.executable, '-m', 'pinconv', step, '--kver', kver], env=env,
				   text=True, capture_output=True)
		if p.returncode:
			raise Error(f'make {step} failed: '
				    f'{(p.stderr.strip().splitlines() or ["?"])[-1]}')
	v = drift.compare_outputs(series.OUT, out, kver, series=True, audit=args.audit)
	for line in v.summary().splitlines():
		print(line)
	return 1 if v.changed else 0


def build_parser() -> argparse.ArgumentParser:
	parser = argparse.ArgumentParser(prog='pinconv', description=__doc__)
	sub = parser.add_subparsers(dest='command', required=True)
	p = sub.add_parser('tree', help='prepare a kernel workspace')
	add_tree_args(p)
	p.set_defaults(func=cmd_tree)
	p = sub.add_parser('overlay', help='apply the kernel overlay (new pin APIs)')
	add_tree_args(p)
	p.set_defaults(func=cmd_overlay)
	p = sub.add_parser('spatch', help='regenerate the patch series from cocci/')
	add_tree_args(p, module=True)
	p.add_argument('-j', '--jobs', type=int, default=0)
	p.set_defaults(func=cmd_spatch)
	p = sub.add_parser('audit', help='classify every page-reference caller')
	add_tree_args(p, module=True)
	p.add_argument('--rev', default=tree.BASE_TAG, help='revision to audit (default: the baseline)')
	p.add_argument('--baseline', default='', help='gate: fail on sites this baseline lacks')
	p.add_argument('--write-baseline', default='', help='write the baseline file')
	p.set_defaults(func=cmd_audit)
	p = sub.add_parser('drift', help='regenerate on the installed tree and tell a moved '
			   'input from a changed output')
	add_tree_args(p)
	p.add_argument('--audit', action='store_true', help='the audit too (minutes)')
	p.set_defaults(func=cmd_drift)
	p = sub.add_parser('test-cocci', help='run the rule test cases')
	p.set_defaults(func=cmd_test_cocci)
	p = sub.add_parser('boottest', help='boot baseline and tip, prove pins in QEMU')
	add_tree_args(p)
	p.add_argument('--expect-pinned', default='',
		       help='scenarios the tip must have converted, comma-separated')
	p.add_argument('--timeout', type=float, default=180.0,
		       help='seconds per QEMU boot')
	p.add_argument('--rev', default='',
		       help='boot only this revision, judged as the series tip')
	p.set_defaults(func=cmd_boottest)
	p = sub.add_parser('email', help='mail the series (a dry run unless --send)')
	add_tree_args(p)
	p.add_argument('--to', default='', help='more To: addresses, comma-separated')
	p.add_argument('--cc', default='', help='more Cc: addresses, comma-separated')
	p.add_argument('--send', action='store_true', help='send over SMTP (delivery as the server confirms it)')
	p.add_argument('--smtp', default='', help='SMTP server, host:port')
	p.add_argument('--force', action='store_true', help='send despite failed checks')
	p.set_defaults(func=cmd_email)
	p = sub.add_parser('check', help='every commit of a range builds, is sparse '
			   'and checkpatch clean')
	add_tree_args(p, module=True)
	p.add_argument('--rev', default=f'{tree.BASE_TAG}..{tree.BRANCH}',
		       help='range to check (a single revision: from the baseline)')
	p.add_argument('--no-proof', action='store_true',
		       help='recompile every object a changed header reaches, '
		       'without the header proof')
	p.add_argument('--label', default='check',
		       help='the worktree and build dir (work/wt/<tree>/<label>/); '
		       'a second make check can run in another')
	p.set_defaults(func=cmd_check)
	p = sub.add_parser('bisect', help='first commit between GOOD and BAD that '
			   'fails to build (or to boot)')
	add_tree_args(p)
	p.add_argument('--good', default='', help='a revision that passes')
	p.add_argument('--bad', default='', help='a revision that fails')
	p.add_argument('--test', default='build', choices=['build', 'boot'])
	p.add_argument('--timeout', type=float, default=180.0,
		       help='seconds per QEMU boot (--test boot)')
	p.set_defaults(func=cmd_bisect)
	p = sub.add_parser('bisect-step', help='one git bisect run step (make bisect runs it)')
	p.add_argument('--src', required=True, help='the bisect worktree')
	p.add_argument('--test', default='build', choices=['build', 'boot'])
	p.add_argument('--label', default='bisect')
	p.add_argument('--timeout', type=float, default=180.0)
	p.set_defaults(func=cmd_bisect_step)
	p = sub.add_parser('bench', help='time the steps; reports/<kver>/bench.{md,json}')
	add_tree_args(p)
	p.add_argument('--steps', default='tree,spatch,coccicheck,audit,check,boot',
		       help='comma-separated: tree, spatch, coccicheck, audit, check, boot')
	p.add_argument('--cold', action='store_true',
		       help='also time make check with an empty ccache and one full build')
	p.set_defaults(func=cmd_bench)
	p = sub.add_parser('test-times', help="the last pytest run's time per test, slowest first")
	p.add_argument('--top', type=int, default=25, help='how many tests to list')
	p.set_defaults(func=cmd_test_times)
	return parser


def main(argv: List[str]) -> int:
	args = build_parser().parse_args(argv)
	try:
		return args.func(args)
	except Error as e:
		error(str(e))
		return 2
	except KeyboardInterrupt:
		error('interrupted; the work tree keeps its last committed state')
		return 130
