"""`prize mail`: the emails notify's file mailer wrote (base64 MIME, Korean, Chinese), listed and
the newest decoded with its sign-in link; --to, --last, an empty folder, an SMTP mailer, a
corrupt file."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from services.cli import main
from services.notify.mail import FileMailbox, Outgoing, mailer_from_url
from shared.config import load_settings
from tests.conftest import embedded_env

SENDER = "서울스마트도시상 Seoul Smart City Prize <prize@wego-cities.org>"
KIM_LINK = "http://127.0.0.1:8001/signin/Kx9-q_Z3?next=/portal&lang=ko"
LIN_LINK = "http://127.0.0.1:8001/signin/Lm7_w2P0"


def _run(args, env) -> str:
    result = CliRunner().invoke(main, ["mail", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _mailbox(env) -> FileMailbox:
    """The mailer notify's worker uses with these settings: the default, var/mailbox."""
    mailer = mailer_from_url(load_settings(env).mail_url)
    assert isinstance(mailer, FileMailbox)
    return mailer


def _send(mailbox: FileMailbox, key, recipient, subject, text, html, headers=None) -> Path:
    mailbox.send(Outgoing(key, SENDER, recipient, subject, text, html, headers))
    path = next(mailbox.folder.glob(f"{key.replace(':', '_')}.eml"))
    # one later than the last, to the nanosecond: emails of the same second keep their order
    others = [p.stat().st_mtime_ns for p in mailbox.folder.glob("*.eml") if p != path]
    mtime = max([path.stat().st_mtime_ns, *(t + 1_000_000 for t in others)])
    os.utime(path, ns=(mtime, mtime))
    return path


def _kim(mailbox, key="a-signin-kim"):
    text = (f"김민지 님께,\n\n이 주소로 접수 포털 로그인이 요청되었습니다. 15분 안에 아래 링크를 열어 "
            f"로그인하십시오:\n\n  {KIM_LINK}\n\n개인정보 처리방침: http://127.0.0.1:8001/privacy에서 "
            f"확인하십시오.\n\n서울특별시를 대신하여, WeGO 사무국\n")
    html = (f'<p>김민지 님께,</p><p><a href="{KIM_LINK.replace("&", "&amp;")}">서울스마트도시상 접수 포털에 '
            f'로그인</a></p><p style="word-break:break-all">{KIM_LINK.replace("&", "&amp;")}</p>'
            f'<p><a href="https://wego-cities.org/ko">WeGO</a> <a href="mailto:prize@wego-cities.org">메일</a></p>')
    return _send(mailbox, key, "김민지 <Kim.Minji@Seoul.example>", "서울스마트도시상 접수 포털 로그인", text, html)


def _lin(mailbox, key="z-signin-lin", headers=None):
    text = f"林美華 您好：\n\n請在 15 分鐘內打開以下連結登入高雄的申請：\n\n  {LIN_LINK}\n\nWeGO 秘書處\n"
    html = f'<p>林美華 您好：</p><p><a href="{LIN_LINK}">登入</a></p>'
    return _send(mailbox, key, "林美華 <lin@kcg.example.tw>", "首爾智慧城市獎：登入連結", text, html, headers)


def _minutes(before: datetime, after: datetime) -> set[str]:
    return {m.strftime("%Y-%m-%d %H:%M UTC") for m in (before, after)}


def test_the_newest_email_comes_out_decoded_with_its_sign_in_link_numbered(tmp_path):
    env = embedded_env(tmp_path)
    mailbox = _mailbox(env)
    before = datetime.now(timezone.utc)
    _lin(mailbox)
    kim_path = _kim(mailbox)
    after = datetime.now(timezone.utc)
    assert mailbox.folder == tmp_path / "mailbox"
    raw = kim_path.read_bytes()
    assert b"signin/Kx9" not in raw and "김민지".encode() not in raw  # base64: nothing to grep

    out = _run([], env)
    lines = out.splitlines()
    assert lines[0] == f"2 email(s) in {mailbox.folder}, oldest first (times in UTC):"
    # oldest first (their files' names sort the other way), each with its time, recipient, subject
    lin_line, kim_line = lines[1], lines[2]
    assert lin_line.endswith("  lin@kcg.example.tw  首爾智慧城市獎：登入連結")
    assert kim_line.endswith("  kim.minji@seoul.example  서울스마트도시상 접수 포털 로그인")
    assert kim_line.strip()[:20] in _minutes(before, after)
    newest = out.split("The newest email, decoded:\n", 1)[1]
    assert f"File: {kim_path}" in newest
    assert f"From: {SENDER}" in newest and "To: 김민지 <Kim.Minji@Seoul.example>" in newest
    assert "Subject: 서울스마트도시상 접수 포털 로그인" in newest
    assert "이 주소로 접수 포털 로그인이 요청되었습니다" in newest
    assert newest.endswith("Links:\n"
                           f"  [1] {KIM_LINK}\n"
                           "  [2] http://127.0.0.1:8001/privacy\n"  # ends where the Korean word starts
                           "  [3] https://wego-cities.org/ko\n")  # from the HTML part; its mailto: is not a web link
    assert LIN_LINK not in out


def test_to_keeps_the_emails_to_or_cc_that_address_whatever_its_case(tmp_path):
    env = embedded_env(tmp_path)
    mailbox = _mailbox(env)
    _kim(mailbox)
    _lin(mailbox, "lin-copied", headers={"Cc": "Jkim.minji@seoul.example, 김민지 <kim.minji@seoul.EXAMPLE>"})
    _lin(mailbox, "lin-alone")

    out = _run(["--to", "KIM.MINJI@seoul.example"], env)
    assert out.startswith("2 email(s) to KIM.MINJI@seoul.example in ")
    listed = out.split("\n\n", 1)[0].splitlines()[1:]
    assert len(listed) == 2 and "kim.minji@seoul.example  서울" in listed[0]
    assert "lin@kcg.example.tw, jkim.minji@seoul.example, kim.minji@seoul.example  首爾" in listed[1]
    assert f"[1] {LIN_LINK}" in out and "Cc: Jkim.minji@seoul.example, 김민지 <kim.minji@seoul.EXAMPLE>" in out

    # an exact address: not one that merely contains it
    out = _run(["--to", "minji@seoul.example"], env)
    assert out == f"No emails to minji@seoul.example in {mailbox.folder} (3 to other addresses).\n"


def test_last_lists_only_the_last_n_and_says_how_many_were_left_out(tmp_path):
    env = embedded_env(tmp_path)
    mailbox = _mailbox(env)
    for n in range(3):
        _lin(mailbox, f"{9 - n}-signin-lin")
    _kim(mailbox)

    out = _run(["--last", "2"], env)
    head = out.split("\n\n", 1)[0].splitlines()
    assert head[0].startswith("4 email(s) in ")
    assert head[1] == "  ... 2 earlier email(s) left out (--last 4 lists them all)"
    assert len(head) == 4 and "lin@kcg.example.tw" in head[2] and "kim.minji@seoul.example" in head[3]
    assert f"[1] {KIM_LINK}" in out
    assert "left out" not in _run([], env)  # the default: the last 20
    out = _run(["--to", "lin@kcg.example.tw", "--last", "1"], env)
    assert "2 earlier email(s) left out (--last 3 lists them all)" in out and f"[1] {LIN_LINK}" in out


def test_an_empty_or_missing_mailbox_says_so_in_one_line(tmp_path):
    env = embedded_env(tmp_path)
    folder = tmp_path / "mailbox"
    expected = f"No emails in {folder} yet: notify writes them there while the services run (make run).\n"
    assert _run([], env) == expected  # no folder at all
    folder.mkdir()
    (folder / "half-written.tmp").write_bytes(b"From: x")  # the mailer's temporary file is not an email
    assert _run([], env) == expected
    assert _run(["--to", "kim.minji@seoul.example"], env) == expected


def test_a_mail_server_instead_of_a_folder_points_to_notifys_outbox_page(tmp_path):
    env = embedded_env(tmp_path, PRIZE_MAIL_URL="smtp://prize:s3cr3t-pw@mail.wego-cities.example:587",
                       PRIZE_NOTIFY_PUBLIC_URL="https://notify.wego-cities.example")
    out = _run(["--to", "kim.minji@seoul.example"], env)
    assert out == ("Emails go to the SMTP server mail.wego-cities.example:587 (PRIZE_MAIL_URL), not to a folder; "
                   "see each one on notify's outbox page: https://notify.wego-cities.example/secretariat/outbox\n")
    assert "s3cr3t" not in out and "prize:" not in out

    env = embedded_env(tmp_path, PRIZE_MAIL_URL="ses://eu-west-1")
    assert _run([], env) == ("Emails go to Amazon SES in eu-west-1 (PRIZE_MAIL_URL), not to a folder; see each one "
                             "on notify's outbox page: http://127.0.0.1:8003/secretariat/outbox\n")


def test_a_corrupt_file_is_listed_as_unreadable_and_the_others_still_come_out(tmp_path):
    env = embedded_env(tmp_path)
    mailbox = _mailbox(env)
    _kim(mailbox)
    (mailbox.folder / "garbage.eml").write_bytes(b"\x00\xff\xfe\x89PNG not an email at all\r\n\x00")
    (mailbox.folder / "a-folder.eml").mkdir()  # cannot even be read as a file

    out = _run([], env)
    assert out.startswith("3 email(s) in ")
    assert "unreadable: garbage.eml (not an email: no From, To, Date or Subject header)" in out
    assert "unreadable: a-folder.eml (IsADirectoryError: " in out
    assert "The newest readable email, decoded:" in out and f"[1] {KIM_LINK}" in out

    out = _run(["--to", "kim.minji@seoul.example"], env)
    assert f"[1] {KIM_LINK}" in out and "unreadable:" not in out
    assert out.endswith("(2 unreadable file(s) in the folder left aside; prize mail without --to lists them)\n")
