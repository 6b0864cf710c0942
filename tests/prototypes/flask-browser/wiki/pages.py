import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from wiki.models import Page, Revision, db

bp = Blueprint("pages", __name__)


def slugify(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "page"


def free_slug(title):
    """A slug for a new page: the title's, with -2, -3, ... if another page has it."""
    base = slugify(title)
    slug, n = base, 1
    while db.session.execute(db.select(Page.id).filter_by(slug=slug)).first() is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def get_page(slug):
    return db.first_or_404(db.select(Page).filter_by(slug=slug))


def read_form():
    title = request.form.get("title", "").strip()
    body = request.form.get("body", "").replace("\r\n", "\n").strip()
    if not title or len(title) > 120:
        flash("A page needs a title (120 characters at most).", "error")
        return None
    return title, body


@bp.get("/")
@login_required
def index():
    query = db.select(Page).order_by(Page.updated_at.desc(), Page.id.desc())
    q = request.args.get("q", "").strip()
    if q:
        like = f"%{q}%"
        query = query.where(Page.title.ilike(like) | Page.body.ilike(like))
    pages = db.session.execute(query).scalars().all()
    return render_template("index.html", pages=pages, q=q)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if request.method == "POST":
        fields = read_form()
        if fields is None:
            return render_template("edit.html", page=None, form=request.form), 400
        title, body = fields
        page = Page(slug=free_slug(title), title=title, body=body, updated_by=current_user)
        db.session.add(page)
        db.session.commit()
        flash(f"Created {page.title!r}.", "info")
        return redirect(url_for("pages.show", slug=page.slug))
    return render_template("edit.html", page=None, form={})


@bp.get("/pages/<slug>")
@login_required
def show(slug):
    return render_template("page.html", page=get_page(slug))


@bp.route("/pages/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug):
    page = get_page(slug)
    if request.method == "POST":
        fields = read_form()
        if fields is None:
            return render_template("edit.html", page=page, form=request.form), 400
        title, body = fields
        if (title, body) != (page.title, page.body):
            page.revisions.append(
                Revision(title=page.title, body=page.body, author=page.updated_by)
            )
            page.title, page.body, page.updated_by = title, body, current_user
            db.session.commit()
            flash("Saved.", "info")
        return redirect(url_for("pages.show", slug=page.slug))
    return render_template("edit.html", page=page, form={"title": page.title, "body": page.body})


@bp.get("/pages/<slug>/history")
@login_required
def history(slug):
    return render_template("history.html", page=get_page(slug))


@bp.get("/pages/<slug>/history/<int:revision_id>")
@login_required
def revision(slug, revision_id):
    page = get_page(slug)
    old = db.session.get(Revision, revision_id)
    if old is None or old.page_id != page.id:
        abort(404)
    return render_template("revision.html", page=page, revision=old)


@bp.get("/delete/<int:page_id>")
@login_required
def delete(page_id):
    page = db.get_or_404(Page, page_id)
    db.session.delete(page)
    db.session.commit()
    flash(f"Deleted {page.title!r}.", "info")
    return redirect(url_for("pages.index"))
