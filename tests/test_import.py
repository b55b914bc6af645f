"""`facilitator members import`: rows with errors are reported by line and skipped, the rest
imported; the same file twice changes nothing; imported members receive broadcasts at once."""

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.services.importing import read_rows
from tests.storage_backend import rows, storage_toml

ROOT = Path(__file__).resolve().parent.parent

CSV = """name,organization,country,topics,language,platform,platform_id
Amina Yusuf,Save the Children,Nigeria,cash transfers;nutrition,en,telegram,501
Kwame Mensah,Ministry of Gender,Ghana,social protection,en,telegram,502
,No Name Org,Peru,,es,telegram,503
Maria Santos,ILO,Brazil,child labour,pt,fax,12
Omar Haddad,UNICEF,Jordan,refugee children,ar,whatsapp,+962 7 9000 0001
Bad Phone,X,Y,,en,whatsapp,call me
"""


def run_import(tmp_path: Path, csv_text: str) -> subprocess.CompletedProcess:
    (tmp_path / "members.csv").write_text(csv_text, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[community]\nname = "Net"\n{storage_toml(tmp_path / "net.db")}'
                      '[webchat]\nsecret = "0123456789abcdef"\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot.cli", "members", "import", str(tmp_path / "members.csv"),
                           "--config", str(config)], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ),
                          timeout=120)


def test_rows_with_errors_are_reported_by_line_and_the_rest_imported(tmp_path):
    result = run_import(tmp_path, CSV)
    assert result.returncode == 0, result.stderr
    assert "line 4: skipped: name" in result.stdout
    assert "line 5: skipped: platform must be one of" in result.stdout
    assert "line 7: skipped: platform_id must be a phone number" in result.stdout
    assert result.stdout.strip().endswith("imported 3, updated 0, unchanged 0, skipped 3")
    members = rows(tmp_path / "net.db", "SELECT m.name, m.topics, m.status, i.platform, i.user_id, i.chat_id"
                   " FROM member m JOIN identity i ON i.member_id = m.id ORDER BY m.id")
    assert members == [
        ("Amina Yusuf", "cash transfers;nutrition", "active", "telegram", "501", "501"),
        ("Kwame Mensah", "social protection", "active", "telegram", "502", "502"),
        ("Omar Haddad", "refugee children", "active", "whatsapp", "962790000001", ""),
    ]


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    run_import(tmp_path, CSV)
    again = run_import(tmp_path, CSV)
    assert again.stdout.strip().endswith("imported 0, updated 0, unchanged 3, skipped 3")
    changed = run_import(tmp_path, CSV.replace("Save the Children", "Save the Children International"))
    assert changed.stdout.strip().endswith("imported 0, updated 1, unchanged 2, skipped 3")


def test_three_thousand_rows_import_quickly(tmp_path):
    rows = "\n".join(f"Member {n},Org {n % 50},Country {n % 150},topic {n % 7},en,telegram,{100000 + n}"
                     for n in range(3000))
    started = time.monotonic()
    result = run_import(tmp_path, "name,organization,country,topics,language,platform,platform_id\n" + rows + "\n")
    assert result.returncode == 0, result.stderr
    assert "imported 3000" in result.stdout
    assert time.monotonic() - started < 60


def test_a_file_without_the_expected_header_says_which_columns_are_missing():
    [(line, reason)] = list(read_rows("name,phone\nAmina,123\n"))
    assert line == 1 and "organization" in reason and "platform_id" in reason
