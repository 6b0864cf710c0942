from wiki.models import Page, db


def test_demo_pages_are_there(client, login):
    login()
    index = client.get("/").get_data(as_text=True)
    assert "Welcome" in index
    assert "Onboarding" in index
    assert "Get a laptop from IT." in client.get("/pages/onboarding").get_data(as_text=True)


def test_create_and_show(client, add_page):
    location = add_page()
    assert location == "/pages/release-checklist"
    page = client.get(location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Release checklist</h1>" in html
    assert "<p>Tag the release.</p>" in html
    assert "by ana" in html


def test_titles_get_unique_slugs(add_page):
    assert add_page("Standup notes") == "/pages/standup-notes"
    assert add_page("Standup  notes!") == "/pages/standup-notes-2"


def test_title_is_required(client, login):
    login()
    response = client.post("/new", data={"title": "  ", "body": "text"})
    assert response.status_code == 400
    assert b"A page needs a title" in response.data


def test_page_text_is_escaped(client, add_page):
    location = add_page("XSS", "<script>alert(1)</script>")
    html = client.get(location).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_edit_keeps_the_old_text(client, add_page):
    location = add_page("Runbook", "v1")
    response = client.post(f"{location}/edit", data={"title": "Runbook", "body": "v2"})
    assert response.headers["Location"] == location
    assert "<p>v2</p>" in client.get(location).get_data(as_text=True)

    history = client.get(f"{location}/history").get_data(as_text=True)
    assert "text by ana" in history
    with client.application.app_context():
        page = db.session.execute(db.select(Page).filter_by(slug="runbook")).scalar_one()
        revision_id = page.revisions[0].id
    old = client.get(f"{location}/history/{revision_id}").get_data(as_text=True)
    assert "<p>v1</p>" in old


def test_saving_unchanged_text_makes_no_revision(client, add_page):
    location = add_page("Same", "text")
    client.post(f"{location}/edit", data={"title": "Same", "body": "text"})
    assert "Not edited yet" in client.get(f"{location}/history").get_data(as_text=True)


def test_search(client, add_page):
    add_page("Deploys", "how we ship on fridays")
    add_page("Lunch", "tacos")
    html = client.get("/?q=friday").get_data(as_text=True)
    assert 'href="/pages/deploys"' in html
    assert 'href="/pages/lunch"' not in html
    assert "No pages match" in client.get("/?q=nothing-like-this").get_data(as_text=True)


def test_missing_page_is_404(client, login):
    login()
    response = client.get("/pages/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert client.get("/pages/welcome/history/999").status_code == 404
    assert client.get("/delete/999").status_code == 404


def test_delete_link(client, add_page):
    location = add_page("Old plan")
    html = client.get(location).get_data(as_text=True)
    with client.application.app_context():
        page_id = db.session.execute(db.select(Page.id).filter_by(slug="old-plan")).scalar_one()
    assert f'href="/delete/{page_id}"' in html

    response = client.get(f"/delete/{page_id}")
    assert response.status_code == 302
    assert client.get(location).status_code == 404


def test_static_files(client):
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/wiki.js").status_code == 200
