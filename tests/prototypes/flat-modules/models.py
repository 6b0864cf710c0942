"""What an item and a loan look like, and checking what clients send."""

from datetime import date, timedelta

CATEGORIES = ("camera", "laptop", "audio", "adapter", "other")
MAX_LOAN_DAYS = 30


class ValidationError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(data: dict, key: str, *, required: bool = True, max_length: int = 200) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ValidationError(f"{key} must be a string")
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{key} is required")
    if len(value) > max_length:
        raise ValidationError(f"{key} is longer than {max_length} characters")
    return value


def parse_item(data: dict) -> dict:
    category = data.get("category", "other")
    if category not in CATEGORIES:
        raise ValidationError(f"category must be one of {', '.join(CATEGORIES)}")
    return {
        "asset_tag": _text(data, "asset_tag", max_length=20).upper(),
        "name": _text(data, "name"),
        "category": category,
        "notes": _text(data, "notes", required=False, max_length=1000),
    }


def parse_loan(data: dict, today: date) -> dict:
    borrower = _text(data, "borrower", max_length=80)
    raw_due = data.get("due")
    if raw_due is None:
        due = today + timedelta(days=7)
    else:
        try:
            due = date.fromisoformat(str(raw_due))
        except ValueError:
            raise ValidationError("due must be a date like 2025-06-30") from None
    if due < today:
        raise ValidationError("due is in the past")
    if due > today + timedelta(days=MAX_LOAN_DAYS):
        raise ValidationError(f"loans are for at most {MAX_LOAN_DAYS} days")
    return {"borrower": borrower, "due": due.isoformat()}


def item_to_dict(row, loan=None) -> dict:
    return {
        "id": row["id"],
        "asset_tag": row["asset_tag"],
        "name": row["name"],
        "category": row["category"],
        "notes": row["notes"],
        "added_at": row["added_at"],
        "on_loan_to": loan["borrower"] if loan is not None else None,
        "due": loan["due"] if loan is not None else None,
    }


def loan_to_dict(row) -> dict:
    return dict(row)
