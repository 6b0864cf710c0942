from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, login_required, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from wiki.models import User, db

bp = Blueprint("auth", __name__)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to read the wiki."


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


def safe_next(target):
    """Only follow ?next= to a path on this site."""
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("pages.index")


@bp.route("/register", methods=["GET", "POST"])
def register():
    if request.method == "POST":
        username = request.form.get("username", "").strip().lower()
        password = request.form.get("password", "")
        if not username or len(password) < 8:
            flash("Pick a username and a password of at least 8 characters.", "error")
            return render_template("register.html", username=username), 400
        user = User(username=username)
        user.set_password(password)
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            flash("That username is taken.", "error")
            return render_template("register.html", username=username), 400
        flash("Account created, you can log in now.", "info")
        return redirect(url_for("auth.login"))
    return render_template("register.html")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "").strip().lower()
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
        if user is None or not user.check_password(request.form.get("password", "")):
            flash("Wrong username or password.", "error")
            return render_template("login.html", username=username), 401
        login_user(user, remember=bool(request.form.get("remember")))
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("auth.login"))
