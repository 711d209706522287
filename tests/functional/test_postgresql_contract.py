"""The store contract suite (tests/contract) against the PostgreSQL store
and its real server: profile no_dumps (raw and processed crashes kept,
dumps refused, no queue), the error cases by taking the server down with
pg_ctl -m immediate and bringing it back (--outage)."""

import json
import os
import stat
import subprocess
from pathlib import Path

import pg_helpers as pg

SERVICE = Path(__file__).resolve().parents[2] / "contrib" / "services" / \
    "postgresql"


def contract_suite(crashfs_binary):
    """build/fusefs/crashfs -> build/tests/contract/contract_suite"""
    return Path(crashfs_binary).parent.parent / "tests" / "contract" / \
        "contract_suite"


def outage_script(workdir, server):
    """`script begin` stops the server at once, `script end` starts it."""
    script = workdir / "outage"
    script.write_text(
        "#!/bin/sh\n"
        "export CRASHFS_TEST_PG_PORT=%d\n"
        "case \"$1\" in\n"
        "begin) exec '%s' stop-immediate '%s' ;;\n"
        "end) exec '%s' start '%s' ;;\n"
        "esac\nexit 2\n" % (server.port, SERVICE, server.service.state_dir,
                           SERVICE, server.service.state_dir))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_postgresql_store_passes_the_contract(crashfs_binary, workdir,
                                              postgresql_database):
    suite = contract_suite(crashfs_binary)
    assert os.access(suite, os.X_OK), "%s is not built" % suite
    tree = pg.store_node(postgresql_database)
    result = subprocess.run(
        [str(suite), "--profile", "no_dumps", "--outage",
         str(outage_script(workdir, postgresql_database.server)),
         json.dumps(tree)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=900, env=dict(os.environ,
                              CRASHFS_TEST_TMPDIR=str(workdir)))
    assert result.returncode == 0, result.stdout[-8000:]
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")]
    assert "PASS  errors_operational" in lines
    assert "PASS  save_and_read" in lines
