"""Every page in English and Japanese: the browser's language picks, the switcher overrides."""

import re

import pytest
from django.test import Client

from .factories import PASSWORD, ApiKeyFactory

PAGES = [
    ("/o/acme/api-keys/", "My API keys", "自分の API キー"),
    ("/o/acme/api-keys/create/", "Key name", "キー名"),
    ("/o/acme/mcp-server/", "Client configuration", "クライアントの設定"),
    ("/o/acme/members/", "Invite member", "メンバーを招待"),
    ("/o/acme/audit/", "Audit log", "監査ログ"),
    ("/o/acme/settings/", "API key policy", "API キーのポリシー"),
    ("/o/acme/leave/", "Leave organization", "組織から脱退"),
]


@pytest.mark.parametrize(
    ("action", "english", "japanese"),
    [
        ("delete", "Delete API key", "API キーを削除"),
        ("rename", "Rename API key", "API キーの名前を変更"),
        ("roll", "Roll API key", "API キーを再発行"),
        ("revoke", "Revoke API key", "API キーを失効"),
    ],
)
def test_key_dialogs_in_both_languages(owner, client_for, action, english, japanese):
    key = ApiKeyFactory(membership=owner)
    client = client_for(owner)
    url = f"/o/acme/api-keys/{key.pk}/{action}/"
    assert english in client.get(url, HTTP_ACCEPT_LANGUAGE="en").text
    assert japanese in client.get(url, HTTP_ACCEPT_LANGUAGE="ja").text


def test_the_reveal_dialog_in_japanese(member, client_for):
    response = client_for(member).post(
        "/o/acme/api-keys/create/", {"name": "CI"}, HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert "このキーは二度と表示されません。" in response.text
    assert "コピー" in response.text


def test_no_organization_page_in_japanese(new_user, client):
    client.force_login(new_user)
    assert "まだどの組織にも所属していません" in client.get("/", HTTP_ACCEPT_LANGUAGE="ja").text


@pytest.mark.parametrize(("path", "english", "japanese"), PAGES)
def test_console_pages_follow_the_browser_language(
    owner, member, client_for, path, english, japanese
):
    key = ApiKeyFactory(membership=member)
    client = client_for(owner)
    en = client.get(path, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    ja = client.get(path, HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5")
    assert en.status_code == ja.status_code == 200
    assert english in en.text and japanese not in en.text
    assert japanese in ja.text
    assert '<html lang="ja"' in ja.text
    assert "Content-Language" in ja.headers and ja["Content-Language"] == "ja"
    assert key.hint in client.get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="ja").text


def test_sign_in_and_errors_in_japanese(db, client, member, client_for):
    assert (
        "Genesis Console にサインイン"
        in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ja").text
    )
    wrong = client.post(
        "/accounts/login/",
        {"login": "x@example.com", "password": "x"},
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert (
        "正しいメールアドレスとパスワードを入力してください" in wrong.text
        or "メールアドレス" in wrong.text
    )
    missing = client_for(member).get("/o/acme/nowhere/", HTTP_ACCEPT_LANGUAGE="ja")
    assert missing.status_code == 404
    assert "ページが見つかりませんでした" in missing.text


def test_form_errors_and_messages_in_japanese(member, client_for):
    client = client_for(member)
    bad = client.post("/o/acme/api-keys/create/", {"name": " "}, HTTP_ACCEPT_LANGUAGE="ja")
    assert bad.status_code == 400
    assert "キーの名前を入力してください。" in bad.text
    key = ApiKeyFactory(membership=member, name="古いキー")
    done = client.post(f"/o/acme/api-keys/{key.pk}/delete/", follow=True, HTTP_ACCEPT_LANGUAGE="ja")
    assert "API キー「古いキー」を削除しました。" in done.text


def test_the_switcher_overrides_the_browser(member, client_for):
    client = client_for(member)
    response = client.post(
        "/i18n/setlang/", {"language": "ja", "next": "/o/acme/api-keys/"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    page = client.get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="en")
    assert "自分の API キー" in page.text
    assert '<option value="ja" lang="ja" selected>' in page.text


def test_emails_go_in_the_recipients_language(
    admin, member, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    # Mia signs in with a browser that asks for Japanese: her emails are in Japanese.
    signed_in = Client().post(
        "/accounts/login/",
        {"login": member.user.email, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert signed_in.status_code == 302
    key = ApiKeyFactory(membership=member, name="CI")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin).post(f"/o/acme/api-keys/{key.pk}/revoke/", HTTP_ACCEPT_LANGUAGE="en")
    [mail] = mailoutbox
    assert mail.subject == "API キー「CI」が失効しました"
    assert "Mia Member 様" in mail.body


def test_icon_buttons_are_named_in_japanese(member, client_for):
    key = ApiKeyFactory(membership=member, name="CI")
    page = client_for(member).get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="ja").text
    assert 'aria-label="API キー CI を削除"' in page
    assert 'aria-label="API キー CI の名前を変更"' in page
    assert key.hint in page


def test_the_translation_is_complete():
    from pathlib import Path

    import polib

    po = polib.pofile(str(Path(__file__).parent.parent / "locale/ja/LC_MESSAGES/django.po"))
    assert po.percent_translated() == 100
    assert not po.fuzzy_entries()
    placeholders = re.compile(r"%\(\w+\)[sd]|<[^>]+>")
    for entry in po:
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            # Same placeholders and markup, or the page breaks in Japanese only.
            assert sorted(placeholders.findall(entry.msgid)) == sorted(
                placeholders.findall(translation)
            ), entry.msgid


@pytest.mark.parametrize(
    ("path", "labels"),
    [
        ("/o/acme/api-keys/", ["作成者", "最終使用"]),
        ("/o/acme/members/", ["参加日"]),
        ("/o/acme/audit/", ["実行者"]),
    ],
)
def test_small_screen_cell_labels_follow_the_language(
    owner, member, client_for, make_key, path, labels
):
    # Each row's cells carry their column's name for the stacked small-screen layout.
    make_key(member, "Deploy")
    page = client_for(owner).get(path, HTTP_ACCEPT_LANGUAGE="ja").text
    for label in labels:
        assert f'data-label="{label}"' in page


def test_the_switcher_keeps_the_choice_for_emails(member, client_for):
    from organizations.models import User

    client = client_for(member)
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/o/acme/api-keys/"})
    assert response.status_code == 302 and response["Location"] == "/o/acme/api-keys/"
    assert User.objects.get(pk=member.user_id).language == "ja"
    client.post("/i18n/setlang/", {"language": "xx"})  # not one of ours: nothing kept
    assert User.objects.get(pk=member.user_id).language == "ja"
    # Browsing writes nothing: the choice is made where it is made.
    client.get("/o/acme/api-keys/", HTTP_ACCEPT_LANGUAGE="en", HTTP_COOKIE="")
    assert User.objects.get(pk=member.user_id).language == "ja"


def test_japanese_writes_api_and_the_words_beside_it_with_a_space():
    """One spacing everywhere: "API キー", "の API", never "APIキー" or "のAPI" (a space
    between the Latin word and Japanese, as the catalogue writes "2 要素認証")."""
    from pathlib import Path

    import polib

    po = polib.pofile(str(Path(__file__).parent.parent / "locale/ja/LC_MESSAGES/django.po"))
    japanese = r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]"
    crowded = re.compile(rf"API{japanese}|{japanese}API")
    for entry in po:
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            assert not crowded.search(translation), translation
