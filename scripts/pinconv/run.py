# SPDX-License-Identifier: GPL-2.0
"""Running external commands."""

import os
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from pinconv.printer import Error

PathLike = Union[str, Path]


def run(cmd: Sequence[PathLike], cwd: Optional[PathLike] = None,
	env: Optional[Dict[str, str]] = None, check: bool = True,
	capture: bool = True, input: Optional[str] = None,
	timeout: Optional[float] = None) -> subprocess.CompletedProcess:
	"""Run cmd; on failure raise Error with its first stderr line."""
	full_env = dict(os.environ)
	if env:
		full_env.update(env)
	try:
		p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env,
				   text=True, input=input, timeout=timeout,
				   stdout=subprocess.PIPE if capture else None,
				   stderr=subprocess.PIPE if capture else None)
	except FileNotFoundError:
		raise Error(f'{cmd[0]} not found (run make deps)')
	except subprocess.TimeoutExpired:
		raise Error(f'{Path(str(cmd[0])).name} timed out after {timeout}s')
	if check and p.returncode != 0:
		msg = (p.stderr or p.stdout or '').strip().splitlines()
		first = msg[0] if msg else f'exit code {p.returncode}'
		raise Error(f'{" ".join(str(c) for c in cmd[:3])}: {first}')
	return p


def git(args: List[str], cwd: PathLike, env: Optional[Dict[str, str]] = None,
	check: bool = True, input: Optional[str] = None) -> str:
	return run(['git'] + args, cwd=cwd, env=env, check=check,
		   input=input).stdout.strip()
