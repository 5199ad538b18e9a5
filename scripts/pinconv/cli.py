# SPDX-License-Identifier: GPL-2.0
"""The one command-line entry: python3 -m pinconv <command> [options]."""

import argparse
import sys
from typing import List

from pinconv import ruletest, tree
from pinconv.printer import Error, error, stdout


def add_tree_args(p: argparse.ArgumentParser) -> None:
	p.add_argument('--kver', default='6.1', help='kernel series: 6.1 or 6.12')
	p.add_argument('--kdir', default='', help='an existing kernel git tree')


def cmd_tree(args: argparse.Namespace) -> int:
	t = tree.prepare(args.kver, args.kdir)
	stdout.step(f'tree ready: {t.path} (Linux {t.version}, base {t.base[:12]})')
	return 0


def cmd_test_cocci(args: argparse.Namespace) -> int:
	results = ruletest.run_all()
	failed = [r for r in results if not r.ok]
	for r in failed:
		print(f'FAIL {r.rule}/{r.case}\n{r.detail}')
	print(f'cocci: {len(results) - len(failed)} passed, {len(failed)} failed')
	return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
	parser = argparse.ArgumentParser(prog='pinconv', description=__doc__)
	sub = parser.add_subparsers(dest='command', required=True)
	p = sub.add_parser('tree', help='prepare a kernel workspace')
	add_tree_args(p)
	p.set_defaults(func=cmd_tree)
	p = sub.add_parser('test-cocci', help='run the rule test cases')
	p.set_defaults(func=cmd_test_cocci)
	return parser


def main(argv: List[str]) -> int:
	args = build_parser().parse_args(argv)
	try:
		return args.func(args)
	except Error as e:
		error(str(e))
		return 1
	except KeyboardInterrupt:
		error('interrupted; the work tree keeps its last committed state')
		return 130
